//! `<video>` and `<audio>` end to end: the test makes its own media (colour-per-second clips,
//! tones, a clip with alpha), renders a composition that uses them, and checks pixel colours
//! at chosen frames, audio levels in chosen windows, audio/video duration, and the errors for
//! bad media.

use hf_encode::inspect::{audio_duration, decode_audio, decode_rgb_frames, probe_video};
use hf_engine::{ProgressEvent, RenderJob, Stage};
use hf_tests::{assert_pixel, ffmpeg};
use std::path::Path;

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];
const TOLERANCE: u8 = 16;
/// lavfi's sine has amplitude 1/8: RMS 0.0884 at full volume.
const SINE_RMS: f64 = 0.125 / std::f64::consts::SQRT_2;

/// rgb.mp4: red, green, blue for one second each, with a 440 Hz tone on both channels.
/// tone.wav: one second of mono 440 Hz. alpha.webm: VP9 whose left half is transparent.
/// anim.gif: red then blue, 0.5 s each, looping.
fn make_media(dir: &Path) {
    ffmpeg(
        dir,
        "-f lavfi -i color=c=red:s=160x90:r=25:d=1 -f lavfi -i color=c=lime:s=160x90:r=25:d=1 \
         -f lavfi -i color=c=blue:s=160x90:r=25:d=1 \
         -f lavfi -i sine=frequency=440:sample_rate=48000:duration=3 \
         -filter_complex [0:v][1:v][2:v]concat=n=3:v=1:a=0[v];[3:a]pan=stereo|c0=c0|c1=c0[a] \
         -map [v] -map [a] -c:v libx264 -pix_fmt yuv420p -c:a aac -b:a 192k rgb.mp4",
    );
    ffmpeg(
        dir,
        "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=1 -c:a pcm_s16le tone.wav",
    );
    ffmpeg(
        dir,
        "-f lavfi -i color=c=red:s=160x90:r=25:d=2,format=rgba,geq=r=255:g=0:b=0:a='if(lt(X,W/2),0,255)' \
         -c:v libvpx-vp9 -pix_fmt yuva420p -auto-alt-ref 0 alpha.webm",
    );
    ffmpeg(
        dir,
        "-f lavfi -i color=c=red:s=80x45:r=10:d=0.5 -f lavfi -i color=c=blue:s=80x45:r=10:d=0.5 \
         -filter_complex [0:v][1:v]concat=n=2:v=1:a=0[v] -map [v] -loop 0 anim.gif",
    );
}

const PAGE: &str = r#"<!DOCTYPE html>
<html><head><style>
  body { margin: 0; background: #fff; }
  video { position: absolute; width: 320px; height: 180px; object-fit: fill; }
  #clip { left: 0; top: 0; }
  #fast { left: 320px; top: 0; }
  #talk { left: 0; top: 180px; }
  #overlay-bg { position: absolute; left: 320px; top: 180px; width: 320px; height: 180px; background: #00ff00; }
  #overlay { left: 320px; top: 180px; }
  #anim { position: absolute; left: 0; top: 180px; width: 80px; height: 45px; }
</style></head>
<body>
<div data-composition-id="main" data-width="640" data-height="360" data-duration="3">
  <video id="clip" src="rgb.mp4" muted data-start="0.5" data-media-start="1" data-duration="2.5"></video>
  <video id="fast" src="./rgb.mp4?cache=1" muted loop data-start="0" data-duration="3" data-playback-rate="2"></video>
  <video id="talk" src="rgb.mp4" data-start="2" data-duration="1"></video>
  <div id="overlay-bg"></div>
  <video id="overlay" src="alpha.webm" muted data-start="0"></video>
  <audio id="tone" src="tone.wav" data-start="0.5" data-volume="0.5"></audio>
  <img id="anim" src="anim.gif">
</div>
</body></html>
"#;

fn rms(samples: &[f32], channel: usize, from: f64, to: f64) -> f64 {
    let (a, b) = ((from * 48_000.0) as usize, (to * 48_000.0) as usize);
    let sum: f64 = (a..b)
        .map(|i| f64::from(samples[i * 2 + channel]).powi(2))
        .sum();
    (sum / (b - a) as f64).sqrt()
}

#[test]
fn videos_show_source_frames_and_audio_is_mixed_to_the_video_length() {
    let project = tempfile::tempdir().unwrap();
    make_media(project.path());
    std::fs::write(project.path().join("index.html"), PAGE).unwrap();
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let output = out.path().join("media.mp4");
    let render = |output: &Path, workers: u32| {
        let mut job = RenderJob::new(project.path())
            .output(output)
            .workers(workers);
        job.asset_cache = Some(cache.path().to_path_buf());
        hf_engine::render(job, |_| {}).expect("render with media")
    };
    let result = render(&output, 2);
    assert_eq!(result.frames, 90);
    // Five frame sources (four videos and the GIF), all decoded this time; two sounding elements.
    assert_eq!(result.media.videos, 5);
    assert!(result.media.frames_extracted > 0);
    assert_eq!(result.media.frames_cached, 0);
    assert_eq!(result.media.audio_tracks, 2);
    // Again, with one worker: every frame comes from the cache and the bytes are the same.
    let again = out.path().join("again.mp4");
    let second = render(&again, 1);
    assert_eq!(second.media.frames_extracted, 0);
    assert_eq!(second.media.frames_cached, result.media.frames_extracted);
    assert_eq!(
        std::fs::read(&output).unwrap(),
        std::fs::read(&again).unwrap(),
        "same bytes whatever the worker count and cache state"
    );
    // Auto workers decide before the frames are extracted: the first frames still show them.
    let auto = out.path().join("auto.mp4");
    render(&auto, 0);
    assert_eq!(
        std::fs::read(&output).unwrap(),
        std::fs::read(&auto).unwrap(),
        "same bytes with auto workers"
    );

    // Frames at t = 0.2, 0.6, 1.3, 1.7, 2.2, 2.8 s.
    let f = decode_rgb_frames(&output, &[6, 18, 39, 51, 66, 84]).unwrap();
    // #clip: slot 0.5..3 s from media start 1 s; before its slot nothing is shown.
    assert_pixel(&f[0], 160, 90, WHITE, TOLERANCE, "clip before its start");
    assert_pixel(
        &f[1],
        160,
        90,
        GREEN,
        TOLERANCE,
        "clip at 0.6 s shows source 1.1 s",
    );
    assert_pixel(
        &f[3],
        160,
        90,
        BLUE,
        TOLERANCE,
        "clip at 1.7 s shows source 2.2 s",
    );
    assert_pixel(
        &f[5],
        160,
        90,
        BLUE,
        TOLERANCE,
        "clip holds its last frame at 2.8 s",
    );
    // #fast: rate 2, looping: source = 2t mod 3.
    assert_pixel(
        &f[0],
        480,
        90,
        RED,
        TOLERANCE,
        "fast at 0.2 s: source 0.4 s",
    );
    assert_pixel(
        &f[1],
        480,
        90,
        GREEN,
        TOLERANCE,
        "fast at 0.6 s: source 1.2 s",
    );
    assert_pixel(
        &f[2],
        480,
        90,
        BLUE,
        TOLERANCE,
        "fast at 1.3 s: source 2.6 s",
    );
    assert_pixel(
        &f[3],
        480,
        90,
        RED,
        TOLERANCE,
        "fast at 1.7 s: looped to source 0.4 s",
    );
    // #talk: only inside 2..3 s.
    assert_pixel(&f[3], 160, 270, WHITE, TOLERANCE, "talk before its slot");
    assert_pixel(
        &f[4],
        160,
        270,
        RED,
        TOLERANCE,
        "talk at 2.2 s: source 0.2 s",
    );
    // #anim: the GIF follows the timeline and loops (red 0..0.5 s, blue 0.5..1 s).
    assert_pixel(&f[0], 40, 200, RED, TOLERANCE, "gif at 0.2 s");
    assert_pixel(&f[1], 40, 200, BLUE, TOLERANCE, "gif at 0.6 s");
    assert_pixel(&f[2], 40, 200, RED, TOLERANCE, "gif at 1.3 s (looped)");
    assert_pixel(&f[3], 40, 200, BLUE, TOLERANCE, "gif at 1.7 s");
    // #overlay: VP9 alpha: transparent left half shows the green page behind it.
    assert_pixel(&f[1], 360, 270, GREEN, TOLERANCE, "alpha: transparent half");
    assert_pixel(&f[1], 600, 270, RED, TOLERANCE, "alpha: opaque half");

    // Audio: the tone at half volume in 0.5..1.5 s, the video's own sound in 2..3 s.
    let video = probe_video(&output).unwrap();
    let audio_seconds = audio_duration(&output).unwrap();
    assert!(
        (audio_seconds - video.duration_seconds).abs() <= 1024.0 / 48_000.0,
        "audio {audio_seconds} s, video {} s",
        video.duration_seconds
    );
    let samples = decode_audio(&output, 3.0).unwrap();
    for channel in [0, 1] {
        assert!(
            rms(&samples, channel, 0.0, 0.4) < 0.003,
            "silence before the tone"
        );
        let tone = rms(&samples, channel, 0.6, 1.4);
        assert!(
            (tone - SINE_RMS / 2.0).abs() < 0.006,
            "tone at volume 0.5: {tone}"
        );
        assert!(rms(&samples, channel, 1.6, 1.9) < 0.003, "silence between");
        let talk = rms(&samples, channel, 2.1, 2.9);
        assert!((talk - SINE_RMS).abs() < 0.01, "video sound: {talk}");
    }
}

#[test]
fn bad_media_fails_before_capture_naming_element_and_file() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("clip.mp4"),
        "<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>",
    )
    .unwrap();
    std::fs::write(
        project.path().join("index.html"),
        r#"<div data-composition-id="main" data-width="320" data-height="180" data-duration="1"><video id="intro" src="clip.mp4"></video></div>"#,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("bad.mp4");
    let mut stages = Vec::new();
    let error = hf_engine::render(RenderJob::new(project.path()).output(&output), |event| {
        if let ProgressEvent::StageStarted { stage } = event {
            stages.push(stage);
        }
    })
    .unwrap_err();
    assert_eq!(error.code(), "MEDIA_INVALID");
    let message = error.to_string();
    let file = project.path().join("clip.mp4");
    assert!(
        message.contains(r#"<video id="intro" src="clip.mp4">"#)
            && message.contains(&format!(
                "{} is an HTML page, not media (an error page saved under a media name?)",
                file.display()
            )),
        "{message}"
    );
    assert_eq!(stages, vec![Stage::Compile], "no browser was started");
    assert!(!output.exists());
}

#[test]
fn gsap_volume_tweens_become_the_gain_envelope() {
    let project = tempfile::tempdir().unwrap();
    ffmpeg(
        project.path(),
        "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=3 \
         -af pan=stereo|c0=c0|c1=c0 -c:a pcm_s16le tone.wav",
    );
    hf_tests::copy_vendored_gsap(project.path());
    std::fs::write(
        project.path().join("index.html"),
        r##"<!DOCTYPE html><html><head><script src="gsap.min.js"></script></head><body>
<div data-composition-id="main" data-width="320" data-height="180" data-duration="3">
  <audio id="tone" src="tone.wav" data-start="0" data-volume="0.25"></audio>
</div>
<script>
  const tl = gsap.timeline({ paused: true });
  tl.fromTo("#tone", { volume: 0 }, { volume: 1, duration: 1, ease: "none" }, 0.5);
  window.__timelines = { main: tl };
</script>
</body></html>"##,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("fade.mp4");
    let result = hf_engine::render(RenderJob::new(project.path()).output(&output), |_| {})
        .expect("render the fade");
    assert_eq!(result.media.audio_tracks, 1);
    let samples = decode_audio(&output, 3.0).unwrap();
    for channel in [0, 1] {
        assert!(
            rms(&samples, channel, 0.05, 0.45) < 0.003,
            "volume 0 before the tween"
        );
        let middle = rms(&samples, channel, 0.95, 1.05);
        assert!(
            (middle - SINE_RMS / 2.0).abs() < 0.008,
            "half way: {middle}"
        );
        // The tween, not data-volume (0.25), decides the level.
        let after = rms(&samples, channel, 1.6, 2.8);
        assert!(
            (after - SINE_RMS).abs() < 0.008,
            "full volume after: {after}"
        );
    }
}

#[test]
fn video_frame_format_png_extracts_png_frames_that_look_the_same() {
    let project = tempfile::tempdir().unwrap();
    make_media(project.path());
    std::fs::write(
        project.path().join("index.html"),
        r#"<!DOCTYPE html><html><head><style>body{margin:0}</style></head><body>
<div data-composition-id="main" data-width="320" data-height="180" data-duration="2" data-no-timeline>
  <video id="v" src="rgb.mp4" muted data-start="0" style="position:absolute;left:0;top:0;width:320px;height:180px"></video>
</div></body></html>"#,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let render = |format: hf_engine::VideoFrameFormat, name: &str| {
        let cache = out.path().join(format!("cache-{name}"));
        let mut job = RenderJob::new(project.path()).output(out.path().join(name));
        job.video_frame_format = format;
        job.asset_cache = Some(cache.clone());
        hf_engine::render(job, |_| {}).expect("render");
        let mut extensions = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(cache.join("frames")).unwrap().flatten() {
            for file in std::fs::read_dir(entry.path()).unwrap().flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') {
                    extensions.insert(name.rsplit('.').next().unwrap().to_string());
                }
            }
        }
        (out.path().join(name), extensions)
    };
    let (png, png_files) = render(hf_engine::VideoFrameFormat::Png, "png.mp4");
    let (auto, auto_files) = render(hf_engine::VideoFrameFormat::Auto, "auto.mp4");
    assert_eq!(png_files, ["png".to_string()].into());
    assert_eq!(auto_files, ["jpg".to_string()].into());
    let f = decode_rgb_frames(&png, &[10, 40]).unwrap();
    assert_pixel(&f[0], 160, 90, RED, TOLERANCE, "png frames: red second");
    assert_pixel(&f[1], 160, 90, GREEN, TOLERANCE, "png frames: green second");
    let g = decode_rgb_frames(&auto, &[10, 40]).unwrap();
    assert!(hf_tests::mean_abs_diff(&f[1], &g[1]) < 2.0);
}

#[test]
fn a_volume_automation_lane_sets_the_gain_over_clip_time() {
    let project = tempfile::tempdir().unwrap();
    make_media(project.path());
    // From 0.5 s: gain 0 -> 1 over the clip's first second (render 0.5..1.5 s), then 1;
    // data-volume is ignored under a lane.
    let lane =
        r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":0,"v":0},{"t":1,"v":1}]}]}"#;
    let page = |automation: &str| {
        format!(
            r#"<!DOCTYPE html><html><head><style>body{{margin:0}}</style></head><body>
<div data-composition-id="main" data-width="320" data-height="180" data-duration="3" data-no-timeline>
  <audio id="tone" src="tone.wav" loop data-start="0.5" data-duration="2.5" data-volume="0.1" data-automation='{automation}'></audio>
</div></body></html>"#
        )
    };
    std::fs::write(project.path().join("index.html"), page(lane)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("lane.mp4");
    hf_engine::render(RenderJob::new(project.path()).output(&output), |_| {})
        .expect("render the lane");
    let samples = decode_audio(&output, 3.0).unwrap();
    for channel in [0, 1] {
        let middle = rms(&samples, channel, 0.95, 1.05);
        assert!(
            (middle - SINE_RMS / 2.0).abs() < 0.01,
            "half way up: {middle}"
        );
        let after = rms(&samples, channel, 1.7, 2.8);
        assert!(
            (after - SINE_RMS).abs() < 0.008,
            "the lane's 1, not data-volume: {after}"
        );
    }
    std::fs::write(project.path().join("index.html"), page(r#"{"version":2}"#)).unwrap();
    let error = hf_engine::render(
        RenderJob::new(project.path()).output(out.path().join("bad.mp4")),
        |_| {},
    )
    .unwrap_err();
    assert_eq!(error.code(), "INVALID_ATTRIBUTE");
    assert!(error.to_string().contains(r#"element "tone" has data-automation="{"version":2}"; expected a JSON automation document"#), "{error}");
}

#[test]
fn audio_fades_in_and_out_over_its_slot() {
    let project = tempfile::tempdir().unwrap();
    make_media(project.path());
    // tone.wav lasts 1 s; looped over the 2 s slot from 0.5 s, with 0.5 s fades each end.
    std::fs::write(
        project.path().join("index.html"),
        r#"<!DOCTYPE html><html><head><style>body{margin:0}</style></head><body>
<div data-composition-id="main" data-width="320" data-height="180" data-duration="3" data-no-timeline>
  <audio id="tone" src="tone.wav" loop data-start="0.5" data-duration="2" data-fade-in="0.5" data-fade-out="0.5"></audio>
</div></body></html>"#,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("fades.mp4");
    hf_engine::render(RenderJob::new(project.path()).output(&output), |_| {})
        .expect("render the fades");
    let samples = decode_audio(&output, 3.0).unwrap();
    for channel in [0, 1] {
        // Gain t - 0.5 over 0.5..1.0: about a half around 0.75 s.
        let rising = rms(&samples, channel, 0.70, 0.80);
        assert!(
            (rising - SINE_RMS / 2.0).abs() < 0.01,
            "fading in: {rising}"
        );
        let full = rms(&samples, channel, 1.1, 1.9);
        assert!((full - SINE_RMS).abs() < 0.008, "between the fades: {full}");
        let falling = rms(&samples, channel, 2.20, 2.30);
        assert!(
            (falling - SINE_RMS / 2.0).abs() < 0.01,
            "fading out: {falling}"
        );
        assert!(
            rms(&samples, channel, 2.55, 2.95) < 0.003,
            "silent after the slot"
        );
    }
}

#[test]
fn effect_chains_audio_groups_and_the_master_bus_shape_the_mix() {
    let project = tempfile::tempdir().unwrap();
    make_media(project.path());
    // Track "a": a -12.04 dB gain stage (x0.25). Group "vo" (volume 0.5) with a gain stage
    // its lane takes from 0 to -60 dB over 2..2.5 s of composition time. Group "muted" is
    // data-hidden: "c" is not heard. The root's chain (the master) doubles everything.
    let page = |a_chain: &str| {
        format!(
            r#"<!DOCTYPE html><html><head><style>body{{margin:0}}</style></head><body>
<div data-composition-id="main" data-width="320" data-height="180" data-duration="3" data-no-timeline
     data-fx-chain='{{"version":1,"nodes":[{{"type":"gain","params":{{"gain":6.0206}}}}]}}'>
  <hf-audio-group id="vo" data-volume="0.5"
    data-fx-chain='{{"version":1,"nodes":[{{"type":"gain","id":"g","params":{{"gain":0}}}}]}}'
    data-automation='{{"version":1,"lanes":[{{"target":"fx.g.gain","points":[{{"t":2,"v":0}},{{"t":2.5,"v":-60}}]}}]}}'></hf-audio-group>
  <hf-audio-group id="muted" data-hidden></hf-audio-group>
  <audio id="a" src="tone.wav" data-start="0" data-duration="1" data-fx-chain='{a_chain}'></audio>
  <audio id="b" src="tone.wav" loop data-start="1.5" data-duration="1.5" data-audio-group="vo"></audio>
  <audio id="c" src="tone.wav" data-start="1.5" data-duration="0.4" data-audio-group="muted"></audio>
</div></body></html>"#
        )
    };
    let quarter = r#"{"version":1,"nodes":[{"type":"gain","params":{"gain":-12.0412}}]}"#;
    std::fs::write(project.path().join("index.html"), page(quarter)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("fx.mp4");
    hf_engine::render(RenderJob::new(project.path()).output(&output), |_| {})
        .expect("render the effects");
    let samples = decode_audio(&output, 3.0).unwrap();
    for channel in [0, 1] {
        let a = rms(&samples, channel, 0.1, 0.9);
        assert!((a - SINE_RMS / 2.0).abs() < 0.006, "x0.25 then x2: {a}");
        let group = rms(&samples, channel, 1.6, 1.95);
        assert!(
            (group - SINE_RMS).abs() < 0.008,
            "x0.5 then x2, c muted: {group}"
        );
        let ducked = rms(&samples, channel, 2.6, 2.9);
        assert!(ducked < 0.002, "the group's lane reached -60 dB: {ducked}");
    }
    // An empty data-fx-chain is no chain (as upstream reads it): "a" at full level, doubled.
    std::fs::write(project.path().join("index.html"), page("")).unwrap();
    let plain = out.path().join("plain.mp4");
    hf_engine::render(RenderJob::new(project.path()).output(&plain), |_| {})
        .expect("an empty chain renders");
    let samples = decode_audio(&plain, 1.0).unwrap();
    let a = rms(&samples, 0, 0.1, 0.9);
    assert!((a - SINE_RMS * 2.0).abs() < 0.01, "no effects on a: {a}");
    // Driven +24 dB into full scale: held there per track, then the whole mix is lowered
    // under -1 dBTP, with a warning saying by how much.
    let hot = r#"{"version":1,"nodes":[{"type":"gain","params":{"gain":12}},{"type":"gain","params":{"gain":12}}]}"#;
    std::fs::write(project.path().join("index.html"), page(hot)).unwrap();
    let loud = out.path().join("loud.mp4");
    let mut warnings = Vec::new();
    hf_engine::render(RenderJob::new(project.path()).output(&loud), |event| {
        if let ProgressEvent::Warning { message } = event {
            warnings.push(message);
        }
    })
    .expect("render the loud mix");
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("audio lowered by ") && w.contains("-1 dBTP")),
        "{warnings:?}"
    );
    let samples = decode_audio(&loud, 1.0).unwrap();
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    assert!(
        (0.7..0.9).contains(&peak),
        "lowered from full scale: {peak}"
    );
    let flanger = r#"{"version":1,"nodes":[{"type":"flanger"}]}"#;
    std::fs::write(project.path().join("index.html"), page(flanger)).unwrap();
    let bad = out.path().join("bad.mp4");
    let error = hf_engine::render(RenderJob::new(project.path()).output(&bad), |_| {}).unwrap_err();
    assert_eq!(error.code(), "INVALID_ATTRIBUTE");
    assert!(
        error.to_string().contains(
            r#"element "a" has an unreadable data-fx-chain: node 0 has an unknown effect type "flanger""#
        ),
        "{error}"
    );
    assert!(!bad.exists());
}

#[test]
fn a_global_media_start_basis_keeps_a_nested_start_on_the_root_timeline() {
    let project = tempfile::tempdir().unwrap();
    make_media(project.path());
    // The legacy picture-in-picture form: the video's data-start (1.5) is a root time although
    // it sits in a scene hosted at 1 s; without the basis it would start at 2.5 s.
    std::fs::write(
        project.path().join("index.html"),
        r#"<!DOCTYPE html><html><head><style>
  body { margin: 0; background: #fff; }
  #scene { position: absolute; inset: 0; }
  video { position: absolute; left: 0; top: 0; width: 320px; height: 180px; object-fit: fill; }
</style></head><body>
<div data-composition-id="main" data-width="320" data-height="180" data-duration="3" data-no-timeline>
  <div id="scene" data-composition-id="scene" data-start="1" data-duration="2" data-no-timeline>
    <video id="pip" src="rgb.mp4" data-start="1.5" data-hf-media-start-basis="global"></video>
  </div>
</div>
</body></html>"#,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("global.mp4");
    let mut job = RenderJob::new(project.path()).output(&output);
    job.asset_cache = Some(hf_tests::test_asset_cache());
    hf_engine::render(job, |_| {}).expect("render global-basis media");
    let f = decode_rgb_frames(&output, &[40, 48, 78]).unwrap();
    assert_pixel(&f[0], 160, 90, WHITE, TOLERANCE, "1.33 s: before 1.5 s");
    assert_pixel(&f[1], 160, 90, RED, TOLERANCE, "1.6 s: source 0.1 s");
    assert_pixel(&f[2], 160, 90, GREEN, TOLERANCE, "2.6 s: source 1.1 s");
    let samples = decode_audio(&output, 3.0).unwrap();
    assert!(rms(&samples, 0, 0.2, 1.4) < 0.003, "silent before 1.5 s");
    let heard = rms(&samples, 0, 1.6, 2.4);
    assert!(
        (heard - SINE_RMS).abs() < 0.01,
        "its sound from 1.5 s, not 2.5 s: {heard}"
    );
}

#[test]
fn nested_media_start_at_host_start_plus_local_start() {
    let project = tempfile::tempdir().unwrap();
    make_media(project.path());
    std::fs::write(
        project.path().join("index.html"),
        r#"<!DOCTYPE html><html><head><style>
  body { margin: 0; background: #fff; }
  #scene { position: absolute; inset: 0; }
  video { position: absolute; left: 0; top: 0; width: 320px; height: 180px; object-fit: fill; }
</style></head><body>
<div data-composition-id="main" data-width="320" data-height="180" data-duration="3" data-no-timeline>
  <div id="scene" data-composition-id="scene" data-start="1" data-duration="2" data-no-timeline>
    <video id="inner" src="rgb.mp4" data-start="0.5"></video>
  </div>
</div>
</body></html>"#,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("nested.mp4");
    // A relative cache dir (as `HF_CACHE_DIR=target/cache` gives) still links frames correctly.
    let relative_cache = std::path::PathBuf::from("../target/hf-test-relative-frame-cache");
    assert!(relative_cache.is_relative());
    let mut job = RenderJob::new(project.path()).output(&output);
    job.asset_cache = Some(relative_cache);
    let result = hf_engine::render(job, |_| {}).expect("render nested media");
    assert_eq!(result.media.audio_tracks, 1);
    // Absolute start 1.5 s: white before, then the source from 0 (red), 1 s later green.
    let f = decode_rgb_frames(&output, &[40, 48, 78]).unwrap();
    assert_pixel(
        &f[0],
        160,
        90,
        WHITE,
        TOLERANCE,
        "1.33 s: before the nested start",
    );
    assert_pixel(&f[1], 160, 90, RED, TOLERANCE, "1.6 s: source 0.1 s");
    assert_pixel(&f[2], 160, 90, GREEN, TOLERANCE, "2.6 s: source 1.1 s");
    let samples = decode_audio(&output, 3.0).unwrap();
    assert!(rms(&samples, 0, 0.2, 1.4) < 0.003, "silent before 1.5 s");
    let heard = rms(&samples, 0, 1.6, 2.9);
    assert!(
        (heard - SINE_RMS).abs() < 0.01,
        "its sound from 1.5 s: {heard}"
    );
}

#[test]
fn video_frames_are_extracted_at_the_largest_size_they_are_shown_at() {
    let project = tempfile::tempdir().unwrap();
    ffmpeg(
        project.path(),
        "-f lavfi -i testsrc2=s=640x360:r=30:d=2 -c:v libx264 -pix_fmt yuv420p src.mp4",
    );
    hf_tests::copy_vendored_gsap(project.path());
    std::fs::write(
        project.path().join("index.html"),
        r##"<!DOCTYPE html><html><head><style>
  body { margin: 0; background: #fff; }
  video { position: absolute; top: 0; object-fit: fill; }
  #still { left: 0; width: 160px; height: 90px; }
  #grow { left: 160px; width: 80px; height: 45px; }
</style><script src="gsap.min.js"></script></head><body>
<div data-composition-id="main" data-width="320" data-height="180" data-duration="2">
  <video id="still" src="src.mp4" muted data-start="0"></video>
  <video id="grow" src="src.mp4?scaled" muted data-start="0"></video>
</div>
<script>
  const tl = gsap.timeline({ paused: true });
  tl.to("#grow", { scale: 2, duration: 1 }, 0.5);
  window.__timelines = { main: tl };
</script>
</body></html>"##,
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut job = RenderJob::new(project.path()).output(out.path().join("sizes.mp4"));
    job.asset_cache = Some(cache.path().to_path_buf());
    let result = hf_engine::render(job, |_| {}).expect("render scaled videos");
    assert_eq!(result.media.videos, 2);
    // One cache entry per extraction size: the still video exactly at its 160x90 box (drawn
    // one to one), the one a tween scales to 2x at its 2x size (160x90) plus 10% headroom,
    // rounded up to even sides.
    let mut sizes: Vec<(u32, u32)> = std::fs::read_dir(cache.path().join("frames"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| {
            let info = probe_video(&entry.path().join("000000.jpg")).unwrap();
            (info.width, info.height)
        })
        .collect();
    sizes.sort();
    assert_eq!(sizes, vec![(160, 90), (176, 100)]);
}
