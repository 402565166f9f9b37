//! Encode two closed-GOP segments from solid-colour JPEGs, join them, and check what came out.

use hf_core::{Fps, FrameImage, FrameSink, ImageFormat};
use hf_encode::inspect::{decode_rgb_frames, mp4_top_level_boxes, probe_video};
use hf_encode::{
    assemble_stage, AssembleInput, EncodeError, EncodeInput, GopSettings, SegmentEncoder,
    VideoEncodeSettings,
};
use std::path::Path;
use std::process::Command;

fn solid_jpeg(dir: &Path, colour: &str) -> Vec<u8> {
    let path = dir.join(format!("{colour}.jpg"));
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("color=c={colour}:s=64x48"))
        .args(["-frames:v", "1", "-q:v", "2"])
        .arg(&path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    std::fs::read(path).unwrap()
}

fn encode(dir: &Path, name: &str, first: u64, frames: Vec<FrameImage>) -> std::path::PathBuf {
    let input = EncodeInput {
        settings: VideoEncodeSettings {
            codec: hf_encode::VideoCodec::H264,
            bitrate: None,
            width: 64,
            height: 48,
            fps: Fps::whole(30),
            preset: "medium".into(),
            crf: 18,
            gop: GopSettings {
                keyint: 30,
                bframes: 3,
            },
            threads: 2,
            hdr: None,
            vp9_cpu_used: None,
        },
        output: dir.join(name),
        first_frame: first,
        frame_count: frames.len() as u64,
        hdr_sources: Vec::new(),
    };
    SegmentEncoder::encode_all(input, frames).unwrap().path
}

#[test]
fn two_segments_join_by_stream_copy_with_exact_frames_and_colours() {
    let dir = tempfile::tempdir().unwrap();
    let red = solid_jpeg(dir.path(), "red");
    let blue = solid_jpeg(dir.path(), "blue");
    let jpeg = |bytes: &Vec<u8>| FrameImage::Encoded {
        format: ImageFormat::Jpeg,
        bytes: bytes.clone(),
    };
    let mut first = vec![jpeg(&red)];
    first.extend(std::iter::repeat_n(FrameImage::SameAsPrevious, 9));
    let mut second = vec![jpeg(&blue)];
    second.extend((0..6).map(|_| jpeg(&blue)));
    let a = encode(dir.path(), "a.mp4", 0, first);
    let b = encode(dir.path(), "b.mp4", 10, second);

    let output = dir.path().join("out.mp4");
    let result = assemble_stage(AssembleInput {
        container: hf_encode::Container::Mp4,
        segments: vec![a, b],
        output: output.clone(),
        fps: Fps::whole(30),
        expected_frames: 17,
        faststart: true,
        audio: None,
        audio_tracks: 0,
    })
    .unwrap();
    assert_eq!(result.frames, 17);

    let info = probe_video(&output).unwrap();
    assert_eq!(info.codec, "h264");
    assert_eq!(info.pix_fmt, "yuv420p");
    assert_eq!((info.width, info.height), (64, 48));
    assert_eq!(info.frames, 17);
    assert_eq!(info.keyframes, vec![0, 10]);
    assert_eq!(info.frame_rate, (30, 1));
    assert!(
        (info.duration_seconds - 17.0 / 30.0).abs() < 1e-6,
        "{}",
        info.duration_seconds
    );
    assert_eq!(info.color_space, "bt709");
    assert_eq!(info.color_range, "tv");

    let boxes = mp4_top_level_boxes(&output).unwrap();
    let moov = boxes.iter().position(|b| b == "moov").unwrap();
    let mdat = boxes.iter().position(|b| b == "mdat").unwrap();
    assert!(moov < mdat, "not faststart: {boxes:?}");

    let frames = decode_rgb_frames(&output, &[0, 9, 10, 16]).unwrap();
    for (image, want) in frames
        .iter()
        .zip([[255, 0, 0], [255, 0, 0], [0, 0, 255], [0, 0, 255]])
    {
        let got = image.pixel(32, 24);
        for c in 0..3 {
            assert!(
                (i32::from(got[c]) - want[c]).abs() <= 6,
                "got {got:?}, want {want:?}"
            );
        }
    }
    // No partial file is left beside the output.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn wrong_frame_count_fails_and_leaves_nothing_at_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let red = solid_jpeg(dir.path(), "red");
    let a = encode(
        dir.path(),
        "a.mp4",
        0,
        vec![FrameImage::Encoded {
            format: ImageFormat::Jpeg,
            bytes: red,
        }],
    );
    let output = dir.path().join("out.mp4");
    let err = assemble_stage(AssembleInput {
        container: hf_encode::Container::Mp4,
        segments: vec![a],
        output: output.clone(),
        fps: Fps::whole(30),
        expected_frames: 2,
        faststart: true,
        audio: None,
        audio_tracks: 0,
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("expected 2 frames, got 1"),
        "{err}"
    );
    assert!(!output.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "only red.jpg and a.mp4 remain"
    );
}

/// Settings of a small, fast segment of `frames` frames at `output`.
fn small_segment(output: &Path, frames: u64) -> EncodeInput {
    EncodeInput {
        settings: VideoEncodeSettings {
            codec: hf_encode::VideoCodec::H264,
            bitrate: None,
            width: 64,
            height: 48,
            fps: Fps::whole(30),
            preset: "ultrafast".into(),
            crf: 28,
            gop: GopSettings {
                keyint: 30,
                bframes: 0,
            },
            threads: 1,
            hdr: None,
            vp9_cpu_used: None,
        },
        output: output.to_path_buf(),
        first_frame: 0,
        frame_count: frames,
        hdr_sources: Vec::new(),
    }
}

#[test]
fn a_producer_that_stops_early_is_an_error_and_removes_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("seg.mp4");
    let red = solid_jpeg(dir.path(), "red");
    let mut encoder = SegmentEncoder::start(small_segment(&output, 3)).unwrap();
    encoder
        .frame(
            0,
            FrameImage::Encoded {
                format: ImageFormat::Jpeg,
                bytes: red,
            },
        )
        .unwrap();
    let err = encoder.finish().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the capture stage stopped after 1 of 3 frames"
    );
    assert!(err.downcast_ref::<EncodeError>().is_some());
    assert!(!output.exists());
    assert!(encoder.output().is_none());

    // Dropped mid-run (the capture failed): the partial segment goes too.
    let encoder = SegmentEncoder::start(small_segment(&output, 3)).unwrap();
    drop(encoder);
    assert!(!output.exists());
}

#[test]
fn an_encoder_that_fails_reports_its_own_error_to_the_producer() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("seg.mp4");
    let mut encoder = SegmentEncoder::start(small_segment(&output, 20)).unwrap();
    let garbage = || FrameImage::Encoded {
        format: ImageFormat::Jpeg,
        bytes: b"not a jpeg".to_vec(),
    };
    // The encoder fails on frame 0; a later push (or finish) hears why.
    let err = (0..20)
        .map(|index| encoder.frame(index, garbage()))
        .find_map(Result::err)
        .unwrap_or_else(|| encoder.finish().unwrap_err());
    let err = err.downcast::<EncodeError>().unwrap();
    assert!(
        matches!(*err, EncodeError::BadFrame { index: 0, .. }),
        "{err}"
    );
    assert!(!output.exists());
}

#[test]
fn more_frames_than_the_segment_holds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let red = solid_jpeg(dir.path(), "red");
    let frame = || FrameImage::Encoded {
        format: ImageFormat::Jpeg,
        bytes: red.clone(),
    };
    let mut encoder = SegmentEncoder::start(small_segment(&dir.path().join("seg.mp4"), 2)).unwrap();
    encoder.frame(0, frame()).unwrap();
    encoder.frame(1, frame()).unwrap();
    encoder.finish().unwrap();
    assert_eq!(encoder.output().unwrap().frames, 2);
    assert_eq!(
        encoder.frame(2, frame()).unwrap_err().to_string(),
        "the segment of frames from 0: expected 2 frames, got 3"
    );
}

mod joining {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// Two solid JPEGs made once for all cases.
    fn colours() -> &'static (Vec<u8>, Vec<u8>) {
        static COLOURS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
        COLOURS.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            (
                solid_jpeg(dir.path(), "red"),
                solid_jpeg(dir.path(), "blue"),
            )
        })
    }

    /// Frame `i` is red when `(i / 3)` is even, else blue.
    fn frame(i: u64) -> FrameImage {
        let (red, blue) = colours();
        let bytes = if (i / 3).is_multiple_of(2) { red } else { blue };
        FrameImage::Encoded {
            format: ImageFormat::Jpeg,
            bytes: bytes.clone(),
        }
    }

    /// Encode the grid with `workers` threads taking segments round-robin, then join.
    fn render(dir: &Path, total: u64, size: u64, workers: usize, name: &str) -> Vec<u8> {
        let starts: Vec<u64> = (0..total).step_by(size as usize).collect();
        let mut paths = vec![std::path::PathBuf::new(); starts.len()];
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    let starts = &starts;
                    scope.spawn(move || {
                        (w..starts.len())
                            .step_by(workers)
                            .map(|k| {
                                let first = starts[k];
                                let count = size.min(total - first);
                                let frames = (first..first + count).map(frame).collect();
                                (k, encode(dir, &format!("{name}-{k}.mp4"), first, frames))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for handle in handles {
                for (k, path) in handle.join().unwrap() {
                    paths[k] = path;
                }
            }
        });
        let output = dir.join(format!("{name}.mp4"));
        let result = assemble_stage(AssembleInput {
            container: hf_encode::Container::Mp4,
            segments: paths,
            output: output.clone(),
            fps: Fps::whole(30),
            expected_frames: total,
            faststart: true,
            audio: None,
            audio_tracks: 0,
        })
        .unwrap();
        assert_eq!(result.frames, total);
        let info = probe_video(&output).unwrap();
        assert_eq!(info.frames, total);
        assert_eq!(
            info.keyframes, starts,
            "a keyframe starts every segment, and only there"
        );
        assert!((info.duration_seconds - total as f64 / 30.0).abs() < 1e-6);
        std::fs::read(output).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]
        #[test]
        fn joined_segments_are_the_same_bytes_for_any_worker_count(
            total in 1u64..40,
            size in 1u64..16,
            workers in 2usize..4,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let sequential = render(dir.path(), total, size, 1, "one");
            let parallel = render(dir.path(), total, size, workers, "many");
            prop_assert!(sequential == parallel, "{} workers changed the bytes", workers);
            let last = total - 1;
            let image = &decode_rgb_frames(&dir.path().join("many.mp4"), &[last]).unwrap()[0];
            let want = if (last / 3).is_multiple_of(2) { [255, 0, 0] } else { [0, 0, 255] };
            let got = image.pixel(32, 24);
            prop_assert!(got.iter().zip(want).all(|(g, w)| (i32::from(*g) - w).abs() <= 8), "frame {}: {:?}", last, got);
        }
    }
}

#[test]
fn a_join_whose_duration_is_not_frames_over_fps_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let red = solid_jpeg(dir.path(), "red");
    let segment = dir.path().join("24fps.mp4");
    let input = EncodeInput {
        settings: VideoEncodeSettings {
            codec: hf_encode::VideoCodec::H264,
            bitrate: None,
            width: 64,
            height: 48,
            fps: Fps::whole(24),
            preset: "ultrafast".into(),
            crf: 28,
            gop: GopSettings {
                keyint: 24,
                bframes: 0,
            },
            threads: 1,
            hdr: None,
            vp9_cpu_used: None,
        },
        output: segment.clone(),
        first_frame: 0,
        frame_count: 12,
        hdr_sources: Vec::new(),
    };
    let frames = (0..12).map(|_| FrameImage::Encoded {
        format: ImageFormat::Jpeg,
        bytes: red.clone(),
    });
    SegmentEncoder::encode_all(input, frames).unwrap();
    // Twelve packets, but spaced for 24 fps: they last 0.5 s, not the 0.4 s of 12 frames at 30.
    let output = dir.path().join("out.mp4");
    let err = assemble_stage(AssembleInput {
        container: hf_encode::Container::Mp4,
        segments: vec![segment],
        output: output.clone(),
        fps: Fps::whole(30),
        expected_frames: 12,
        faststart: true,
        audio: None,
        audio_tracks: 0,
    })
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("came out with 12 frames lasting 0.500000 s"),
        "{message}"
    );
    assert!(
        message.ends_with("the plan is 12 frames lasting 0.400000 s"),
        "{message}"
    );
    assert!(!output.exists());
}
