//! Every output format from the same RGBA frames: codec, pixel format, frame count, duration,
//! alpha at a transparent and an opaque pixel, and two-segment joins that decode cleanly.

use hf_core::{Fps, FrameImage, ImageFormat};
use hf_encode::inspect::{decode_rgba_frames, probe_video, RgbaImage};
use hf_encode::{
    assemble_stage, gif_stage, png_sequence_stage, AssembleInput, Container, EncodeInput, GifInput,
    GopSettings, PngSequenceInput, SegmentEncoder, VideoCodec, VideoEncodeSettings,
};
use std::path::{Path, PathBuf};
use std::process::Command;

const FRAMES: u64 = 20;

/// `FRAMES` RGBA PNGs of `width` x `height`: the left half opaque, red growing brighter frame
/// by frame; the right half fully transparent.
fn rgba_frames(dir: &Path, width: u32, height: u32) -> Vec<PathBuf> {
    let pattern = dir.join("src_%03d.png");
    let half = width / 2;
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "color=c=black:s={width}x{height}:r=10,format=rgba,\
             geq=r='if(lt(X,{half}),100+N*5,0)':g='if(lt(X,{half}),40,0)':b='if(lt(X,{half}),20,0)':\
             a='if(lt(X,{half}),255,0)'"
        ))
        .args(["-frames:v", &FRAMES.to_string()])
        .arg(&pattern)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    (1..=FRAMES)
        .map(|i| dir.join(format!("src_{i:03}.png")))
        .collect()
}

fn settings(codec: VideoCodec, width: u32, height: u32, fps: Fps) -> VideoEncodeSettings {
    VideoEncodeSettings {
        codec,
        width,
        height,
        fps,
        preset: "ultrafast".into(),
        crf: 18,
        bitrate: None,
        gop: GopSettings {
            keyint: 10,
            bframes: 0,
        },
        threads: 2,
        hdr: None,
        vp9_cpu_used: None,
    }
}

/// Encode `frames` as segments of 10 frames and join them.
fn encode_joined(dir: &Path, settings: VideoEncodeSettings, frames: &[PathBuf]) -> PathBuf {
    let container = settings.codec.container();
    let mut segments = Vec::new();
    for (k, chunk) in frames.chunks(10).enumerate() {
        let input = EncodeInput {
            settings: settings.clone(),
            output: dir.join(format!("segment-{k}.{}", container.extension())),
            first_frame: k as u64 * 10,
            frame_count: chunk.len() as u64,
            hdr_sources: Vec::new(),
        };
        let frames = chunk.iter().map(|path| FrameImage::Encoded {
            format: ImageFormat::Png,
            bytes: std::fs::read(path).unwrap(),
        });
        segments.push(SegmentEncoder::encode_all(input, frames).unwrap().path);
    }
    let output = dir.join(format!("out.{}", container.extension()));
    let result = assemble_stage(AssembleInput {
        segments,
        output: output.clone(),
        fps: settings.fps,
        expected_frames: frames.len() as u64,
        faststart: true,
        container,
        audio: None,
        audio_tracks: 0,
    })
    .unwrap();
    assert_eq!(result.frames, frames.len() as u64);
    output
}

/// `ffmpeg -v warning` decoding the whole file prints nothing.
fn assert_decodes_cleanly(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "warning", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.trim().is_empty(),
        "{} decodes with warnings: {stderr}",
        path.display()
    );
}

#[track_caller]
fn assert_rgba(image: &RgbaImage, x: u32, y: u32, want: [u8; 4], tolerance: u8, what: &str) {
    let got = image.pixel(x, y);
    assert!(
        got.iter()
            .zip(want)
            .all(|(g, w)| g.abs_diff(w) <= tolerance),
        "{what}: pixel ({x},{y}) is {got:?}, expected {want:?} (+-{tolerance})"
    );
}

/// Frame 19 of the test frames: opaque (195, 40, 20) on the left, transparent on the right.
fn assert_alpha_kept(path: &Path, width: u32, height: u32, tolerance: u8) {
    let frame = &decode_rgba_frames(path, &[FRAMES - 1]).unwrap()[0];
    assert_eq!((frame.width, frame.height), (width, height));
    assert_rgba(
        frame,
        width / 4,
        height / 2,
        [195, 40, 20, 255],
        tolerance,
        "opaque half",
    );
    assert_eq!(
        frame.pixel(3 * width / 4, height / 2)[3],
        0,
        "{}: the transparent half lost its alpha",
        path.display()
    );
}

#[test]
fn vp9_webm_keeps_alpha_and_joins_segments() {
    let dir = tempfile::tempdir().unwrap();
    let frames = rgba_frames(dir.path(), 160, 90);
    let output = encode_joined(
        dir.path(),
        settings(VideoCodec::Vp9, 160, 90, Fps::whole(30)),
        &frames,
    );
    let info = probe_video(&output).unwrap();
    assert_eq!(
        info.codec, "libvpx-vp9",
        "decoded with libvpx because of alpha_mode"
    );
    assert_eq!(info.pix_fmt, "yuva420p");
    assert_eq!(info.frames, FRAMES);
    assert_eq!(info.keyframes, vec![0, 10]);
    assert!((info.duration_seconds - FRAMES as f64 / 30.0).abs() < 0.002);
    assert_alpha_kept(&output, 160, 90, 6);
    assert_decodes_cleanly(&output);
}

#[test]
fn prores_4444_mov_keeps_alpha_and_joins_segments() {
    let dir = tempfile::tempdir().unwrap();
    let frames = rgba_frames(dir.path(), 160, 90);
    let output = encode_joined(
        dir.path(),
        settings(VideoCodec::ProRes4444, 160, 90, Fps::whole(30)),
        &frames,
    );
    let info = probe_video(&output).unwrap();
    assert_eq!(info.codec, "prores");
    assert_eq!(info.pix_fmt, "yuva444p10le");
    assert_eq!(info.frames, FRAMES);
    assert_eq!(info.keyframes.len() as u64, FRAMES, "ProRes is intra-only");
    assert!((info.duration_seconds - FRAMES as f64 / 30.0).abs() < 1e-6);
    assert_alpha_kept(&output, 160, 90, 3);
    assert_decodes_cleanly(&output);
}

#[test]
fn h265_mp4_is_tagged_hvc1_and_joins_segments() {
    let dir = tempfile::tempdir().unwrap();
    let frames = rgba_frames(dir.path(), 160, 90);
    let output = encode_joined(
        dir.path(),
        settings(VideoCodec::H265, 160, 90, Fps::whole(30)),
        &frames,
    );
    let info = probe_video(&output).unwrap();
    assert_eq!(info.codec, "hevc");
    assert_eq!(info.pix_fmt, "yuv420p");
    assert_eq!(info.color_space, "bt709");
    assert_eq!(info.frames, FRAMES);
    assert_eq!(info.keyframes, vec![0, 10]);
    assert!((info.duration_seconds - FRAMES as f64 / 30.0).abs() < 1e-6);
    let bytes = std::fs::read(&output).unwrap();
    assert!(
        bytes.windows(4).any(|w| w == b"hvc1"),
        "the sample entry is hvc1"
    );
    assert!(!bytes.windows(4).any(|w| w == b"hev1"));
    // No alpha in H.265: the transparent half is black, the opaque half keeps its colour.
    let frame = &decode_rgba_frames(&output, &[FRAMES - 1]).unwrap()[0];
    assert_rgba(frame, 40, 45, [195, 40, 20, 255], 8, "opaque half");
    assert_rgba(frame, 120, 45, [0, 0, 0, 255], 8, "transparent half");
    assert_decodes_cleanly(&output);
}

#[test]
fn odd_sizes_are_padded_to_even_for_4_2_0_codecs() {
    let dir = tempfile::tempdir().unwrap();
    let frames = rgba_frames(dir.path(), 161, 91);
    let output = encode_joined(
        dir.path(),
        settings(VideoCodec::H264, 161, 91, Fps::whole(30)),
        &frames,
    );
    let info = probe_video(&output).unwrap();
    assert_eq!((info.width, info.height), (162, 92));
    let frame = &decode_rgba_frames(&output, &[0]).unwrap()[0];
    assert_rgba(frame, 10, 90, [100, 40, 20, 255], 10, "last picture row");
    // The pad row is black in luma (its chroma is shared with the picture's last row).
    let pad = frame.pixel(10, 91);
    assert!(pad[..3].iter().all(|&c| c < 60), "padded row: {pad:?}");
    let column = frame.pixel(161, 10);
    assert!(
        column[..3].iter().all(|&c| c < 60),
        "padded column: {column:?}"
    );
    assert_decodes_cleanly(&output);

    // ProRes 4:4:4 keeps the odd size.
    let prores = dir.path().join("prores");
    std::fs::create_dir_all(&prores).unwrap();
    let output = encode_joined(
        &prores,
        settings(VideoCodec::ProRes4444, 161, 91, Fps::whole(30)),
        &frames,
    );
    let info = probe_video(&output).unwrap();
    assert_eq!((info.width, info.height), (161, 91));
}

#[test]
fn ntsc_rates_have_exact_timestamps_frame_count_and_duration() {
    let dir = tempfile::tempdir().unwrap();
    let frames = rgba_frames(dir.path(), 160, 90);
    let fps: Fps = "30000/1001".parse().unwrap();
    let output = encode_joined(
        dir.path(),
        settings(VideoCodec::H264, 160, 90, fps),
        &frames,
    );
    let info = probe_video(&output).unwrap();
    assert_eq!(info.frames, FRAMES);
    assert_eq!(info.frame_rate, (30000, 1001));
    assert!(
        (info.duration_seconds - FRAMES as f64 * 1001.0 / 30000.0).abs() < 1e-9,
        "duration {}",
        info.duration_seconds
    );
    // Every presentation time is exactly i * 1001/30000 s.
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(&output)
        .output()
        .unwrap();
    let mut times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    times.sort_by(f64::total_cmp);
    assert_eq!(times.len() as u64, FRAMES);
    for (i, t) in times.iter().enumerate() {
        assert!(
            (t - i as f64 * 1001.0 / 30000.0).abs() < 1e-5,
            "frame {i} at {t}"
        );
    }
}

#[test]
fn gif_uses_a_palette_keeps_transparency_and_loop_count() {
    let dir = tempfile::tempdir().unwrap();
    let frames = rgba_frames(dir.path(), 160, 90);
    let output = dir.path().join("out.gif");
    let result = gif_stage(&GifInput {
        frames: frames.clone(),
        fps: Fps::whole(10),
        output: output.clone(),
        loop_count: 3,
    })
    .unwrap();
    assert_eq!(result.frames, FRAMES);
    let info = probe_video(&output).unwrap();
    assert_eq!(info.codec, "gif");
    assert_eq!(info.frames, FRAMES);
    assert!(
        (info.duration_seconds - 2.0).abs() < 0.011,
        "{}",
        info.duration_seconds
    );
    let bytes = std::fs::read(&output).unwrap();
    let netscape = bytes
        .windows(11)
        .position(|w| w == b"NETSCAPE2.0")
        .expect("a loop extension");
    assert_eq!(
        u16::from_le_bytes([bytes[netscape + 13], bytes[netscape + 14]]),
        3,
        "loop count"
    );
    let last = &decode_rgba_frames(&output, &[FRAMES - 1]).unwrap()[0];
    assert_rgba(last, 40, 45, [195, 40, 20, 255], 12, "opaque half");
    assert_eq!(last.pixel(120, 45)[3], 0, "transparent half");
    // Nothing is left beside the output.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn png_sequence_is_one_based_rgba_with_an_audio_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let frames = rgba_frames(dir.path(), 160, 90);
    // An opaque RGB frame as Chrome writes when nothing is transparent: stored as RGBA anyway.
    let opaque = dir.path().join("opaque.png");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=160x90",
        ])
        .args(["-frames:v", "1", "-pix_fmt", "rgb24"])
        .arg(&opaque)
        .status()
        .unwrap();
    assert!(status.success());
    let mut all = frames.clone();
    all.push(opaque);
    // One second of a 440 Hz tone as the mix (interleaved stereo f32).
    let mix = dir.path().join("mix.f32");
    let samples: Vec<u8> = (0..48_000)
        .flat_map(|i| {
            let v = (i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.5;
            [v, v]
        })
        .flat_map(f32::to_le_bytes)
        .collect();
    std::fs::write(&mix, samples).unwrap();
    let output = dir.path().join("sequence");
    let result = png_sequence_stage(&PngSequenceInput {
        frames: all.clone(),
        output: output.clone(),
        audio: Some(mix),
        keep_frames: true,
    })
    .unwrap();
    assert!(all.iter().all(|frame| frame.is_file()), "kept frames stay");
    assert_eq!(result.frames, FRAMES + 1);
    let mut names: Vec<String> = std::fs::read_dir(&output)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.first().unwrap(), "audio.m4a");
    assert_eq!(names[1], "frame_000001.png");
    assert_eq!(names.last().unwrap(), "frame_000021.png");
    for name in &names[1..] {
        let bytes = std::fs::read(output.join(name)).unwrap();
        assert_eq!(bytes[25], 6, "{name} is RGBA");
    }
    assert_alpha_kept(&output, 160, 90, 0);
    let seconds = result.audio_seconds.unwrap();
    assert!((seconds - 1.0).abs() < 0.03, "audio lasts {seconds}");
    let audio = hf_encode::inspect::probe_video(&output.join("audio.m4a"));
    assert!(audio.is_err(), "audio.m4a has no video stream");
}

#[test]
fn webm_audio_is_opus_and_mov_audio_is_aac() {
    let dir = tempfile::tempdir().unwrap();
    let frames = rgba_frames(dir.path(), 160, 90);
    let mix = dir.path().join("mix.f32");
    let samples: Vec<u8> = (0..(48_000 * FRAMES / 30) as usize)
        .flat_map(|i| {
            let v = (i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 0.5;
            [v, v]
        })
        .flat_map(f32::to_le_bytes)
        .collect();
    std::fs::write(&mix, samples).unwrap();
    for (codec, audio_codec) in [(VideoCodec::Vp9, "opus"), (VideoCodec::ProRes4444, "aac")] {
        let sub = dir.path().join(codec.to_string());
        std::fs::create_dir_all(&sub).unwrap();
        let video = encode_joined(&sub, settings(codec, 160, 90, Fps::whole(30)), &frames);
        let container = codec.container();
        let output = sub.join(format!("with-audio.{}", container.extension()));
        let segments = vec![video];
        // Re-assemble the joined file with the mix.
        let result = assemble_stage(AssembleInput {
            segments,
            output: output.clone(),
            fps: Fps::whole(30),
            expected_frames: FRAMES,
            faststart: true,
            container,
            audio: Some(mix.clone()),
            audio_tracks: 1,
        })
        .unwrap();
        let seconds = result.audio_seconds.unwrap();
        assert!(
            (seconds - FRAMES as f64 / 30.0).abs() < 0.022,
            "{codec}: audio {seconds}"
        );
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "a:0",
                "-show_entries",
                "stream=codec_name",
                "-of",
                "csv=p=0",
            ])
            .arg(&output)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), audio_codec);
        assert_decodes_cleanly(&output);
        assert!(matches!(container, Container::Webm | Container::Mov));
    }
}
