//! How a session draws frames: seeking the page, catching up after a jump, and grabbing the
//! image with `beginFrame` or `captureScreenshot`.

use super::{ActiveCaptureMode, CaptureSession};
use crate::CaptureError;
use base64::Engine as _;
use chromiumoxide::cdp::browser_protocol::headless_experimental::{
    BeginFrameParams, BeginFrameReturns, ScreenshotParams, ScreenshotParamsFormat,
};
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams,
};
use hf_core::{FrameImage, FrameLayer, ImageFormat};
use std::sync::Arc;
use std::time::Duration;

/// Frames the page runs per evaluate while catching up (each one a seek, no paint).
const CATCH_UP_FRAMES: u64 = 120;

/// Attempts to get an image for one frame. Right after a page reports ready, Chrome can hold
/// back new frames for a moment (about 0.1 s seen); the pauses between attempts grow to about
/// 1.5 s in all.
const GRAB_ATTEMPTS: u32 = 20;

/// What one attempt to grab the drawn frame gave.
enum Grab {
    /// A new image.
    Image(Vec<u8>),
    /// Chrome drew nothing new: the screen shows what it showed before.
    Unchanged,
    /// No image this time; try again.
    Nothing,
}

impl CaptureSession {
    /// Capture frame `index` at `time` seconds, failing with [`CaptureError::FrameTimeout`]
    /// when a step takes longer than `limit` (a page stuck in a loop never answers).
    ///
    /// A frame that does not follow the last one this page drew (a worker's first segment, or
    /// one after another worker's) is prepared first: the page runs the frames it skipped
    /// (`catch_up`), then draws the frame before this one without capturing it, so
    /// page state and Chrome's own (a scaled layer's raster scale depends on the frame drawn
    /// before) are those of a frame-by-frame render.
    pub async fn capture_frame_within(
        &mut self,
        index: u64,
        time: f64,
        limit: Duration,
    ) -> Result<FrameImage, CaptureError> {
        match self.take_prefetched(index) {
            Some(image) => Ok(image),
            None => self.prepare_and_capture(index, time, limit).await,
        }
    }

    /// Capture frame `index` now and keep it for the next [`Self::capture_frame_within`] of
    /// that frame (the auto-worker calibration times frames its segment then uses).
    pub async fn prefetch_frame(
        &mut self,
        index: u64,
        time: f64,
        limit: Duration,
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

    /// Capture frame `index` of a transition as layers: each of `scenes` alone over
    /// `background` (a CSS colour; `None`: transparent), as encoded images in the session's
    /// format. Prepared like [`Self::capture_frame_within`], with the same time limit.
    pub async fn capture_layers_within(
        &mut self,
        index: u64,
        time: f64,
        scenes: [&str; 2],
        background: Option<&str>,
        limit: Duration,
    ) -> Result<[Vec<u8>; 2], CaptureError> {
        let capture = async |s: &mut Self| s.capture_layers(index, time, scenes, background).await;
        self.capture_masked(index, time, limit, capture).await
    }

    /// Frame `index` prepared like [`Self::capture_frame_within`], then `capture` (which
    /// leaves the page showing a layer) within `limit`; the next frame needs a full image.
    async fn capture_masked<T>(
        &mut self,
        index: u64,
        time: f64,
        limit: Duration,
        capture: impl AsyncFnOnce(&mut Self) -> Result<T, CaptureError>,
    ) -> Result<T, CaptureError> {
        // A prefetched frame is the whole page, not a layer.
        self.prefetched.clear();
        self.prepare(index, time, limit).await?;
        let captured = tokio::time::timeout(limit, capture(self))
            .await
            .map_err(timed_out(index, time, limit))??;
        // The screen now shows a layer, not the frame: the next frame needs a full image.
        self.need_full_image = true;
        Ok(captured)
    }

    async fn capture_layers(
        &mut self,
        index: u64,
        time: f64,
        scenes: [&str; 2],
        background: Option<&str>,
    ) -> Result<[Vec<u8>; 2], CaptureError> {
        self.seek(index, time).await?;
        let mut layers = Vec::with_capacity(2);
        for scene in scenes {
            self.page.runtime().mask_layer(scene, background).await?;
            let layer = self.grab_image(index, false).await?;
            layers.push(layer.expect("a full image is asked for"));
        }
        self.page.runtime().unmask_layer().await?;
        Ok(layers.try_into().expect("two layers"))
    }

    /// The image Chrome draws next. When nothing changed since the last drawn frame: `None`
    /// if `allow_repeat`, else the last image again (the screen still shows it).
    async fn grab_image(
        &mut self,
        index: u64,
        allow_repeat: bool,
    ) -> Result<Option<Vec<u8>>, CaptureError> {
        for attempt in 0..GRAB_ATTEMPTS {
            match self.grab(index).await? {
                Grab::Image(bytes) => {
                    self.last_image = Some(bytes.clone());
                    return Ok(Some(bytes));
                }
                Grab::Unchanged if allow_repeat => return Ok(None),
                Grab::Unchanged => match &self.last_image {
                    Some(bytes) => return Ok(Some(bytes.clone())),
                    None => self.force_full_damage().await?,
                },
                Grab::Nothing => {}
            }
            tokio::time::sleep(Duration::from_millis((5u64 << attempt).min(100))).await;
        }
        Err(CaptureError::NoImage {
            index,
            attempts: GRAB_ATTEMPTS,
        })
    }

    /// Before frame `index`: when the page did not just draw the frame before it, catch up
    /// and draw that frame uncaptured (see [`Self::capture_frame_within`]).
    async fn prepare(
        &mut self,
        index: u64,
        time: f64,
        limit: Duration,
    ) -> Result<(), CaptureError> {
        let timed_out = timed_out(index, time, limit);
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
        Ok(())
    }

    /// [`Self::capture_frame_within`] without looking at prefetched frames.
    async fn prepare_and_capture(
        &mut self,
        index: u64,
        time: f64,
        limit: Duration,
    ) -> Result<FrameImage, CaptureError> {
        self.prepare(index, time, limit).await?;
        tokio::time::timeout(limit, self.capture_frame(index, time))
            .await
            .map_err(timed_out(index, time, limit))?
    }

    /// Seek the page to frame `index` at `time`, showing the video frames of that time.
    async fn seek(&mut self, index: u64, time: f64) -> Result<(), CaptureError> {
        let frames = self.video_frames.seek_argument(time);
        let seeked = self.page.runtime().seek(time, frames.as_deref()).await?;
        seeked.map_err(|message| CaptureError::Seek {
            index,
            time,
            message,
        })?;
        self.next_index = index + 1;
        self.last_drawn = Some(index);
        Ok(())
    }

    /// Seek to frame `index` and draw it without capturing it (in screenshot mode Chrome
    /// draws on its own: only the seek).
    async fn draw_uncaptured(&mut self, index: u64, time: f64) -> Result<(), CaptureError> {
        self.seek(index, time).await?;
        match self.mode {
            ActiveCaptureMode::BeginFrame => self.begin_frame(None, true).await.map(drop),
            ActiveCaptureMode::Screenshot => Ok(()),
        }
    }

    /// Bring the page from its last seek towards frame `index` (at `time`), not included: a
    /// page whose own code uses animation frames runs the skipped frames (at most
    /// [`CATCH_UP_FRAMES`] per call), so callbacks that keep state from frame to frame are
    /// where a frame-by-frame render has them. Other pages skip nothing: their seeks are
    /// path-independent. Advances `next_index`.
    async fn catch_up(&mut self, index: u64, time: f64) -> Result<(), CaptureError> {
        let caught_up = self.page.runtime().catch_up(index, CATCH_UP_FRAMES).await?;
        let remaining = caught_up.map_err(|message| CaptureError::Seek {
            index,
            time,
            message,
        })?;
        self.next_index = index - remaining;
        Ok(())
    }

    /// Seek the page to `time` seconds (frame `index`) and capture one frame: in an HDR render
    /// with HDR media on screen, as layers around them.
    pub async fn capture_frame(
        &mut self,
        index: u64,
        time: f64,
    ) -> Result<FrameImage, CaptureError> {
        self.seek(index, time).await?;
        if let Some(layers) = self.capture_hdr_layers(index, time).await? {
            return Ok(FrameImage::Layers(layers));
        }
        let allow_repeat = !self.need_full_image;
        match self.grab_image(index, allow_repeat).await? {
            Some(bytes) => {
                self.need_full_image = false;
                Ok(self.encoded(bytes))
            }
            None => Ok(FrameImage::SameAsPrevious),
        }
    }

    /// Whether this is an HDR render with HDR media (frames may be layers).
    pub(crate) fn draws_hdr_media(&self) -> bool {
        !self.video_frames.hdr.is_empty()
    }

    /// The frame just seeked as layers, back to front: what the page paints below, between
    /// and above its HDR elements (one masked capture each) and the HDR elements themselves,
    /// placed for the encoder to draw. `None` when no HDR element is on screen.
    async fn capture_hdr_layers(
        &mut self,
        index: u64,
        time: f64,
    ) -> Result<Option<Vec<FrameLayer>>, CaptureError> {
        let layers = self.hdr_layers(index, time, None).await?;
        if layers.is_some() {
            self.page.runtime().unmask_layer().await?;
            // The screen now shows a layer, not the frame: the next frame needs a full image.
            self.need_full_image = true;
        }
        Ok(layers)
    }

    /// [`Self::capture_hdr_layers`] of the whole page, or of one scene alone over its
    /// background (`scene`); leaves the last mask on. `None`: no HDR element shown there.
    async fn hdr_layers(
        &mut self,
        index: u64,
        time: f64,
        scene: Option<(&str, Option<&str>)>,
    ) -> Result<Option<Vec<FrameLayer>>, CaptureError> {
        let frames = Arc::clone(&self.video_frames);
        let ids: Vec<&str> = frames
            .hdr
            .iter()
            .filter(|element| element.source_time(time).is_some())
            .map(|element| element.render_id.as_str())
            .collect();
        if ids.is_empty() {
            return Ok(None);
        }
        let (scene_id, background) = (scene.map(|s| s.0), scene.and_then(|s| s.1));
        let shown = self.page.runtime().hdr_layout(&ids, scene_id).await?;
        if shown.is_empty() {
            return Ok(None);
        }
        // What is below an opaque video that fills the frame is never seen: not captured.
        let frame_size = self.frame_size;
        let covering = shown.iter().rposition(|p| {
            let video = frames
                .hdr
                .iter()
                .any(|e| e.render_id == p.id && e.timing.is_some());
            video && p.covers_frame(frame_size)
        });
        let mut layers = Vec::with_capacity(shown.len() * 2 + 1);
        let groups = shown.len();
        let first = covering.unwrap_or(0);
        for (group, placement) in shown.into_iter().enumerate().skip(first) {
            if covering != Some(group) {
                layers.push(FrameLayer::Page(
                    self.grab_group(index, group, background).await?,
                ));
            }
            let element = frames
                .hdr
                .iter()
                .find(|element| element.render_id == placement.id)
                .expect("the page places only the ids it was given");
            let source_time = element.source_time(time).expect("filtered above");
            layers.push(FrameLayer::Media(
                placement.into_media(element.source, source_time),
            ));
        }
        layers.push(FrameLayer::Page(
            self.grab_group(index, groups, background).await?,
        ));
        Ok(Some(layers))
    }

    /// A capture of page group `group` alone (see [`Self::hdr_layers`]).
    async fn grab_group(
        &mut self,
        index: u64,
        group: usize,
        background: Option<&str>,
    ) -> Result<Vec<u8>, CaptureError> {
        self.page
            .runtime()
            .mask_hdr_layer(group, background)
            .await?;
        let image = self.grab_image(index, false).await?;
        Ok(image.expect("a full image is asked for"))
    }

    /// Capture frame `index` of a transition in an HDR render: each of `scenes` alone as the
    /// layers of an HDR frame (its page over `background`, its HDR media placed). Prepared and
    /// limited like [`Self::capture_layers_within`].
    pub async fn capture_hdr_scenes_within(
        &mut self,
        index: u64,
        time: f64,
        scenes: [&str; 2],
        background: Option<&str>,
        limit: Duration,
    ) -> Result<[Vec<FrameLayer>; 2], CaptureError> {
        let capture =
            async |s: &mut Self| s.capture_hdr_scenes(index, time, scenes, background).await;
        self.capture_masked(index, time, limit, capture).await
    }

    async fn capture_hdr_scenes(
        &mut self,
        index: u64,
        time: f64,
        scenes: [&str; 2],
        background: Option<&str>,
    ) -> Result<[Vec<FrameLayer>; 2], CaptureError> {
        self.seek(index, time).await?;
        let mut out = Vec::with_capacity(2);
        for scene in scenes {
            let layers = match self
                .hdr_layers(index, time, Some((scene, background)))
                .await?
            {
                Some(layers) => layers,
                None => {
                    self.page.runtime().mask_layer(scene, background).await?;
                    let page = self.grab_image(index, false).await?;
                    vec![FrameLayer::Page(page.expect("a full image is asked for"))]
                }
            };
            out.push(layers);
        }
        self.page.runtime().unmask_layer().await?;
        Ok(out.try_into().expect("two scenes"))
    }

    fn encoded(&self, bytes: Vec<u8>) -> FrameImage {
        FrameImage::Encoded {
            format: self.image_format,
            bytes,
        }
    }

    /// The JPEG quality to ask for, when capturing JPEG.
    fn jpeg_quality(&self) -> Option<i64> {
        (self.image_format == ImageFormat::Jpeg).then_some(i64::from(self.jpeg_quality))
    }

    /// One attempt to get the image of the frame just drawn.
    async fn grab(&mut self, index: u64) -> Result<Grab, CaptureError> {
        let data = match self.mode {
            ActiveCaptureMode::BeginFrame => {
                let shot = ScreenshotParams {
                    format: Some(match self.image_format {
                        ImageFormat::Jpeg => ScreenshotParamsFormat::Jpeg,
                        ImageFormat::Png => ScreenshotParamsFormat::Png,
                    }),
                    quality: self.jpeg_quality(),
                    optimize_for_speed: Some(true),
                };
                let result = self.begin_frame(Some(shot), true).await?;
                tracing::trace!(
                    index,
                    has_damage = result.has_damage,
                    has_screenshot = result.screenshot_data.is_some(),
                    "beginFrame"
                );
                match result.screenshot_data {
                    Some(data) => data,
                    None if !result.has_damage => return Ok(Grab::Unchanged),
                    None => return Ok(Grab::Nothing),
                }
            }
            ActiveCaptureMode::Screenshot => self.screenshot().await?,
        };
        let encoded: &str = data.as_ref();
        if encoded.is_empty() {
            return Ok(Grab::Nothing);
        }
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(Grab::Image)
            .map_err(|e| CaptureError::Cdp {
                command: "screenshot data".into(),
                message: e.to_string(),
            })
    }

    /// `Page.captureScreenshot` of the view, base64.
    async fn screenshot(&mut self) -> Result<chromiumoxide::Binary, CaptureError> {
        let params = CaptureScreenshotParams {
            format: Some(match self.image_format {
                ImageFormat::Jpeg => CaptureScreenshotFormat::Jpeg,
                ImageFormat::Png => CaptureScreenshotFormat::Png,
            }),
            quality: self.jpeg_quality(),
            // optimizeForSpeed crushes alpha, so PNG captures go without it.
            optimize_for_speed: Some(self.image_format == ImageFormat::Jpeg),
            from_surface: Some(true),
            ..Default::default()
        };
        let result = self
            .page
            .page
            .execute(params)
            .await
            .map_err(CaptureError::cdp("Page.captureScreenshot"))?
            .result;
        Ok(result.data)
    }

    /// One `HeadlessExperimental.beginFrame` at the next tick, with a screenshot when `shot`
    /// is given; `draw` puts its updates on the display (what a later frame's damage is
    /// measured against).
    async fn begin_frame(
        &mut self,
        shot: Option<ScreenshotParams>,
        draw: bool,
    ) -> Result<BeginFrameReturns, CaptureError> {
        let params = BeginFrameParams {
            frame_time_ticks: Some(self.tick()),
            interval: Some(self.interval_ms),
            no_display_updates: (!draw).then_some(true),
            screenshot: shot,
        };
        Ok(self
            .page
            .page
            .execute(params)
            .await
            .map_err(CaptureError::cdp("HeadlessExperimental.beginFrame"))?
            .result)
    }

    /// A frame that runs the page's lifecycle (layout, animations) but draws nothing.
    pub(super) async fn warm_up_frame(&mut self) -> Result<(), CaptureError> {
        self.begin_frame(None, false).await.map(drop)
    }

    /// Make Chrome repaint the whole view on the next frame. beginFrame returns no image when
    /// nothing changed since the last drawn frame, which is fine while the previous image is
    /// at hand, but a session's first capture of a page that has settled (the seek changed
    /// nothing) has nothing to repeat. A cover drawn in one uncaptured frame and removed again
    /// invalidates every pixel.
    async fn force_full_damage(&mut self) -> Result<(), CaptureError> {
        self.page.runtime().show_repaint_cover().await?;
        self.begin_frame(None, true).await?;
        self.page.runtime().hide_repaint_cover().await
    }

    fn tick(&mut self) -> f64 {
        let tick = self.next_tick;
        self.next_tick += self.interval_ms;
        tick
    }
}

/// The error of a frame step that took longer than `limit`.
fn timed_out(
    index: u64,
    time: f64,
    limit: Duration,
) -> impl Fn(tokio::time::error::Elapsed) -> CaptureError + Copy {
    move |_| CaptureError::FrameTimeout {
        index,
        time,
        seconds: limit.as_secs_f64(),
    }
}
