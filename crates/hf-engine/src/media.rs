//! The media stages of a render: which source frames each `<video>` shows (extracted before
//! capture), and which elements sound (mixed alongside capture).

use crate::compile::media::{MediaKind, MediaSource};
use crate::RenderError;
use hf_capture::{MediaSlot, VideoFrameSource, VideoFrames};
use hf_encode::{extract_stage, AudioTrack, ExtractInput, Fps, VideoTiming};
use std::collections::BTreeSet;
use std::path::Path;

/// A video's slot and the source frames the render shows of it.
#[derive(Debug, Clone)]
pub(crate) struct VideoPlan {
    pub source: MediaSource,
    pub timing: VideoTiming,
    /// Source frame indices shown at some render frame, ascending.
    pub frames: Vec<u64>,
}

/// What the media stages do for one render.
#[derive(Debug, Clone, Default)]
pub(crate) struct MediaPlan {
    pub videos: Vec<VideoPlan>,
    pub audio: Vec<AudioTrack>,
}

/// Match the page's slots to the compiled sources and work out frames and tracks for a render
/// of `frames` frames at `fps` lasting `duration` seconds.
pub(crate) fn plan_media(
    sources: &[MediaSource],
    slots: &[MediaSlot],
    fps: Fps,
    frames: u64,
    duration: f64,
) -> MediaPlan {
    let mut plan = MediaPlan::default();
    for slot in slots.iter().filter(|s| !s.hidden) {
        let Some(source) = sources.iter().find(|s| s.render_id == slot.id) else {
            continue;
        };
        let end = slot.end.unwrap_or(duration).min(duration);
        if end <= slot.start {
            continue;
        }
        if source.kind == MediaKind::Video && source.info.video.is_some() {
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
            if !shown.is_empty() {
                plan.videos.push(VideoPlan {
                    source: source.clone(),
                    timing,
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
            });
        }
    }
    plan
}

/// Directory (relative to the compiled page) of a video's extracted frames.
fn frames_dir(render_id: &str) -> String {
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
    format!("__hf_frames/{safe}/")
}

/// The extract stage for every video, in parallel: frames go beside the compiled page, and the
/// table the capture sessions pass to each seek comes back.
pub(crate) fn extract_videos(
    plan: &MediaPlan,
    compiled_dir: &Path,
    fps: Fps,
) -> Result<VideoFrames, RenderError> {
    let results: Vec<Result<VideoFrameSource, RenderError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .videos
            .iter()
            .map(|video| {
                scope.spawn(move || {
                    let prefix = frames_dir(&video.source.render_id);
                    let alpha = video.source.info.video.as_ref().is_some_and(|v| v.alpha);
                    extract_stage(&ExtractInput {
                        source: video.source.path.clone(),
                        media_start: video.timing.media_start,
                        fps,
                        frames: video.frames.clone(),
                        output_dir: compiled_dir.join(&prefix),
                        alpha,
                    })?;
                    Ok(VideoFrameSource {
                        render_id: video.source.render_id.clone(),
                        timing: video.timing,
                        url_prefix: prefix,
                        alpha,
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an extract thread does not panic"))
            .collect()
    });
    Ok(VideoFrames {
        videos: results.into_iter().collect::<Result<_, _>>()?,
    })
}
