//! `hf preview` in a real browser: headless Chrome over CDP loads the player, seeks frames
//! through its controls, and the stage shows what `hf snapshot` captures at those frames;
//! an edit to the project reloads the page at the same frame.

mod common;

use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, Viewport,
};
use chromiumoxide::cdp::browser_protocol::target::CreateTargetParams;
use chromiumoxide::{Browser, Page};
use common::*;
use futures::StreamExt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A red (later blue) 40 px box moving 100 px/s from x=0 over a 320x180 frame whose colour is
/// the variable `bg` (white): at the frames checked the box sits on whole pixels.
fn composition(colour: &str) -> String {
    format!(
        r##"<!doctype html><html><head><script src="gsap.min.js"></script></head><body>
<div id="root" data-composition-id="main" data-width="320" data-height="180" data-duration="2" data-composition-variables='[{{"id":"bg","type":"color","label":"Background","default":"#ffffff"}}]' style="background:var(--bg);width:320px;height:180px;position:relative;overflow:hidden">
  <div id="box" style="position:absolute;left:0;top:70px;width:40px;height:40px;background:{colour}"></div>
</div>
<script>
  const tl = gsap.timeline({{ paused: true }});
  tl.to("#box", {{ x: 200, duration: 2, ease: "none" }});
  window.__timelines = {{ main: tl }};
</script></body></html>"##
    )
}

/// `hf preview` running in the background; stopped with SIGINT when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(tmp: &Path, dir: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hf"))
            .args(["preview", dir.to_str().unwrap(), "--port", "0"])
            .env("TMPDIR", tmp)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Server { child, url }
    }

    /// SIGINT, then the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Evaluate `expression` until it is true (10 s at most).
async fn wait_for(page: &Page, expression: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = page.evaluate(expression).await.unwrap();
        if value.value() == Some(&serde_json::Value::Bool(true)) {
            return;
        }
        assert!(Instant::now() < deadline, "never true: {expression}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The stage (the composition's iframe) as pixels.
async fn stage(page: &Page) -> image::RgbImage {
    let rect = page
        .evaluate("(() => { const r = document.getElementById('page').getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()")
        .await
        .unwrap()
        .into_value::<Vec<f64>>()
        .unwrap();
    let params = CaptureScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Png)
        .clip(Viewport {
            x: rect[0],
            y: rect[1],
            width: rect[2],
            height: rect[3],
            scale: 1.0,
        })
        .build();
    let png = page.screenshot(params).await.unwrap();
    image::load_from_memory(&png).unwrap().to_rgb8()
}

/// Seek through the frame field: select it, type `frame`, press Enter; wait until shown.
async fn seek_with_frame_field(page: &Page, frame: u32) {
    let field = page.find_element("#frame").await.unwrap();
    field.click().await.unwrap();
    field
        .call_js_fn("function () { this.select(); }", false)
        .await
        .unwrap();
    field
        .type_str(frame.to_string())
        .await
        .unwrap()
        .press_key("Enter")
        .await
        .unwrap();
    wait_for(
        page,
        &format!("hfPreview.shown === {frame} && !hfPreview.busy"),
    )
    .await;
}

fn psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let squared: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let mse = squared / a.as_raw().len() as f64;
    if mse == 0.0 {
        100.0
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

fn pixel(image: &image::RgbImage, x: u32, y: u32) -> [u8; 3] {
    image.get_pixel(x, y).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_player_shows_the_frames_a_render_captures_and_reloads_on_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = project_with_gsap(tmp.path(), &composition("#f00"));
    let stills = tmp.path().join("stills");
    let snapshot = hf(
        tmp.path(),
        &[
            "snapshot",
            dir.to_str().unwrap(),
            "--at",
            "0.5,1.5",
            "-o",
            stills.to_str().unwrap(),
        ],
    );
    assert!(
        snapshot.status.success(),
        "{}",
        String::from_utf8_lossy(&snapshot.stderr)
    );
    let still = |name: &str| image::open(stills.join(name)).unwrap().to_rgb8();
    let (at_15, at_45) = (still("frame-00-at-0.5s.png"), still("frame-01-at-1.5s.png"));

    let mut server = Server::start(tmp.path(), &dir);
    let profile = tempfile::tempdir().unwrap();
    let (chrome, ws) = tokio::task::block_in_place(|| {
        hf_capture::ChromeProcess::launch(&hf_capture::LaunchOptions {
            executable: hf_capture::resolve_browser(None).unwrap(),
            user_data_dir: profile.path().to_path_buf(),
            width: 1000,
            height: 700,
            begin_frame: false,
            timeout: Duration::from_secs(30),
            sandbox: hf_capture::Sandbox::for_this_process(),
            webgpu: false,
        })
    })
    .unwrap();
    let (browser, mut handler) = Browser::connect(ws).await.unwrap();
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let mut target = CreateTargetParams::new(server.url.clone());
    target.width = Some(1000);
    target.height = Some(700);
    let page = browser.new_page(target).await.unwrap();
    wait_for(
        &page,
        "window.hfPreview && hfPreview.ready && hfPreview.shown === 0",
    )
    .await;
    let text = |id: &'static str| {
        let page = page.clone();
        async move {
            page.evaluate(format!("document.getElementById('{id}').textContent"))
                .await
                .unwrap()
                .into_value::<String>()
                .unwrap()
        }
    };
    assert_eq!(text("size").await, "320×180 · 30 fps");
    assert_eq!(text("time").await, "0.00 s · 0 / 59");

    // The arrow key steps one frame.
    page.find_element("body")
        .await
        .unwrap()
        .press_key("ArrowRight")
        .await
        .unwrap();
    wait_for(&page, "hfPreview.shown === 1 && !hfPreview.busy").await;

    seek_with_frame_field(&page, 15).await;
    let shown = stage(&page).await;
    assert!(
        psnr(&shown, &at_15) > 40.0,
        "frame 15: {:.1} dB",
        psnr(&shown, &at_15)
    );
    assert_eq!(text("time").await, "0.50 s · 15 / 59");
    seek_with_frame_field(&page, 45).await;
    let shown = stage(&page).await;
    assert!(
        psnr(&shown, &at_45) > 40.0,
        "frame 45: {:.1} dB",
        psnr(&shown, &at_45)
    );
    assert_eq!(pixel(&shown, 170, 90), [255, 0, 0], "the box at x 150-190");
    assert_eq!(pixel(&shown, 100, 90), [255, 255, 255]);

    // An edit recompiles; the player reloads and stays at frame 45.
    std::fs::write(dir.join("index.html"), composition("#00f")).unwrap();
    wait_for(
        &page,
        "hfPreview.generation >= 2 && hfPreview.ready && hfPreview.shown === 45 && !hfPreview.busy",
    )
    .await;
    let shown = stage(&page).await;
    assert_eq!(
        pixel(&shown, 170, 90),
        [0, 0, 255],
        "the edited colour at the same frame"
    );
    assert_eq!(text("time").await, "1.50 s · 45 / 59");

    // The variables panel: a new value recompiles the page with it, at the same frame, and
    // the render command says it.
    page.evaluate("document.querySelector('#variables input[name=bg]').value = '#00ff00'")
        .await
        .unwrap();
    page.find_element("#apply")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &page,
        "hfPreview.generation >= 3 && hfPreview.ready && hfPreview.shown === 45 && !hfPreview.busy",
    )
    .await;
    let shown = stage(&page).await;
    assert_eq!(
        pixel(&shown, 100, 90),
        [0, 255, 0],
        "the background variable"
    );
    assert_eq!(pixel(&shown, 170, 90), [0, 0, 255]);
    assert!(
        text("render-command")
            .await
            .ends_with(r##" --variables '{"bg":"#00ff00"}'"##),
        "{}",
        text("render-command").await
    );

    drop(page);
    drop(browser);
    events.abort();
    drop(chrome);
    assert!(server.stop().success(), "SIGINT stops the preview cleanly");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hf-preview-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
