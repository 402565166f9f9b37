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
    /// An HDR video the renderer draws itself (see [`HdrElement`]): no frame images.
    #[serde(default)]
    pub hdr: bool,
}

/// An HDR video or image of an HDR render: the page lays it out, the encoder draws its
/// pictures from the source (the page shows nothing of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HdrElement {
    /// The element's `data-hf-render-id`.
    pub render_id: String,
    /// Index of its source in the render's HDR sources.
    pub source: u32,
    /// When a video shows which source frame; `None` for a still image.
    pub timing: Option<VideoTiming>,
}

impl HdrElement {
    /// The source time shown at render time `time`; `None` when a video is outside its slot.
    pub fn source_time(&self, time: f64) -> Option<f64> {
        match &self.timing {
            None => Some(0.0),
            Some(timing) => timing.frame_at(time).map(|k| timing.source_time(k)),
        }
    }
}

/// Every video of the page whose frames the renderer supplies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoFrames {
    /// One entry per `<video>`.
    pub videos: Vec<VideoFrameSource>,
    /// HDR videos and images the encoder draws (HDR renders only).
    #[serde(default)]
    pub hdr: Vec<HdrElement>,
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
                let url = video.timing.frame_at(time).filter(|_| !video.hdr).map(|k| {
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
    /// `data-fade-in`, seconds (0: none).
    #[serde(default)]
    pub fade_in: f64,
    /// `data-fade-out`, seconds (0: none).
    #[serde(default)]
    pub fade_out: f64,
    /// `data-automation`: JSON automation lanes, as written.
    #[serde(default)]
    pub automation: Option<String>,
    /// `data-fx-chain`: the JSON effect chain, as written.
    #[serde(default)]
    pub fx_chain: Option<String>,
    /// The audio group a sounding element with `data-audio-group` feeds.
    #[serde(default)]
    pub group: Option<AudioGroupSlot>,
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

/// An `<hf-audio-group>` as a member sees it (`data-audio-group` names its id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioGroupSlot {
    /// The group id.
    pub id: String,
    /// The group's `data-volume` (1 when absent or unreadable).
    pub volume: f64,
    /// The group carries `data-hidden`: its members are dropped from the mix.
    pub hidden: bool,
    /// The group's `data-fx-chain`, as written.
    pub fx_chain: Option<String>,
    /// The group's `data-automation` (lanes on the composition's clock), as written.
    pub automation: Option<String>,
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
                hdr: false,
            }],
            hdr: Vec::new(),
        };
        assert_eq!(frames.seek_argument(0.5).unwrap(), r#"{"clip":null}"#);
        assert_eq!(
            frames.seek_argument(1.5).unwrap(),
            r#"{"clip":"__hf_frames/clip/000015.jpg"}"#
        );
        assert_eq!(VideoFrames::default().seek_argument(1.0), None);
    }

    #[test]
    fn hdr_videos_get_no_frame_images_and_map_render_time_to_source_time() {
        let timing = VideoTiming::new(1.0, 2.0, 0.5, 1.0, false, 10.0, Fps::whole(30));
        let mut frames = VideoFrames {
            videos: vec![VideoFrameSource {
                render_id: "clip".into(),
                timing,
                url_prefix: "__hf_frames/clip/".into(),
                alpha: false,
                hdr: true,
            }],
            hdr: Vec::new(),
        };
        assert_eq!(frames.seek_argument(1.5).unwrap(), r#"{"clip":null}"#);
        frames.hdr.push(HdrElement {
            render_id: "clip".into(),
            source: 0,
            timing: Some(timing),
        });
        let element = &frames.hdr[0];
        assert_eq!(element.source_time(0.5), None);
        assert!((element.source_time(1.5).unwrap() - 1.0).abs() < 1e-9);
        let still = HdrElement {
            timing: None,
            ..element.clone()
        };
        assert_eq!(still.source_time(7.0), Some(0.0));
    }
}
