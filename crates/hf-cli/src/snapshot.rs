//! `hf snapshot`: PNG stills of chosen frames, captured as a render captures them.

use crate::args::JobArgs;
use crate::report::print_line;
use clap::Args;
use hf_engine::{ProgressEvent, SnapshotFrames};
use std::path::PathBuf;

/// The flags of `hf snapshot`.
#[derive(Args)]
pub(crate) struct SnapshotArgs {
    /// Project directory holding index.html.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where the PNGs go [default: DIR/snapshots].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Times in seconds, comma-separated (each snapped to the frame that shows it).
    #[arg(long, value_delimiter = ',', conflicts_with = "range")]
    at: Vec<f64>,
    /// How many stills, evenly spaced (over --range when given) [default: 5].
    #[arg(long, value_name = "N")]
    frames: Option<u32>,
    /// Sample --frames stills between two times in seconds: A-B or A,B.
    #[arg(long, value_name = "A-B", value_parser = parse_range)]
    range: Option<(f64, f64)>,
    #[command(flatten)]
    job: JobArgs,
}

fn parse_range(value: &str) -> Result<(f64, f64), String> {
    let (a, b) = value
        .split_once(',')
        .or_else(|| value.split_once('-'))
        .ok_or_else(|| format!("invalid range `{value}`: use START-END in seconds, e.g. 1-2.5"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .map_err(|_| format!("invalid range `{value}`: use START-END in seconds, e.g. 1-2.5"))
    };
    match (number(a)?, number(b)?) {
        (a, b) if a >= 0.0 && b >= a => Ok((a, b)),
        _ => Err(format!(
            "invalid range `{value}`: START must be at most END, both from 0"
        )),
    }
}

/// Capture the stills and print where they went.
pub(crate) fn run(args: &SnapshotArgs) -> anyhow::Result<()> {
    let job = args.job.job(&args.dir)?;
    let count = args.frames.unwrap_or(5);
    let frames = match (args.at.is_empty(), args.range) {
        (false, _) => SnapshotFrames::At(args.at.clone()),
        (true, Some((start, end))) => SnapshotFrames::Range { start, end, count },
        (true, None) => SnapshotFrames::Count(count),
    };
    let out_dir = args
        .output
        .clone()
        .unwrap_or_else(|| args.dir.join("snapshots"));
    let snapshot = hf_engine::snapshot(job, &frames, out_dir, |event| {
        if let ProgressEvent::Warning { message } = event {
            eprintln!("warning: {message}");
        }
    })?;
    for still in &snapshot.stills {
        print_line(&format!(
            "frame {} ({:.3} s) -> {}",
            still.frame,
            still.seconds,
            still.path.display()
        ));
    }
    print_line(&format!(
        "{} still(s); the first after {:.2} s",
        snapshot.stills.len(),
        snapshot.first_still_seconds
    ));
    Ok(())
}
