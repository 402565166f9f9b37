//! The HyperFrames composition contract, end to end: each fixture is rendered and checked by
//! decoding chosen frames of the mp4 and reading pixel colours where the contract says what
//! must be there.

use hf_encode::inspect::{decode_rgb_frames, RgbImage};
use hf_engine::{RenderError, RenderJob};
use hf_tests::{assert_pixel, render_fixture_with, test_asset_cache};

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const YELLOW: [u8; 3] = [255, 255, 0];
const BLACK: [u8; 3] = [0, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];
const TOLERANCE: u8 = 12;

/// Render `name` (with `configure` applied to the job) and decode `frames`.
fn frames_of(name: &str, frames: &[u64], configure: impl FnOnce(&mut RenderJob)) -> Vec<RgbImage> {
    let (_dir, result) = render_fixture_with(name, configure);
    decode_rgb_frames(&result.output, frames).expect("decode frames")
}

#[test]
fn infinite_css_animation_loops_and_starts_with_its_clip() {
    let f = frames_of("css-spinner", &[6, 15, 36, 45], |_| {});
    // The bar's left edge is at 400 * (t mod 1) px; it is 40 px wide.
    assert_pixel(&f[0], 100, 70, BLACK, TOLERANCE, "t=0.2: bar at 80..120");
    assert_pixel(&f[0], 20, 70, WHITE, TOLERANCE, "t=0.2: bar has left x=0");
    assert_pixel(
        &f[2],
        100,
        70,
        BLACK,
        TOLERANCE,
        "t=1.2: the loop restarted",
    );
    assert_pixel(&f[2], 300, 70, WHITE, TOLERANCE, "t=1.2: not at 280");
    // The late box's animation starts with its clip at 1 s.
    assert_pixel(
        &f[1],
        20,
        230,
        WHITE,
        TOLERANCE,
        "t=0.5: late clip not started",
    );
    assert_pixel(
        &f[3],
        220,
        230,
        BLUE,
        TOLERANCE,
        "t=1.5: late box at 200..240",
    );
    assert_pixel(&f[3], 20, 230, WHITE, TOLERANCE, "t=1.5: late box moved on");
}

#[test]
fn raf_canvas_follows_virtual_time() {
    let f = frames_of("raf-canvas", &[15, 45], |_| {});
    assert_pixel(
        &f[0],
        120,
        80,
        WHITE,
        TOLERANCE,
        "t=0.5: rAF square at 100..140",
    );
    assert_pixel(&f[0], 20, 80, BLACK, TOLERANCE, "t=0.5: canvas redrawn");
    assert_pixel(
        &f[1],
        320,
        80,
        WHITE,
        TOLERANCE,
        "t=1.5: rAF square at 300..340",
    );
    assert_pixel(
        &f[1],
        320,
        260,
        GREEN,
        TOLERANCE,
        "t=1.5: performance.now square",
    );
    assert_pixel(
        &f[1],
        120,
        260,
        BLACK,
        TOLERANCE,
        "t=1.5: old position cleared",
    );
}

#[test]
fn timed_child_hides_with_its_shorter_parent() {
    let f = frames_of("timed-descendant", &[15, 29, 30, 45], |_| {});
    assert_pixel(&f[0], 320, 180, RED, TOLERANCE, "t=0.5: child on");
    assert_pixel(&f[1], 320, 180, RED, TOLERANCE, "t=0.967: child on");
    assert_pixel(
        &f[2],
        320,
        180,
        WHITE,
        TOLERANCE,
        "t=1.0: parent ended (half-open)",
    );
    assert_pixel(
        &f[3],
        320,
        180,
        WHITE,
        TOLERANCE,
        "t=1.5: child still hidden",
    );
}

#[test]
fn sub_composition_css_is_scoped_and_reaches_its_authored_root() {
    let f = frames_of("subcomp-css", &[30], |_| {});
    assert_pixel(
        &f[0],
        160,
        150,
        BLUE,
        TOLERANCE,
        "#card-root.themed .panel with var()",
    );
    assert_pixel(
        &f[0],
        450,
        150,
        RED,
        TOLERANCE,
        "body .badge scoped to the mount",
    );
    assert_pixel(&f[0], 560, 50, WHITE, TOLERANCE, "#card-root background");
    assert_pixel(
        &f[0],
        320,
        330,
        GREEN,
        TOLERANCE,
        "the page's own .panel is untouched",
    );
}

#[test]
fn gsap_stagger_from_a_cdn_url_renders_offline() {
    let f = frames_of("gsap-stagger", &[6, 15, 45], |_| {});
    // Box 1 at t=0.2: 40% in, 90 px low, 40% opaque over white.
    assert_pixel(
        &f[0],
        90,
        250,
        [153, 153, 153],
        14,
        "t=0.2: box 1 fading in",
    );
    assert_pixel(
        &f[0],
        90,
        150,
        WHITE,
        TOLERANCE,
        "t=0.2: box 1 not yet in place",
    );
    assert_pixel(&f[1], 90, 150, BLACK, TOLERANCE, "t=0.5: box 1 in place");
    assert_pixel(
        &f[1],
        320,
        150,
        WHITE,
        TOLERANCE,
        "t=0.5: box 2 just starting",
    );
    assert_pixel(&f[2], 320, 150, BLACK, TOLERANCE, "t=1.5: box 2 in place");
    assert_pixel(&f[2], 550, 150, BLACK, TOLERANCE, "t=1.5: box 3 in place");
}

#[test]
fn two_mounts_of_one_sub_composition_keep_their_own_time_and_variables() {
    let f = frames_of("subcomp-t0", &[0, 6, 15, 30, 36, 45], |_| {});
    assert_pixel(
        &f[0],
        320,
        180,
        BLACK,
        TOLERANCE,
        "t=0: the first mount starts at 0.001",
    );
    assert_pixel(
        &f[1],
        100,
        180,
        RED,
        TOLERANCE,
        "t=0.2: first fill sliding in",
    );
    assert_pixel(
        &f[1],
        400,
        180,
        BLACK,
        TOLERANCE,
        "t=0.2: first fill at 255 px",
    );
    assert_pixel(&f[2], 600, 180, RED, TOLERANCE, "t=0.5: first fill in");
    assert_pixel(
        &f[3],
        320,
        180,
        RED,
        TOLERANCE,
        "t=1.0: first mount until 1.001",
    );
    assert_pixel(
        &f[4],
        100,
        180,
        BLUE,
        TOLERANCE,
        "t=1.2: second fill sliding in",
    );
    assert_pixel(&f[4], 400, 180, BLACK, TOLERANCE, "t=1.2: first mount gone");
    assert_pixel(&f[5], 600, 180, BLUE, TOLERANCE, "t=1.5: second fill in");
}

#[test]
fn sub_compositions_nest_three_levels_with_summed_offsets() {
    let f = frames_of("nested-depth-3", &[6, 24, 45], |_| {});
    assert_pixel(&f[0], 320, 30, RED, TOLERANCE, "root strip");
    assert_pixel(
        &f[0],
        320,
        90,
        BLACK,
        TOLERANCE,
        "t=0.2: level 2 starts at 0.5",
    );
    assert_pixel(&f[1], 320, 90, GREEN, TOLERANCE, "t=0.8: level 2 strip");
    assert_pixel(
        &f[1],
        320,
        150,
        BLACK,
        TOLERANCE,
        "t=0.8: level 3 starts at 1.0",
    );
    assert_pixel(
        &f[2],
        320,
        150,
        BLUE,
        TOLERANCE,
        "t=1.5: level 3 strip (its own style wins)",
    );
    assert_pixel(
        &f[2],
        120,
        240,
        WHITE,
        TOLERANCE,
        "t=1.5: level 3 box at local 0.5 s",
    );
    assert_pixel(&f[2], 20, 240, BLACK, TOLERANCE, "t=1.5: box moved on");
}

#[test]
fn variables_defaults_and_overrides_reach_css_and_scripts() {
    let f = frames_of("variables", &[10], |_| {});
    assert_pixel(
        &f[0],
        320,
        300,
        RED,
        TOLERANCE,
        "default bgColor via var(--bg-color)",
    );
    assert_pixel(
        &f[0],
        450,
        150,
        GREEN,
        TOLERANCE,
        "default boxColor via getVariables()",
    );
    let f = frames_of("variables", &[10], |job| {
        job.variables =
            Some(serde_json::from_str(r##"{"bgColor":"#0000ff","boxColor":"#ffff00"}"##).unwrap());
    });
    assert_pixel(&f[0], 320, 300, BLUE, TOLERANCE, "overridden bgColor");
    assert_pixel(&f[0], 450, 150, YELLOW, TOLERANCE, "overridden boxColor");
}

#[test]
fn iframe_pages_share_the_virtual_clock() {
    let f = frames_of("iframe-raf", &[15, 45], |_| {});
    assert_pixel(
        &f[0],
        120,
        180,
        YELLOW,
        TOLERANCE,
        "t=0.5: square at 100..140",
    );
    assert_pixel(
        &f[1],
        320,
        180,
        YELLOW,
        TOLERANCE,
        "t=1.5: square at 300..340",
    );
    assert_pixel(&f[1], 120, 180, BLACK, TOLERANCE, "t=1.5: moved on");
}

#[test]
fn lottie_animations_follow_their_clip() {
    let f = frames_of("lottie", &[6, 15, 45, 59], |_| {});
    // The square's centre moves from x=20 to x=420 over the animation's 2 s, from 0.5 s.
    assert_pixel(&f[0], 20, 180, WHITE, TOLERANCE, "t=0.2: clip not started");
    assert_pixel(&f[1], 20, 180, RED, TOLERANCE, "t=0.5: at 0..40");
    assert_pixel(&f[2], 220, 180, RED, TOLERANCE, "t=1.5: at 200..240");
    assert_pixel(&f[2], 20, 180, WHITE, TOLERANCE, "t=1.5: moved on");
    assert_pixel(&f[3], 313, 180, RED, TOLERANCE, "t=1.967: at 293..333");
}

/// Render a project written on the fly; return the error.
fn render_error(files: &[(&str, &str)], configure: impl FnOnce(&mut RenderJob)) -> RenderError {
    let project = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(project.path().join(name), text).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("out.mp4");
    let mut job = RenderJob::new(project.path()).output(&output);
    job.asset_cache = Some(test_asset_cache());
    configure(&mut job);
    let error = hf_engine::render(job, |_| {}).expect_err("the render must fail");
    assert!(!output.exists(), "nothing is written on failure");
    error
}

#[test]
fn bad_compositions_fail_with_errors_naming_element_and_fix() {
    let error = render_error(
        &[(
            "index.html",
            r#"<div id="r" data-composition-id="r" data-width="64" data-height="36" data-duration="1">
            <div id="a" data-start="b" data-duration="1"></div><div id="b" data-start="a + 1" data-duration="1"></div></div>"#,
        )],
        |_| {},
    );
    assert_eq!(error.code(), "INVALID_START");
    assert!(error.to_string().ends_with("element \"a\" has data-start=\"b\": relative starts form a cycle (a -> b -> a); give one of them a number of seconds"), "{error}");

    let error = render_error(
        &[(
            "index.html",
            r#"<div data-composition-id="r" data-duration="1"><div id="x" data-start="intro + 1"></div></div>"#,
        )],
        |_| {},
    );
    assert!(error.to_string().ends_with("element \"x\" has data-start=\"intro + 1\": no element has id=\"intro\"; name the id of the clip this one follows"), "{error}");

    let error = render_error(
        &[(
            "index.html",
            r#"<div data-composition-id="r" data-duration="1"><div data-composition-id="intro" data-composition-src="intro.html"></div></div>"#,
        )],
        |_| {},
    );
    assert_eq!(error.code(), "SUB_COMPOSITION_NOT_FOUND");
    assert!(
        error
            .to_string()
            .contains("sub-composition host \"intro\" has data-composition-src=\"intro.html\""),
        "{error}"
    );

    let declared = r#"<html data-composition-variables='[{"id":"title","type":"string","default":"Hi"}]'><body><div data-composition-id="r" data-duration="1"></div></body></html>"#;
    let error = render_error(&[("index.html", declared)], |job| {
        job.variables = Some(serde_json::from_str(r#"{"title":5}"#).unwrap());
    });
    assert_eq!(error.code(), "INVALID_VARIABLES");
    assert_eq!(
        error.to_string(),
        "--variables: variable \"title\" is a string and needs a JSON string; got 5"
    );
    let error = render_error(&[("index.html", declared)], |job| {
        job.variables = Some(serde_json::from_str(r#"{"titel":"x"}"#).unwrap());
        job.strict_variables = true;
    });
    assert!(
        error
            .to_string()
            .starts_with("--variables: \"titel\" is not declared"),
        "{error}"
    );

    let error = render_error(
        &[(
            "index.html",
            r#"<html data-composition-variables='[{"id":"n","type":"integer"}]'><body><div data-composition-id="r" data-duration="1"></div></body></html>"#,
        )],
        |_| {},
    );
    assert!(error.to_string().ends_with("variable \"n\" has unknown type \"integer\"; use one of string, number, color, boolean, enum, font, image"), "{error}");

    let error = render_error(
        &[(
            "index.html",
            r#"<script src="http://127.0.0.1:9/lib.js"></script><div data-composition-id="r" data-duration="1"></div>"#,
        )],
        |_| {},
    );
    assert_eq!(error.code(), "REMOTE_ASSET_UNAVAILABLE");
    assert!(
        error
            .to_string()
            .starts_with("<script src> in index.html needs http://127.0.0.1:9/lib.js"),
        "{error}"
    );
}
