//! The render as a value. [`plan_stage`] decides everything once (the compiled page, the
//! frames, the segment grid, capture and encoder settings, media, audio, output) into a
//! [`RenderPlan`]; [`ChunkSpec`]s cut its segment grid into chunks that render anywhere and
//! assemble into the same bytes.
//!
//! The grid is the invariant: a render's frames are cut into segments of a fixed length, a
//! property of the render (never of the worker or chunk count), and each segment is encoded
//! by a fresh encoder into a closed-GOP piece. So the joined output is the same bytes however
//! many workers or machines took the segments.

mod hdr;
mod held;
mod stage;
mod transitions;
mod workers;

pub use hdr::HdrPlan;
pub use stage::{plan_stage, PlannedRender};
pub(crate) use stage::{session_options, LocalRender, MediaWork};
pub(crate) use transitions::windows_in;
pub(crate) use workers::{auto_workers, available_memory};

use crate::output::{OutputFormat, OutputKind};
use crate::CapturePlan;
use hf_capture::{CaptureMode, TransitionWindow, VideoFrames};
use hf_core::{Fps, FrameRange, ImageFormat};
use hf_encode::{AudioTrack, VideoEncodeSettings};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The format version of a serialized [`RenderPlan`]; bumped when its shape changes.
pub const PLAN_VERSION: u32 = 3;

/// Everything the capture, encode and assemble stages need for one render, decided once.
///
/// Paths hf creates (the compiled page, the audio mix, frame files, segments) are relative to
/// the plan's root directory (the render's work dir, or a plan dir copied to another machine),
/// so a plan holds no temporary paths. `project_dir` and `output.path` are the user's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RenderPlan {
    /// [`PLAN_VERSION`] of the code that made it.
    pub version: u32,
    /// The project directory: assets the compiled page does not carry are served from it.
    pub project_dir: PathBuf,
    /// The compiled page and its size.
    pub page: PagePlan,
    /// Frames in the render.
    pub frames: u64,
    /// Frame rate; frame `i` shows time `i * den / num`.
    pub fps: Fps,
    /// The composition's duration in seconds.
    pub duration_seconds: f64,
    /// Frames per segment of the grid (the last segment may be shorter).
    pub segment_frames: u64,
    /// How frames are captured.
    pub capture: CaptureSettings,
    /// The extracted frames each `<video>` shows (the images live under the compiled page).
    pub videos: VideoFrames,
    /// Frames that show what the frame before them showed, predicted from the page (nothing
    /// animates between the two times, no clip starts or ends, every video shows the same
    /// source frame): never captured, the encoder repeats the picture before. Empty when the
    /// page cannot be predicted or skipping is off.
    pub held: Vec<FrameRange>,
    /// Shader transitions: their frames are captured as one layer per scene and blended.
    pub transitions: Vec<TransitionWindow>,
    /// HDR output: the transfer and the sources the encoder draws; `None` for SDR.
    #[serde(default)]
    pub hdr: Option<HdrPlan>,
    /// The sound of the render, when any element sounds and the format keeps audio.
    pub audio: Option<AudioPlan>,
    /// What is written, where, with which encoder.
    pub output: OutputTarget,
    /// Benchmarking: frames are captured and dropped; nothing is encoded or written.
    pub capture_only: bool,
}

/// The compiled page of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagePlan {
    /// The directory holding the compiled `index.html`, relative to the plan root.
    pub dir: PathBuf,
    /// The root composition's `data-composition-id`.
    pub root_id: String,
    /// Width in CSS pixels.
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
    /// Device pixel ratio: captured frames are the CSS size times this (`--resolution`).
    pub device_scale_factor: f64,
    /// The page needs WebGPU (`data-requires-webgpu`).
    #[serde(default)]
    pub webgpu: bool,
}

impl PagePlan {
    /// The size of the captured frames (and of the output, before odd-size padding).
    pub fn frame_size(&self) -> (u32, u32) {
        let scaled = |v: u32| (f64::from(v) * self.device_scale_factor).round() as u32;
        (scaled(self.width), scaled(self.height))
    }
}

/// How frames are captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureSettings {
    /// The capture path asked for.
    pub mode: CaptureMode,
    /// JPEG for opaque outputs, PNG for outputs with alpha.
    pub image_format: ImageFormat,
    /// JPEG quality (1-100).
    pub jpeg_quality: u8,
    /// The page is captured over a transparent background.
    pub transparent: bool,
    /// Streaming into the encoders, or frame files first (`frames/` under the root).
    pub route: CapturePlan,
    /// Longest time one frame may take.
    pub frame_timeout: Duration,
    /// Longest wait for the page to load and report ready.
    pub load_timeout: Duration,
    /// Longest wait after load for compositions to register timelines.
    pub timeline_timeout: Duration,
}

/// The render's sound: the tracks mixed into one file under the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioPlan {
    /// Every sounding element, placed on the render timeline.
    pub tracks: Vec<AudioTrack>,
    /// The audio group buses tracks feed.
    #[serde(default)]
    pub groups: Vec<hf_encode::AudioBus>,
    /// The master bus effects (the root composition's `data-fx-chain`).
    #[serde(default)]
    pub master: Option<hf_audio_fx::Fx>,
    /// Samples per channel of the mix: exactly the video's duration at 48 kHz.
    pub samples: u64,
    /// The mix (interleaved stereo f32), relative to the root.
    pub mix: PathBuf,
}

/// What is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputTarget {
    /// The output file (a directory for a PNG sequence).
    pub path: PathBuf,
    /// The format asked for.
    pub format: OutputFormat,
    /// How it is produced.
    pub kind: OutputKind,
    /// Encoder settings of every segment (video formats).
    pub encoder: Option<VideoEncodeSettings>,
    /// HLS output: the target segment length in seconds (one grid segment each).
    #[serde(default)]
    pub hls_segment_seconds: Option<u32>,
}

/// One segment of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentSpec {
    /// Segment number, from 0.
    pub index: usize,
    /// Render index of its first frame.
    pub first_frame: u64,
    /// Frames in the segment.
    pub frame_count: u64,
}

impl SegmentSpec {
    /// The segment's frames.
    pub fn frames(&self) -> FrameRange {
        FrameRange::new(self.first_frame, self.frame_count)
    }
}

/// A chunk of a render: a run of whole segments of the grid, rendered as a unit (by this
/// process's workers, or by one machine of a distributed render).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSpec {
    /// Chunk number, from 0.
    pub index: u32,
    /// Its first segment.
    pub first_segment: usize,
    /// How many segments it holds.
    pub segment_count: usize,
    /// Its frames.
    pub frames: FrameRange,
}

/// The default segment length: about two seconds of frames.
pub(crate) fn default_segment_frames(fps: Fps) -> u64 {
    (2.0 * fps.as_f64()).round().max(1.0) as u64
}

/// Cut `total_frames` into consecutive segments of `segment_frames` (the last may be shorter).
pub(crate) fn segment_grid(total_frames: u64, segment_frames: u64) -> Vec<SegmentSpec> {
    let segment_frames = segment_frames.max(1);
    (0..total_frames.div_ceil(segment_frames))
        .map(|index| {
            let first_frame = index * segment_frames;
            SegmentSpec {
                index: index as usize,
                first_frame,
                frame_count: segment_frames.min(total_frames - first_frame),
            }
        })
        .collect()
}

impl RenderPlan {
    /// Resolve the source paths the plan names relative to its directory (a distributed
    /// plan's copy of the project) against `plan_root`, where a chunk finds them.
    pub fn locate_sources(&mut self, plan_root: &std::path::Path) {
        if let Some(hdr) = &mut self.hdr {
            for source in &mut hdr.sources {
                source.path = plan_root.join(&source.path);
            }
        }
    }

    /// The segment grid.
    pub fn segments(&self) -> Vec<SegmentSpec> {
        segment_grid(self.frames, self.segment_frames)
    }

    /// The whole render as one chunk.
    pub fn whole(&self) -> ChunkSpec {
        self.chunks(1)[0]
    }

    /// The render cut into `count` chunks of whole segments, as even as the grid allows (fewer
    /// when there are fewer segments; at least one).
    pub fn chunks(&self, count: usize) -> Vec<ChunkSpec> {
        let segments = self.segments();
        let count = count.clamp(1, segments.len().max(1));
        (0..count)
            .map(|k| {
                let (start, end) = (k * segments.len() / count, (k + 1) * segments.len() / count);
                let first_frame = segments.get(start).map_or(0, |s| s.first_frame);
                let frames: u64 = segments[start..end].iter().map(|s| s.frame_count).sum();
                ChunkSpec {
                    index: k as u32,
                    first_segment: start,
                    segment_count: end - start,
                    frames: FrameRange::new(first_frame, frames),
                }
            })
            .collect()
    }

    /// The captured frames' directory under the root, when frames go to disk first.
    pub fn frames_dir(&self) -> Option<PathBuf> {
        (self.capture.route == CapturePlan::Disk && !self.capture_only)
            .then(|| PathBuf::from("frames"))
    }

    /// The encoded piece of segment `index`, relative to the root (video formats).
    pub fn segment_file(&self, index: usize) -> Option<PathBuf> {
        let encoder = self.output.encoder.as_ref()?;
        let extension = encoder.codec.container().extension();
        Some(PathBuf::from(format!("segment-{index:05}.{extension}")))
    }
}

#[cfg(test)]
pub(crate) mod tests;
