//! Source media: probing and its errors, frame extraction (sample and hold, loop, VFR), the
//! audio mix (placement, mono panning, rate, volume) and muxing AAC with the video.

use hf_audio_fx::Fx;
use hf_core::{extracted_frame_name, Fps, FrameImage, ImageFormat};
use hf_encode::inspect::{audio_duration, decode_audio, probe_video};
use hf_encode::{
    assemble_stage, audio_stage, extract_stage, probe_media, AssembleInput, AudioBus,
    AudioMixInput, AudioTrack, EncodeInput, ExtractInput, GopSettings, MediaError, SegmentEncoder,
    TrackFx, VideoEncodeSettings, VolumeEnvelope, AUDIO_RATE,
};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run the ffmpeg CLI to make test media (tests only; hf itself links libav).
fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// Red, green, blue: one second each at 25 frames/s, with a 440 Hz stereo tone.
fn colour_clip(dir: &Path) -> PathBuf {
    let path = dir.join("rgb.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=64x48:r=25:d=1",
        "-f",
        "lavfi",
        "-i",
        "color=c=lime:s=64x48:r=25:d=1",
        "-f",
        "lavfi",
        "-i",
        "color=c=blue:s=64x48:r=25:d=1",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100:duration=3",
        "-filter_complex",
        "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]",
        "-map",
        "[v]",
        "-map",
        "3:a",
        "-ac",
        "2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        path.to_str().unwrap(),
    ]);
    path
}

/// The centre pixel of extracted frame `k`, decoded by the ffmpeg CLI as any JPEG reader would.
fn extracted_colour(dir: &Path, k: u64) -> [u8; 3] {
    let path = dir.join(extracted_frame_name(k, false));
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(output.status.success(), "{}", path.display());
    let i = (24 * 64 + 32) * 3;
    [output.stdout[i], output.stdout[i + 1], output.stdout[i + 2]]
}

fn is_colour(pixel: [u8; 3], expected: [u8; 3]) -> bool {
    pixel
        .iter()
        .zip(expected)
        .all(|(a, b)| (i32::from(*a) - i32::from(b)).abs() <= 12)
}

#[test]
fn probe_reports_streams_and_duration() {
    let dir = tempfile::tempdir().unwrap();
    let info = probe_media(&colour_clip(dir.path())).unwrap();
    let video = info.video.expect("video stream");
    assert_eq!(
        (video.codec.as_str(), video.width, video.height),
        ("h264", 64, 48)
    );
    assert!(!video.alpha);
    let audio = info.audio.expect("audio stream");
    assert_eq!((audio.codec.as_str(), audio.channels), ("aac", 2));
    assert!(
        (info.duration_seconds - 3.0).abs() < 0.05,
        "{}",
        info.duration_seconds
    );
}

#[test]
fn bad_media_is_named_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mp4");
    assert_eq!(probe_media(&missing), Err(MediaError::NotFound));

    let html = dir.path().join("page.mp4");
    std::fs::write(
        &html,
        "<!DOCTYPE html><html><body>404 Not Found</body></html>",
    )
    .unwrap();
    assert_eq!(
        probe_media(&html),
        Err(MediaError::NotMedia("an HTML page"))
    );
    let json = dir.path().join("error.mp3");
    std::fs::write(&json, r#"{"error":"AccessDenied"}"#).unwrap();
    assert_eq!(probe_media(&json), Err(MediaError::NotMedia("JSON")));

    let noise = dir.path().join("noise.mp4");
    std::fs::write(
        &noise,
        (0..4096u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(matches!(
        probe_media(&noise),
        Err(MediaError::Unreadable(_))
    ));

    // A faststart file cut in half: the header promises 3 s, the data stops early.
    let whole = dir.path().join("whole.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=320x240:r=25:d=3",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        whole.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    match probe_media(&cut) {
        Err(MediaError::Truncated { declared, ends }) => {
            assert!(
                (declared - 3.0).abs() < 0.1 && ends < 2.5,
                "{declared} {ends}"
            )
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    // Cut before the first frame's data: nothing decodes.
    let head = dir.path().join("head.mp4");
    let moov_end = bytes.windows(4).position(|w| w == b"mdat").unwrap() + 64;
    std::fs::write(&head, &bytes[..moov_end]).unwrap();
    assert!(probe_media(&head).is_err());
}

#[test]
fn extraction_samples_and_holds_source_frames() {
    let dir = tempfile::tempdir().unwrap();
    let source = colour_clip(dir.path());
    let out = dir.path().join("frames");
    // At 30 frames/s from media start 0.5: k=0 -> 0.5 s (red), 20 -> 1.17 s (green),
    // 50 -> 2.17 s (blue), 200 -> past the end (held blue).
    let result = extract_stage(&ExtractInput {
        source,
        media_start: 0.5,
        fps: Fps::whole(30),
        frames: vec![0, 20, 50, 200],
        output_dir: out.clone(),
        alpha: false,
        shrink_to: None,
    })
    .unwrap();
    assert_eq!((result.written, result.extension.as_str()), (4, "jpg"));
    assert!(
        is_colour(extracted_colour(&out, 0), [255, 0, 0]),
        "{:?}",
        extracted_colour(&out, 0)
    );
    assert!(
        is_colour(extracted_colour(&out, 20), [0, 255, 0]),
        "{:?}",
        extracted_colour(&out, 20)
    );
    assert!(
        is_colour(extracted_colour(&out, 50), [0, 0, 255]),
        "{:?}",
        extracted_colour(&out, 50)
    );
    assert!(is_colour(extracted_colour(&out, 200), [0, 0, 255]));
}

#[test]
fn extraction_follows_variable_frame_rate_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    // Red for 0.2 s at 5 frames/s, then green at 50 frames/s: a VFR file with real timestamps.
    let vfr = dir.path().join("vfr.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=64x48:r=5:d=1",
        "-f",
        "lavfi",
        "-i",
        "color=c=lime:s=64x48:r=50:d=1",
        "-filter_complex",
        "[0:v][1:v]concat=n=2:v=1:a=0[v]",
        "-map",
        "[v]",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        vfr.to_str().unwrap(),
    ]);
    let out = dir.path().join("frames");
    extract_stage(&ExtractInput {
        source: vfr,
        media_start: 0.0,
        fps: Fps::whole(10),
        frames: vec![5, 9, 11, 19],
        output_dir: out.clone(),
        alpha: false,
        shrink_to: None,
    })
    .unwrap();
    assert!(is_colour(extracted_colour(&out, 5), [255, 0, 0]));
    assert!(is_colour(extracted_colour(&out, 9), [255, 0, 0]));
    assert!(is_colour(extracted_colour(&out, 11), [0, 255, 0]));
    assert!(is_colour(extracted_colour(&out, 19), [0, 255, 0]));
}

fn rms(samples: &[f32], channel: usize, from: f64, to: f64) -> f64 {
    let (a, b) = (
        (from * f64::from(AUDIO_RATE)) as usize,
        (to * f64::from(AUDIO_RATE)) as usize,
    );
    let values: Vec<f64> = (a..b)
        .map(|i| f64::from(samples[i * 2 + channel]))
        .collect();
    (values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64).sqrt()
}

/// lavfi's sine has amplitude 1/8; at half volume its RMS is this.
const TONE_RMS: f64 = 0.0625 / std::f64::consts::SQRT_2;

/// A 440 Hz tone of RMS [`TONE_RMS`] on every channel.
fn tone(dir: &Path, name: &str, channels: &str, seconds: &str) -> PathBuf {
    let path = dir.join(name);
    let filter = if channels == "1" {
        "volume=0.5".to_string()
    } else {
        "volume=0.5,pan=stereo|c0=c0|c1=c0".to_string()
    };
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency=440:sample_rate=44100:duration={seconds}"),
        "-af",
        &filter,
        "-c:a",
        "pcm_s16le",
        path.to_str().unwrap(),
    ]);
    path
}

fn track(source: PathBuf, start: f64, duration: f64) -> AudioTrack {
    AudioTrack {
        element: "tone".into(),
        source,
        start_seconds: start,
        duration_seconds: duration,
        media_start: 0.0,
        rate: 1.0,
        volume: 1.0,
        looped: false,
        envelope: None,
        fades: [0.0; 2],
        fx: None,
        group: None,
    }
}

#[test]
fn the_mix_places_pans_trims_and_scales_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let mono = tone(dir.path(), "mono.wav", "1", "1");
    let stereo = tone(dir.path(), "stereo.wav", "2", "4");
    let full = TONE_RMS;
    let output = dir.path().join("mix.f32");
    let mut quiet = track(stereo.clone(), 2.5, 1.0);
    quiet.volume = 0.5;
    let mut fast = track(stereo, 4.0, 1.0);
    fast.rate = 2.0;
    fast.media_start = 1.0;
    let mix = audio_stage(&AudioMixInput {
        tracks: vec![track(mono, 0.5, 3.0), quiet, fast],
        samples: 6 * u64::from(AUDIO_RATE) - 7,
        output: output.clone(),
        groups: Vec::new(),
        master: None,
    })
    .unwrap();
    assert_eq!(mix.samples, 6 * 48_000 - 7);
    let samples = hf_encode::read_mix(&output).unwrap();
    assert_eq!(samples.len() as u64, mix.samples * 2);
    for channel in [0, 1] {
        assert!(
            rms(&samples, channel, 0.0, 0.45) < 1e-5,
            "silent before its start"
        );
        // Mono on both channels at full level (no -3 dB).
        let heard = rms(&samples, channel, 0.6, 1.4);
        assert!(
            (heard - full).abs() < 0.002,
            "mono channel {channel}: {heard}"
        );
        // The 1 s mono source ends at 1.5 s although its slot runs to 3.5 s.
        assert!(rms(&samples, channel, 1.55, 2.45) < 1e-5);
        let half = rms(&samples, channel, 2.6, 3.4);
        assert!((half - full / 2.0).abs() < 0.002, "data-volume 0.5: {half}");
        // Rate 2 from media start 1: the 1 s slot consumes source 1..3 s.
        let fast = rms(&samples, channel, 4.05, 4.95);
        assert!((fast - full).abs() < 0.004, "rate 2: {fast}");
        assert!(rms(&samples, channel, 5.05, 5.95) < 1e-5);
    }
}

fn fx(chain: &str, automation: Option<&str>) -> Fx {
    Fx::parse(chain, automation).unwrap()
}

#[test]
fn effects_run_per_track_per_group_bus_and_on_the_master_with_their_tails() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = tone(dir.path(), "tone.wav", "2", "1");
    let full = TONE_RMS;
    // A -6.02 dB gain stage on one track; an echo 300 ms later at full level on another.
    let mut quieter = track(stereo.clone(), 0.0, 1.0);
    quieter.fx = Some(TrackFx {
        fx: fx(
            r#"{"version":1,"nodes":[{"type":"gain","params":{"gain":-6.0206}}]}"#,
            None,
        ),
        clock_start: 0.0,
    });
    let mut echoed = track(stereo.clone(), 2.0, 0.2);
    echoed.fx = Some(TrackFx {
        fx: fx(
            r#"{"version":1,"nodes":[{"type":"delay","params":{"time":300,"feedback":0.01,"mix":1}}]}"#,
            None,
        ),
        clock_start: 0.0,
    });
    // Two members of one group, whose bus has volume 0.5 and a lane taking it to 0 by 5.5 s.
    let mut members = [track(stereo.clone(), 4.0, 0.5), track(stereo, 4.5, 1.0)];
    members.iter_mut().for_each(|m| m.group = Some("vo".into()));
    let lane =
        r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":5,"v":0.5},{"t":5.5,"v":0}]}]}"#;
    let bus = AudioBus {
        id: "vo".into(),
        volume: 0.5,
        envelope: Some(VolumeEnvelope {
            fps: 10.0,
            gains: (0..60)
                .map(|i| {
                    let auto = Fx::parse(r#"{"version":1,"nodes":[]}"#, Some(lane)).unwrap();
                    let volume = auto.automation.volume().unwrap();
                    volume.value_at(f64::from(i) / 10.0, hf_audio_fx::Via::Ignore) as f32
                })
                .collect(),
        }),
        fx: None,
    };
    let output = dir.path().join("mix.f32");
    let mut tracks = vec![quieter, echoed];
    tracks.extend(members);
    let input = AudioMixInput {
        tracks,
        samples: 6 * u64::from(AUDIO_RATE),
        output: output.clone(),
        groups: vec![bus],
        master: None,
    };
    audio_stage(&input).unwrap();
    let samples = hf_encode::read_mix(&output).unwrap();
    let heard = rms(&samples, 0, 0.1, 0.9);
    assert!((heard - full / 2.0).abs() < 0.002, "-6 dB: {heard}");
    // The 0.2 s echoed slot: silent (mix 1 = wet only) until its echo at 2.3 s, which rings
    // on past the slot's end at 2.2 s.
    assert!(rms(&samples, 0, 2.01, 2.29) < 1e-4);
    assert!((rms(&samples, 0, 2.31, 2.49) - full).abs() < 0.002);
    // The bus at half volume, then fading out over 5..5.5 s.
    assert!((rms(&samples, 0, 4.1, 4.9) - full / 2.0).abs() < 0.002);
    assert!((rms(&samples, 0, 5.2, 5.3) - full / 4.0).abs() < 0.001);
    assert!(rms(&samples, 1, 5.55, 5.95) < 1e-5);

    // A master -inf-ish gain silences everything.
    let master = AudioMixInput {
        master: Some(fx(
            r#"{"version":1,"nodes":[{"type":"gain","params":{"gain":-60}}]}"#,
            None,
        )),
        ..input
    };
    audio_stage(&master).unwrap();
    let samples = hf_encode::read_mix(&output).unwrap();
    assert_eq!(
        samples.len(),
        6 * 48_000 * 2,
        "the master's tail is cut at the end"
    );
    assert!((rms(&samples, 0, 0.1, 0.9) - full / 2000.0).abs() < 2e-5);
}

#[test]
fn a_mix_over_minus_1_dbtp_is_lowered_to_minus_1_5_dbtp_before_limiting() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = tone(dir.path(), "tone.wav", "2", "1");
    // Five in-phase tones at +12 dB: a peak of 5 x 0.0625 x 3.981 = 1.244 (+1.9 dBFS).
    let loud: Vec<AudioTrack> = (0..5)
        .map(|_| {
            let mut t = track(stereo.clone(), 0.0, 1.0);
            t.volume = 4.0;
            t
        })
        .collect();
    let output = dir.path().join("mix.f32");
    let input = AudioMixInput {
        tracks: loud,
        samples: u64::from(AUDIO_RATE),
        output: output.clone(),
        groups: Vec::new(),
        master: None,
    };
    let mix = audio_stage(&input).unwrap();
    // Lowered by the encoded true peak (read to 0.1 dB) less -1.5 dBTP.
    let expected = 20.0 * (5.0 * 0.0625 * hf_encode::MAX_VOLUME).log10() + 1.5;
    assert!(
        (mix.lowered_db - expected).abs() < 0.16,
        "{} vs {expected}",
        mix.lowered_db
    );
    assert_eq!(
        mix.clipped_samples, 0,
        "lowered before limiting: nothing clips"
    );
    let samples = hf_encode::read_mix(&output).unwrap();
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    let target = 10f32.powf(-1.5 / 20.0);
    assert!((peak - target).abs() < 0.02, "peak {peak}, target {target}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "only the tone and the mix: {leftovers:?}"
    );
    // One track of the five is well under the ceiling: untouched.
    let quiet = AudioMixInput {
        tracks: input.tracks[..1].to_vec(),
        ..input
    };
    assert_eq!(audio_stage(&quiet).unwrap().lowered_db, 0.0);
}

#[test]
fn audio_is_muxed_as_aac_with_the_video_length() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = dir.path().join("grey.jpg");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=64x48",
        "-frames:v",
        "1",
        jpeg.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&jpeg).unwrap();
    let fps = Fps::whole(30);
    let mut segments = Vec::new();
    for (index, first) in [0u64, 30].into_iter().enumerate() {
        let input = EncodeInput {
            settings: VideoEncodeSettings {
                codec: hf_encode::VideoCodec::H264,
                bitrate: None,
                width: 64,
                height: 48,
                fps,
                preset: "ultrafast".into(),
                crf: 23,
                gop: GopSettings {
                    keyint: 30,
                    bframes: 0,
                },
                threads: 1,
                hdr: None,
                vp9_cpu_used: None,
            },
            output: dir.path().join(format!("s{index}.mp4")),
            first_frame: first,
            frame_count: 30,
            hdr_sources: Vec::new(),
        };
        let frames = (0..30).map(|_| FrameImage::Encoded {
            format: ImageFormat::Jpeg,
            bytes: bytes.clone(),
        });
        segments.push(SegmentEncoder::encode_all(input, frames).unwrap().path);
    }
    let stereo = tone(dir.path(), "tone.wav", "2", "1");
    let mix = audio_stage(&AudioMixInput {
        tracks: vec![track(stereo, 0.5, 1.0)],
        samples: 2 * u64::from(AUDIO_RATE),
        output: dir.path().join("mix.f32"),
        groups: Vec::new(),
        master: None,
    })
    .unwrap();
    let output = dir.path().join("out.mp4");
    let assemble = |audio: Option<PathBuf>, output: PathBuf| {
        assemble_stage(AssembleInput {
            container: hf_encode::Container::Mp4,
            segments: segments.clone(),
            output,
            fps,
            expected_frames: 60,
            faststart: true,
            audio,
            audio_tracks: 1,
        })
    };
    // The plan has a sounding element but no mix arrived: refused, nothing written.
    let refused = dir.path().join("refused.mp4");
    let error = assemble(None, refused.clone()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the render has audio (1 sounding elements) but no mixed audio reached the assemble stage"
    );
    assert!(!refused.exists());

    let result = assemble(Some(mix.path), output.clone()).unwrap();
    let audio_seconds = result.audio_seconds.expect("audio muxed");
    assert!(
        (audio_seconds - 2.0).abs() <= 1024.0 / 48_000.0,
        "{audio_seconds}"
    );
    assert!((audio_duration(&output).unwrap() - 2.0).abs() <= 1024.0 / 48_000.0);
    assert_eq!(probe_video(&output).unwrap().frames, 60);
    let info = probe_media(&output).unwrap();
    let audio = info.audio.unwrap();
    assert_eq!(
        (audio.codec.as_str(), audio.sample_rate, audio.channels),
        ("aac", 48_000, 2)
    );
    let decoded = decode_audio(&output, 10.0).unwrap();
    let full = TONE_RMS;
    assert!(rms(&decoded, 0, 0.0, 0.4) < 0.002);
    let heard = rms(&decoded, 0, 0.6, 1.4);
    assert!((heard - full).abs() < 0.004, "{heard}");
    assert!(rms(&decoded, 1, 1.6, 1.95) < 0.002);
}

#[test]
fn rotated_sources_come_out_upright() {
    let dir = tempfile::tempdir().unwrap();
    // Stored 64x48 with red on the left and blue on the right. ffmpeg 5.1 writes `rotate=90`
    // as a display matrix that players (ffmpeg's autorotate included) show turned a quarter
    // counter-clockwise: upright it is 48x64 with blue on top.
    let stored = dir.path().join("stored.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=32x48:d=1",
        "-f",
        "lavfi",
        "-i",
        "color=c=blue:s=32x48:d=1",
        "-filter_complex",
        "[0:v][1:v]hstack",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        stored.to_str().unwrap(),
    ]);
    let rotated = dir.path().join("rotated.mp4");
    ffmpeg(&[
        "-i",
        stored.to_str().unwrap(),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        rotated.to_str().unwrap(),
    ]);
    let info = probe_media(&rotated).unwrap();
    assert_eq!(info.video.unwrap().rotation, 270);
    let out = dir.path().join("frames");
    extract_stage(&ExtractInput {
        source: rotated,
        media_start: 0.0,
        fps: Fps::whole(30),
        frames: vec![3],
        output_dir: out.clone(),
        alpha: false,
        shrink_to: None,
    })
    .unwrap();
    let path = out.join(extracted_frame_name(3, false));
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert_eq!(output.stdout.len(), 48 * 64 * 3, "upright 48x64");
    let pixel = |x: usize, y: usize| {
        let i = (y * 48 + x) * 3;
        [output.stdout[i], output.stdout[i + 1], output.stdout[i + 2]]
    };
    assert!(
        is_colour(pixel(24, 10), [0, 0, 255]),
        "top {:?}",
        pixel(24, 10)
    );
    assert!(
        is_colour(pixel(24, 54), [255, 0, 0]),
        "bottom {:?}",
        pixel(24, 54)
    );
}

/// The first pixel of `path`'s first frame as RGB after the ffmpeg CLI applies `filter`.
fn ffmpeg_pixel(path: &Path, filter: &str) -> [u8; 3] {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-vf", filter, "-f", "rawvideo", "-"])
        .output()
        .unwrap();
    assert!(output.status.success());
    [output.stdout[0], output.stdout[1], output.stdout[2]]
}

#[test]
fn hdr_sources_are_tone_mapped_like_ffmpeg_does() {
    let dir = tempfile::tempdir().unwrap();
    // Orange mastered as PQ / BT.2020 10-bit.
    let pq = dir.path().join("pq.mp4");
    ffmpeg(&[
        "-f", "lavfi", "-i",
        "color=c=0xff8000:s=64x48:d=1,format=gbrpf32le,zscale=tin=bt709:pin=bt709:min=bt709:rin=pc:t=smpte2084:p=bt2020:m=bt2020nc:r=tv:npl=100,format=yuv420p10le",
        "-color_trc", "smpte2084", "-color_primaries", "bt2020", "-colorspace", "bt2020nc",
        "-c:v", "libx265", "-x265-params", "log-level=error", pq.to_str().unwrap(),
    ]);
    let reference = ffmpeg_pixel(
        &pq,
        "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p,format=rgb24",
    );
    let naive = ffmpeg_pixel(&pq, "format=rgb24");
    let out = dir.path().join("frames");
    extract_stage(&ExtractInput {
        source: pq,
        media_start: 0.0,
        fps: Fps::whole(30),
        frames: vec![0],
        output_dir: out.clone(),
        alpha: false,
        shrink_to: None,
    })
    .unwrap();
    let got = extracted_colour(&out, 0);
    assert!(
        is_colour(got, reference),
        "tone-mapped {got:?}, ffmpeg {reference:?}"
    );
    assert!(
        !is_colour(got, naive),
        "{got:?} is the untone-mapped {naive:?}"
    );
}

#[test]
fn an_unknown_codec_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // A WAV whose format tag (0x7777) no libav decoder knows.
    let mut wav = Vec::new();
    let data = vec![0u8; 4000];
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&0x7777u16.to_le_bytes()); // format tag
    wav.extend_from_slice(&1u16.to_le_bytes()); // channels
    wav.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    wav.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    let path = dir.path().join("odd.wav");
    std::fs::write(&path, wav).unwrap();
    match probe_media(&path) {
        Err(MediaError::UnsupportedCodec { kind, codec }) => {
            assert_eq!(kind, "audio");
            let message = MediaError::UnsupportedCodec {
                kind,
                codec: codec.clone(),
            }
            .to_string();
            assert_eq!(
                message,
                format!("uses the audio codec `{codec}`, which this libav build cannot decode")
            );
        }
        other => panic!("expected UnsupportedCodec, got {other:?}"),
    }
}

#[test]
fn audio_comparison_finds_shifts_and_missing_audio() {
    use hf_encode::compare::compare_audio;
    let dir = tempfile::tempdir().unwrap();
    // Bursts of tone: at 0.5 s and 2 s, and the same pattern 0.5 s later.
    let bursts = |name: &str, first: f64| {
        let path = dir.path().join(name);
        let second = first + 1.5;
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=4",
            "-af",
            &format!(
                "volume='if(between(t,{first},{})+between(t,{second},{}),1,0)':eval=frame",
                first + 0.4,
                second + 0.6
            ),
            "-c:a",
            "pcm_s16le",
            path.to_str().unwrap(),
        ]);
        path
    };
    let reference = bursts("a.wav", 0.5);
    let late = bursts("b.wav", 1.0);
    let same = compare_audio(&reference, &reference, 120).unwrap().unwrap();
    assert!(
        same.correlation > 0.999 && same.lag_windows == 0,
        "{same:?}"
    );
    let shifted = compare_audio(&reference, &late, 120).unwrap().unwrap();
    // 0.5 s is about 8 windows of 64 ms.
    assert!(shifted.correlation > 0.9, "{shifted:?}");
    assert!((7..=9).contains(&shifted.lag_windows), "{shifted:?}");
    let no_search = compare_audio(&reference, &late, 1).unwrap().unwrap();
    assert!(no_search.correlation < 0.5, "{no_search:?}");
    // A render that lost its audio is a failure, not a skipped check.
    let silent_video = dir.path().join("video.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=64x48:d=1",
        "-c:v",
        "libx264",
        silent_video.to_str().unwrap(),
    ]);
    let error = compare_audio(&reference, &silent_video, 120).unwrap_err();
    assert!(
        error.to_string().contains("has no audio but the reference"),
        "{error}"
    );
    assert_eq!(
        compare_audio(&silent_video, &silent_video, 120).unwrap(),
        None
    );
}

#[test]
fn prores_4444_alpha_is_kept_in_extracted_frames() {
    let dir = tempfile::tempdir().unwrap();
    let mov = dir.path().join("alpha.mov");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=64x48:r=25:d=1,format=rgba,geq=r=255:g=0:b=0:a='if(lt(X,W/2),0,255)'",
        "-c:v",
        "prores_ks",
        "-profile:v",
        "4444",
        "-pix_fmt",
        "yuva444p10le",
        mov.to_str().unwrap(),
    ]);
    let info = probe_media(&mov).unwrap();
    let video = info.video.unwrap();
    assert_eq!(video.codec, "prores");
    assert!(video.alpha, "ProRes 4444 with an alpha plane");
    let out = dir.path().join("frames");
    let result = extract_stage(&ExtractInput {
        source: mov,
        media_start: 0.0,
        fps: Fps::whole(30),
        frames: vec![3],
        output_dir: out.clone(),
        alpha: true,
        shrink_to: None,
    })
    .unwrap();
    assert_eq!(result.extension, "png");
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(out.join(extracted_frame_name(3, true)))
        .args(["-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .unwrap();
    let pixel = |x: usize, y: usize| {
        let i = (y * 64 + x) * 4;
        [
            output.stdout[i],
            output.stdout[i + 1],
            output.stdout[i + 2],
            output.stdout[i + 3],
        ]
    };
    assert_eq!(pixel(10, 24)[3], 0, "transparent half {:?}", pixel(10, 24));
    let opaque = pixel(50, 24);
    assert!(
        opaque[3] == 255 && opaque[0] > 240 && opaque[1] < 16,
        "opaque red {opaque:?}"
    );
}

#[test]
fn untagged_hd_video_is_read_as_bt709_like_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    // 720p without a colour-space tag (libav wrote it with the BT.601 matrix).
    let hd = dir.path().join("hd.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x00ff00:s=1280x720:d=1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        hd.to_str().unwrap(),
    ]);
    // What a browser shows for it: the BT.709 matrix, HD untagged.
    let browser = ffmpeg_pixel(
        &hd,
        "setparams=colorspace=bt709,scale=flags=neighbor+accurate_rnd,format=gbrp,format=rgb24",
    );
    let out = dir.path().join("frames");
    extract_stage(&ExtractInput {
        source: hd,
        media_start: 0.0,
        fps: Fps::whole(30),
        frames: vec![0],
        output_dir: out.clone(),
        alpha: false,
        shrink_to: None,
    })
    .unwrap();
    let path = out.join(extracted_frame_name(0, false));
    let got = ffmpeg_pixel(&path, "format=rgb24");
    assert!(
        is_colour(got, browser),
        "extracted {got:?}, browser {browser:?}"
    );
    assert!(
        !is_colour(got, [0, 255, 0]),
        "{got:?} is the BT.601 reading"
    );
}
