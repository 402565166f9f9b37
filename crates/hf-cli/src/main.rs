//! `hf`: render HyperFrames compositions to video. A thin layer over `hf-engine`.

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use hf_engine::{
    CaptureMode, CapturePlan, Fps, OutputFormat, ProgressEvent, Quality, RenderError, RenderJob,
    Resolution, VideoCodec,
};
use indicatif::{ProgressBar, ProgressStyle};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "hf",
    version,
    about = "Render HTML compositions (HyperFrames contract) to video"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log more (repeat for trace level); HF_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Render a composition directory to a video file.
    Render(Box<RenderArgs>),
    /// Manage the remote asset cache (scripts, stylesheets and fonts named by URL).
    #[command(subcommand)]
    Cache(CacheCommand),
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Store a local file as the content of a URL, so renders that name the URL work offline.
    Import {
        /// The URL as the composition writes it.
        url: String,
        /// The file holding its content.
        file: PathBuf,
    },
    /// Print the cache directory.
    Dir,
}

#[derive(Args)]
struct RenderArgs {
    /// Project directory holding index.html.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Output file, or directory for png-sequence [default: renders/<dir>_<timestamp>.<ext>].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Frame rate: an integer or a rational such as 30000/1001 [default: root data-fps, else 30].
    #[arg(short, long)]
    fps: Option<Fps>,
    /// Quality preset: draft, standard or high.
    #[arg(short, long, default_value = "standard")]
    quality: Quality,
    /// Constant rate factor (overrides the preset's): 0-51 for h264/h265, 0-63 for vp9.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=63), conflicts_with = "video_bitrate")]
    crf: Option<u32>,
    /// Target video bit rate instead of a CRF, e.g. 5M or 800k.
    #[arg(long, value_parser = hf_engine::output::parse_bitrate)]
    video_bitrate: Option<u64>,
    /// Browser workers: a number, or auto (cores, memory and segment count decide).
    #[arg(short, long, default_value = "auto", value_parser = parse_workers)]
    workers: u32,
    /// Frames per segment of the fixed grid [default: about 2 s of frames].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    segment_frames: Option<u64>,
    /// Longest time one frame may take, in seconds.
    #[arg(long, default_value_t = 30.0)]
    frame_timeout: f64,
    /// Longest wait for the page to load and report ready, in seconds.
    #[arg(long, default_value_t = 60.0)]
    load_timeout: f64,
    /// Longest wait after load for compositions to register timelines, in seconds.
    #[arg(long, default_value_t = 2.0)]
    timeline_timeout: f64,
    /// Output format: mp4, mov (ProRes 4444 with alpha), webm (VP9 with alpha), gif or
    /// png-sequence (a directory of RGBA PNGs).
    #[arg(long, default_value = "mp4")]
    format: OutputFormat,
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
    /// Capture path: auto, begin-frame or screenshot.
    #[arg(long, default_value = "auto", value_parser = parse_capture_mode)]
    capture_mode: CaptureMode,
    /// How frames reach the encoder: streaming (in memory) or disk (files in the work dir).
    #[arg(long, default_value = "streaming")]
    capture: CapturePlan,
    /// A work dir to keep frames in and resume from (implies --capture disk): frames already
    /// there are not captured again; it is removed once the render succeeds.
    #[arg(long, value_name = "WORKDIR")]
    resume: Option<PathBuf>,
    /// Browser binary [default: $HF_BROWSER_PATH, then Debian's chromium-headless-shell].
    #[arg(long)]
    browser: Option<PathBuf>,
    /// Benchmarking: capture every frame and discard it (no encode, no output file).
    #[arg(long, hide = true)]
    capture_only: bool,
    /// Print nothing but errors.
    #[arg(long, conflicts_with = "json")]
    quiet: bool,
    /// Print progress as JSON lines on stdout.
    #[arg(long)]
    json: bool,
}

/// Print one line on stdout. Output is best-effort: a reader that went away (a closed pipe)
/// must not abort the render.
fn print_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn parse_workers(value: &str) -> Result<u32, String> {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.verbose {
        0 => "warn,chromiumoxide=off",
        1 => "info,chromiumoxide=warn",
        2 => "debug,chromiumoxide=warn",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    // SIGINT/SIGTERM set `cancel`; the render stops, cleans up and we exit 130/143.
    let cancel = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    let terminated = Arc::new(AtomicBool::new(false));
    for (signal, flag) in [(SIGINT, &interrupted), (SIGTERM, &terminated)] {
        signal_hook::flag::register(signal, Arc::clone(&cancel)).expect("signal handler installs");
        signal_hook::flag::register(signal, Arc::clone(flag)).expect("signal handler installs");
    }
    let outcome = match cli.command {
        Command::Render(args) => render(*args, cancel),
        Command::Cache(command) => cache(command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if terminated.load(Ordering::Relaxed) || interrupted.load(Ordering::Relaxed) => {
            eprintln!("error[CANCELLED]: {error:#}");
            ExitCode::from(if terminated.load(Ordering::Relaxed) {
                143
            } else {
                130
            })
        }
        Err(error) => {
            let code = error
                .downcast_ref::<RenderError>()
                .map(RenderError::code)
                .unwrap_or("ERROR");
            eprintln!("error[{code}]: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn cache(command: CacheCommand) -> anyhow::Result<()> {
    let cache = hf_engine::AssetCache::at(hf_engine::AssetCache::default_dir());
    match command {
        CacheCommand::Import { url, file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            cache
                .put(&url, &bytes)
                .with_context(|| format!("cannot write the cache {}", cache.dir().display()))?;
            print_line(&format!(
                "cached {url} ({} bytes) in {}",
                bytes.len(),
                cache.dir().display()
            ));
        }
        CacheCommand::Dir => print_line(&cache.dir().display().to_string()),
    }
    Ok(())
}

fn render(args: RenderArgs, cancel: Arc<AtomicBool>) -> anyhow::Result<()> {
    let variables_text = match &args.variables_file {
        Some(path) => {
            Some(
                std::fs::read_to_string(path).map_err(|e| RenderError::InvalidVariables {
                    reason: format!("cannot read --variables-file {}: {e}", path.display()),
                })?,
            )
        }
        None => args.variables.clone(),
    };
    let variables = match &variables_text {
        None => None,
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            Ok(_) => {
                return Err(RenderError::InvalidVariables {
                    reason: "it is not an object".into(),
                }
                .into())
            }
            Err(e) => {
                return Err(RenderError::InvalidVariables {
                    reason: e.to_string(),
                }
                .into())
            }
        },
    };
    let mut job = RenderJob::new(&args.dir)
        .quality(args.quality)
        .capture_mode(args.capture_mode);
    job.capture = args.capture;
    job.resume = args.resume;
    job.output = args.output;
    job.fps = args.fps;
    job.crf = args.crf;
    job.workers = args.workers;
    job.segment_frames = args.segment_frames;
    job.frame_timeout_seconds = args.frame_timeout;
    job.load_timeout_seconds = args.load_timeout;
    job.timeline_timeout_seconds = args.timeline_timeout;
    job.format = args.format;
    job.codec = args.codec;
    job.video_bitrate = args.video_bitrate;
    job.gif_loop = args.gif_loop;
    job.alpha = args.alpha;
    job.resolution = args.resolution;
    job.capture_only = args.capture_only;
    job.variables = variables;
    job.strict_variables = args.strict_variables;
    job.allow_missing_assets = args.allow_missing_assets;
    job.browser = args.browser;

    let show_bar = !args.quiet && !args.json && std::io::stderr().is_terminal();
    let bar = ProgressBar::hidden();
    if show_bar {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg:10} [{bar:40}] {pos}/{len} frames  {per_sec}  eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
    }
    let json = args.json;
    let progress = |event: ProgressEvent| {
        if json {
            print_line(&serde_json::to_string(&event).expect("events serialise"));
            return;
        }
        match event {
            ProgressEvent::StageStarted { stage } => {
                bar.set_message(format!("{stage:?}").to_lowercase())
            }
            ProgressEvent::Planned { frames, .. } => bar.set_length(frames),
            ProgressEvent::Frame { done, .. } => bar.set_position(done),
            ProgressEvent::Finished { .. } => bar.finish_and_clear(),
            ProgressEvent::Warning { message } => bar.suspend(|| eprintln!("warning: {message}")),
        }
    };
    let dir = args.dir.display().to_string();
    let result = hf_engine::render_with_cancel(job, progress, cancel)
        .with_context(|| format!("rendering {dir} failed"));
    bar.finish_and_clear();
    let result = result?;
    if !args.quiet && !json {
        print_line(&format!(
            "rendered {} frames ({:.2} s at {} fps) in {:.2} s ({:.1} frames/s) -> {} ({:.1} MB)",
            result.frames,
            result.duration_seconds,
            result.fps,
            result.elapsed_seconds,
            result.frames as f64 / result.elapsed_seconds.max(1e-9),
            result.output.display(),
            result.bytes as f64 / 1e6,
        ));
    }
    Ok(())
}
