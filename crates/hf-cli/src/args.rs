//! The flags that describe a render, and the [`RenderJob`] they make.

use clap::Args;
use hf_engine::{
    CaptureMode, CapturePlan, Fps, HdrMode, OutputFormat, Quality, RenderError, RenderJob,
    Resolution, VideoCodec, VideoFrameFormat,
};
use std::path::{Path, PathBuf};

/// The flags that describe a render, shared by `render` and `plan`.
#[derive(Args)]
pub(crate) struct JobArgs {
    /// Render this page of the project instead of index.html: a full HTML page, or a
    /// `<template>` sub-composition that index.html mounts (rendered alone from 0 s).
    #[arg(short = 'c', long, value_name = "FILE")]
    composition: Option<PathBuf>,
    /// Frame rate: an integer or a rational such as 30000/1001 [default: root data-fps, else 30].
    #[arg(short, long)]
    fps: Option<Fps>,
    /// Quality preset: draft, looks (HyperFrames' default), standard, high or delivery.
    #[arg(short, long, default_value = "looks")]
    quality: Quality,
    /// Constant rate factor (overrides the preset's): 0-51 for h264/h265, 0-63 for vp9.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=63), conflicts_with = "video_bitrate")]
    crf: Option<u32>,
    /// Target video bit rate instead of a CRF, e.g. 5M or 800k.
    #[arg(long, value_parser = hf_engine::parse_bitrate)]
    video_bitrate: Option<u64>,
    /// Frames per segment of the fixed grid [default: about 2 s of frames].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    segment_frames: Option<u64>,
    /// Longest time one frame may take, in seconds.
    #[arg(long, default_value_t = 30.0)]
    frame_timeout: f64,
    /// HyperFrames' `--protocol-timeout` (milliseconds): hf's per-frame limit, as
    /// `--frame-timeout` in seconds.
    #[arg(long, value_name = "MS", conflicts_with = "frame_timeout")]
    protocol_timeout: Option<f64>,
    /// The longest composition rendered, in seconds (guards against a mistyped
    /// data-duration) [default: 14400, 4 hours].
    #[arg(long, value_name = "SECONDS")]
    max_duration: Option<f64>,
    /// Longest wait for the page to load and report ready, in seconds.
    #[arg(long, default_value_t = 60.0)]
    load_timeout: f64,
    /// HyperFrames' `--browser-timeout` (seconds): the same as `--load-timeout`.
    #[arg(long, value_name = "SECONDS", conflicts_with = "load_timeout")]
    browser_timeout: Option<f64>,
    /// Longest wait after load for compositions to register timelines, in seconds.
    #[arg(long, default_value_t = 2.0)]
    timeline_timeout: f64,
    /// HyperFrames' `--player-ready-timeout` (milliseconds): the wait after load for the
    /// page's timelines, as `--timeline-timeout` in seconds.
    #[arg(long, value_name = "MS", conflicts_with = "timeline_timeout")]
    player_ready_timeout: Option<f64>,
    /// Video frames extracted as auto (JPEG; PNG for alpha sources), jpg or png (every source:
    /// screen recordings, colour-critical footage).
    #[arg(long, default_value = "auto")]
    video_frame_format: VideoFrameFormat,
    /// libvpx `cpu-used` for webm (-8..8, default 4; higher is faster).
    #[arg(long, value_parser = clap::value_parser!(i32).range(-8..=8), allow_negative_numbers = true)]
    vp9_cpu_used: Option<i32>,
    /// Output format: mp4, mov (ProRes 4444 with alpha), webm (VP9 with alpha), gif,
    /// png-sequence (a directory of RGBA PNGs) or hls (a directory: master.m3u8, H.264/AAC
    /// MPEG-TS segments).
    #[arg(long, default_value = "mp4")]
    format: OutputFormat,
    /// HLS segment length in seconds (1-60); every segment starts on a keyframe.
    #[arg(long, value_name = "SECONDS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=60))]
    hls_segment_seconds: u32,
    /// Video codec: h264 or h265 for mp4 [default: h264], vp9 for webm, prores for mov.
    #[arg(long)]
    codec: Option<VideoCodec>,
    /// GIF loop count: 0 loops forever, N plays N+1 times.
    #[arg(long, default_value_t = 0)]
    gif_loop: u16,
    /// Keep the page's transparency (warns when the format cannot: mp4 is always opaque).
    #[arg(long)]
    alpha: bool,
    /// Output size reached by supersampling: landscape (1080p), portrait, square,
    /// landscape-4k (4k), portrait-4k, square-4k, 720p, 1440p or WIDTHxHEIGHT, with the
    /// composition's aspect ratio.
    #[arg(long)]
    resolution: Option<Resolution>,
    /// Variable overrides as a JSON object, e.g. '{"title":"Hi"}'.
    #[arg(long, conflicts_with = "variables_file")]
    variables: Option<String>,
    /// Variable overrides read from a JSON file.
    #[arg(long, value_name = "FILE")]
    variables_file: Option<PathBuf>,
    /// Reject variable overrides that the composition does not declare.
    #[arg(long)]
    strict_variables: bool,
    /// Render even when a remote asset (CDN script, stylesheet, font) cannot be had; warn instead.
    #[arg(long)]
    allow_missing_assets: bool,
    /// Lint the project first and fail on its errors (`hf lint`), and fail where the default
    /// warns: a missing local image, font or script, a Google Fonts family that is neither
    /// bundled nor downloadable.
    #[arg(long)]
    strict: bool,
    /// `--strict`, and fail on lint warnings too.
    #[arg(long)]
    strict_all: bool,
    /// Let the page's remote assets come from loopback, private and link-local addresses
    /// (a local asset server); refused by default.
    #[arg(long)]
    allow_private_network: bool,
    /// Capture path: auto, begin-frame or screenshot.
    #[arg(long, default_value = "auto", value_parser = parse_capture_mode)]
    capture_mode: CaptureMode,
    /// Browser binary [default: $HF_BROWSER_PATH, then Debian's chromium-headless-shell].
    #[arg(long)]
    browser: Option<PathBuf>,
    /// Capture every frame, also those predicted to repeat the frame before them (the output
    /// is the same; this only makes it slower, for checking).
    #[arg(long)]
    no_skip_static: bool,
    /// HDR output (H.265 Main 10, BT.2020) even without HDR sources: PQ when a source is PQ,
    /// else HLG. By default HDR sources (PQ/HLG videos, cICP PNGs) make the output HDR.
    #[arg(long, conflicts_with = "sdr")]
    hdr: bool,
    /// SDR output: HDR sources are tone-mapped to BT.709.
    #[arg(long)]
    sdr: bool,
}

#[derive(Args)]
pub(crate) struct RenderArgs {
    /// Project directory holding index.html.
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// Output file, or directory for png-sequence [default: renders/<dir>_<timestamp>.<ext>].
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    job: JobArgs,
    /// Browser workers: a number, or auto (cores, memory and segment count decide).
    #[arg(short, long, default_value = "auto", value_parser = parse_workers)]
    workers: u32,
    /// How frames reach the encoder: streaming (in memory) or disk (files in the work dir).
    #[arg(long, default_value = "streaming")]
    capture: CapturePlan,
    /// A work dir to keep frames in and resume from (implies --capture disk): frames already
    /// there are not captured again; it is removed once the render succeeds.
    #[arg(long, value_name = "WORKDIR")]
    resume: Option<PathBuf>,
    /// Benchmarking: capture every frame and discard it (no encode, no output file).
    #[arg(long, hide = true)]
    capture_only: bool,
    /// Render once per row of a JSON file (an array of variable objects, or {"rows": [...]});
    /// -o is then a template with {index} and {key} placeholders (a row's variable).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["variables", "variables_file", "resume"])]
    pub(crate) batch: Option<PathBuf>,
    /// Rows rendered at once [default: 1].
    #[arg(long, value_name = "N", requires = "batch", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) batch_concurrency: Option<u32>,
    /// After the first failed row, start no more (the rest are skipped).
    #[arg(long, requires = "batch")]
    pub(crate) batch_fail_fast: bool,
    #[command(flatten)]
    pub(crate) print: PrintArgs,
}

/// How progress is printed.
#[derive(Args)]
pub(crate) struct PrintArgs {
    /// Print nothing but errors.
    #[arg(long, conflicts_with = "json")]
    pub(crate) quiet: bool,
    /// Print progress as JSON lines on stdout (with --batch: one result document at the end).
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn parse_workers(value: &str) -> Result<u32, String> {
    match value {
        "auto" => Ok(0),
        n => match n.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!(
                "invalid worker count `{n}`: use a number from 1 or auto"
            )),
        },
    }
}

fn parse_capture_mode(value: &str) -> Result<CaptureMode, String> {
    match value {
        "auto" => Ok(CaptureMode::Auto),
        "begin-frame" | "beginframe" => Ok(CaptureMode::BeginFrame),
        "screenshot" => Ok(CaptureMode::Screenshot),
        other => Err(format!(
            "unknown capture mode `{other}`: use auto, begin-frame or screenshot"
        )),
    }
}

impl JobArgs {
    /// The job these flags describe for the project in `dir`.
    pub(crate) fn job(&self, dir: &Path) -> Result<RenderJob, RenderError> {
        let mut job = RenderJob::new(dir)
            .quality(self.quality)
            .capture_mode(self.capture_mode);
        if let Some(text) = variables_text(self)? {
            job = job.variables_json(&text)?;
        }
        job.fps = self.fps;
        job.composition = self.composition.clone();
        job.crf = self.crf;
        job.segment_frames = self.segment_frames;
        job.frame_timeout_seconds = self
            .protocol_timeout
            .map_or(self.frame_timeout, |ms| ms / 1000.0);
        job.load_timeout_seconds = self.browser_timeout.unwrap_or(self.load_timeout);
        job.timeline_timeout_seconds = self
            .player_ready_timeout
            .map_or(self.timeline_timeout, |ms| ms / 1000.0);
        job.vp9_cpu_used = self.vp9_cpu_used;
        if let Some(seconds) = self.max_duration {
            job.max_duration_seconds = seconds;
        }
        job.video_frame_format = self.video_frame_format;
        job.format = self.format;
        job.hls_segment_seconds = self.hls_segment_seconds;
        job.codec = self.codec;
        job.video_bitrate = self.video_bitrate;
        job.gif_loop = self.gif_loop;
        job.alpha = self.alpha;
        job.resolution = self.resolution;
        job.strict_variables = self.strict_variables;
        job.allow_missing_assets = self.allow_missing_assets;
        job.strict = self.strict;
        job.strict_all = self.strict_all;
        job.allow_private_network = self.allow_private_network;
        job.browser = self.browser.clone();
        job.skip_static = !self.no_skip_static;
        job.hdr = match (self.hdr, self.sdr) {
            (true, _) => HdrMode::Force,
            (_, true) => HdrMode::Sdr,
            _ => HdrMode::Auto,
        };
        Ok(job)
    }
}

impl TryFrom<&RenderArgs> for RenderJob {
    type Error = RenderError;

    fn try_from(args: &RenderArgs) -> Result<Self, RenderError> {
        let mut job = args.job.job(&args.dir)?;
        job.output = args.output.clone();
        job.workers = args.workers;
        job.capture = args.capture;
        job.resume = args.resume.clone();
        job.capture_only = args.capture_only;
        Ok(job)
    }
}

/// `--variables`, or the contents of `--variables-file`.
fn variables_text(args: &JobArgs) -> Result<Option<String>, RenderError> {
    let Some(path) = &args.variables_file else {
        return Ok(args.variables.clone());
    };
    std::fs::read_to_string(path)
        .map(Some)
        .map_err(|e| RenderError::InvalidVariables {
            reason: format!("cannot read --variables-file {}: {e}", path.display()),
        })
}
