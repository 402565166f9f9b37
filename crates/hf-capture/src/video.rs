//! Video frames in the page: which extracted image each `<video>` shows at a render time, and
//! the media slots the page reports.

use hf_core::{extracted_frame_name, VideoTiming};
use serde::{Deserialize, Serialize};

/// Where a `<video>`'s extracted frames are served and when each is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoFrameSource {
    /// The element's `data-hf-render-id`.
    pub render_id: String,
    /// Its slot and source-frame mapping.
    pub timing: VideoTiming,
    /// URL of the frame images relative to the page, up to the file name (`__hf_frames/v/`).
    pub url_prefix: String,
    /// Whether frames are PNG (alpha) rather than JPEG.
    pub alpha: bool,
}

/// Every video of the page whose frames the renderer supplies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoFrames {
    /// One entry per `<video>`.
    pub videos: Vec<VideoFrameSource>,
}

impl VideoFrames {
    /// The second argument of `__hf.seek` at render time `time`: a JSON object mapping each
    /// render id to its frame's URL, or `null` when the video is outside its slot. `None` when
    /// the page has no supplied videos.
    pub fn seek_argument(&self, time: f64) -> Option<String> {
        if self.videos.is_empty() {
            return None;
        }
        let map: serde_json::Map<String, serde_json::Value> = self
            .videos
            .iter()
            .map(|video| {
                let url = video.timing.frame_at(time).map(|k| {
                    format!(
                        "{}{}",
                        video.url_prefix,
                        extracted_frame_name(k, video.alpha)
                    )
                });
                (video.render_id.clone(), url.into())
            })
            .collect();
        Some(serde_json::Value::Object(map).to_string())
    }
}

/// A `<video>`/`<audio>` slot as the page's runtime resolves it (`__hf.media()`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaSlot {
    /// `data-hf-render-id`.
    pub id: String,
    /// Start on the render timeline, in seconds (host offsets included).
    pub start: f64,
    /// End on the render timeline, in seconds (also closed by timed ancestors), if known.
    pub end: Option<f64>,
    /// Source time at the start (`data-playback-start`, else `data-media-start`).
    pub media_start: f64,
    /// Playback rate, clamped to 0.1..5.
    pub rate: f64,
    /// The element loops.
    #[serde(rename = "loop")]
    pub looped: bool,
    /// `data-volume` (linear), 1 when absent.
    pub volume: f64,
    /// Inside a `[data-hidden]` subtree: never shown or heard.
    pub hidden: bool,
    /// Width of the element's box on the page when loaded, in CSS pixels (transforms included).
    #[serde(default)]
    pub width: f64,
    /// Height of the element's box on the page when loaded, in CSS pixels.
    #[serde(default)]
    pub height: f64,
    /// The largest width a `<video>` is shown at during its slot (sampled frames, transforms
    /// included), in CSS pixels; at least [`Self::width`].
    #[serde(default)]
    pub shown_width: f64,
    /// The largest height a `<video>` is shown at during its slot; at least [`Self::height`].
    #[serde(default)]
    pub shown_height: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hf_core::Fps;

    #[test]
    fn seek_argument_names_each_frame_or_null_outside_the_slot() {
        let frames = VideoFrames {
            videos: vec![VideoFrameSource {
                render_id: "clip".into(),
                timing: VideoTiming::new(1.0, 2.0, 0.0, 1.0, false, 10.0, Fps::whole(30)),
                url_prefix: "__hf_frames/clip/".into(),
                alpha: false,
            }],
        };
        assert_eq!(frames.seek_argument(0.5).unwrap(), r#"{"clip":null}"#);
        assert_eq!(
            frames.seek_argument(1.5).unwrap(),
            r#"{"clip":"__hf_frames/clip/000015.jpg"}"#
        );
        assert_eq!(VideoFrames::default().seek_argument(1.0), None);
    }
}
