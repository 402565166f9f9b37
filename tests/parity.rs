//! HyperFrames parity, part 2: page conventions upstream handles that a composition may rely
//! on. Each page is written here, rendered, and checked at known pixels and times.

use hf_encode::inspect::decode_rgb_frames;
use hf_engine::RenderJob;
use hf_tests::{assert_pixel, copy_vendored_gsap};
use std::path::Path;

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];
const TOLERANCE: u8 = 12;

/// Render `html` (as `index.html` of a fresh project, with GSAP beside it) and decode
/// `frames`; also returns the frame count.
fn render(html: &str, frames: &[u64]) -> (u64, Vec<hf_encode::inspect::RgbImage>) {
    let dir = tempfile::tempdir().unwrap();
    copy_vendored_gsap(dir.path());
    std::fs::write(dir.path().join("index.html"), html).unwrap();
    let output = dir.path().join("out.mp4");
    let job = RenderJob::new(dir.path()).output(&output).workers(1);
    let result = hf_engine::render(job, |_| {}).unwrap_or_else(|e| panic!("render: {e}"));
    let images = decode_rgb_frames(Path::new(&result.output), frames).unwrap();
    (result.frames, images)
}

/// Write `text` to `dir/name`, creating its folders.
fn write_in(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Render `html` as `index.html` in `dir` (one worker, `configure` adjusting the job); its
/// first frame and the warnings the render reported.
fn first_frame_and_warnings(
    dir: &Path,
    html: &str,
    configure: impl FnOnce(&mut RenderJob),
) -> (hf_encode::inspect::RgbImage, Vec<String>) {
    std::fs::write(dir.join("index.html"), html).unwrap();
    let mut job = RenderJob::new(dir).output(dir.join("o.mp4")).workers(1);
    configure(&mut job);
    let mut warnings = Vec::new();
    let result = hf_engine::render(job, |event| {
        if let hf_engine::ProgressEvent::Warning { message } = event {
            warnings.push(message);
        }
    })
    .unwrap();
    let frame = decode_rgb_frames(Path::new(&result.output), &[0])
        .unwrap()
        .remove(0);
    (frame, warnings)
}

#[test]
fn body_margin_hidden_clip_contents_and_unguarded_timelines_follow_upstream() {
    // No body margin reset; a clip from 1 s whose child says `visibility: visible`; a GSAP
    // timeline registered without `window.__timelines = window.__timelines || {}`.
    let html = r##"<!doctype html><html><head><script src="gsap.min.js"></script></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="180" data-duration="2"
 style="background:#ff0000">
  <div id="late" data-start="1" data-duration="1" style="position:absolute;left:0;top:100px;width:320px;height:80px">
    <div style="visibility:visible;width:100px;height:80px;background:#0000ff"></div>
  </div>
  <div id="box" style="position:absolute;left:0;top:0;width:40px;height:40px;background:#fff"></div>
</div>
<script>
  const tl = gsap.timeline({ paused: true });
  tl.to("#box", { x: 200, duration: 2, ease: "none" }, 0);
  window.__timelines["main"] = tl;
</script></body></html>"##;
    let (frames, f) = render(html, &[0, 15, 45]);
    assert_eq!(frames, 60);
    // The root at 0,0: red at the top left corner, not an 8 px white margin.
    assert_pixel(&f[0], 60, 2, RED, TOLERANCE, "top edge");
    assert_pixel(&f[0], 2, 60, RED, TOLERANCE, "left edge");
    // Before the clip opens nothing of it shows, even the child that says visible.
    assert_pixel(&f[1], 50, 140, RED, TOLERANCE, "t=0.5: hidden clip's child");
    assert_pixel(&f[2], 50, 140, BLUE, TOLERANCE, "t=1.5: the clip is open");
    // The timeline drives the box: x = 100 px at 1 s... here 0.5 s: 50 px.
    assert_pixel(&f[1], 70, 20, WHITE, TOLERANCE, "t=0.5: box at 50..90");
    assert_pixel(&f[1], 20, 20, RED, TOLERANCE, "t=0.5: box left 0");
}

#[test]
fn a_page_that_defines_its_own_hf_protocol_renders_for_its_duration() {
    // HyperFrames' minimal protocol: the page owns window.__hf; no data-duration, no timeline.
    let html = r#"<!doctype html><html><head><style>body{margin:0}</style></head>
<body data-composition-id="page" data-width="200" data-height="200" data-no-timeline>
<div style="position:absolute;left:50px;top:50px;width:100px;height:100px;background:#f00"></div>
<script>
  window.__hf = { duration: 1, seek: function (t) {}, custom: 42 };
</script></body></html>"#;
    let (frames, f) = render(html, &[0, 29]);
    assert_eq!(frames, 30, "the page's duration: 1 s at 30 fps");
    assert_pixel(&f[1], 100, 100, RED, TOLERANCE, "the page's content");
}

#[test]
fn anime_instances_registered_in_hf_anime_are_seeked_in_absolute_time() {
    // Two stand-ins with anime.js's instance surface (seek in ms, pause, play): one pushed
    // to window.__hfAnime, one found in v3's anime.running.
    let html = r#"<!doctype html><html><head><style>body{margin:0}</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="180" data-duration="2"
 data-no-timeline style="background:#fff">
  <div id="a" style="position:absolute;left:0;top:0;width:40px;height:40px;background:#f00"></div>
  <div id="b" style="position:absolute;left:0;top:100px;width:40px;height:40px;background:#00f"></div>
</div>
<script>
  function instance(id) {
    const el = document.getElementById(id);
    return { seek(ms) { el.style.left = (ms / 10) + "px"; }, pause() {}, play() {} };
  }
  window.__hfAnime = [instance("a")];
  window.anime = { running: [instance("b")] };
</script></body></html>"#;
    let (_, f) = render(html, &[0, 15, 30]);
    // left = t * 100 px.
    assert_pixel(&f[0], 20, 20, RED, TOLERANCE, "t=0: a at 0");
    assert_pixel(&f[1], 70, 20, RED, TOLERANCE, "t=0.5: a at 50");
    assert_pixel(&f[1], 20, 20, WHITE, TOLERANCE, "t=0.5: a moved on");
    assert_pixel(&f[2], 120, 120, BLUE, TOLERANCE, "t=1: b at 100");
    assert_pixel(&f[2], 20, 120, WHITE, TOLERANCE, "t=1: b moved on");
}

#[test]
fn three_js_loads_are_waited_for_and_scenes_read_the_seek_time() {
    // A stand-in for three.js's DefaultLoadingManager with one item loading for 300 ms of
    // real time, and a "scene" drawn from __hfThreeTime on every hf-seek.
    let html = r##"<!doctype html><html><head><style>body{margin:0}</style></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="180" data-duration="2"
 data-no-timeline style="background:#fff">
  <div id="mesh" style="position:absolute;left:0;top:0;width:40px;height:40px;background:#f00"></div>
</div>
<script>
  window.THREE = { DefaultLoadingManager: { itemsLoaded: 0, itemsTotal: 1 } };
  setTimeout(function () {
    document.getElementById("mesh").style.background = "#00f";
    THREE.DefaultLoadingManager.itemsLoaded = 1;
  }, 300);
  window.addEventListener("hf-seek", function () {
    document.getElementById("mesh").style.left = (window.__hfThreeTime * 100) + "px";
  });
</script></body></html>"##;
    let (_, f) = render(html, &[0, 30]);
    assert_pixel(
        &f[0],
        20,
        20,
        BLUE,
        TOLERANCE,
        "frame 0 after the load finished",
    );
    assert_pixel(&f[1], 120, 20, BLUE, TOLERANCE, "t=1: the scene at 100 px");
    assert_pixel(&f[1], 20, 20, WHITE, TOLERANCE, "t=1: moved on");
}

#[test]
fn composition_flag_renders_another_page_or_one_mounted_scene_alone() {
    // index.html mounts two scenes; `compositions/outro.html` is a <template> scene of its own
    // length; `pages/alt.html` is a full page with its own fps whose URLs are project-relative.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| write_in(dir.path(), name, text);
    write(
        "index.html",
        r##"<!doctype html><html><head><style>body{margin:0}</style></head><body>
<div id="main" data-composition-id="main" data-width="160" data-height="90" data-duration="3" style="background:#f00">
  <div id="intro" data-composition-src="compositions/intro.html" data-start="0" data-duration="1"></div>
  <div id="outro" data-composition-src="compositions/outro.html" data-start="1" data-duration="2"></div>
</div></body></html>"##,
    );
    let scene = |id: &str, colour: &str, duration: &str| {
        format!(
            r##"<template><div data-composition-id="{id}" data-width="160" data-height="90" data-duration="{duration}" data-no-timeline style="width:160px;height:90px;background:{colour}"></div></template>"##
        )
    };
    write("compositions/intro.html", &scene("intro", "#00f", "1"));
    write("compositions/outro.html", &scene("outro", "#fff", "0.5"));
    write("compositions/loose.html", &scene("loose", "#fff", "1"));
    write(
        "img/blue.svg",
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#00f"/></svg>"##,
    );
    write(
        "pages/alt.html",
        r#"<!doctype html><html><head><style>body{margin:0}</style></head><body>
<div id="alt" data-composition-id="alt" data-width="160" data-height="90" data-duration="2" data-fps="10" data-no-timeline>
  <img src="img/blue.svg" style="width:160px;height:90px;display:block">
</div></body></html>"#,
    );
    let render = |composition: &str| {
        let mut job = RenderJob::new(dir.path())
            .output(dir.path().join("out.mp4"))
            .workers(1);
        job.composition = Some(composition.into());
        hf_engine::render(job, |_| {})
    };
    let outro = render("compositions/outro.html").unwrap();
    assert_eq!(
        outro.frames, 15,
        "the scene's own 0.5 s from 0, not the project's 3 s"
    );
    let f = decode_rgb_frames(Path::new(&outro.output), &[0, 14]).unwrap();
    assert_pixel(&f[0], 80, 45, WHITE, TOLERANCE, "outro at its first frame");
    assert_pixel(&f[1], 80, 45, WHITE, TOLERANCE, "outro at its last frame");

    let alt = render("./pages/alt.html").unwrap();
    assert_eq!(alt.frames, 20, "2 s at the page's own data-fps 10");
    let f = decode_rgb_frames(Path::new(&alt.output), &[5]).unwrap();
    assert_pixel(
        &f[0],
        80,
        45,
        BLUE,
        TOLERANCE,
        "the image named relative to the project",
    );

    let loose = render("compositions/loose.html").unwrap_err();
    assert_eq!(loose.code(), "COMPOSITION_NOT_FOUND");
    assert!(
        loose.to_string().contains("index.html does not mount"),
        "{loose}"
    );
    assert_eq!(
        render("../x.html").unwrap_err().code(),
        "COMPOSITION_NOT_FOUND"
    );
}

#[test]
fn registered_d3_transitions_maps_and_build_promises_are_awaited_before_the_first_frame() {
    // Stand-ins with the libraries' readiness surface: a d3 transition whose end() settles
    // after 400 ms, a Leaflet map ready after 300 ms, a __hf.buildReady promise after 200 ms;
    // each paints its own box blue when it settles. One page also shows a live map widget and
    // registers a map that never loads.
    let page = |extra: &str| {
        format!(
            r##"<!doctype html><html><head><style>body{{margin:0}} i{{position:absolute;top:0;width:40px;height:40px;background:#f00}}</style></head><body>
<div id="root" data-composition-id="main" data-width="160" data-height="90" data-duration="0.5" data-no-timeline style="background:#fff">
  <i id="a" style="left:0"></i><i id="b" style="left:50px"></i><i id="c" style="left:100px"></i>{extra}
</div>
<script>
  const paint = (id) => () => {{ document.getElementById(id).style.background = "#00f"; }};
  const later = (ms, then) => new Promise((resolve) => setTimeout(() => {{ then(); resolve(); }}, ms));
  window.__hfD3 = [{{ end: () => later(400, paint("a")) }}];
  window.__hfLeaflet = [{{ whenReady: (cb) => later(300, () => {{ paint("b")(); cb(); }}) }}];
  window.__hf.buildReady = {{ data: later(200, paint("c")) }};
</script></body></html>"##
        )
    };
    let render = |html: &str| {
        let dir = tempfile::tempdir().unwrap();
        first_frame_and_warnings(dir.path(), html, |job| job.timeline_timeout_seconds = 1.0)
    };
    let (frame, warnings) = render(&page(""));
    for (x, what) in [
        (20, "d3 transition"),
        (70, "Leaflet map"),
        (120, "buildReady"),
    ] {
        assert_pixel(&frame, x, 20, BLUE, TOLERANCE, what);
    }
    assert!(warnings.is_empty(), "{warnings:?}");

    let (frame, warnings) = render(&page(
        r#"<div class="maplibregl-map"></div><script>window.__hfMaplibre = [{ loaded: () => false, on: () => {} }];</script>"#,
    ));
    assert_pixel(
        &frame,
        20,
        20,
        BLUE,
        TOLERANCE,
        "the others still waited for",
    );
    assert!(
        warnings.iter().any(|w| w
            .starts_with("MapLibre map still loading 1 s after the page loaded; rendering anyway")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("the page shows a live map (.maplibregl-map)")),
        "{warnings:?}"
    );
}

#[test]
fn the_page_reaches_only_hfs_file_server() {
    // A local service that would answer any origin (CORS *) and counts who asks.
    let service = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = service.local_addr().unwrap().port();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let asked = std::sync::Arc::clone(&asked);
        std::thread::spawn(move || {
            for stream in service.incoming().flatten() {
                asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                use std::io::Write;
                let mut stream = stream;
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret");
            }
        });
    }
    let html = format!(
        r##"<!doctype html><html><head><style>body{{margin:0}}</style></head><body>
<div id="root" data-composition-id="main" data-width="160" data-height="90" data-duration="0.2" data-no-timeline style="background:#fff">
  <div id="probe" style="position:absolute;left:0;top:0;width:80px;height:90px;background:#808080"></div>
  <img src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='10' height='10'%3E%3Crect width='10' height='10' fill='%2300f'/%3E%3C/svg%3E" style="position:absolute;left:80px;top:0;width:80px;height:90px">
</div>
<script>
  const probe = document.getElementById("probe");
  new Image().src = "http://169.254.169.254/latest/meta-data/";
  window.__hf.buildReady = {{
    service: fetch("http://127.0.0.1:{port}/token")
      .then(() => {{ probe.style.background = "#f00"; }}, () => {{ probe.style.background = "#0f0"; }}),
  }};
</script></body></html>"##
    );
    let dir = tempfile::tempdir().unwrap();
    let (frame, warnings) = first_frame_and_warnings(dir.path(), &html, |_| {});
    assert_pixel(
        &frame,
        40,
        45,
        [0, 255, 0],
        TOLERANCE,
        "the local service was unreachable",
    );
    assert_pixel(
        &frame,
        120,
        45,
        BLUE,
        TOLERANCE,
        "a data: image still loads",
    );
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached the service"
    );
    let warning = warnings
        .iter()
        .find(|w| w.contains("beyond hf's file server"))
        .expect("a warning");
    assert!(
        warning.contains(&format!("http://127.0.0.1:{port}/token")),
        "{warning}"
    );
    assert!(
        warning.contains("http://169.254.169.254/latest/meta-data/"),
        "{warning}"
    );
}

#[test]
fn a_sub_composition_names_files_from_its_own_folder() {
    // compositions/card.html says `../img/blue.svg` (the project's img/) and `card.css` (its
    // sibling): once inlined into index.html both must still load.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| write_in(dir.path(), name, text);
    write(
        "img/blue.svg",
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#00f"/></svg>"##,
    );
    write("compositions/card.css", ".right { background: #f00; }");
    write(
        "compositions/card.html",
        r#"<!doctype html><html><head><link rel="stylesheet" href="card.css"></head><body>
<div data-composition-id="card" data-width="160" data-height="90" data-duration="1" data-no-timeline>
  <img src="../img/blue.svg" style="position:absolute;left:0;top:0;width:80px;height:90px">
  <div class="right" style="position:absolute;left:80px;top:0;width:80px;height:90px"></div>
</div></body></html>"#,
    );
    let (frame, warnings) = first_frame_and_warnings(
        dir.path(),
        r##"<div id="main" data-composition-id="main" data-width="160" data-height="90" data-duration="1" data-no-timeline style="background:#fff">
  <div data-composition-id="card" data-composition-src="compositions/card.html" data-start="0" data-duration="1" data-no-timeline></div>
</div>"##,
        |_| {},
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_pixel(
        &frame,
        40,
        45,
        BLUE,
        TOLERANCE,
        "../img/blue.svg from compositions/",
    );
    assert_pixel(
        &frame,
        120,
        45,
        RED,
        TOLERANCE,
        "card.css beside the sub-composition",
    );
}

#[test]
fn a_composition_that_requires_webgpu_draws_its_webgpu_canvas_per_seek() {
    // `data-requires-webgpu` gives the browser WebGPU (SwiftShader's Vulkan) and GPU
    // compositing; the canvas is cleared red before 0.5 s and blue after, on each hf-seek.
    let (frames, images) = render(
        r#"<div id="root" data-composition-id="main" data-requires-webgpu data-width="160" data-height="90" data-duration="1" data-no-timeline>
  <canvas id="c" width="160" height="90" style="display:block"></canvas>
</div>
<script>
  window.__hf.buildReady = { gpu: (async function () {
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter.requestDevice();
    const context = document.getElementById("c").getContext("webgpu");
    context.configure({ device, format: navigator.gpu.getPreferredCanvasFormat(), alphaMode: "opaque" });
    function draw(t) {
      const encoder = device.createCommandEncoder();
      const red = t < 0.5 ? 1 : 0;
      const pass = encoder.beginRenderPass({ colorAttachments: [{
        view: context.getCurrentTexture().createView(), loadOp: "clear", storeOp: "store",
        clearValue: { r: red, g: 0, b: 1 - red, a: 1 } }] });
      pass.end();
      device.queue.submit([encoder.finish()]);
      return device.queue.onSubmittedWorkDone();
    }
    window.addEventListener("hf-seek", (event) => event.detail.waitUntil(draw(event.detail.time)));
    await draw(window.__hfTypegpuTime || 0);
  })() };
</script>"#,
        &[3, 20],
    );
    assert_eq!(frames, 30);
    assert_pixel(&images[0], 80, 45, RED, TOLERANCE, "WebGPU canvas at 0.1 s");
    assert_pixel(
        &images[1],
        80,
        45,
        BLUE,
        TOLERANCE,
        "WebGPU canvas at 0.67 s",
    );
}
