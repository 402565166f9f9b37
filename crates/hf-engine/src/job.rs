//! The typed job a caller hands to [`crate::render`], and what comes back.

use hf_capture::{ActiveCaptureMode, CaptureMode};
use hf_encode::Fps;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Encoder quality presets (HyperFrames' names and settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    /// x264 `ultrafast`, CRF 28, JPEG capture quality 80.
    Draft,
    /// x264 `medium`, CRF 18, JPEG capture quality 95.
    #[default]
    Standard,
    /// x264 `slow`, CRF 15, JPEG capture quality 95.
    High,
}

impl Quality {
    /// `(x264 preset, CRF, JPEG capture quality)`.
    pub fn settings(self) -> (&'static str, u32, u8) {
        match self {
            Quality::Draft => ("ultrafast", 28, 80),
            Quality::Standard => ("medium", 18, 95),
            Quality::High => ("slow", 15, 95),
        }
    }
}

impl FromStr for Quality {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "draft" => Ok(Quality::Draft),
            "standard" => Ok(Quality::Standard),
            "high" => Ok(Quality::High),
            other => Err(format!(
                "unknown quality `{other}`: use draft, standard or high"
            )),
        }
    }
}

/// Output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// H.264 (or H.265 with `--codec h265`) in mp4 with faststart.
    #[default]
    Mp4,
    /// ProRes 4444 with alpha in mov.
    Mov,
    /// VP9 with alpha in webm, audio in Opus.
    Webm,
    /// Animated GIF (two-pass palette, 1-bit transparency).
    Gif,
    /// A directory of RGBA `frame_000001.png`... plus `audio.m4a` when there is audio.
    PngSequence,
}

impl OutputFormat {
    /// File extension of the output (none for a PNG sequence directory).
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Mp4 => "mp4",
            OutputFormat::Mov => "mov",
            OutputFormat::Webm => "webm",
            OutputFormat::Gif => "gif",
            OutputFormat::PngSequence => "",
        }
    }

    /// Whether the format keeps the page's transparency (and so captures PNG over a
    /// transparent background).
    pub fn keeps_alpha(self) -> bool {
        self != OutputFormat::Mp4
    }

    /// The format whose container is `container`.
    pub fn for_container(container: hf_encode::Container) -> Self {
        match container {
            hf_encode::Container::Mp4 => OutputFormat::Mp4,
            hf_encode::Container::Mov => OutputFormat::Mov,
            hf_encode::Container::Webm => OutputFormat::Webm,
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputFormat::PngSequence => "png-sequence",
            other => other.extension(),
        })
    }
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mp4" => Ok(OutputFormat::Mp4),
            "mov" => Ok(OutputFormat::Mov),
            "webm" => Ok(OutputFormat::Webm),
            "gif" => Ok(OutputFormat::Gif),
            "png-sequence" | "png" => Ok(OutputFormat::PngSequence),
            other => Err(format!(
                "unknown format `{other}`: use mp4, mov, webm, gif or png-sequence"
            )),
        }
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

/// Everything a render needs. Build with [`RenderJob::new`] and the setters, or deserialize.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderJob {
    /// Project directory holding `index.html`.
    pub project_dir: PathBuf,
    /// Output path. Default: `renders/<dir name>_<timestamp>.mp4` under the current directory.
    pub output: Option<PathBuf>,
    /// Frame rate. Default: the root's `data-fps`, else 30.
    pub fps: Option<Fps>,
    /// Quality preset. Default: standard.
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
    pub resolution: Option<crate::output::Resolution>,
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
}

impl RenderJob {
    /// A job with defaults for `project_dir`.
    pub fn new(project_dir: impl Into<PathBuf>) -> Self {
        RenderJob {
            project_dir: project_dir.into(),
            output: None,
            fps: None,
            quality: Quality::Standard,
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
            asset_cache: None,
            capture_mode: CaptureMode::Auto,
            capture: CapturePlan::Streaming,
            resume: None,
            browser: None,
            load_timeout_seconds: 60.0,
            timeline_timeout_seconds: 2.0,
        }
    }

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
}

/// A stage of the pipeline, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Reading and rewriting the project.
    Compile,
    /// Starting the browser and loading the page.
    Probe,
    /// Seeking, capturing and encoding frames.
    Capture,
    /// Joining segments into the output.
    Assemble,
}

/// Progress reported while rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ProgressEvent {
    /// A stage began.
    StageStarted {
        /// Which stage.
        stage: Stage,
    },
    /// The frame plan is known.
    Planned {
        /// Frames to render.
        frames: u64,
        /// Frame rate.
        fps: Fps,
        /// Duration in seconds.
        duration_seconds: f64,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Capture path in use.
        capture_mode: ActiveCaptureMode,
        /// Browser workers.
        workers: u32,
        /// Segments of the grid.
        segments: usize,
    },
    /// A frame was captured and handed to the encoder.
    Frame {
        /// Frames done so far.
        done: u64,
        /// Frames in the render.
        total: u64,
    },
    /// Something the user should know that does not stop the render.
    Warning {
        /// What happened and what to do about it.
        message: String,
    },
    /// The output is in place.
    Finished {
        /// The result.
        result: Box<RenderResult>,
    },
}

/// Receives [`ProgressEvent`]s. Any `FnMut(ProgressEvent) + Send` closure is a sink.
pub trait ProgressSink: Send {
    /// Called for every event, in order, from the render's thread.
    fn event(&mut self, event: ProgressEvent);
}

impl<F: FnMut(ProgressEvent) + Send> ProgressSink for F {
    fn event(&mut self, event: ProgressEvent) {
        self(event)
    }
}

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
