//! Shader transitions end to end: a page declares transitions through the HyperShader library
//! (from its CDN, served by hf's render-mode stand-in) or by assigning `__hf.transitions`;
//! transition frames are captured as one layer per scene and blended by `hf-transitions`.

use hf_encode::inspect::{decode_rgb_frames, decode_rgba_frames, RgbImage};
use hf_engine::{RenderJob, RenderResult};
use hf_tests::assert_pixel;
use hf_transitions::{blend, Accents, BlendInput, Layer, Shader};
use std::path::Path;

const RED: [u8; 3] = [200, 40, 40];
const BLUE: [u8; 3] = [40, 40, 200];
/// Frames per second of the chain: transition `k` starts at frame `10 + 15 k` and lasts 10
/// frames, so progress 0, 0.5 and 1 fall on whole frames.
const FPS: u32 = 10;

fn colour(scene: usize) -> [u8; 3] {
    if scene.is_multiple_of(2) {
        RED
    } else {
        BLUE
    }
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Sixteen flat scenes, alternately red and blue, joined by the 15 transitions in order (one
/// second each, 0.5 s apart), declared with `HyperShader.init` loaded from jsDelivr.
fn chain_page() -> String {
    let scenes: String = (0..16)
        .map(|k| {
            format!(
                r#"<section id="s{k}" class="scene" style="background:{}"></section>"#,
                hex(colour(k))
            )
        })
        .collect();
    let transitions: Vec<String> = Shader::ALL
        .iter()
        .enumerate()
        .map(|(k, shader)| {
            format!(
                r#"{{ time: {}, duration: 1, shader: "{}" }}"#,
                1.0 + 1.5 * k as f64,
                shader.name()
            )
        })
        .collect();
    let ids: Vec<String> = (0..16).map(|k| format!("\"s{k}\"")).collect();
    format!(
        r##"<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="gsap.min.js"></script>
<script src="https://cdn.jsdelivr.net/npm/@hyperframes/shader-transitions/dist/index.global.js"></script>
<style>html,body{{margin:0}} .scene{{position:absolute;inset:0}}</style></head><body>
<div id="root" data-composition-id="main" data-width="640" data-height="360" data-duration="24">{scenes}</div>
<script>
HyperShader.init({{ bgColor: "#000000", accentColor: "#7dd3fc", scenes: [{}], transitions: [{}] }});
</script></body></html>"##,
        ids.join(","),
        transitions.join(",")
    )
}

fn project(index: &str) -> tempfile::TempDir {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("index.html"), index).unwrap();
    hf_tests::copy_vendored_gsap(project.path());
    project
}

fn render(
    project: &Path,
    output: &Path,
    configure: impl FnOnce(RenderJob) -> RenderJob,
) -> RenderResult {
    let mut job = RenderJob::new(project).output(output);
    job.asset_cache = Some(hf_tests::test_asset_cache());
    hf_engine::render(configure(job), |_| {}).unwrap_or_else(|e| panic!("render failed: {e}"))
}

/// What the kernel makes of the two flat scenes at `progress`, at pixel `(x, y)`.
fn expected(shader: Shader, from: [u8; 3], to: [u8; 3], progress: f32, x: u32, y: u32) -> [u8; 3] {
    let flat = |rgb: [u8; 3]| {
        Layer::from_straight_rgba(640, 360, [rgb[0], rgb[1], rgb[2], 255].repeat(640 * 360))
    };
    let out = blend(BlendInput {
        shader,
        from: &flat(from),
        to: &flat(to),
        progress,
        accents: &Accents::from_accent_color(Some("#7dd3fc")),
    })
    .into_straight_rgba();
    let at = (y as usize * 640 + x as usize) * 4;
    [out[at], out[at + 1], out[at + 2]]
}

#[test]
fn every_transition_blends_its_scenes_at_the_progress_of_each_frame() {
    let project = project(&chain_page());
    let out = tempfile::tempdir().unwrap();
    let result = render(project.path(), &out.path().join("chain.mp4"), |job| {
        job.fps(hf_engine::Fps::whole(FPS)).workers(2)
    });
    assert_eq!(result.frames, 240);
    let mut indices = Vec::new();
    for k in 0..15u64 {
        indices.extend([9 + 15 * k, 10 + 15 * k, 15 + 15 * k, 20 + 15 * k]);
    }
    let frames = decode_rgb_frames(&result.output, &indices).unwrap();
    for (k, shader) in Shader::ALL.into_iter().enumerate() {
        let [before, start, middle, end] = [0, 1, 2, 3].map(|i| &frames[4 * k + i]);
        let (from, to) = (colour(k), colour(k + 1));
        let what = |when: &str| format!("{shader} {when}");
        // The frame before the window is the page itself: scene k alone.
        assert_pixel(before, 320, 180, from, 6, &what("before"));
        for (image, progress, name) in [
            (start, 0.0, "at 0"),
            (middle, 0.5, "at 0.5"),
            (end, 1.0, "at 1"),
        ] {
            for (x, y) in [(320, 180), (40, 30), (600, 330)] {
                // At 0 the iris is a dot a pixel wide at the centre: chroma subsampling blurs it.
                if shader == Shader::SdfIris && progress == 0.0 && x == 320 {
                    continue;
                }
                let want = expected(shader, from, to, progress, x, y);
                assert_pixel(image, x, y, want, 10, &what(name));
            }
        }
        // Where the maths gives a colour outright.
        match shader {
            Shader::Crossfade | Shader::ChromaticSplit | Shader::CinematicZoom => {
                assert_pixel(middle, 320, 180, [120, 40, 120], 6, &what("midpoint"))
            }
            Shader::FlashThroughWhite => {
                assert_pixel(middle, 320, 180, [255, 255, 255], 6, &what("peak"))
            }
            Shader::SdfIris => {
                assert_pixel(middle, 320, 180, to, 6, &what("inside the iris"));
                assert_pixel(middle, 4, 4, from, 6, &what("outside the iris"));
            }
            _ => {}
        }
        assert_pixel(end, 320, 180, to, 6, &what("end"));
    }
}

/// Two scenes as boxes in the middle of a transparent page, a crossfade declared by assigning
/// `__hf.transitions`, 1.5 s at 30 fps.
fn boxes_page(shader: &str, to_scene: &str) -> String {
    format!(
        r##"<!DOCTYPE html><html><head><meta charset="utf-8"><script src="gsap.min.js"></script>
<style>html,body{{margin:0}} .scene{{position:absolute;left:160px;top:90px;width:320px;height:180px}}</style></head><body>
<div id="root" data-composition-id="main" data-width="640" data-height="360" data-duration="1.5">
<section id="a" class="scene" style="background:#c82828"></section>
<section id="b" class="scene" style="background:#2828c8;opacity:0"></section></div>
<script>
const tl = gsap.timeline({{ paused: true }});
tl.set("#b", {{ opacity: 1 }}, 0.5).set("#a", {{ opacity: 0 }}, 1.0).to({{}}, {{ duration: 1.5 }}, 0);
window.__timelines = {{ main: tl }};
window.__hf.transitions = [{{ time: 0.5, duration: 0.5, shader: {shader}, fromScene: "a", toScene: "{to_scene}" }}];
</script></body></html>"##
    )
}

#[test]
fn alpha_outputs_stay_transparent_around_the_scenes_during_a_transition() {
    let project = project(&boxes_page("\"crossfade\"", "b"));
    let out = tempfile::tempdir().unwrap();
    let result = render(project.path(), &out.path().join("boxes.webm"), |mut job| {
        job.format = hf_engine::OutputFormat::Webm;
        job.workers(1)
    });
    // Frame 22: t = 0.733 s, progress 0.467.
    let frame = &decode_rgba_frames(&result.output, &[22]).unwrap()[0];
    assert!(
        frame.pixel(20, 20)[3] < 10,
        "corner: {:?}",
        frame.pixel(20, 20)
    );
    let centre = frame.pixel(320, 180);
    assert!(centre[3] > 245, "centre: {centre:?}");
    let want = expected(
        Shader::Crossfade,
        [200, 40, 40],
        [40, 40, 200],
        0.467,
        320,
        180,
    );
    assert_pixel(
        &RgbImage {
            width: 1,
            height: 1,
            data: centre[..3].to_vec(),
        },
        0,
        0,
        want,
        10,
        "crossfade in webm",
    );
}

#[test]
fn transition_frames_are_the_same_bytes_for_any_worker_count() {
    let project = project(&boxes_page("\"domain-warp\"", "b"));
    let out = tempfile::tempdir().unwrap();
    let render_with = |workers: u32| {
        let name = format!("w{workers}.mp4");
        render(project.path(), &out.path().join(name), |job| {
            job.workers(workers).segment_frames(10)
        })
    };
    let one = render_with(1);
    let three = render_with(3);
    assert_eq!(one.frames, 45);
    assert!(
        std::fs::read(&one.output).unwrap() == std::fs::read(&three.output).unwrap(),
        "1 and 3 workers differ"
    );
}

fn render_error(index: &str) -> hf_engine::RenderError {
    let project = project(index);
    let out = tempfile::tempdir().unwrap();
    let mut job = RenderJob::new(project.path()).output(out.path().join("bad.mp4"));
    job.asset_cache = Some(hf_tests::test_asset_cache());
    let error = hf_engine::render(job, |_| {}).expect_err("the render fails");
    assert!(
        !out.path().join("bad.mp4").exists(),
        "nothing at the output path"
    );
    error
}

#[test]
fn unknown_shaders_and_missing_scenes_are_named() {
    let error = render_error(&boxes_page("\"spin\"", "b"));
    assert_eq!(error.code(), "UNKNOWN_SHADER");
    assert_eq!(
        error.to_string().lines().next().unwrap(),
        format!(
            "transition 1 uses unknown shader \"spin\"; the known shaders are {}",
            Shader::known_names()
        )
    );
    let error = render_error(&boxes_page("\"glitch\"", "scene-c"));
    assert_eq!(error.code(), "TRANSITION_SCENE_NOT_FOUND");
    assert_eq!(
        error.to_string().lines().next().unwrap(),
        "transition 1 names scene \"scene-c\", but no element has that id"
    );
}
