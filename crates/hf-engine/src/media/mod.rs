//! The media stages of a render: which source frames each `<video>` shows (extracted before
//! capture), and which elements sound (mixed alongside capture).

mod automation;
mod cache;
mod sound;

pub(crate) use cache::extract_videos;
pub(crate) use sound::{FrameGrid, Sound};

use crate::compile::media::{MediaKind, MediaSource};
use hf_audio_fx::Fx;
use hf_capture::{HdrElement, MediaSlot, VideoFrameSource, VideoFrames};
use hf_core::{Fps, VideoTiming};
use hf_encode::{AudioBus, AudioTrack, HdrSource, HdrTransfer, TrackFx, VolumeEnvelope};
use std::collections::BTreeSet;

/// A video's slot and the source frames the render shows of it.
#[derive(Debug, Clone)]
pub(crate) struct VideoPlan {
    pub source: MediaSource,
    pub timing: VideoTiming,
    /// Extract at this smaller size (the box it is shown in leaves the rest unseen).
    pub shrink_to: Option<(u32, u32)>,
    /// Source frame indices shown at some render frame, ascending.
    pub frames: Vec<u64>,
    /// An HDR video of an HDR render: drawn by the encoder, not extracted.
    pub hdr: bool,
    /// Extract PNG frames whatever the source (`--video-frame-format png`).
    pub png: bool,
}

/// An HDR video or image the encoder draws in an HDR render.
#[derive(Debug, Clone)]
pub(crate) struct HdrMedia {
    pub render_id: String,
    pub source: HdrSource,
    /// A video's timing; `None` for an image.
    pub timing: Option<VideoTiming>,
}

impl HdrMedia {
    /// `source` drawn in `transfer`: a video with its `timing`, or a still without.
    fn of(source: &MediaSource, transfer: HdrTransfer, timing: Option<VideoTiming>) -> Self {
        HdrMedia {
            render_id: source.render_id.clone(),
            source: HdrSource {
                path: absolute(&source.path),
                transfer,
                still: timing.is_none(),
            },
            timing,
        }
    }
}

impl VideoPlan {
    /// Whether its frames are extracted as PNG: the source has alpha, or PNG was asked for
    /// (`--video-frame-format png`).
    pub(crate) fn alpha(&self) -> bool {
        self.png || self.source.info.video.as_ref().is_some_and(|v| v.alpha)
    }
}

/// What the media stages do for one render.
#[derive(Debug, Clone, Default)]
pub(crate) struct MediaPlan {
    pub videos: Vec<VideoPlan>,
    pub audio: Vec<AudioTrack>,
    /// The `<hf-audio-group>` buses tracks feed.
    pub audio_groups: Vec<AudioBus>,
    /// The root composition's effects over the whole mix.
    pub master_fx: Option<Fx>,
    /// HDR renders: the HDR videos and images, in the order of their sources.
    pub hdr: Vec<HdrMedia>,
}

impl MediaPlan {
    /// Where the page finds each video's extracted frames (linked there by
    /// [`extract_videos`]) and when it shows which.
    pub(crate) fn video_frames(&self) -> VideoFrames {
        let videos = self
            .videos
            .iter()
            .enumerate()
            .map(|(index, video)| VideoFrameSource {
                render_id: video.source.render_id.clone(),
                timing: video.timing,
                url_prefix: frames_dir(index, &video.source.render_id),
                alpha: video.alpha(),
                hdr: video.hdr,
            })
            .collect();
        let hdr = self
            .hdr
            .iter()
            .enumerate()
            .map(|(index, media)| HdrElement {
                render_id: media.render_id.clone(),
                source: index as u32,
                timing: media.timing,
            })
            .collect();
        VideoFrames { videos, hdr }
    }

    /// The sources of [`Self::hdr`], by index.
    pub(crate) fn hdr_sources(&self) -> Vec<HdrSource> {
        self.hdr.iter().map(|media| media.source.clone()).collect()
    }
}

/// Match the page's slots to the compiled sources and work out frames and tracks for a render
/// of `frames` frames at `fps` lasting `duration` seconds. `sound` holds the volume envelopes
/// (they replace `data-volume`), effects and buses of sounding elements. In an HDR render
/// (`hdr`), HDR videos and images are left to the encoder.
pub(crate) fn plan_media(
    sources: &[MediaSource],
    slots: &[MediaSlot],
    sound: &Sound,
    fps: Fps,
    frames: u64,
    duration: f64,
    hdr: Option<HdrTransfer>,
) -> MediaPlan {
    let mut plan = MediaPlan {
        audio_groups: sound.groups.clone(),
        master_fx: sound.master.clone(),
        ..MediaPlan::default()
    };
    for slot in slots.iter().filter(|s| !s.hidden) {
        let Some(source) = sources.iter().find(|s| s.render_id == slot.id) else {
            continue;
        };
        let end = slot.end.unwrap_or(duration).min(duration);
        if end <= slot.start {
            continue;
        }
        let hdr_transfer = source.info.video.as_ref().and_then(|v| v.transfer);
        if source.kind == MediaKind::HdrImage {
            if let (Some(_), Some(transfer)) = (hdr, hdr_transfer) {
                plan.hdr.push(HdrMedia::of(source, transfer, None));
            }
            continue;
        }
        if source.kind != MediaKind::Audio && source.info.video.is_some() {
            let timing = VideoTiming::new(
                slot.start,
                end,
                slot.media_start,
                slot.rate,
                slot.looped,
                source.info.duration_seconds,
                fps,
            );
            let shown: BTreeSet<u64> = (0..frames)
                .filter_map(|i| timing.frame_at(fps.frame_time(i)))
                .collect();
            let drawn_hdr = hdr.and(hdr_transfer);
            if let (Some(transfer), false) = (drawn_hdr, shown.is_empty()) {
                plan.hdr.push(HdrMedia::of(source, transfer, Some(timing)));
            }
            if !shown.is_empty() {
                plan.videos.push(VideoPlan {
                    hdr: drawn_hdr.is_some(),
                    png: false,
                    source: source.clone(),
                    timing,
                    shrink_to: shrink_size(source, slot),
                    frames: shown.into_iter().collect(),
                });
            }
        }
        if source.sounds && source.info.audio.is_some() {
            // A slot that opens before the render starts begins mid-source.
            let skipped = (-slot.start).max(0.0);
            plan.audio.push(AudioTrack {
                element: source.element_id.clone(),
                source: source.path.clone(),
                start_seconds: slot.start.max(0.0),
                duration_seconds: end - slot.start.max(0.0),
                media_start: slot.media_start + skipped * slot.rate,
                rate: slot.rate,
                volume: slot.volume,
                looped: slot.looped,
                envelope: sound.envelopes.get(&slot.id).map(|gains| VolumeEnvelope {
                    fps: fps.as_f64(),
                    gains: gains.iter().map(|&g| g as f32).collect(),
                }),
                fades: [slot.fade_in, slot.fade_out],
                fx: sound.fx.get(&slot.id).map(|fx| TrackFx {
                    fx: fx.clone(),
                    clock_start: skipped,
                }),
                group: slot.group.as_ref().map(|g| g.id.clone()),
            });
        }
    }
    plan
}

/// `path` made absolute (chunks resolve relative source paths against their plan's root).
fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Headroom over the largest size a video was seen at, for videos a transform scales up during
/// their slot (the sampled frames may miss the peak).
const SCALED_HEADROOM: f64 = 1.1;

/// The size a video's frames are extracted at when that is smaller than its source: the source
/// aspect ratio kept and both sides at least the box it fills. The box is the element's layout
/// box, so the page draws each frame one to one (no resampling, which Chrome pays for on every
/// new frame), unless the video is shown larger at some point of its slot: then the largest
/// size seen, with [`SCALED_HEADROOM`]. `None`: keep the source size.
fn shrink_size(source: &MediaSource, slot: &MediaSlot) -> Option<(u32, u32)> {
    let video = source.info.video.as_ref()?;
    if video.rotation % 180 != 0 || video.alpha || slot.width < 1.0 || slot.height < 1.0 {
        return None;
    }
    let scaled_up = slot.shown_width > slot.width * 1.01 || slot.shown_height > slot.height * 1.01;
    let (box_width, box_height) = if scaled_up {
        (
            slot.shown_width * SCALED_HEADROOM,
            slot.shown_height * SCALED_HEADROOM,
        )
    } else {
        (slot.width, slot.height)
    };
    let (width, height) = (f64::from(video.width), f64::from(video.height));
    let factor = (box_width / width).max(box_height / height);
    let even = |v: f64| ((v.ceil() as u32).max(2) + 1) & !1;
    let size = (even(width * factor), even(height * factor));
    (size.0 < video.width && size.1 < video.height).then_some(size)
}

/// Directory (relative to the compiled page) of the extracted frames of the `index`th video.
fn frames_dir(index: usize, render_id: &str) -> String {
    let safe: String = render_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // The index keeps ids that differ only in characters replaced here apart.
    format!("__hf_frames/{index}-{safe}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(width: u32, height: u32, rotation: u32) -> MediaSource {
        MediaSource {
            render_id: "v".into(),
            element_id: "v".into(),
            kind: MediaKind::Video,
            src: "v.mp4".into(),
            path: "v.mp4".into(),
            info: hf_encode::MediaInfo {
                duration_seconds: 1.0,
                video: Some(hf_encode::VideoStreamInfo {
                    codec: "h264".into(),
                    width,
                    height,
                    alpha: false,
                    frames: 30,
                    rotation,
                    transfer: None,
                }),
                audio: None,
            },
            sounds: false,
        }
    }

    #[test]
    fn videos_are_extracted_at_the_size_they_are_shown_at() {
        let slot = |width: f64, height: f64, shown_width: f64, shown_height: f64| MediaSlot {
            id: "v".into(),
            start: 0.0,
            end: None,
            media_start: 0.0,
            rate: 1.0,
            looped: false,
            volume: 1.0,
            hidden: false,
            fade_in: 0.0,
            fade_out: 0.0,
            automation: None,
            fx_chain: None,
            group: None,
            width,
            height,
            shown_width,
            shown_height,
        };
        let hd = source(1920, 1080, 0);
        // A 1080p source in a quarter-frame box: exactly the box, drawn one to one.
        assert_eq!(
            shrink_size(&hd, &slot(960.0, 540.0, 960.0, 540.0)),
            Some((960, 540))
        );
        // Letterboxed (contain) in a tall box: the taller side decides, aspect kept.
        assert_eq!(
            shrink_size(&hd, &slot(400.0, 600.0, 400.0, 600.0)),
            Some((1068, 600))
        );
        // Scaled up to 1.5x by a tween at some point: the largest size seen, plus headroom.
        assert_eq!(
            shrink_size(&hd, &slot(640.0, 360.0, 960.0, 540.0)),
            Some((1056, 594))
        );
        // Odd boxes round up to even sizes.
        assert_eq!(
            shrink_size(&hd, &slot(641.0, 361.0, 641.0, 361.0)),
            Some((642, 362))
        );
        // Boxes as large as the source (or larger once scaled), rotated sources and unknown
        // boxes keep the source size.
        assert_eq!(
            shrink_size(&hd, &slot(1920.0, 1080.0, 1920.0, 1080.0)),
            None
        );
        assert_eq!(
            shrink_size(&hd, &slot(1800.0, 1013.0, 2400.0, 1350.0)),
            None
        );
        assert_eq!(
            shrink_size(&source(1920, 1080, 90), &slot(480.0, 270.0, 480.0, 270.0)),
            None
        );
        assert_eq!(shrink_size(&hd, &slot(0.0, 0.0, 0.0, 0.0)), None);
    }
}
