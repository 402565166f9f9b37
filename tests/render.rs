//! End-to-end renders of the fixtures through `hf_engine::render`, checked by decoding the mp4.

use hf_encode::inspect::{decode_rgb_frames, mp4_top_level_boxes, probe_video};
use hf_engine::{ActiveCaptureMode, CaptureMode, Fps, ProgressEvent, RenderJob};
use hf_tests::{assert_pixel, fixture, mean_abs_diff, render_fixture};

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const BLACK: [u8; 3] = [0, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];

#[test]
fn output_is_a_faststart_h264_mp4_with_the_planned_frames() {
    let (_dir, result) = render_fixture("clip-windows", CaptureMode::Auto);
    assert_eq!(result.frames, 60);
    assert_eq!(result.fps, Fps::whole(30));
    assert_eq!((result.width, result.height), (640, 360));
    let info = probe_video(&result.output).unwrap();
    assert_eq!(info.codec, "h264");
    assert_eq!(info.pix_fmt, "yuv420p");
    assert_eq!((info.width, info.height), (640, 360));
    assert_eq!(info.frame_rate, (30, 1));
    assert_eq!(info.frames, 60);
    assert!(
        (info.duration_seconds - 2.0).abs() < 1e-6,
        "duration {}",
        info.duration_seconds
    );
    assert_eq!(info.color_space, "bt709");
    assert_eq!(info.color_range, "tv");
    assert_eq!(
        info.keyframes,
        vec![0],
        "one closed 2 s GOP holds all 60 frames"
    );
    let boxes = mp4_top_level_boxes(&result.output).unwrap();
    let position = |name: &str| boxes.iter().position(|b| b == name).unwrap();
    assert!(
        position("moov") < position("mdat"),
        "moov must precede mdat: {boxes:?}"
    );
}

#[test]
fn clip_windows_are_half_open_and_timed_parents_hide_children() {
    let (_dir, result) = render_fixture("clip-windows", CaptureMode::Auto);
    let frames = decode_rgb_frames(&result.output, &[0, 14, 15, 29, 30, 59]).unwrap();
    let [f0, f14, f15, f29, f30, f59] = &frames[..] else {
        unreachable!()
    };
    let centre = (400, 250);
    let corner = (70, 70);
    assert_pixel(f0, centre.0, centre.1, RED, 8, "t=0: #a is on");
    assert_pixel(f0, corner.0, corner.1, RED, 8, "t=0: #c has not started");
    assert_pixel(
        f14,
        corner.0,
        corner.1,
        RED,
        8,
        "t=0.467: #c still waits for 0.5",
    );
    assert_pixel(f15, corner.0, corner.1, GREEN, 8, "t=0.5: #c starts");
    assert_pixel(f29, centre.0, centre.1, RED, 8, "t=0.967: #a is still on");
    assert_pixel(f29, corner.0, corner.1, GREEN, 8, "t=0.967: #c is on");
    assert_pixel(
        f30,
        centre.0,
        centre.1,
        BLUE,
        8,
        "t=1: #a ended (half-open), #b started",
    );
    assert_pixel(
        f30,
        corner.0,
        corner.1,
        BLUE,
        8,
        "t=1: #c hides with its parent #a",
    );
    assert_pixel(f59, centre.0, centre.1, BLUE, 8, "t=1.967: #b is on");
}

/// The box's left edge is at 10*i px in frame i (300 px/s at 30 fps).
fn assert_box_at_frame(image: &hf_encode::inspect::RgbImage, frame: u32, what: &str) {
    let left = 10 * frame;
    assert_pixel(image, left + 20, 180, BLACK, 40, what);
    if left >= 8 {
        assert_pixel(image, left - 6, 180, WHITE, 40, what);
    }
    assert_pixel(image, left + 46, 180, WHITE, 40, what);
}

#[test]
fn gsap_positions_follow_the_timeline_and_its_length_sets_the_duration() {
    let (_dir, result) = render_fixture("gsap-move", CaptureMode::Auto);
    assert_eq!(
        result.frames, 60,
        "2 s timeline at 30 fps with no data-duration"
    );
    let wanted = [0u32, 15, 30, 45, 59];
    let frames = decode_rgb_frames(&result.output, &wanted.map(u64::from)).unwrap();
    for (image, frame) in frames.iter().zip(wanted) {
        assert_box_at_frame(image, frame, &format!("frame {frame}"));
    }
}

#[test]
fn screenshot_and_begin_frame_capture_give_the_same_pictures() {
    let (_a, begin_frame) = render_fixture("gsap-move", CaptureMode::BeginFrame);
    // Three workers on 20-frame segments: workers start mid-timeline in screenshot mode too.
    let (_b, screenshot) = hf_tests::render_fixture_with("gsap-move", |job| {
        job.capture_mode = CaptureMode::Screenshot;
        job.workers = 3;
        job.segment_frames = Some(20);
    });
    assert_eq!(begin_frame.capture_mode, ActiveCaptureMode::BeginFrame);
    assert_eq!(screenshot.capture_mode, ActiveCaptureMode::Screenshot);
    assert_eq!(begin_frame.frames, screenshot.frames);
    let wanted = [0u64, 20, 40, 59];
    let a = decode_rgb_frames(&begin_frame.output, &wanted).unwrap();
    let b = decode_rgb_frames(&screenshot.output, &wanted).unwrap();
    for ((x, y), frame) in a.iter().zip(&b).zip(wanted) {
        assert_box_at_frame(y, frame as u32, &format!("screenshot frame {frame}"));
        let diff = mean_abs_diff(x, y);
        assert!(
            diff < 1.5,
            "frame {frame}: paths differ by {diff:.2} per channel"
        );
    }
}

#[test]
fn an_embedder_gets_progress_events_in_order_and_a_typed_result() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("nested/dir/out.mp4");
    let mut events = Vec::new();
    let job = RenderJob::new(fixture("clip-windows"))
        .output(&output)
        .fps(Fps::whole(15));
    let result = hf_engine::render(job, |event| events.push(event)).unwrap();
    assert_eq!(result.output, output);
    assert_eq!(result.frames, 30, "2 s at 15 fps");
    assert!(output.is_file());
    let frames: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Frame { done, total } => {
                assert_eq!(*total, 30);
                Some(*done)
            }
            _ => None,
        })
        .collect();
    assert_eq!(frames, (1..=30).collect::<Vec<_>>());
    assert!(
        matches!(events.last(), Some(ProgressEvent::Finished { result }) if result.frames == 30)
    );
    assert_eq!(probe_video(&output).unwrap().frame_rate, (15, 1));
}

/// A browser wrapper that drops the flags `HeadlessExperimental.beginFrame` needs, like a Chrome
/// build whose headless mode has no beginFrame.
fn browser_without_begin_frame(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("chrome-without-begin-frame.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nfor a in \"$@\"; do\n  case \"$a\" in\n    --deterministic-mode|--enable-begin-frame-control|--run-all-compositor-stages-before-draw) ;;\n    *) set -- \"$@\" \"$a\" ;;\n  esac\n  shift\ndone\nexec /usr/lib/chromium/chromium-headless-shell \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn auto_mode_falls_back_to_screenshots_when_begin_frame_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let browser = browser_without_begin_frame(dir.path());
    let mut job = RenderJob::new(fixture("gsap-move")).output(dir.path().join("auto.mp4"));
    job.browser = Some(browser.clone());
    let result = hf_engine::render(job, |_| {}).unwrap();
    assert_eq!(result.capture_mode, ActiveCaptureMode::Screenshot);
    let frames = decode_rgb_frames(&result.output, &[0, 30, 59]).unwrap();
    for (image, frame) in frames.iter().zip([0, 30, 59]) {
        assert_box_at_frame(image, frame, &format!("fallback frame {frame}"));
    }

    // Asking for beginFrame explicitly does not fall back: it fails and says why.
    let output = dir.path().join("forced.mp4");
    let mut job = RenderJob::new(fixture("gsap-move"))
        .output(&output)
        .capture_mode(CaptureMode::BeginFrame);
    job.browser = Some(browser);
    let err = hf_engine::render(job, |_| {}).unwrap_err();
    assert_eq!(err.code(), "CAPTURE_FAILED");
    assert!(
        err.to_string()
            .starts_with("Chrome DevTools command HeadlessExperimental.beginFrame failed: "),
        "{err}"
    );
    assert!(!output.exists());
}

#[test]
fn capture_only_captures_every_frame_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let (dir, result) = hf_tests::render_fixture_with("clip-windows", |job| {
        job.capture_only = true;
        job.workers = 2;
        job.work_dir_parent = Some(work.path().to_path_buf());
    });
    assert!(result.capture_only);
    assert_eq!(result.frames, 60);
    assert_eq!(result.bytes, 0);
    assert!(!result.output.exists(), "no output file");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    assert!(
        std::fs::read_dir(work.path()).unwrap().next().is_none(),
        "the work dir is removed"
    );
    assert_eq!(result.timings.encode, std::time::Duration::ZERO);

    // Formats made from frame files capture (and drop) the same way.
    let (dir, gif) = hf_tests::render_fixture_with("webm-alpha", |job| {
        job.capture_only = true;
        job.format = hf_engine::OutputFormat::Gif;
    });
    assert!(gif.capture_only);
    assert_eq!(gif.frames, 15);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
