//! Every output format end to end from one transparent composition (`fixtures/webm-alpha`):
//! codec, pixel format, frame count, duration, alpha at a transparent and an opaque pixel,
//! two-segment joins that decode without warnings, NTSC rates, odd sizes and supersampling.

use hf_encode::inspect::{decode_rgba_frames, probe_video, RgbaImage};
use hf_engine::{Fps, OutputFormat, RenderError, RenderJob, Resolution, VideoCodec};
use hf_tests::{fixture, render_fixture_with, test_asset_cache};
use std::path::Path;
use std::process::Command;

/// The fixture: 320x180, 1 s at 15 fps; a red box moving right over a page without any
/// background.
const FRAMES: u64 = 15;

/// `ffmpeg -v warning` decoding the whole output prints nothing.
fn assert_decodes_cleanly(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "warning", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{} decodes with warnings: {stderr}",
        path.display()
    );
}

/// Frame 0: the box covers x 20..100, y 50..130 (opaque red); the corner is transparent.
fn assert_transparent_page_with_opaque_box(frame: &RgbaImage, tolerance: u8) {
    assert_eq!(frame.pixel(5, 170)[3], 0, "the page corner is transparent");
    let box_pixel = frame.pixel(60, 90);
    assert_eq!(box_pixel[3], 255, "the box is opaque: {box_pixel:?}");
    let red = [0xe6, 0x39, 0x46];
    assert!(
        box_pixel[..3]
            .iter()
            .zip(red)
            .all(|(g, w)| g.abs_diff(w) <= tolerance),
        "the box is #e63946: {box_pixel:?}"
    );
}

fn render(
    format: OutputFormat,
    configure: impl FnOnce(&mut RenderJob),
) -> (tempfile::TempDir, hf_engine::RenderResult) {
    render_fixture_with("webm-alpha", |job| {
        let name = match format.extension() {
            "" => "out".to_string(),
            extension => format!("out.{extension}"),
        };
        job.output = Some(job.output.as_ref().unwrap().with_file_name(name));
        job.format = format;
        // 15 frames in segments of 8: every format joins two segments.
        job.segment_frames = Some(8);
        job.workers = 2;
        configure(job);
    })
}

#[test]
fn webm_is_vp9_with_alpha_from_two_segments() {
    let (_dir, result) = render(OutputFormat::Webm, |_| {});
    assert_eq!(result.codec, Some(VideoCodec::Vp9));
    assert_eq!(result.segments, 2);
    let info = probe_video(&result.output).unwrap();
    assert_eq!(
        (info.codec.as_str(), info.pix_fmt.as_str()),
        ("libvpx-vp9", "yuva420p")
    );
    assert_eq!(info.frames, FRAMES);
    assert_eq!(info.keyframes, vec![0, 8]);
    assert!(
        (info.duration_seconds - 1.0).abs() < 0.002,
        "{}",
        info.duration_seconds
    );
    let frame = &decode_rgba_frames(&result.output, &[0]).unwrap()[0];
    assert_transparent_page_with_opaque_box(frame, 10);
    assert_decodes_cleanly(&result.output);
}

#[test]
fn mov_is_prores_4444_with_alpha_from_two_segments() {
    let (_dir, result) = render(OutputFormat::Mov, |_| {});
    let info = probe_video(&result.output).unwrap();
    assert_eq!(
        (info.codec.as_str(), info.pix_fmt.as_str()),
        ("prores", "yuva444p10le")
    );
    assert_eq!(info.frames, FRAMES);
    assert!((info.duration_seconds - 1.0).abs() < 1e-6);
    let frame = &decode_rgba_frames(&result.output, &[0]).unwrap()[0];
    assert_transparent_page_with_opaque_box(frame, 4);
    // The label (50% navy over nothing) keeps its partial alpha at 0.6 s.
    let label = decode_rgba_frames(&result.output, &[9]).unwrap()[0].pixel(112, 40);
    assert!((100..=160).contains(&label[3]), "label alpha {label:?}");
    assert_decodes_cleanly(&result.output);
}

#[test]
fn mp4_h265_is_opaque_hvc1_over_white() {
    let (_dir, result) = render(OutputFormat::Mp4, |job| job.codec = Some(VideoCodec::H265));
    let info = probe_video(&result.output).unwrap();
    assert_eq!(
        (info.codec.as_str(), info.pix_fmt.as_str()),
        ("hevc", "yuv420p")
    );
    assert_eq!(info.frames, FRAMES);
    assert_eq!(info.keyframes, vec![0, 8]);
    let frame = &decode_rgba_frames(&result.output, &[0]).unwrap()[0];
    // mp4 is opaque: the page without a background is Chrome's white.
    let corner = frame.pixel(5, 170);
    assert!(corner[..3].iter().all(|c| *c >= 250), "{corner:?}");
    assert_eq!(corner[3], 255);
    assert_decodes_cleanly(&result.output);
}

#[test]
fn gif_and_png_sequence_keep_transparency() {
    let (_dir, gif) = render(OutputFormat::Gif, |job| job.gif_loop = 2);
    let info = probe_video(&gif.output).unwrap();
    assert_eq!(
        (info.codec.as_str(), info.pix_fmt.as_str()),
        ("gif", "bgra")
    );
    assert_eq!(info.frames, FRAMES);
    assert!(
        (info.duration_seconds - 1.0).abs() < 0.02,
        "{}",
        info.duration_seconds
    );
    let frame = &decode_rgba_frames(&gif.output, &[0]).unwrap()[0];
    assert_transparent_page_with_opaque_box(frame, 12);

    let (_dir, sequence) = render(OutputFormat::PngSequence, |_| {});
    assert!(sequence.output.is_dir());
    let files = hf_encode::inspect::sequence_frames(&sequence.output).unwrap();
    assert_eq!(files.len() as u64, FRAMES);
    assert!(files[0].ends_with("frame_000001.png"));
    assert!(files[14].ends_with("frame_000015.png"));
    let info = probe_video(&sequence.output).unwrap();
    assert_eq!(
        (info.codec.as_str(), info.pix_fmt.as_str()),
        ("png", "rgba")
    );
    let frame = &decode_rgba_frames(&sequence.output, &[0]).unwrap()[0];
    assert_transparent_page_with_opaque_box(frame, 2);
    assert!(
        !sequence.output.join("audio.m4a").exists(),
        "no audio, no sidecar"
    );
}

#[test]
fn ntsc_rate_has_exact_frame_count_and_duration() {
    let (_dir, result) = render(OutputFormat::Mp4, |job| {
        job.fps = Some("30000/1001".parse::<Fps>().unwrap())
    });
    // 1 s at 29.97 fps: 30 frames (the last starts at 0.968 s), 1.001 s long.
    assert_eq!(result.frames, 30);
    let info = probe_video(&result.output).unwrap();
    assert_eq!(info.frames, 30);
    assert_eq!(info.frame_rate, (30000, 1001));
    assert!(
        (info.duration_seconds - 1.001).abs() < 1e-9,
        "{}",
        info.duration_seconds
    );
}

#[test]
fn resolution_supersamples_and_a_wrong_aspect_is_refused() {
    let (_dir, result) = render(OutputFormat::Mp4, |job| {
        job.resolution = Some("640x360".parse::<Resolution>().unwrap())
    });
    assert_eq!((result.width, result.height), (640, 360));
    let frame = &decode_rgba_frames(&result.output, &[0]).unwrap()[0];
    assert_eq!((frame.width, frame.height), (640, 360));
    // The box (20..100 CSS px) is at 40..200 device px.
    let red = frame.pixel(120, 180);
    assert!(red[0] > 200 && red[1] < 90, "box at 2x: {red:?}");
    let beside = frame.pixel(220, 180);
    assert!(
        beside[1] > 240,
        "right of the box at 2x is the white page: {beside:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mp4");
    let mut job = RenderJob::new(fixture("webm-alpha")).output(&output);
    job.asset_cache = Some(test_asset_cache());
    job.resolution = Some("portrait".parse().unwrap());
    let error = hf_engine::render(job, |_| {}).unwrap_err();
    assert!(matches!(error, RenderError::InvalidOutput { .. }));
    assert_eq!(error.code(), "INVALID_OUTPUT_OPTIONS");
    assert!(error
        .to_string()
        .contains("does not have the composition's 320x180 aspect ratio"));
    assert!(!output.exists());
}

#[test]
fn a_codec_the_container_cannot_hold_fails_before_capture() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.webm");
    let mut job = RenderJob::new(fixture("webm-alpha")).output(&output);
    job.asset_cache = Some(test_asset_cache());
    job.format = OutputFormat::Webm;
    job.codec = Some(VideoCodec::H265);
    let mut stages = Vec::new();
    let error = hf_engine::render(job, |event| {
        if let hf_engine::ProgressEvent::StageStarted { stage } = event {
            stages.push(stage)
        }
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "codec h265 is not valid for webm: webm takes vp9; use --format mp4 for h265"
    );
    assert!(stages.is_empty(), "nothing started: {stages:?}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn odd_sizes_are_padded_for_mp4() {
    let project = tempfile::tempdir().unwrap();
    let html = std::fs::read_to_string(fixture("webm-alpha").join("index.html"))
        .unwrap()
        .replace(
            "data-width=\"320\" data-height=\"180\"",
            "data-width=\"321\" data-height=\"181\"",
        );
    std::fs::write(project.path().join("index.html"), html).unwrap();
    let output = project.path().join("out.mp4");
    let mut job = RenderJob::new(project.path()).output(&output);
    job.asset_cache = Some(test_asset_cache());
    let result = hf_engine::render(job, |_| {}).unwrap();
    assert_eq!((result.width, result.height), (321, 181));
    let info = probe_video(&output).unwrap();
    assert_eq!((info.width, info.height), (322, 182), "padded to even");
    assert_decodes_cleanly(&output);
}

#[test]
fn alpha_formats_are_byte_identical_across_worker_counts() {
    for format in [OutputFormat::Webm, OutputFormat::Mov] {
        let (_one, single) = render(format, |job| job.workers = 1);
        let (_two, double) = render(format, |job| job.workers = 3);
        assert_eq!(double.workers, 2, "two segments, so at most two workers");
        assert!(
            std::fs::read(&single.output).unwrap() == std::fs::read(&double.output).unwrap(),
            "{format}: 1 and 2 workers wrote different bytes"
        );
    }
}

/// The packets of the video stream of `segment` as ffprobe flags them ("K__" for a keyframe).
fn packet_flags(segment: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
        ])
        .arg(segment)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.trim_end_matches(',').to_string())
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn hls_is_a_vod_playlist_with_a_keyframe_starting_every_segment() {
    // 2.5 s at 10 fps: red for 1 s, then blue; a tone throughout; 1 s segments.
    let dir = tempfile::tempdir().unwrap();
    hf_tests::ffmpeg(
        dir.path(),
        "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=3 -c:a pcm_s16le tone.wav",
    );
    std::fs::write(
        dir.path().join("index.html"),
        r##"<!doctype html><html><head><style>body{margin:0}</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="180" data-duration="2.5" data-fps="10" data-no-timeline style="background:#0000ff">
  <div id="red" data-start="0" data-duration="1" style="position:absolute;inset:0;background:#ff0000"></div>
  <audio id="tone" src="tone.wav" data-start="0"></audio>
</div></body></html>"##,
    )
    .unwrap();
    let render = |workers: u32, name: &str| {
        let mut job = RenderJob::new(dir.path())
            .output(dir.path().join(name))
            .workers(workers);
        job.format = OutputFormat::Hls;
        job.hls_segment_seconds = 1;
        hf_engine::render(job, |_| {}).unwrap()
    };
    let hls = render(2, "stream");
    let out = &hls.output;
    assert_eq!(hls.frames, 25);
    let master = std::fs::read_to_string(out.join("master.m3u8")).unwrap();
    assert!(
        master.contains("#EXT-X-MEDIA:TYPE=AUDIO") && master.contains("URI=\"audio.m3u8\""),
        "{master}"
    );
    assert_eq!(
        master.matches("#EXT-X-STREAM-INF").count(),
        1,
        "only the video variant: {master}"
    );
    assert!(
        master.contains("RESOLUTION=320x180") && master.contains("\nvideo.m3u8\n"),
        "{master}"
    );
    let video = std::fs::read_to_string(out.join("video.m3u8")).unwrap();
    assert!(
        video.contains("#EXT-X-PLAYLIST-TYPE:VOD") && video.contains("#EXT-X-ENDLIST"),
        "{video}"
    );
    let durations: Vec<&str> = video.lines().filter(|l| l.starts_with("#EXTINF")).collect();
    assert_eq!(
        durations,
        [
            "#EXTINF:1.000000,",
            "#EXTINF:1.000000,",
            "#EXTINF:0.500000,"
        ],
        "{video}"
    );
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.iter().any(|n| n == "audio.m3u8") && names.iter().any(|n| n == "audio_00000.ts"),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains('%') || n.starts_with('.')),
        "{names:?}"
    );
    for (k, frames) in [(0, 10), (1, 10), (2, 5)] {
        let segment = out.join(format!("video_{k:05}.ts"));
        let flags = packet_flags(&segment);
        assert_eq!(flags.len(), frames, "segment {k}: {flags:?}");
        assert!(
            flags[0].starts_with('K'),
            "segment {k} starts on a keyframe: {flags:?}"
        );
        assert_eq!(
            flags.iter().filter(|f| f.starts_with('K')).count(),
            1,
            "segment {k}: one GOP"
        );
        assert_decodes_cleanly(&segment);
    }
    let first = hf_encode::inspect::decode_rgb_frames(&out.join("video_00000.ts"), &[0]).unwrap();
    let second = hf_encode::inspect::decode_rgb_frames(&out.join("video_00001.ts"), &[0]).unwrap();
    hf_tests::assert_pixel(&first[0], 160, 90, [255, 0, 0], 12, "0 s: red");
    hf_tests::assert_pixel(&second[0], 160, 90, [0, 0, 255], 12, "1 s: blue");
    // The same bytes from one worker.
    let solo = render(1, "solo");
    for name in &names {
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            std::fs::read(solo.output.join(name)).unwrap(),
            "{name} differs between 1 and 2 workers"
        );
    }
}

#[test]
fn hls_refuses_other_codecs_hdr_and_a_segment_frame_count() {
    let mut job = RenderJob::new("p");
    job.format = OutputFormat::Hls;
    job.codec = Some(VideoCodec::H265);
    assert_eq!(
        job.validate().unwrap_err().to_string(),
        "codec h265 is not valid for hls: HLS output is H.264 (as HyperFrames'); remove --codec, or use --format mp4 for h265"
    );
    job.codec = None;
    job.segment_frames = Some(30);
    assert_eq!(job.validate().unwrap_err().code(), "INVALID_OUTPUT_OPTIONS");
    job.segment_frames = None;
    job.hls_segment_seconds = 61;
    assert_eq!(
        job.validate().unwrap_err().to_string(),
        "invalid HLS segment length 61 s (expected a whole number of seconds from 1 to 60)"
    );
}
