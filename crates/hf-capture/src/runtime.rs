//! hf's page runtime: the script every compiled page loads before its own (it defines
//! `window.__hf`), and the one place on the Rust side that calls into a page: readiness, seeks,
//! catching up, media slots, volume envelopes, and the few page edits capture needs.

use crate::page::{Evaluated, PageHandle};
use crate::{CaptureError, MediaSlot};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The runtime script's file name, served from the compiled page's directory.
pub const RUNTIME_FILE: &str = "__hf_runtime.js";

/// The runtime script: virtual time, clip visibility, GSAP/CSS/WAAPI/Lottie seeking, video
/// frames, readiness.
pub const RUNTIME_JS: &str = include_str!("hf-runtime.js");

/// The tag that loads the runtime; it goes first in `<head>`, before any page script.
pub fn runtime_script_tag() -> String {
    format!("<script src=\"/{RUNTIME_FILE}\" data-hf-runtime></script>")
}

/// One HDR element as `__hf.hdrLayout()` places it (see [`hf_core::MediaPlacement`]).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HdrPlacement {
    pub(crate) id: String,
    pub(crate) transform: [f64; 6],
    pub(crate) size: [f64; 2],
    pub(crate) content: [f64; 4],
    pub(crate) fit: hf_core::ObjectFit,
    pub(crate) position: [f64; 4],
    pub(crate) opacity: f64,
    pub(crate) radius: [f64; 4],
    pub(crate) clip: Option<[f64; 4]>,
}

impl HdrPlacement {
    /// Whether this element, drawn opaque, hides the whole `width` x `height` frame: no
    /// rotation or skew, its content box covering the frame with `fill` or `cover`, fully
    /// opaque, square corners, unclipped (or clipped to no less than the frame).
    pub(crate) fn covers_frame(&self, (width, height): (u32, u32)) -> bool {
        let [a, b, c, d, e, f] = self.transform;
        let [left, top, w, h] = self.content;
        let (x0, y0) = (a * left + e, d * top + f);
        let (x1, y1) = (x0 + a * w, y0 + d * h);
        let (fw, fh) = (f64::from(width), f64::from(height));
        let clip_ok = self
            .clip
            .is_none_or(|[l, t, r, bottom]| l <= 0.0 && t <= 0.0 && r >= fw && bottom >= fh);
        b == 0.0
            && c == 0.0
            && a > 0.0
            && d > 0.0
            && matches!(
                self.fit,
                hf_core::ObjectFit::Fill | hf_core::ObjectFit::Cover
            )
            && self.opacity >= 1.0
            && self.radius.iter().all(|r| *r <= 0.0)
            && clip_ok
            && x0 <= 0.0
            && y0 <= 0.0
            && x1 >= fw
            && y1 >= fh
    }

    /// The encoder's placement of source `source` at source time `time`.
    pub(crate) fn into_media(self, source: u32, time: f64) -> hf_core::MediaPlacement {
        hf_core::MediaPlacement {
            source,
            time,
            transform: self.transform,
            size: self.size,
            content: self.content,
            fit: self.fit,
            position: self.position,
            opacity: self.opacity,
            radius: self.radius,
            clip: self.clip,
        }
    }
}

/// `__hf.status()`: what the renderer waits for before the first frame.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadyStatus {
    pub(crate) loaded: bool,
    pub(crate) fonts_ready: bool,
    pub(crate) images_ready: bool,
    pub(crate) missing_timelines: Vec<String>,
    /// Registered d3 transitions, maps and `__hf.buildReady` promises still loading.
    #[serde(default)]
    pub(crate) pending_libraries: Vec<String>,
    /// Live map widgets found (selectors).
    #[serde(default)]
    pub(crate) live_maps: Vec<String>,
    pub(crate) duration: f64,
}

/// When a page can change (`__hf.activity()`): what frames may repeat the frame before them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageActivity {
    /// Why nothing can be predicted (page code on every frame, a real-time clock...), if so.
    pub unknown: Option<String>,
    /// Root-time spans `[start, end]` in seconds during which something on the page animates
    /// (an instant is a span of length 0; `1e9` is "from then on").
    pub spans: Vec<[f64; 2]>,
}

/// One transition as the page declares it (`__hf.transitions`, written by the transitions
/// library's `HyperShader.init` or by the page itself), normalised by the runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionMeta {
    /// Start on the root timeline, in seconds (`None`: not a finite number).
    pub time: Option<f64>,
    /// Length in seconds (0.7 when the page gave none; `None`: not a finite number).
    pub duration: Option<f64>,
    /// The shader's name; `None` is a crossfade.
    pub shader: Option<String>,
    /// Id of the scene the transition leaves.
    pub from_scene: String,
    /// Id of the scene it arrives at.
    pub to_scene: String,
    /// `HyperShader.init`'s `bgColor`: what the scenes are captured over.
    pub bg_color: Option<String>,
    /// `HyperShader.init`'s `accentColor`.
    pub accent_color: Option<String>,
    /// The page animates this one itself (the library's CSS crossfade): nothing to blend.
    pub page_fades: bool,
    /// Whether an element with id `from_scene` exists.
    pub from_found: bool,
    /// Whether an element with id `to_scene` exists.
    pub to_found: bool,
}

/// Typed calls into the runtime of one page.
pub(crate) struct Runtime<'p> {
    page: &'p PageHandle,
}

impl PageHandle {
    /// The runtime of this page.
    pub(crate) fn runtime(&self) -> Runtime<'_> {
        Runtime { page: self }
    }
}

/// A full-view overlay drawn in one uncaptured frame and removed again: it invalidates every
/// pixel and leaves the page as it was.
const SHOW_REPAINT_COVER: &str = r#"(() => {
    const cover = document.createElement("div");
    cover.id = "__hf_repaint__";
    cover.style.cssText = "position:fixed;left:0;top:0;width:100vw;height:100vh;" +
        "background:#f0f;z-index:2147483647;pointer-events:none";
    document.documentElement.appendChild(cover);
    return true;
})()"#;

const HIDE_REPAINT_COVER: &str = r#"(() => {
    const cover = document.getElementById("__hf_repaint__");
    if (cover) cover.remove();
    return true;
})()"#;

/// Transparent `html` and `body` backgrounds (a composition root's own background is kept).
const CLEAR_PAGE_BACKGROUNDS: &str = r#"(() => {
    const style = document.createElement("style");
    style.id = "__hf_transparent_bg__";
    style.textContent = "html,body{background:transparent!important;" +
        "background-color:transparent!important;background-image:none!important}";
    document.head.appendChild(style);
    return true;
})()"#;

impl Runtime<'_> {
    /// `__hf.status()`, or `None` while the runtime has not started.
    pub(crate) async fn status(&self) -> Result<Option<ReadyStatus>, CaptureError> {
        let expression =
            "window.__hf && typeof window.__hf.status === 'function' ? window.__hf.status() : null";
        let value = self.page.run(expression).await?;
        Ok(serde_json::from_value(value).ok())
    }

    /// `document.readyState`.
    pub(crate) async fn ready_state(&self) -> Result<String, CaptureError> {
        let value = self.page.run("document.readyState").await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// The page's current URL (`location.href`).
    pub(crate) async fn location(&self) -> Result<String, CaptureError> {
        let value = self.page.run("location.href").await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// Tell the runtime the frame rate it quantizes seek times to.
    pub(crate) async fn configure(&self, fps: f64) -> Result<(), CaptureError> {
        self.page
            .run(&format!("window.__hf.configure({{fps: {fps:?}}})"))
            .await
            .map(drop)
    }

    /// Show the composition at `time`, with `video_frames` (the JSON map of each video's frame
    /// image, see [`crate::VideoFrames::seek_argument`]). Waits for what the seek asked to be
    /// waited for (`hf-seek` handlers, iframes). `Err(text)`: the seek threw.
    pub(crate) async fn seek(
        &self,
        time: f64,
        video_frames: Option<&str>,
    ) -> Result<Result<(), String>, CaptureError> {
        let expression = match video_frames {
            Some(frames) => format!("window.__hf.seek({time:?}, {frames})"),
            None => format!("window.__hf.seek({time:?})"),
        };
        Ok(self.page.evaluate(&expression, true).await?.map(drop))
    }

    /// Run at most `limit` of the frames between the last seek and frame `index` (for pages
    /// whose own code uses animation frames); returns how many are still to run.
    pub(crate) async fn catch_up(
        &self,
        index: u64,
        limit: u64,
    ) -> Result<Result<u64, String>, CaptureError> {
        let expression = format!("window.__hf.catchUp({index}, {limit})");
        let evaluated: Evaluated = self.page.evaluate(&expression, true).await?;
        Ok(evaluated.map(|remaining| remaining.as_u64().unwrap_or(0)))
    }

    /// The page's `<video>`/`<audio>` slots, with the largest size each video is shown at
    /// within the first `frames` frames.
    pub(crate) async fn media(&self, frames: u64) -> Result<Vec<MediaSlot>, CaptureError> {
        self.page
            .run_json(&format!("window.__hf.media({frames})"), "__hf.media()")
            .await
    }

    /// The volume of every media element a GSAP tween animates, at each of the first `frames`
    /// frames: render id to one linear gain per frame.
    pub(crate) async fn volume_envelopes(
        &self,
        frames: u64,
    ) -> Result<HashMap<String, Vec<f64>>, CaptureError> {
        let expression = format!("window.__hf.volumeEnvelopes({frames})");
        self.page
            .run_json(&expression, "__hf.volumeEnvelopes()")
            .await
    }

    /// The root composition's `data-fx-chain` (the master bus), as written.
    pub(crate) async fn master_fx(&self) -> Result<Option<String>, CaptureError> {
        self.page
            .run_json("window.__hf.masterFx()", "__hf.masterFx()")
            .await
    }

    /// When the page can change, as its runtime sees it now (after load, at time 0).
    pub(crate) async fn activity(&self) -> Result<PageActivity, CaptureError> {
        self.page
            .run_json("window.__hf.activity()", "__hf.activity()")
            .await
    }

    /// The page's transitions.
    pub(crate) async fn transitions(&self) -> Result<Vec<TransitionMeta>, CaptureError> {
        self.page
            .run_json("window.__hf.transitionList()", "__hf.transitionList()")
            .await
    }

    /// Show only the scene with id `scene`, over `background` (a CSS colour; `None`:
    /// transparent). Undone by [`Self::unmask_layer`].
    pub(crate) async fn mask_layer(
        &self,
        scene: &str,
        background: Option<&str>,
    ) -> Result<(), CaptureError> {
        let expression = format!(
            "window.__hf.maskLayer({}, {})",
            serde_json::to_string(scene).expect("strings serialise"),
            serde_json::to_string(&background).expect("strings serialise"),
        );
        self.page.run(&expression).await.map(drop)
    }

    /// The HDR elements among `ids` the page shows now, back to front, with their placement
    /// (in frame pixels); the page is split into groups around them for
    /// [`Self::mask_hdr_layer`].
    /// With `scene`, only that scene counts (a transition layer).
    pub(crate) async fn hdr_layout(
        &self,
        ids: &[&str],
        scene: Option<&str>,
    ) -> Result<Vec<HdrPlacement>, CaptureError> {
        let expression = format!(
            "window.__hf.hdrLayout({}, {})",
            serde_json::to_string(ids).expect("strings serialise"),
            serde_json::to_string(&scene).expect("strings serialise"),
        );
        self.page.run_json(&expression, "__hf.hdrLayout()").await
    }

    /// Show only page group `group` of the last [`Self::hdr_layout`] (0: below every HDR
    /// element; a scene's over `background`). Undone by [`Self::unmask_layer`].
    pub(crate) async fn mask_hdr_layer(
        &self,
        group: usize,
        background: Option<&str>,
    ) -> Result<(), CaptureError> {
        let background = serde_json::to_string(&background).expect("strings serialise");
        self.page
            .run(&format!("window.__hf.maskHdrLayer({group}, {background})"))
            .await
            .map(drop)
    }

    /// Show the whole page again after [`Self::mask_layer`].
    pub(crate) async fn unmask_layer(&self) -> Result<(), CaptureError> {
        self.page.run("window.__hf.unmaskLayer()").await.map(drop)
    }

    /// Make the page's and body's backgrounds transparent (alpha outputs).
    pub(crate) async fn clear_page_backgrounds(&self) -> Result<(), CaptureError> {
        self.page.run(CLEAR_PAGE_BACKGROUNDS).await.map(drop)
    }

    /// Cover the whole view (see [`SHOW_REPAINT_COVER`]); undone by
    /// [`Self::hide_repaint_cover`].
    pub(crate) async fn show_repaint_cover(&self) -> Result<(), CaptureError> {
        self.page.run(SHOW_REPAINT_COVER).await.map(drop)
    }

    /// Remove the cover of [`Self::show_repaint_cover`].
    pub(crate) async fn hide_repaint_cover(&self) -> Result<(), CaptureError> {
        self.page.run(HIDE_REPAINT_COVER).await.map(drop)
    }
}

#[cfg(test)]
mod hdr_tests {
    use super::*;

    fn placement(transform: [f64; 6], size: [f64; 2]) -> HdrPlacement {
        HdrPlacement {
            id: "v".into(),
            transform,
            size,
            content: [0.0, 0.0, size[0], size[1]],
            fit: hf_core::ObjectFit::Cover,
            position: [0.5, 0.0, 0.5, 0.0],
            opacity: 1.0,
            radius: [0.0; 4],
            clip: None,
        }
    }

    #[test]
    fn only_an_opaque_full_frame_box_covers_the_frame() {
        let full = placement([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [640.0, 360.0]);
        assert!(full.covers_frame((640, 360)));
        assert!(!full.covers_frame((641, 360)));
        let scaled = placement([1.1, 0.0, 0.0, 1.1, -10.0, -10.0], [640.0, 360.0]);
        assert!(scaled.covers_frame((640, 360)));
        let turned = placement([0.0, 1.0, -1.0, 0.0, 640.0, 0.0], [640.0, 640.0]);
        assert!(!turned.covers_frame((640, 360)));
        let mut faded = full.clone();
        faded.opacity = 0.99;
        assert!(!faded.covers_frame((640, 360)));
        let mut contained = full.clone();
        contained.fit = hf_core::ObjectFit::Contain;
        assert!(!contained.covers_frame((640, 360)));
        let mut rounded = full.clone();
        rounded.radius[2] = 4.0;
        assert!(!rounded.covers_frame((640, 360)));
        let mut clipped = full;
        clipped.clip = Some([0.0, 0.0, 320.0, 360.0]);
        assert!(!clipped.covers_frame((640, 360)));
    }
}
