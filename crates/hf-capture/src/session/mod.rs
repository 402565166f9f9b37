//! One browser, one page, ready to `seek(t)` and capture.

mod draw;

use crate::browser::{ChromeProcess, LaunchOptions, Sandbox};
use crate::page::PageHandle;
use crate::{CaptureError, MediaSlot, PageActivity, TransitionMeta, VideoFrames};
use chromiumoxide::cdp::browser_protocol::dom::Rgba;
use chromiumoxide::cdp::browser_protocol::emulation::{
    SetDefaultBackgroundColorOverrideParams, SetDeviceMetricsOverrideParams,
};
use chromiumoxide::cdp::browser_protocol::page::NavigateParams;
use chromiumoxide::cdp::browser_protocol::target::CreateTargetParams;
use chromiumoxide::{Browser, Page};
use futures::StreamExt;
use hf_core::{FrameImage, ImageFormat};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Which CDP path produces frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaptureMode {
    /// `HeadlessExperimental.beginFrame` when the browser supports it, else screenshots.
    #[default]
    Auto,
    /// Require `HeadlessExperimental.beginFrame`.
    BeginFrame,
    /// `Page.captureScreenshot` after each seek.
    Screenshot,
}

/// The capture path a session actually uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActiveCaptureMode {
    /// Frames come from `HeadlessExperimental.beginFrame`.
    BeginFrame,
    /// Frames come from `Page.captureScreenshot`.
    Screenshot,
}

/// How to open a [`CaptureSession`].
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Browser binary (see [`crate::resolve_browser`]).
    pub executable: PathBuf,
    /// Profile directory for this browser (created; removed by the caller's work dir cleanup).
    pub user_data_dir: PathBuf,
    /// The page to load.
    pub url: String,
    /// The file server's access token, set as its [`crate::ACCESS_COOKIE`] before loading.
    pub access_token: String,
    /// Viewport width.
    pub width: u32,
    /// Viewport height.
    pub height: u32,
    /// Requested capture path.
    pub mode: CaptureMode,
    /// Capture image format.
    pub image_format: ImageFormat,
    /// JPEG quality (1-100).
    pub jpeg_quality: u8,
    /// Frame interval reported to the compositor, in milliseconds.
    pub frame_interval_ms: f64,
    /// Longest wait for the page to load and its runtime to report ready.
    pub load_timeout: Duration,
    /// Longest wait, after load, for compositions to register their timelines.
    pub timeline_timeout: Duration,
    /// Frames per second the runtime quantizes seek times to.
    pub fps: f64,
    /// Device pixel ratio: frames are `width * scale` x `height * scale` pixels (supersampling
    /// for `--resolution`); 1 otherwise.
    pub device_scale_factor: f64,
    /// Capture with a transparent default background and transparent `html` and `body`
    /// backgrounds (alpha output formats; PNG capture).
    pub transparent: bool,
    /// Give the page WebGPU (see [`crate::LaunchOptions::webgpu`]).
    pub webgpu: bool,
}

/// What the page reported once ready.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageFacts {
    /// `__hf.duration`: the composition's duration in seconds (0 if unknown).
    pub duration: f64,
    /// Composition ids that never registered a timeline within the wait.
    pub missing_timelines: Vec<String>,
    /// The transitions the page declares (`__hf.transitions`).
    #[serde(default)]
    pub transitions: Vec<TransitionMeta>,
    /// Registered libraries (d3 transitions, maps, `__hf.buildReady` promises) that were
    /// still loading when the wait ran out.
    #[serde(default)]
    pub unready_libraries: Vec<String>,
    /// Live map widgets on the page (their selectors).
    #[serde(default)]
    pub live_maps: Vec<String>,
    /// URLs the page requested while loading that are not hf's file server (blocked).
    #[serde(default)]
    pub blocked_requests: Vec<String>,
}

/// A browser with one page loaded and ready to capture.
pub struct CaptureSession {
    page: PageHandle,
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    chrome: ChromeProcess,
    mode: ActiveCaptureMode,
    image_format: ImageFormat,
    jpeg_quality: u8,
    interval_ms: f64,
    next_tick: f64,
    /// The last image this session captured: what the screen shows when Chrome reports no damage.
    last_image: Option<Vec<u8>>,
    /// The next frame must be a full image (it starts a run or follows a skipped frame).
    need_full_image: bool,
    facts: PageFacts,
    /// The frame after the last one this page was seeked to: a capture of any later frame
    /// first lets the page catch up.
    next_index: u64,
    /// The frame the page last drew.
    last_drawn: Option<u64>,
    /// Frames captured ahead of their run (calibration), in order.
    prefetched: VecDeque<(u64, FrameImage)>,
    /// Extracted video frames shown in place of `<video>` elements.
    video_frames: Arc<VideoFrames>,
    /// Size of the captured images in pixels (the viewport times the device scale).
    frame_size: (u32, u32),
}

impl CaptureSession {
    /// Launch a browser, load `options.url`, and wait until the page is ready.
    ///
    /// With [`CaptureMode::Auto`] a browser without `beginFrame` support is relaunched in
    /// screenshot mode.
    pub async fn open(options: &SessionOptions) -> Result<Self, CaptureError> {
        let span = tracing::info_span!("open_session", url = %options.url);
        let begin_frame = options.mode != CaptureMode::Screenshot;
        let opened = Self::open_with(options, begin_frame)
            .instrument(span.clone())
            .await;
        match opened {
            Err(CaptureError::Cdp { command, message })
                if options.mode == CaptureMode::Auto
                    && command == "HeadlessExperimental.beginFrame" =>
            {
                tracing::warn!(
                    %message,
                    "beginFrame unavailable; falling back to Page.captureScreenshot"
                );
                Self::open_with(options, false).instrument(span).await
            }
            other => other,
        }
    }

    async fn open_with(options: &SessionOptions, begin_frame: bool) -> Result<Self, CaptureError> {
        let (chrome, browser, handler) = launch(options, begin_frame).await?;
        let page = new_page(&chrome, &browser, options, begin_frame).await?;
        let mut session = CaptureSession {
            page: PageHandle::new(page, &options.url, &options.access_token).await?,
            browser,
            handler,
            chrome,
            mode: if begin_frame {
                ActiveCaptureMode::BeginFrame
            } else {
                ActiveCaptureMode::Screenshot
            },
            image_format: options.image_format,
            jpeg_quality: options.jpeg_quality,
            interval_ms: options.frame_interval_ms,
            next_tick: 1000.0,
            last_image: None,
            need_full_image: true,
            facts: PageFacts::default(),
            next_index: 0,
            last_drawn: None,
            prefetched: VecDeque::new(),
            video_frames: Arc::default(),
            frame_size: {
                let scaled = |v: u32| (f64::from(v) * options.device_scale_factor).round() as u32;
                (scaled(options.width), scaled(options.height))
            },
        };
        if begin_frame {
            // Probe beginFrame before navigating so Auto mode can fall back cheaply.
            session.warm_up_frame().await?;
        }
        session.navigate(options).await?;
        session.facts = session.wait_until_ready(options).await?;
        session.page.runtime().configure(options.fps).await?;
        if options.transparent {
            // After navigation and readiness, as HyperFrames does: navigation resets the override.
            session.make_background_transparent().await?;
        }
        Ok(session)
    }

    /// Open the composition. A page whose scripts never yield (a `while (true) {}` at load)
    /// never answers: that is reported as such after the load timeout, unless the renderer
    /// crashes first. chromiumoxide gives up on any CDP request after 30 s; a longer load
    /// timeout keeps waiting for the page to answer.
    async fn navigate(&mut self, options: &SessionOptions) -> Result<(), CaptureError> {
        let started = Instant::now();
        let navigate = self
            .page
            .page
            .execute(NavigateParams::new(options.url.clone()));
        let crashed = async {
            while self.page.crash().is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(options.load_timeout, navigate) => outcome,
            () = crashed => return Err(self.page.crash().expect("the renderer crashed")),
        };
        match outcome {
            Err(_) => {}
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => match CaptureError::cdp("Page.navigate")(e) {
                CaptureError::Cdp { message, .. } if message.contains("timed out") => {
                    if self.answers_within(options.load_timeout, started).await? {
                        return Ok(());
                    }
                }
                other => return Err(other),
            },
        }
        if let Some(crash) = self.page.crash() {
            return Err(crash);
        }
        // A page that still answers is not stuck in a script: it never finished loading.
        let state = tokio::time::timeout(Duration::from_secs(2), self.page.runtime().ready_state())
            .await
            .ok()
            .and_then(Result::ok);
        let waiting_for = match state {
            Some(state) => format!(
                "the page to finish loading (document.readyState is still \"{state}\": a \
                 document.write or document.open after load, or a request that never ends); \
                 fix the page"
            ),
            None => "the page to load: Chrome did not answer, so a script is most likely stuck \
                     at load (a loop such as while (true) {}); fix the script"
                .into(),
        };
        Err(CaptureError::NotReady {
            url: options.url.clone(),
            seconds: started.elapsed().as_secs_f64(),
            waiting_for,
        })
    }

    /// After chromiumoxide gave up on `Page.navigate`: whether the page answers before
    /// `limit` (from `started`) runs out; a renderer crash meanwhile is the error.
    async fn answers_within(
        &self,
        limit: Duration,
        started: Instant,
    ) -> Result<bool, CaptureError> {
        while started.elapsed() < limit {
            if let Some(crash) = self.page.crash() {
                return Err(crash);
            }
            let runtime = self.page.runtime();
            let probe = tokio::time::timeout(Duration::from_secs(1), runtime.ready_state());
            if let Ok(Ok(_)) = probe.await {
                return Ok(true);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(false)
    }

    /// Clear the default background and the page's and body's backgrounds, so the captured
    /// PNGs keep the page's transparency (as HyperFrames 0.8 does: a composition root's own
    /// background is kept).
    async fn make_background_transparent(&mut self) -> Result<(), CaptureError> {
        self.page
            .page
            .execute(SetDefaultBackgroundColorOverrideParams {
                color: Some(Rgba {
                    r: 0,
                    g: 0,
                    b: 0,
                    a: Some(0.0),
                }),
            })
            .await
            .map_err(CaptureError::cdp(
                "Emulation.setDefaultBackgroundColorOverride",
            ))?;
        self.page.runtime().clear_page_backgrounds().await
    }

    /// Poll the runtime until the page has loaded, fonts and images are ready and every
    /// composition registered its timeline (or the timeline wait ran out).
    async fn wait_until_ready(
        &mut self,
        options: &SessionOptions,
    ) -> Result<PageFacts, CaptureError> {
        let started = Instant::now();
        let mut loaded_at: Option<Instant> = None;
        loop {
            if let Some(message) = self.page.first_exception() {
                return Err(self.page.script_error(message));
            }
            if let Some(crash) = self.page.crash() {
                return Err(crash);
            }
            if self.mode == ActiveCaptureMode::BeginFrame {
                self.warm_up_frame().await?;
            }
            let status = self.page.runtime().status().await?;
            if status.is_none() {
                let location = self.page.runtime().location().await?;
                if location != "about:blank" || started.elapsed() > Duration::from_secs(1) {
                    let served = options.url.split('#').next().unwrap_or_default();
                    if !location.starts_with(served) {
                        return Err(CaptureError::NavigatedAway {
                            url: options.url.clone(),
                            to: location,
                        });
                    }
                }
            }
            let pending = match &status {
                None => "the hf runtime to start (the page did not load)".to_string(),
                Some(s) if !s.loaded => "the page to finish loading (its load event: a \
                                         document.write or document.open after load, a request \
                                         that never ends or an iframe still loading keeps it \
                                         waiting)"
                    .to_string(),
                Some(s) if !s.fonts_ready => "web fonts to load".to_string(),
                Some(s) if !s.images_ready => "images to decode".to_string(),
                Some(s) => {
                    let loaded = *loaded_at.get_or_insert_with(Instant::now);
                    let waiting =
                        !s.missing_timelines.is_empty() || !s.pending_libraries.is_empty();
                    if !waiting || loaded.elapsed() >= options.timeline_timeout {
                        if !s.missing_timelines.is_empty() {
                            tracing::debug!(
                                compositions = ?s.missing_timelines,
                                "no timeline registered in window.__timelines; rendering without GSAP animation for these (mark them data-no-timeline if that is intended)"
                            );
                        }
                        // Unhandled rejections are reported a task after the script that
                        // made them: one more round trip through the page, then a last look.
                        let _ = self.page.runtime().ready_state().await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        if let Some(message) = self.page.first_exception() {
                            return Err(self.page.script_error(message));
                        }
                        return Ok(PageFacts {
                            duration: s.duration,
                            missing_timelines: s.missing_timelines.clone(),
                            transitions: self.page.runtime().transitions().await?,
                            unready_libraries: s.pending_libraries.clone(),
                            live_maps: s.live_maps.clone(),
                            blocked_requests: self.page.blocked_requests(),
                        });
                    }
                    match s.missing_timelines.is_empty() {
                        true => s.pending_libraries.join(", "),
                        false => format!("timelines for {}", s.missing_timelines.join(", ")),
                    }
                }
            };
            let waited = started.elapsed();
            if waited >= options.load_timeout {
                return Err(CaptureError::NotReady {
                    url: self.page.url.clone(),
                    seconds: waited.as_secs_f64(),
                    waiting_for: pending,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Size of the captured images in pixels.
    pub fn frame_size(&self) -> (u32, u32) {
        self.frame_size
    }

    /// The image format frames are captured in.
    pub fn image_format(&self) -> ImageFormat {
        self.image_format
    }

    /// The capture path in use.
    pub fn mode(&self) -> ActiveCaptureMode {
        self.mode
    }

    /// What the page reported once ready.
    pub fn facts(&self) -> &PageFacts {
        &self.facts
    }

    /// The browser's process id (its process group is killed when the session drops).
    pub fn browser_pid(&self) -> u32 {
        self.chrome.pid()
    }

    /// Make the next captured frame a full image, never "same as previous": call it when the
    /// consumer starts afresh (a new segment encoder) or frames were skipped.
    pub fn require_full_image(&mut self) {
        self.need_full_image = true;
    }

    /// Whether the browser process has died (crashed or was killed).
    pub fn browser_exited(&mut self) -> bool {
        self.chrome.has_exited()
    }

    /// Show these extracted frames in place of the page's `<video>` elements from the next
    /// frame on.
    pub fn set_video_frames(&mut self, frames: Arc<VideoFrames>) {
        if frames != self.video_frames {
            // Frames captured before showed other video frames.
            self.prefetched.clear();
        }
        self.video_frames = frames;
    }

    /// The page's `<video>`/`<audio>` slots as its runtime resolves them, with the largest
    /// size each video is shown at within the first `frames` frames.
    pub async fn media_slots(&mut self, frames: u64) -> Result<Vec<MediaSlot>, CaptureError> {
        self.page.runtime().media(frames).await
    }

    /// The volume of every media element a GSAP tween animates, sampled at each of the first
    /// `frames` frames: render id to one linear gain per frame.
    pub async fn volume_envelopes(
        &mut self,
        frames: u64,
    ) -> Result<HashMap<String, Vec<f64>>, CaptureError> {
        self.page.runtime().volume_envelopes(frames).await
    }

    /// The root composition's `data-fx-chain` (the master bus effects), as written.
    pub async fn master_fx(&mut self) -> Result<Option<String>, CaptureError> {
        self.page.runtime().master_fx().await
    }

    /// When the page can change (for predicting frames that repeat the frame before them).
    pub async fn activity(&mut self) -> Result<PageActivity, CaptureError> {
        self.page.runtime().activity().await
    }

    /// Close the page and browser. Dropping the session also kills the browser.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.browser.close()).await;
        self.handler.abort();
        // `self.chrome` drops here and kills the process group.
    }
}

/// Start Chrome for `options` and connect to it; the handler task pumps its CDP events.
async fn launch(
    options: &SessionOptions,
    begin_frame: bool,
) -> Result<(ChromeProcess, Browser, tokio::task::JoinHandle<()>), CaptureError> {
    let launch = LaunchOptions {
        executable: options.executable.clone(),
        user_data_dir: options
            .user_data_dir
            .join(if begin_frame { "bf" } else { "ss" }),
        width: options.width,
        height: options.height,
        begin_frame,
        timeout: Duration::from_secs(30),
        sandbox: Sandbox::for_this_process(),
        webgpu: options.webgpu,
    };
    let (chrome, ws_url) = tokio::task::block_in_place(|| ChromeProcess::launch(&launch))?;
    let (browser, mut handler) = Browser::connect(ws_url.clone())
        .await
        .map_err(|e| chrome.launch_error(format!("cannot connect to {ws_url}: {e}")))?;
    let handler = tokio::spawn(async move {
        while let Some(event) = handler.next().await {
            if let Err(error) = event {
                tracing::trace!(%error, "cdp handler");
            }
        }
    });
    Ok((chrome, browser, handler))
}

/// The one page of the browser, at the viewport size and device scale of `options`.
async fn new_page(
    chrome: &ChromeProcess,
    browser: &Browser,
    options: &SessionOptions,
    begin_frame: bool,
) -> Result<Page, CaptureError> {
    let mut target = CreateTargetParams::new("about:blank");
    target.width = Some(i64::from(options.width));
    target.height = Some(i64::from(options.height));
    if begin_frame {
        target.enable_begin_frame_control = Some(true);
    }
    let page = browser
        .new_page(target)
        .await
        .map_err(|e| chrome.launch_error(format!("cannot open a page: {e}")))?;
    page.execute(SetDeviceMetricsOverrideParams::new(
        i64::from(options.width),
        i64::from(options.height),
        options.device_scale_factor,
        false,
    ))
    .await
    .map_err(CaptureError::cdp("Emulation.setDeviceMetricsOverride"))?;
    Ok(page)
}
