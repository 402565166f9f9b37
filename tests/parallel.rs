//! Parallel workers on the fixed segment grid: byte identity, path-independent seeking, and a
//! browser killed mid-render.

use hf_encode::inspect::{decode_rgb_frames, probe_video};
use hf_engine::{ProgressEvent, RenderJob, RenderResult};
use hf_tests::{assert_pixel, fixture};
use std::path::Path;

fn render(name: &str, dir: &Path, file: &str, workers: u32, segment_frames: u64) -> RenderResult {
    let job = RenderJob::new(fixture(name))
        .output(dir.join(file))
        .workers(workers)
        .segment_frames(segment_frames);
    hf_engine::render(job, |_| {}).unwrap_or_else(|e| panic!("{name} with {workers} workers: {e}"))
}

/// Assert two renders are the same file; on a mismatch, name the first frame that differs.
#[track_caller]
fn assert_same_bytes(a: &RenderResult, b: &RenderResult, what: &str) {
    let (x, y) = (
        std::fs::read(&a.output).unwrap(),
        std::fs::read(&b.output).unwrap(),
    );
    if x == y {
        return;
    }
    let frames: Vec<u64> = (0..a.frames).collect();
    let (fa, fb) = (
        decode_rgb_frames(&a.output, &frames).unwrap(),
        decode_rgb_frames(&b.output, &frames).unwrap(),
    );
    let first = fa.iter().zip(&fb).position(|(p, q)| p != q);
    panic!(
        "{what}: files differ ({} vs {} bytes); first differing decoded frame: {first:?}",
        x.len(),
        y.len()
    );
}

#[test]
fn output_bytes_do_not_depend_on_worker_count_or_run() {
    let dir = tempfile::tempdir().unwrap();
    let one = render("gsap-move", dir.path(), "w1.mp4", 1, 20);
    assert_eq!((one.workers, one.segments), (1, 3));
    let info = probe_video(&one.output).unwrap();
    assert_eq!(info.frames, 60);
    assert_eq!(
        info.keyframes,
        vec![0, 20, 40],
        "each segment starts with a keyframe"
    );
    for workers in [2, 3] {
        let other = render(
            "gsap-move",
            dir.path(),
            &format!("w{workers}.mp4"),
            workers,
            20,
        );
        assert_eq!(other.workers, workers);
        assert_same_bytes(&one, &other, &format!("1 vs {workers} workers"));
    }
    let again = render("gsap-move", dir.path(), "again.mp4", 1, 20);
    assert_same_bytes(&one, &again, "two runs with 1 worker");
}

#[test]
fn gsap_call_side_effects_are_the_same_whichever_frame_a_worker_starts_at() {
    let dir = tempfile::tempdir().unwrap();
    // One worker visits all six segments in order on one page; three workers start segments 1
    // and 2 on fresh pages that jump straight to frames 10 and 20.
    let in_order = render("gsap-call", dir.path(), "in-order.mp4", 1, 10);
    let jumping = render("gsap-call", dir.path(), "jumping.mp4", 3, 10);
    assert_eq!(jumping.segments, 6);
    assert_same_bytes(&in_order, &jumping, "sequential vs jumping workers");
    let frames = decode_rgb_frames(&jumping.output, &[14, 15, 29, 30, 44, 45, 59]).unwrap();
    for (image, (frame, count)) in frames.iter().zip([
        (14, 0),
        (15, 1),
        (29, 1),
        (30, 2),
        (44, 2),
        (45, 3),
        (59, 3),
    ]) {
        let what = format!("frame {frame}: counter {count}");
        if count > 0 {
            assert_pixel(image, count * 100 - 10, 130, [0, 0, 0], 40, &what);
        }
        assert_pixel(image, count * 100 + 10, 130, [255, 255, 255], 40, &what);
    }
}

#[test]
fn stateful_pages_render_the_same_whichever_frame_a_worker_starts_at() {
    let dir = tempfile::tempdir().unwrap();
    // A box stepped 4 px by every animation frame and a ring scaled by a CSS animation: one
    // worker draws every frame in order; three workers start segments on fresh pages, and
    // auto workers first time frames 0 and 1 on the probe browser.
    let in_order = render("stateful-raf", dir.path(), "in-order.mp4", 1, 10);
    for (workers, file) in [(3, "three.mp4"), (0, "auto.mp4")] {
        let other = render("stateful-raf", dir.path(), file, workers, 10);
        assert_eq!(other.segments, 6);
        assert_same_bytes(&in_order, &other, &format!("in order vs {file}"));
    }
    // Frame k shows the box after k + 1 steps: at 4 * (k + 1) px, 20 px wide.
    let frames = decode_rgb_frames(&in_order.output, &[0, 15, 45]).unwrap();
    for (image, frame) in frames.iter().zip([0u32, 15, 45]) {
        let left = 4 * (frame + 1);
        let what = format!("frame {frame}: box from x = {left}");
        assert_pixel(image, left + 10, 50, [255, 48, 64], 40, &what);
        assert_pixel(image, left.saturating_sub(8), 50, [16, 32, 48], 40, &what);
    }
}

/// The main browser processes (not helpers) whose command line mentions `dir`.
fn browser_pids_under(dir: &Path) -> Vec<i32> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_string_lossy().parse().ok()?;
            let cmdline =
                String::from_utf8_lossy(&std::fs::read(entry.path().join("cmdline")).ok()?)
                    .replace('\0', " ");
            (cmdline.contains(&needle)
                && cmdline.contains("--remote-debugging-port")
                && !cmdline.contains("--type="))
            .then_some(pid)
        })
        .collect()
}

#[test]
fn a_browser_killed_mid_render_is_replaced_and_the_output_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let undisturbed = render("gsap-move", dir.path(), "undisturbed.mp4", 1, 20);

    let work_parent = dir.path().join("work");
    std::fs::create_dir(&work_parent).unwrap();
    let mut job = RenderJob::new(fixture("gsap-move"))
        .output(dir.path().join("killed.mp4"))
        .workers(1)
        .segment_frames(20);
    job.work_dir_parent = Some(work_parent.clone());
    job.frame_timeout_seconds = 10.0;
    let mut killed = Vec::new();
    let result = hf_engine::render(job, |event| {
        if let ProgressEvent::Frame { done: 25, .. } = event {
            if killed.is_empty() {
                killed = browser_pids_under(&work_parent);
                for &pid in &killed {
                    // SAFETY: kill(2) of a browser this render started.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
    })
    .unwrap();
    assert_eq!(
        killed.len(),
        1,
        "exactly one browser was running at frame 25: {killed:?}"
    );
    assert_same_bytes(&undisturbed, &result, "undisturbed vs killed browser");
    assert!(
        browser_pids_under(&work_parent).is_empty(),
        "no browser outlives the render"
    );
}

#[test]
fn a_cancelled_disk_capture_resumes_where_it_stopped_with_the_same_output() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let streaming = render("gsap-move", dir.path(), "streaming.mp4", 1, 20);

    let resume_dir = dir.path().join("resume");
    let output = dir.path().join("disk.mp4");
    let job = || {
        let mut job = RenderJob::new(fixture("gsap-move"))
            .output(&output)
            .workers(1)
            .segment_frames(20);
        job.resume = Some(resume_dir.clone());
        job
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let err = hf_engine::render_with_cancel(
        job(),
        move |event| {
            if let ProgressEvent::Frame { done: 25, .. } = event {
                flag.store(true, Ordering::Relaxed);
            }
        },
        cancel,
    )
    .unwrap_err();
    assert_eq!(err.code(), "CANCELLED");
    assert!(!output.exists());
    let on_disk = std::fs::read_dir(resume_dir.join("frames"))
        .unwrap()
        .count() as u64;
    assert!((25..60).contains(&on_disk), "{on_disk} frames kept on disk");

    let resumed = hf_engine::render(job(), |_| {}).unwrap();
    assert_eq!(resumed.capture_plan, hf_engine::CapturePlan::Disk);
    assert_eq!(
        resumed.resumed_frames, on_disk,
        "every kept frame is reused, none captured twice"
    );
    assert_same_bytes(
        &streaming,
        &resumed,
        "streaming vs interrupted-and-resumed disk capture",
    );
    assert!(
        !resume_dir.exists(),
        "the work dir is removed once the render succeeds"
    );
}

#[test]
fn resuming_from_another_renders_frames_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let resume_dir = dir.path().join("resume");
    std::fs::create_dir_all(&resume_dir).unwrap();
    std::fs::write(
        resume_dir.join("render.json"),
        format!(
            r#"{{"project":"{}","width":640,"height":360,"fps":"24","frames":48,"jpeg_quality":95}}"#,
            fixture("gsap-move").canonicalize().unwrap().display()
        ),
    )
    .unwrap();
    let mut job = RenderJob::new(fixture("gsap-move")).output(dir.path().join("out.mp4"));
    job.resume = Some(resume_dir.clone());
    let err = hf_engine::render(job, |_| {}).unwrap_err();
    assert_eq!(err.code(), "RESUME_MISMATCH");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot resume from {}: it holds frames of a different render (the frame rate was 24, now 30); use a new --resume directory or remove this one",
            resume_dir.display()
        )
    );
    assert!(
        resume_dir.join("render.json").exists(),
        "a refused work dir is left alone"
    );
}
