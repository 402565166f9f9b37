//! The typed job a caller hands to the render: what to render, how, and where to.

use crate::output::{OutputFormat, OutputRequest, Resolution};
use crate::RenderError;
use hf_capture::CaptureMode;
use hf_core::Fps;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::str::FromStr;

/// Encoder quality presets (HyperFrames' names and settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// x264 `ultrafast`, CRF 28, JPEG capture quality 80.
    Draft,
    /// HyperFrames' default: x264 `medium`, CRF 16, JPEG capture quality 100.
    #[default]
    Looks,
    /// x264 `medium`, CRF 18, JPEG capture quality 100.
    Standard,
    /// x264 `slow`, CRF 15, JPEG capture quality 100.
    High,
    /// The same as `high`.
    Delivery,
}

impl Quality {
    /// `(x264 preset, CRF, JPEG capture quality)`.
    pub fn settings(self) -> (&'static str, u32, u8) {
        match self {
            Quality::Draft => ("ultrafast", 28, 80),
            Quality::Looks => ("medium", 16, 100),
            // HyperFrames 0.8.170 captures JPEG at 100 for every preset but draft.
            Quality::Standard => ("medium", 18, 100),
            Quality::High | Quality::Delivery => ("slow", 15, 100),
        }
    }
}

impl FromStr for Quality {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "draft" => Ok(Quality::Draft),
            "looks" => Ok(Quality::Looks),
            "standard" => Ok(Quality::Standard),
            "high" => Ok(Quality::High),
            "delivery" => Ok(Quality::Delivery),
            other => Err(format!(
                "unknown quality `{other}`: use draft, looks, standard, high or delivery"
            )),
        }
    }
}

#[cfg(test)]
mod quality_tests {
    use super::*;

    #[test]
    fn presets_are_hyperframes_with_looks_the_default() {
        assert_eq!(Quality::default(), Quality::Looks);
        assert_eq!(Quality::Looks.settings(), ("medium", 16, 100));
        assert_eq!(
            "delivery".parse::<Quality>().unwrap().settings(),
            Quality::High.settings()
        );
        assert_eq!(Quality::Draft.settings(), ("ultrafast", 28, 80));
        assert_eq!(
            "best".parse::<Quality>().unwrap_err(),
            "unknown quality `best`: use draft, looks, standard, high or delivery"
        );
    }
}

/// How captured frames travel to the encoder, chosen once per render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapturePlan {
    /// Frames go straight from the browser into the segment encoders (fastest).
    #[default]
    Streaming,
    /// Frames are written into the work dir first, then encoded; resumable with `--resume`.
    Disk,
}

impl FromStr for CapturePlan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "streaming" => Ok(CapturePlan::Streaming),
            "disk" => Ok(CapturePlan::Disk),
            other => Err(format!(
                "unknown capture plan `{other}`: use streaming or disk"
            )),
        }
    }
}

/// The image format video frames are extracted in (`--video-frame-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoFrameFormat {
    /// JPEG, or PNG for sources with alpha.
    #[default]
    Auto,
    /// The same as auto (alpha sources still PNG).
    Jpg,
    /// PNG for every source (screen recordings, colour-critical footage).
    Png,
}

impl FromStr for VideoFrameFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(VideoFrameFormat::Auto),
            "jpg" | "jpeg" => Ok(VideoFrameFormat::Jpg),
            "png" => Ok(VideoFrameFormat::Png),
            other => Err(format!(
                "unknown video frame format `{other}`: use auto, jpg or png"
            )),
        }
    }
}

/// Whether the output is HDR (`--hdr` / `--sdr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HdrMode {
    /// HDR when a source is (PQ wins over HLG), else SDR.
    #[default]
    Auto,
    /// HDR whatever the sources (HLG when none says which).
    Force,
    /// SDR: HDR sources tone-mapped.
    Sdr,
}

/// Everything a render needs. Build with [`RenderJob::new`] and the setters, or deserialize;
/// [`RenderJob::validate`] checks it before any work (the render calls it first).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RenderJob {
    /// Project directory holding `index.html`.
    pub project_dir: PathBuf,
    /// The page to render, relative to the project (`-c`): a full HTML page, or a
    /// `<template>` sub-composition that `index.html` mounts. Default: `index.html`.
    #[serde(default)]
    pub composition: Option<PathBuf>,
    /// Output path. Default: `renders/<dir name>_<timestamp>.mp4` under the current directory.
    pub output: Option<PathBuf>,
    /// Frame rate. Default: the root's `data-fps`, else 30.
    pub fps: Option<Fps>,
    /// Quality preset. Default: looks (HyperFrames' default).
    pub quality: Quality,
    /// CRF override for the preset.
    pub crf: Option<u32>,
    /// Browser workers; 0 means auto (cores, memory and segment count decide).
    pub workers: u32,
    /// Frames per segment of the fixed grid. Default: about 2 s of frames.
    pub segment_frames: Option<u64>,
    /// Where the render's work dir is created. Default: the system temp dir.
    pub work_dir_parent: Option<PathBuf>,
    /// Longest time one frame (seek + capture) may take, in seconds.
    pub frame_timeout_seconds: f64,
    /// Output format.
    pub format: OutputFormat,
    /// Video codec; default: the format's (h264 for mp4, vp9 for webm, prores for mov).
    #[serde(default)]
    pub codec: Option<hf_encode::VideoCodec>,
    /// Target video bit rate in bits/s instead of the CRF (exclusive with `crf`).
    #[serde(default)]
    pub video_bitrate: Option<u64>,
    /// GIF loop count: 0 loops forever, N plays N+1 times.
    #[serde(default)]
    pub gif_loop: u16,
    /// The user asked for alpha: a warning when the format cannot keep it.
    #[serde(default)]
    pub alpha: bool,
    /// Output size reached by supersampling (device pixel ratio); same aspect ratio only.
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// Benchmarking: capture every frame as usual but discard it (no decode, encode, audio or
    /// output file), to measure what encoding costs on top of capture.
    #[serde(default)]
    pub capture_only: bool,
    /// Variable overrides (a JSON object), exposed to the page as `window.__hfVariables`.
    pub variables: Option<serde_json::Map<String, serde_json::Value>>,
    /// Reject variable overrides that no `data-composition-variables` declares.
    pub strict_variables: bool,
    /// Warn instead of failing when a remote asset cannot be downloaded or found in the cache.
    pub allow_missing_assets: bool,
    /// Fail where HyperFrames' best-effort default warns: a web font that cannot be had.
    #[serde(default)]
    pub strict: bool,
    /// `--strict-all`: lint warnings stop the render too (lint errors stop it with `strict`).
    #[serde(default)]
    pub strict_all: bool,
    /// Let the compile stage fetch assets from loopback, private and link-local addresses
    /// (refused by default).
    #[serde(default)]
    pub allow_private_network: bool,
    /// Remote asset cache dir. Default: `HF_CACHE_DIR`, else `~/.cache/hf`.
    pub asset_cache: Option<PathBuf>,
    /// Capture path. Default: beginFrame when available.
    pub capture_mode: CaptureMode,
    /// Streaming or disk capture. `resume` implies disk.
    pub capture: CapturePlan,
    /// A persistent work dir for a resumable disk capture: created if missing, kept when the
    /// render fails or is cancelled, removed when it succeeds. Frames already in it are skipped.
    pub resume: Option<PathBuf>,
    /// Browser binary; default: see `hf_capture::browser::resolve_browser`.
    pub browser: Option<PathBuf>,
    /// Longest wait for the page to load, in seconds.
    pub load_timeout_seconds: f64,
    /// Longest wait after load for compositions to register timelines, in seconds.
    pub timeline_timeout_seconds: f64,
    /// Skip capturing frames that repeat the frame before them (predicted from the page):
    /// the same bytes, faster. Default: `true`.
    #[serde(default = "skip_static_default")]
    pub skip_static: bool,
    /// HDR or SDR output. Default: HDR when an HDR source is in the page.
    #[serde(default)]
    pub hdr: HdrMode,
    /// libvpx `cpu-used` for VP9 (-8..8). Default: 4.
    #[serde(default)]
    pub vp9_cpu_used: Option<i32>,
    /// How video frames are extracted. Default: JPEG, PNG for alpha sources.
    #[serde(default)]
    pub video_frame_format: VideoFrameFormat,
    /// The longest composition rendered, in seconds (a guard against a mistyped
    /// `data-duration`). Default: [`RenderJob::DEFAULT_MAX_DURATION`].
    #[serde(default = "max_duration_default")]
    pub max_duration_seconds: f64,
    /// HLS output: target segment length in seconds (1-60). Default: 4.
    #[serde(default = "hls_segment_seconds_default")]
    pub hls_segment_seconds: u32,
}

fn max_duration_default() -> f64 {
    RenderJob::DEFAULT_MAX_DURATION
}

fn hls_segment_seconds_default() -> u32 {
    4
}

fn skip_static_default() -> bool {
    true
}

impl RenderJob {
    /// A job with defaults for `project_dir`.
    pub fn new(project_dir: impl Into<PathBuf>) -> Self {
        RenderJob {
            project_dir: project_dir.into(),
            composition: None,
            output: None,
            fps: None,
            quality: Quality::Looks,
            crf: None,
            workers: 0,
            segment_frames: None,
            work_dir_parent: None,
            frame_timeout_seconds: 30.0,
            format: OutputFormat::Mp4,
            codec: None,
            video_bitrate: None,
            gif_loop: 0,
            alpha: false,
            resolution: None,
            capture_only: false,
            variables: None,
            strict_variables: false,
            allow_missing_assets: false,
            strict: false,
            strict_all: false,
            allow_private_network: false,
            asset_cache: None,
            capture_mode: CaptureMode::Auto,
            capture: CapturePlan::Streaming,
            resume: None,
            browser: None,
            load_timeout_seconds: 60.0,
            timeline_timeout_seconds: 2.0,
            skip_static: true,
            hdr: HdrMode::Auto,
            vp9_cpu_used: None,
            video_frame_format: VideoFrameFormat::Auto,
            hls_segment_seconds: hls_segment_seconds_default(),
            max_duration_seconds: max_duration_default(),
        }
    }

    /// The default cap on a composition's duration: 4 hours.
    pub const DEFAULT_MAX_DURATION: f64 = 4.0 * 3600.0;

    /// Set the output path.
    pub fn output(mut self, path: impl Into<PathBuf>) -> Self {
        self.output = Some(path.into());
        self
    }

    /// Set the frame rate.
    pub fn fps(mut self, fps: Fps) -> Self {
        self.fps = Some(fps);
        self
    }

    /// Set the quality preset.
    pub fn quality(mut self, quality: Quality) -> Self {
        self.quality = quality;
        self
    }

    /// Set the number of browser workers (0 = auto).
    pub fn workers(mut self, workers: u32) -> Self {
        self.workers = workers;
        self
    }

    /// Set the segment length in frames.
    pub fn segment_frames(mut self, frames: u64) -> Self {
        self.segment_frames = Some(frames);
        self
    }

    /// Set the output format.
    pub fn format(mut self, format: OutputFormat) -> Self {
        self.format = format;
        self
    }

    /// Set the capture path.
    pub fn capture_mode(mut self, mode: CaptureMode) -> Self {
        self.capture_mode = mode;
        self
    }

    /// Set variable overrides from JSON text, which must be an object such as
    /// `{"title":"Hello"}` (`--variables`).
    pub fn variables_json(mut self, text: &str) -> Result<Self, RenderError> {
        let invalid = |reason: String| RenderError::InvalidVariables { reason };
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => {
                self.variables = Some(map);
                Ok(self)
            }
            Ok(_) => Err(invalid("it is not an object".into())),
            Err(e) => Err(invalid(e.to_string())),
        }
    }

    /// The output options as the user gave them.
    pub fn output_request(&self) -> OutputRequest {
        OutputRequest {
            format: self.format,
            codec: self.codec,
            crf: self.crf,
            video_bitrate: self.video_bitrate,
            gif_loop: self.gif_loop,
            alpha: self.alpha,
        }
    }

    /// Check the job before any work: frame rate, segment length, timeouts, and the output
    /// options (format, codec, rate control; the encoder is in this libav build).
    pub fn validate(&self) -> Result<(), RenderError> {
        let invalid = |what: &'static str, value: String, expected: &'static str| {
            Err(RenderError::InvalidOption {
                what,
                value,
                expected,
            })
        };
        if let Some(fps) = self.fps.filter(|fps| !fps.is_valid()) {
            return invalid(
                "frame rate",
                format!("{}/{}", fps.num, fps.den),
                "above 0 and at most 240 frames per second, e.g. 30 or 30000/1001",
            );
        }
        if self.segment_frames == Some(0) {
            return invalid("segment length", "0".into(), "at least 1 frame");
        }
        if !(1..=60).contains(&self.hls_segment_seconds) {
            return invalid(
                "HLS segment length",
                format!("{} s", self.hls_segment_seconds),
                "a whole number of seconds from 1 to 60",
            );
        }
        if self.format == OutputFormat::Hls && self.segment_frames.is_some() {
            return Err(RenderError::InvalidOutput {
                reason: "--segment-frames does not apply to hls: its segments are \
                         --hls-segment-seconds long; pass that instead"
                    .into(),
            });
        }
        for (what, seconds, zero_allowed) in [
            ("frame timeout", self.frame_timeout_seconds, false),
            ("load timeout", self.load_timeout_seconds, false),
            ("timeline timeout", self.timeline_timeout_seconds, true),
            ("maximum duration", self.max_duration_seconds, false),
        ] {
            let positive = seconds > 0.0 || (zero_allowed && seconds == 0.0);
            if !seconds.is_finite() || !positive {
                return invalid(what, format!("{seconds} s"), "a number of seconds above 0");
            }
        }
        crate::output::resolve_output(&self.output_request(), self.fps.unwrap_or(Fps::whole(30)))
            .map(drop)
    }
}

impl Default for RenderJob {
    /// A job for the current directory.
    fn default() -> Self {
        RenderJob::new(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_setting_and_what_it_takes() {
        assert!(RenderJob::new("p").validate().is_ok());
        let mut job = RenderJob::new("p");
        job.fps = Some(Fps { num: 30, den: 0 });
        assert_eq!(
            job.validate().unwrap_err().to_string(),
            "invalid frame rate 30/0 (expected above 0 and at most 240 frames per second, e.g. 30 or 30000/1001)"
        );
        let mut job = RenderJob::new("p").segment_frames(0);
        assert_eq!(job.validate().unwrap_err().code(), "INVALID_OPTION");
        job.segment_frames = None;
        job.frame_timeout_seconds = f64::NAN;
        assert_eq!(
            job.validate().unwrap_err().to_string(),
            "invalid frame timeout NaN s (expected a number of seconds above 0)"
        );
        job.frame_timeout_seconds = 30.0;
        job.crf = Some(20);
        job.video_bitrate = Some(5_000_000);
        assert_eq!(job.validate().unwrap_err().code(), "INVALID_OUTPUT_OPTIONS");
    }

    #[test]
    fn variables_must_be_a_json_object() {
        let job = RenderJob::new("p")
            .variables_json(r#"{"title":"Hi"}"#)
            .unwrap();
        assert_eq!(job.variables.unwrap()["title"], "Hi");
        assert_eq!(
            RenderJob::new("p").variables_json("[1]").unwrap_err().to_string(),
            "--variables must be a JSON object such as '{\"title\":\"Hello\"}': it is not an object"
        );
        assert!(RenderJob::new("p").variables_json("{").is_err());
    }
}
