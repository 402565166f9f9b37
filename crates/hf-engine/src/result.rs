//! What a finished render reports.

use crate::{CapturePlan, OutputFormat};
use hf_capture::ActiveCaptureMode;
use hf_core::Fps;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Time spent per stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings {
    /// Compile stage.
    pub compile: Duration,
    /// Browser launch, page load and readiness.
    pub probe: Duration,
    /// Capture loop (seek + screenshot + hand-off), wall time.
    pub capture: Duration,
    /// Of the capture loop, time waiting for the encoder to take frames.
    pub encoder_wait: Duration,
    /// Decoding and converting captured images (encoder thread).
    pub convert: Duration,
    /// Inside libx264 and the muxer (encoder thread).
    pub encode: Duration,
    /// Assemble stage.
    pub assemble: Duration,
    /// Extracting the frames `<video>` elements show (before capture).
    #[serde(default)]
    pub extract: Duration,
    /// Decoding and mixing audio (alongside capture), wall time of its thread.
    #[serde(default)]
    pub audio: Duration,
    /// Decoding and blending transition layers on the blend pool (alongside capture), summed
    /// over the pool's threads.
    #[serde(default)]
    pub blend: Duration,
}

/// What a finished render produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderResult {
    /// The output file (a directory for a PNG sequence).
    pub output: PathBuf,
    /// Output format.
    #[serde(default)]
    pub format: OutputFormat,
    /// Video codec, for the video formats.
    #[serde(default)]
    pub codec: Option<hf_encode::VideoCodec>,
    /// Frames in the output.
    pub frames: u64,
    /// Frame rate.
    pub fps: Fps,
    /// Video duration in seconds.
    pub duration_seconds: f64,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Output size in bytes.
    pub bytes: u64,
    /// Wall time of the whole render in seconds.
    pub elapsed_seconds: f64,
    /// Capture path used.
    pub capture_mode: ActiveCaptureMode,
    /// Browser workers used.
    pub workers: u32,
    /// Segments joined into the output.
    pub segments: usize,
    /// How frames travelled to the encoder.
    pub capture_plan: CapturePlan,
    /// Frames found on disk from an earlier run and not captured again.
    pub resumed_frames: u64,
    /// The frames were captured and discarded (`RenderJob::capture_only`): nothing was written.
    #[serde(default)]
    pub capture_only: bool,
    /// Frames the page reported unchanged (reused without decoding).
    pub unchanged_frames: u64,
    /// Transition frames blended from two scene layers.
    #[serde(default)]
    pub blended_frames: u64,
    /// Frames never captured because they repeat the frame before them (predicted).
    #[serde(default)]
    pub held_frames: u64,
    /// What the media stages did.
    #[serde(default)]
    pub media: MediaSummary,
    /// Time per stage.
    pub timings: StageTimings,
}

/// What the media stages of a render did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MediaSummary {
    /// `<video>` elements (and animated GIFs) whose frames were shown.
    pub videos: usize,
    /// Source frames decoded for them in this render.
    pub frames_extracted: u64,
    /// Source frames found in the frame cache instead.
    pub frames_cached: u64,
    /// Sounding elements mixed into the audio track.
    pub audio_tracks: usize,
    /// Duration of the muxed audio, when there is audio.
    pub audio_seconds: Option<f64>,
}
