//! One browser, one page, ready to `seek(t)` and capture.

use crate::browser::{ChromeProcess, LaunchOptions};
use crate::CaptureError;
use base64::Engine as _;
use chromiumoxide::cdp::browser_protocol::dom::Rgba;
use chromiumoxide::cdp::browser_protocol::emulation::{
    SetDefaultBackgroundColorOverrideParams, SetDeviceMetricsOverrideParams,
};
use chromiumoxide::cdp::browser_protocol::headless_experimental::{
    BeginFrameParams, ScreenshotParams, ScreenshotParamsFormat,
};
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, NavigateParams,
};
use chromiumoxide::cdp::browser_protocol::target::CreateTargetParams;
use chromiumoxide::cdp::js_protocol::runtime::{
    EvaluateParams, EventExceptionThrown, ExceptionDetails,
};
use chromiumoxide::{Browser, Page};
use futures::StreamExt;
use hf_encode::{FrameImage, ImageFormat};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
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
    /// Browser binary (see [`crate::browser::resolve_browser`]).
    pub executable: PathBuf,
    /// Profile directory for this browser (created; removed by the caller's work dir cleanup).
    pub user_data_dir: PathBuf,
    /// The page to load.
    pub url: String,
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
}

/// What the page reported once ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageFacts {
    /// `__hf.duration`: the composition's duration in seconds (0 if unknown).
    pub duration: f64,
    /// Composition ids that never registered a timeline within the wait.
    pub missing_timelines: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadyStatus {
    loaded: bool,
    fonts_ready: bool,
    images_ready: bool,
    missing_timelines: Vec<String>,
    duration: f64,
}

/// A browser with one page loaded and ready to capture.
pub struct CaptureSession {
    page: Page,
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    exceptions: Arc<Mutex<Vec<String>>>,
    chrome: ChromeProcess,
    mode: ActiveCaptureMode,
    image_format: ImageFormat,
    jpeg_quality: u8,
    interval_ms: f64,
    next_tick: f64,
    /// The last image this session captured: what the screen shows when Chrome reports no damage.
    last_image: Option<Vec<u8>>,
    /// The next frame must be a full image (it starts a segment or follows a skipped frame).
    need_full_image: bool,
    url: String,
    facts: PageFacts,
    /// The frame after the last one this page was seeked to: a capture of any later frame
    /// first lets the page catch up (see [`Self::catch_up`]).
    next_index: u64,
    /// The frame the page last drew.
    last_drawn: Option<u64>,
    /// Frames captured ahead of their segment (calibration), in order.
    prefetched: std::collections::VecDeque<(u64, FrameImage)>,
    /// Extracted video frames shown in place of `<video>` elements.
    video_frames: Arc<crate::VideoFrames>,
}

fn describe_exception(details: &ExceptionDetails) -> String {
    let text = details
        .exception
        .as_ref()
        .and_then(|e| e.description.clone())
        .unwrap_or_else(|| details.text.clone());
    match &details.url {
        Some(url) if !url.is_empty() => {
            format!(
                "{text} (at {url}:{}:{})",
                details.line_number + 1,
                details.column_number + 1
            )
        }
        _ => text,
    }
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
        let launch = LaunchOptions {
            executable: options.executable.clone(),
            user_data_dir: options
                .user_data_dir
                .join(if begin_frame { "bf" } else { "ss" }),
            width: options.width,
            height: options.height,
            begin_frame,
            timeout: Duration::from_secs(30),
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

        let exceptions = Arc::new(Mutex::new(Vec::new()));
        let mut exception_events = page
            .event_listener::<EventExceptionThrown>()
            .await
            .map_err(CaptureError::cdp("Runtime.exceptionThrown listener"))?;
        {
            let exceptions = Arc::clone(&exceptions);
            tokio::spawn(async move {
                while let Some(event) = exception_events.next().await {
                    let message = describe_exception(&event.exception_details);
                    exceptions
                        .lock()
                        .expect("exception list lock")
                        .push(message);
                }
            });
        }

        let mut session = CaptureSession {
            page,
            browser,
            handler,
            exceptions,
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
            url: options.url.clone(),
            facts: PageFacts {
                duration: 0.0,
                missing_timelines: Vec::new(),
            },
            next_index: 0,
            last_drawn: None,
            prefetched: std::collections::VecDeque::new(),
            video_frames: Arc::default(),
        };
        if begin_frame {
            // Probe beginFrame before navigating so Auto mode can fall back cheaply.
            session.warm_up_frame().await?;
        }
        session
            .page
            .execute(NavigateParams::new(options.url.clone()))
            .await
            .map_err(CaptureError::cdp("Page.navigate"))?;
        session.facts = session.wait_until_ready(options).await?;
        let configure = format!("window.__hf.configure({{fps: {:?}}})", options.fps);
        session.run_script(&configure).await?;
        if options.transparent {
            // After navigation and readiness, as HyperFrames does: navigation resets the override.
            session.make_background_transparent().await?;
        }
        Ok(session)
    }

    /// Clear the default background and the page's and body's backgrounds, so the captured
    /// PNGs keep the page's transparency (as HyperFrames 0.8 does: a composition root's own
    /// background is kept).
    async fn make_background_transparent(&mut self) -> Result<(), CaptureError> {
        self.page
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
        let style = r#"(() => {
            const style = document.createElement("style");
            style.id = "__hf_transparent_bg__";
            style.textContent = "html,body{background:transparent!important;" +
                "background-color:transparent!important;background-image:none!important}";
            document.head.appendChild(style);
            return true;
        })()"#;
        self.run_script(style).await
    }

    /// Make Chrome repaint the whole view on the next frame. beginFrame returns no image when
    /// nothing changed since the last drawn frame, which is fine while the previous image is
    /// at hand, but a session's first capture of a page that has settled (the seek changed
    /// nothing) has nothing to repeat. A full-view overlay, drawn in one uncaptured frame and
    /// removed again, invalidates every pixel and leaves the page as it was.
    async fn force_full_damage(&mut self) -> Result<(), CaptureError> {
        const SHOW: &str = r#"(() => {
            const cover = document.createElement("div");
            cover.id = "__hf_repaint__";
            cover.style.cssText = "position:fixed;left:0;top:0;width:100vw;height:100vh;" +
                "background:#f0f;z-index:2147483647;pointer-events:none";
            document.documentElement.appendChild(cover);
            return true;
        })()"#;
        const HIDE: &str = r#"(() => {
            const cover = document.getElementById("__hf_repaint__");
            if (cover) cover.remove();
            return true;
        })()"#;
        self.run_script(SHOW).await?;
        self.begin_frame_uncaptured(true).await?;
        self.run_script(HIDE).await
    }

    /// Evaluate one of hf's own scripts; an exception is a [`CaptureError::PageScript`].
    async fn run_script(&self, script: &str) -> Result<(), CaptureError> {
        self.evaluate(script)
            .await?
            .map_err(|message| CaptureError::PageScript {
                url: self.url.clone(),
                message,
            })?;
        Ok(())
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

    fn take_exception(&self) -> Option<String> {
        self.exceptions
            .lock()
            .expect("exception list lock")
            .first()
            .cloned()
    }

    /// A frame that runs the page's lifecycle (layout, animations) but draws nothing.
    async fn warm_up_frame(&mut self) -> Result<(), CaptureError> {
        self.begin_frame_uncaptured(false).await
    }

    /// One beginFrame without a screenshot; `draw` puts its updates on the display (what a
    /// later frame's damage is measured against).
    async fn begin_frame_uncaptured(&mut self, draw: bool) -> Result<(), CaptureError> {
        let params = BeginFrameParams {
            frame_time_ticks: Some(self.tick()),
            interval: Some(self.interval_ms),
            no_display_updates: (!draw).then_some(true),
            ..Default::default()
        };
        self.page
            .execute(params)
            .await
            .map_err(CaptureError::cdp("HeadlessExperimental.beginFrame"))?;
        Ok(())
    }

    fn tick(&mut self) -> f64 {
        let tick = self.next_tick;
        self.next_tick += self.interval_ms;
        tick
    }

    /// Evaluate `expression` and return its JSON value; a thrown exception becomes `Err(text)`.
    async fn evaluate(
        &self,
        expression: &str,
    ) -> Result<Result<serde_json::Value, String>, CaptureError> {
        self.evaluate_with(expression, false).await
    }

    /// [`Self::evaluate`], waiting for a returned promise to settle when `await_promise`.
    async fn evaluate_with(
        &self,
        expression: &str,
        await_promise: bool,
    ) -> Result<Result<serde_json::Value, String>, CaptureError> {
        let mut params = EvaluateParams::new(expression);
        params.return_by_value = Some(true);
        params.await_promise = Some(await_promise);
        let response = self
            .page
            .execute(params)
            .await
            .map_err(CaptureError::cdp("Runtime.evaluate"))?;
        let result = response.result;
        if let Some(details) = result.exception_details {
            return Ok(Err(describe_exception(&details)));
        }
        Ok(Ok(result.result.value.unwrap_or(serde_json::Value::Null)))
    }

    async fn wait_until_ready(
        &mut self,
        options: &SessionOptions,
    ) -> Result<PageFacts, CaptureError> {
        let started = Instant::now();
        let mut loaded_at: Option<Instant> = None;
        let status_expression =
            "window.__hf && typeof window.__hf.status === 'function' ? window.__hf.status() : null";
        loop {
            if let Some(message) = self.take_exception() {
                return Err(CaptureError::PageScript {
                    url: self.url.clone(),
                    message,
                });
            }
            if self.mode == ActiveCaptureMode::BeginFrame {
                self.warm_up_frame().await?;
            }
            let value = self.evaluate(status_expression).await?.map_err(|message| {
                CaptureError::PageScript {
                    url: self.url.clone(),
                    message,
                }
            })?;
            let status: Option<ReadyStatus> = serde_json::from_value(value).ok();
            let waited = started.elapsed();
            let pending = match &status {
                None => "the hf runtime to start (the page did not load)".to_string(),
                Some(s) if !s.loaded => "the page's load event".to_string(),
                Some(s) if !s.fonts_ready => "web fonts to load".to_string(),
                Some(s) if !s.images_ready => "images to decode".to_string(),
                Some(s) => {
                    let loaded = *loaded_at.get_or_insert_with(Instant::now);
                    if s.missing_timelines.is_empty()
                        || loaded.elapsed() >= options.timeline_timeout
                    {
                        if !s.missing_timelines.is_empty() {
                            tracing::debug!(
                                compositions = ?s.missing_timelines,
                                "no timeline registered in window.__timelines; rendering without GSAP animation for these (mark them data-no-timeline if that is intended)"
                            );
                        }
                        return Ok(PageFacts {
                            duration: s.duration,
                            missing_timelines: s.missing_timelines.clone(),
                        });
                    }
                    format!("timelines for {}", s.missing_timelines.join(", "))
                }
            };
            if waited >= options.load_timeout {
                return Err(CaptureError::NotReady {
                    url: self.url.clone(),
                    seconds: waited.as_secs_f64(),
                    waiting_for: pending,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// [`CaptureSession::capture_frame`], failing with [`CaptureError::FrameTimeout`] when the
    /// frame takes longer than `limit` (a page stuck in a loop never answers).
    ///
    /// A frame that does not follow the last one this page drew (a worker's first segment, or
    /// one after another worker's) is prepared first: the page runs the frames it skipped
    /// ([`Self::catch_up`]), then draws the frame before this one without capturing it, so
    /// page state and Chrome's own (a scaled layer's raster scale depends on the frame drawn
    /// before) are those of a frame-by-frame render.
    pub async fn capture_frame_within(
        &mut self,
        index: u64,
        time: f64,
        limit: std::time::Duration,
    ) -> Result<FrameImage, CaptureError> {
        match self.take_prefetched(index) {
            Some(image) => Ok(image),
            None => self.prepare_and_capture(index, time, limit).await,
        }
    }

    /// [`Self::capture_frame_within`] without looking at prefetched frames.
    async fn prepare_and_capture(
        &mut self,
        index: u64,
        time: f64,
        limit: std::time::Duration,
    ) -> Result<FrameImage, CaptureError> {
        let timed_out = |_| CaptureError::FrameTimeout {
            index,
            time,
            seconds: limit.as_secs_f64(),
        };
        if index > 0 && self.last_drawn != Some(index - 1) {
            let previous = index - 1;
            let previous_time = time - self.interval_ms / 1000.0;
            while previous > self.next_index {
                tokio::time::timeout(limit, self.catch_up(previous, previous_time))
                    .await
                    .map_err(timed_out)??;
            }
            tokio::time::timeout(limit, self.draw_uncaptured(previous, previous_time))
                .await
                .map_err(timed_out)??;
        }
        tokio::time::timeout(limit, self.capture_frame(index, time))
            .await
            .map_err(timed_out)?
    }

    /// Capture frame `index` now and keep it for the next [`Self::capture_frame_within`] of
    /// that frame (the auto-worker calibration times frames its segment then uses).
    pub async fn prefetch_frame(
        &mut self,
        index: u64,
        time: f64,
        limit: std::time::Duration,
    ) -> Result<(), CaptureError> {
        let image = self.prepare_and_capture(index, time, limit).await?;
        self.prefetched.push_back((index, image));
        Ok(())
    }

    /// The prefetched image of frame `index`; prefetched frames that were not asked for in
    /// order are dropped.
    fn take_prefetched(&mut self, index: u64) -> Option<FrameImage> {
        match self.prefetched.front() {
            Some((first, _)) if *first == index => self.prefetched.pop_front().map(|(_, i)| i),
            Some(_) => {
                self.prefetched.clear();
                None
            }
            None => None,
        }
    }

    /// Seek the page to frame `index` at `time`, showing the video frames of that time.
    async fn seek(&mut self, index: u64, time: f64) -> Result<(), CaptureError> {
        let expression = match self.video_frames.seek_argument(time) {
            Some(frames) => format!("window.__hf.seek({time:?}, {frames})"),
            None => format!("window.__hf.seek({time:?})"),
        };
        // The seek returns a promise only when `hf-seek` handlers or iframes asked to be waited for.
        if let Err(message) = self.evaluate_with(&expression, true).await? {
            return Err(CaptureError::Seek {
                index,
                time,
                message,
            });
        }
        self.next_index = index + 1;
        self.last_drawn = Some(index);
        Ok(())
    }

    /// Seek to frame `index` and draw it without capturing it (in screenshot mode Chrome
    /// draws on its own: only the seek).
    async fn draw_uncaptured(&mut self, index: u64, time: f64) -> Result<(), CaptureError> {
        self.seek(index, time).await?;
        match self.mode {
            ActiveCaptureMode::BeginFrame => self.begin_frame_uncaptured(true).await,
            ActiveCaptureMode::Screenshot => Ok(()),
        }
    }

    /// Frames the page runs per evaluate while catching up (each one a seek, no paint).
    const CATCH_UP_FRAMES: u64 = 120;

    /// Bring the page from its last seek towards frame `index` (at `time`), not included: a
    /// page whose own code uses animation frames runs the skipped frames (at most
    /// [`Self::CATCH_UP_FRAMES`] per call), so callbacks that keep state from frame to frame
    /// are where a frame-by-frame render has them. Other pages skip nothing: their seeks are
    /// path-independent. Advances [`Self::next_index`].
    async fn catch_up(&mut self, index: u64, time: f64) -> Result<(), CaptureError> {
        let expression = format!("window.__hf.catchUp({index}, {})", Self::CATCH_UP_FRAMES);
        let remaining = self
            .evaluate_with(&expression, true)
            .await?
            .map_err(|message| CaptureError::Seek {
                index,
                time,
                message,
            })?
            .as_u64()
            .unwrap_or(0);
        self.next_index = index - remaining;
        Ok(())
    }

    /// Seek the page to `time` seconds (frame `index`) and capture one frame.
    pub async fn capture_frame(
        &mut self,
        index: u64,
        time: f64,
    ) -> Result<FrameImage, CaptureError> {
        self.seek(index, time).await?;
        // Right after a page reports ready, Chrome can hold back new frames for a moment
        // (about 0.1 s seen): retry with a growing pause, about 1.5 s in all.
        const ATTEMPTS: u32 = 20;
        for attempt in 0..ATTEMPTS {
            let data = match self.mode {
                ActiveCaptureMode::BeginFrame => {
                    let (format, quality) = match self.image_format {
                        ImageFormat::Jpeg => (
                            ScreenshotParamsFormat::Jpeg,
                            Some(i64::from(self.jpeg_quality)),
                        ),
                        ImageFormat::Png => (ScreenshotParamsFormat::Png, None),
                    };
                    let shot = ScreenshotParams {
                        format: Some(format),
                        quality,
                        optimize_for_speed: Some(true),
                    };
                    let params = BeginFrameParams {
                        frame_time_ticks: Some(self.tick()),
                        interval: Some(self.interval_ms),
                        screenshot: Some(shot),
                        ..Default::default()
                    };
                    let result = self
                        .page
                        .execute(params)
                        .await
                        .map_err(CaptureError::cdp("HeadlessExperimental.beginFrame"))?
                        .result;
                    tracing::trace!(
                        index,
                        has_damage = result.has_damage,
                        has_screenshot = result.screenshot_data.is_some(),
                        "beginFrame"
                    );
                    match result.screenshot_data {
                        Some(data) => Some(data),
                        None if !result.has_damage => {
                            // No damage: the screen still shows the last captured image.
                            if !self.need_full_image {
                                return Ok(FrameImage::SameAsPrevious);
                            }
                            if let Some(bytes) = &self.last_image {
                                self.need_full_image = false;
                                return Ok(FrameImage::Encoded {
                                    format: self.image_format,
                                    bytes: bytes.clone(),
                                });
                            }
                            self.force_full_damage().await?;
                            None
                        }
                        None => None,
                    }
                }
                ActiveCaptureMode::Screenshot => {
                    let (format, quality) = match self.image_format {
                        ImageFormat::Jpeg => (
                            CaptureScreenshotFormat::Jpeg,
                            Some(i64::from(self.jpeg_quality)),
                        ),
                        ImageFormat::Png => (CaptureScreenshotFormat::Png, None),
                    };
                    // optimizeForSpeed crushes alpha, so PNG captures go without it.
                    let params = CaptureScreenshotParams {
                        format: Some(format),
                        quality,
                        optimize_for_speed: Some(self.image_format == ImageFormat::Jpeg),
                        from_surface: Some(true),
                        ..Default::default()
                    };
                    let result = self
                        .page
                        .execute(params)
                        .await
                        .map_err(CaptureError::cdp("Page.captureScreenshot"))?
                        .result;
                    Some(result.data)
                }
            };
            if let Some(data) = data {
                let encoded: &str = data.as_ref();
                if !encoded.is_empty() {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .map_err(|e| CaptureError::Cdp {
                            command: "screenshot data".into(),
                            message: e.to_string(),
                        })?;
                    self.last_image = Some(bytes.clone());
                    self.need_full_image = false;
                    return Ok(FrameImage::Encoded {
                        format: self.image_format,
                        bytes,
                    });
                }
            }
            tokio::time::sleep(Duration::from_millis((5u64 << attempt).min(100))).await;
        }
        Err(CaptureError::NoImage {
            index,
            attempts: ATTEMPTS,
        })
    }

    /// Show these extracted frames in place of the page's `<video>` elements from the next
    /// frame on.
    pub fn set_video_frames(&mut self, frames: Arc<crate::VideoFrames>) {
        if frames != self.video_frames {
            // Frames captured before showed other video frames.
            self.prefetched.clear();
        }
        self.video_frames = frames;
    }

    /// The page's `<video>`/`<audio>` slots as its runtime resolves them, with the largest
    /// size each video is shown at within the first `frames` frames.
    pub async fn media_slots(
        &mut self,
        frames: u64,
    ) -> Result<Vec<crate::MediaSlot>, CaptureError> {
        let expression = format!("window.__hf.media({frames})");
        self.evaluate_json(&expression, "__hf.media()").await
    }

    /// The volume of every media element a GSAP tween animates, sampled at each of the first
    /// `frames` frames: render id to one linear gain per frame.
    pub async fn volume_envelopes(
        &mut self,
        frames: u64,
    ) -> Result<std::collections::HashMap<String, Vec<f64>>, CaptureError> {
        let expression = format!("window.__hf.volumeEnvelopes({frames})");
        self.evaluate_json(&expression, "__hf.volumeEnvelopes()")
            .await
    }

    /// Evaluate `expression` and read its value as `T`; `what` names it in errors.
    async fn evaluate_json<T: serde::de::DeserializeOwned>(
        &self,
        expression: &str,
        what: &str,
    ) -> Result<T, CaptureError> {
        let value =
            self.evaluate(expression)
                .await?
                .map_err(|message| CaptureError::PageScript {
                    url: self.url.clone(),
                    message,
                })?;
        serde_json::from_value(value).map_err(|e| CaptureError::PageScript {
            url: self.url.clone(),
            message: format!("{what} returned an unexpected value: {e}"),
        })
    }

    /// Close the page and browser. Dropping the session also kills the browser.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.browser.close()).await;
        self.handler.abort();
        // `self.chrome` drops here and kills the process group.
    }
}
