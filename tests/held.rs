//! Frames that repeat the frame before them are not captured, and the output is the same bytes
//! as a render that captures every frame: on pages that hold between animations, and on pages
//! built to fool a predictor (a CSS animation under a paused timeline, a rAF canvas, a clip
//! that starts during a hold, a video that starts while the timeline is still, a `.call()`
//! that changes the page during a hold).

use hf_engine::{RenderJob, RenderResult};
use std::path::Path;

/// A 640x360, 1.5 s page at 30 fps with `body` inside its root and `script` after it.
fn page(body: &str, script: &str) -> String {
    format!(
        r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><script src="gsap.min.js"></script>
<style>body{{margin:0;background:#123}} .box{{position:absolute;width:60px;height:60px;background:#e63946}}</style>
</head><body>
<div id="root" data-composition-id="main" data-width="640" data-height="360" data-duration="1.5">
{body}
</div>
<script>
window.__timelines = window.__timelines || {{}};
{script}
</script>
</body></html>"##
    )
}

/// Render `index` (with the vendored GSAP and `extra` files made by `prepare`) with and without
/// skipping; the two outputs are the same bytes. Returns the skipping render's result.
fn render_both(index: &str, prepare: impl Fn(&Path)) -> RenderResult {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("index.html"), index).unwrap();
    hf_tests::copy_vendored_gsap(project.path());
    prepare(project.path());
    let out = tempfile::tempdir().unwrap();
    let render = |name: &str, skip: bool| {
        let mut job = RenderJob::new(project.path())
            .output(out.path().join(name))
            .segment_frames(15)
            .workers(2);
        job.skip_static = skip;
        hf_engine::render(job, |_| {}).unwrap()
    };
    let skipping = render("skip.mp4", true);
    let capturing = render("all.mp4", false);
    assert_eq!(
        capturing.held_frames, 0,
        "nothing skipped when skipping is off"
    );
    assert_eq!(skipping.frames, 45);
    assert!(
        std::fs::read(&skipping.output).unwrap() == std::fs::read(&capturing.output).unwrap(),
        "skipping held frames changed the output ({} frames held)",
        skipping.held_frames
    );
    skipping
}

#[test]
fn frames_that_hold_between_moves_are_not_captured() {
    let result = render_both(
        &page(
            r##"<div id="a" class="box" style="left:20px;top:40px"></div>"##,
            r##"const tl = gsap.timeline({ paused: true });
tl.to("#a", { x: 200, duration: 0.3, ease: "none" }, 0)
  .to("#a", { y: 150, duration: 0.2, ease: "none" }, 1.0);
window.__timelines["main"] = tl;"##,
        ),
        |_| {},
    );
    // Moving: frames 1-10 and 30-37 (with a frame of slack at each edge); the rest holds.
    assert!(
        (20..=30).contains(&result.held_frames),
        "held {}",
        result.held_frames
    );
}

#[test]
fn a_css_animation_under_a_paused_timeline_is_captured() {
    let result = render_both(
        &page(
            r##"<style>@keyframes slide { from { left: 0 } to { left: 400px } }
#b { top: 200px; animation: slide 0.4s linear 0.6s both }</style>
<div id="a" class="box" style="left:20px;top:40px"></div><div id="b" class="box"></div>"##,
            r##"const tl = gsap.timeline({ paused: true });
tl.to("#a", { x: 100, duration: 0.2 }, 0);
window.__timelines["main"] = tl;"##,
        ),
        |_| {},
    );
    // Held between the tween and the CSS animation, and after it; never during it.
    assert!(result.held_frames > 10, "held {}", result.held_frames);
    assert!(result.held_frames < 34, "held {}", result.held_frames);
}

#[test]
fn a_canvas_drawn_by_animation_frames_is_never_skipped() {
    let result = render_both(
        &page(
            r##"<canvas id="c" width="640" height="360"></canvas>"##,
            r##"const ctx = document.getElementById("c").getContext("2d");
let x = 0;
function draw() { x += 5; ctx.fillStyle = "#123"; ctx.fillRect(0, 0, 640, 360);
  ctx.fillStyle = "#fff"; ctx.fillRect(x % 600, 100, 40, 40); requestAnimationFrame(draw); }
requestAnimationFrame(draw);"##,
        ),
        |_| {},
    );
    assert_eq!(result.held_frames, 0);
}

#[test]
fn a_clip_that_starts_during_a_hold_is_captured() {
    let result = render_both(
        &page(
            r##"<div id="a" class="box" style="left:20px;top:40px"></div>
<div id="late" class="box" data-start="0.8" data-duration="0.4" style="left:300px;top:200px;background:#2a9d8f"></div>"##,
            r##"const tl = gsap.timeline({ paused: true });
tl.to("#a", { x: 100, duration: 0.2 }, 0);
window.__timelines["main"] = tl;"##,
        ),
        |_| {},
    );
    assert!(result.held_frames > 20, "held {}", result.held_frames);
}

#[test]
fn a_video_that_starts_while_the_timeline_holds_is_captured() {
    let result = render_both(
        &page(
            r##"<div id="a" class="box" style="left:20px;top:40px"></div>
<video id="v" src="clip.mp4" data-start="0.6" data-duration="0.5" muted style="position:absolute;left:300px;top:100px;width:160px;height:90px"></video>"##,
            r##"const tl = gsap.timeline({ paused: true });
tl.to("#a", { x: 100, duration: 0.2 }, 0);
window.__timelines["main"] = tl;"##,
        ),
        |dir| {
            hf_tests::ffmpeg(
                dir,
                "-f lavfi -i testsrc2=s=160x90:r=30:d=1 -c:v libx264 -pix_fmt yuv420p clip.mp4",
            )
        },
    );
    // Held before the video and after it; every frame it plays is captured.
    assert!(
        (10..=30).contains(&result.held_frames),
        "held {}",
        result.held_frames
    );
}

#[test]
fn a_call_that_changes_the_page_during_a_hold_is_captured() {
    let result = render_both(
        &page(
            r##"<div id="a" class="box" style="left:20px;top:40px"></div>
<p id="label" style="position:absolute;left:20px;top:200px;color:#fff;font:40px sans-serif">A</p>"##,
            r##"const tl = gsap.timeline({ paused: true });
tl.to("#a", { x: 100, duration: 0.2 }, 0)
  .call(() => { document.getElementById("label").textContent = "B"; }, null, 0.8);
window.__timelines["main"] = tl;"##,
        ),
        |_| {},
    );
    // Before the call the page holds; after it hf cannot see what the call started.
    assert!(
        (10..=24).contains(&result.held_frames),
        "held {}",
        result.held_frames
    );
}

#[test]
fn a_timeline_that_is_not_gsap_is_never_skipped() {
    let result = render_both(
        &page(
            r##"<div id="a" class="box" style="left:20px;top:40px"></div>"##,
            r##"const box = document.getElementById("a");
window.__timelines["main"] = { duration: () => 1.5, pause() {},
  totalTime(t) { box.style.transform = "translateX(" + Math.round(t * 200) + "px)"; } };"##,
        ),
        |_| {},
    );
    assert_eq!(result.held_frames, 0);
}
