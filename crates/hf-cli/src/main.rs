//! `hf`: render HyperFrames compositions to video. A thin layer over `hf-engine`: parse the
//! command line, install logging, run the command, map the error to an exit code.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool prints

mod args;
mod batch;
mod cache;
mod distributed;
mod doctor;
mod info;
mod lint;
mod preview;
mod report;
mod snapshot;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use hf_distributed::DistributedError;
use hf_engine::{RenderError, RenderJob};
use signal_hook::consts::{SIGINT, SIGTERM};
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
    Render(Box<args::RenderArgs>),
    /// Plan a render into a self-contained plan directory, for `render-chunk` on many machines.
    Plan(Box<distributed::PlanArgs>),
    /// Render one chunk of a plan into a chunk directory.
    RenderChunk(distributed::RenderChunkArgs),
    /// Join a plan's chunks into the output.
    Assemble(distributed::AssembleArgs),
    /// What a project is: size, rate, duration, clips per track, media, fonts, variables.
    Info(Box<info::InfoArgs>),
    /// Every composition of a project (root and sub-compositions) with its timing.
    Compositions(Box<info::InfoArgs>),
    /// Serve the project in a local player (scrub, step frames, edit variables) with live reload.
    Preview(Box<preview::PreviewArgs>),
    /// Static checks that predict a wrong or failed render, with the fix for each.
    Lint(lint::LintArgs),
    /// Check this machine: Chrome, libav encoders, memory, disk, fonts, sandbox.
    Doctor(doctor::DoctorArgs),
    /// Capture PNG stills of chosen frames, as a render captures them.
    Snapshot(Box<snapshot::SnapshotArgs>),
    /// Manage the remote asset cache (scripts, stylesheets and fonts named by URL).
    #[command(subcommand)]
    Cache(cache::CacheCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    install_logging(cli.verbose);
    // SIGINT/SIGTERM set `cancel`; the render stops, cleans up and we exit 130/143.
    let cancel = Arc::new(AtomicBool::new(false));
    let (interrupted, terminated) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    for (signal, flag) in [(SIGINT, &interrupted), (SIGTERM, &terminated)] {
        // A second signal while the first is being handled exits at once (the browsers die
        // with hf; the next render sweeps the work dir).
        let status = if signal == SIGINT { 130 } else { 143 };
        signal_hook::flag::register_conditional_shutdown(signal, status, Arc::clone(flag))
            .expect("signal handler installs");
        signal_hook::flag::register(signal, Arc::clone(&cancel)).expect("signal handler installs");
        signal_hook::flag::register(signal, Arc::clone(flag)).expect("signal handler installs");
    }
    let outcome = match cli.command {
        Command::Render(args) => render(&args, cancel),
        Command::Plan(args) => distributed::plan(&args),
        Command::RenderChunk(args) => distributed::render_chunk(&args, cancel),
        Command::Assemble(args) => distributed::assemble(&args),
        Command::Cache(command) => cache::run(command),
        Command::Snapshot(args) => snapshot::run(&args),
        Command::Info(args) => info::info(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Preview(args) => preview::run(&args, cancel),
        Command::Compositions(args) => info::compositions(&args),
    };
    let Err(error) = outcome else {
        return ExitCode::SUCCESS;
    };
    if terminated.load(Ordering::Relaxed) || interrupted.load(Ordering::Relaxed) {
        eprintln!("error[CANCELLED]: {}", describe(&error));
        return ExitCode::from(if terminated.load(Ordering::Relaxed) {
            143
        } else {
            130
        });
    }
    let distributed = error.downcast_ref::<DistributedError>();
    let code = match (error.downcast_ref::<RenderError>(), distributed) {
        (Some(error), _) => error.code(),
        (_, Some(error)) => error.code(),
        _ if error.is::<batch::BatchFailed>() => "BATCH_FAILED",
        _ if error.is::<lint::LintFailed>() => "LINT_FAILED",
        (None, None) => "ERROR",
    };
    eprintln!("error[{code}]: {}", describe(&error));
    if code == "DISK_FULL" {
        eprintln!(
            "  fix: free space on the output's file system and on the work dir's (TMPDIR, now \
             {}), or point -o or TMPDIR at a larger disk",
            std::env::temp_dir().display()
        );
    }
    // Schedulers retry the distributed steps on 75 (EX_TEMPFAIL) and give up on 1.
    match distributed {
        Some(error) if !error.is_terminal() => ExitCode::from(RETRYABLE_EXIT),
        _ => ExitCode::FAILURE,
    }
}

/// The error and its causes, `: `-separated, leaving out a cause the text already ends with
/// (libav's and the OS's messages are part of hf's own).
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.ends_with(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}

/// The exit code of `plan`, `render-chunk` and `assemble` failures that a retry may fix (a
/// crashed browser, a full disk); every other failure exits 1.
const RETRYABLE_EXIT: u8 = 75;

/// Log to stderr: warnings by default, more with each `-v`; `HF_LOG` overrides.
fn install_logging(verbose: u8) {
    let default_level = match verbose {
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
}

fn render(args: &args::RenderArgs, cancel: Arc<AtomicBool>) -> anyhow::Result<()> {
    if let Some(batch_path) = &args.batch {
        return batch::run(args, batch_path, cancel);
    }
    let job = RenderJob::try_from(args)?;
    let report = report::Report::new(&args.print);
    let dir = args.dir.display().to_string();
    let result = hf_engine::render_with_cancel(job, |event| report.event(event), cancel)
        .with_context(|| format!("rendering {dir} failed"));
    report.finish(result.as_ref().ok());
    result.map(drop)
}
