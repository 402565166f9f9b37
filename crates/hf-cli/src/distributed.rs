//! `hf plan`, `hf render-chunk` and `hf assemble`: one render in three steps, for schedulers
//! that spread the chunks over machines. Thin: the work is in hf-distributed.

use crate::args::{parse_workers, JobArgs, PrintArgs};
use crate::report::Report;
use anyhow::Context as _;
use clap::Args;
use hf_distributed::{ChunkOptions, Chunking, PlanOptions};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// `hf plan`.
#[derive(Args)]
pub(crate) struct PlanArgs {
    /// Project directory holding index.html.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The plan directory to write (new, empty, or an earlier plan).
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    job: JobArgs,
    /// Chunks to cut the render into, whole segments each [default: 16, or one per segment].
    #[arg(long, conflicts_with = "chunk_frames", value_parser = clap::value_parser!(u64).range(1..))]
    chunks: Option<u64>,
    /// Frames per chunk, rounded to whole segments of the grid.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    chunk_frames: Option<u64>,
    /// The largest plan directory allowed: bytes, or with k, M or G.
    #[arg(long, default_value = "2G", value_parser = parse_size)]
    max_plan_size: u64,
    #[command(flatten)]
    print: PrintArgs,
}

/// `hf render-chunk`.
#[derive(Args)]
pub(crate) struct RenderChunkArgs {
    /// The plan directory `hf plan` wrote.
    plan: PathBuf,
    /// The chunk to render [default: $JOB_COMPLETION_INDEX, else $AWS_BATCH_JOB_ARRAY_INDEX].
    #[arg(long)]
    chunk: Option<String>,
    /// The chunk directory to write (new, empty, or an earlier render of a chunk).
    #[arg(short, long)]
    output: PathBuf,
    /// Browser workers: a number, or auto (cores, memory and the chunk's segments decide).
    #[arg(short, long, default_value = "auto", value_parser = parse_workers)]
    workers: u32,
    /// Browser binary [default: $HF_BROWSER_PATH, then Debian's chromium-headless-shell].
    #[arg(long)]
    browser: Option<PathBuf>,
    #[command(flatten)]
    print: PrintArgs,
}

/// `hf assemble`.
#[derive(Args)]
pub(crate) struct AssembleArgs {
    /// The plan directory `hf plan` wrote.
    plan: PathBuf,
    /// Every chunk directory `hf render-chunk` wrote, in any order.
    #[arg(required = true)]
    chunks: Vec<PathBuf>,
    /// The output file (a directory for png-sequence).
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    print: PrintArgs,
}

/// Parse a size: `2G`, `500M`, `100k` or bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("invalid size `{text}`: use bytes, or a number with k, M or G");
    let trimmed = text.trim();
    let (number, scale) = match trimmed.char_indices().last() {
        Some((i, 'k' | 'K')) => (&trimmed[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&trimmed[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&trimmed[..i], 1 << 30),
        _ => (trimmed, 1),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    if !(value > 0.0 && value.is_finite()) {
        return Err(bad());
    }
    Ok((value * scale as f64) as u64)
}

/// `hf plan DIR -o PLAN_DIR`.
pub(crate) fn plan(args: &PlanArgs) -> anyhow::Result<()> {
    let job = args.job.job(&args.dir)?;
    let chunking = match (args.chunks, args.chunk_frames) {
        (Some(count), _) => Chunking::Count(count as usize),
        (None, Some(frames)) => Chunking::Frames(frames),
        (None, None) => PlanOptions::default().chunking,
    };
    let options = PlanOptions::default()
        .chunking(chunking)
        .max_plan_bytes(args.max_plan_size);
    let report = Report::new(&args.print);
    let mut progress = |event| report.event(event);
    let planned = hf_distributed::block_on(hf_distributed::plan(
        &job,
        &args.output,
        &options,
        &mut progress,
    ))?
    .with_context(|| format!("planning {} failed", args.dir.display()));
    report.finish(None);
    let file = planned?;
    let summary = serde_json::json!({
        "event": "planned",
        "planHash": file.plan_hash,
        "chunks": file.chunks.len(),
        "frames": file.plan.frames,
        "bytes": file.size.total(),
        "dir": args.output,
    });
    report.summary(&summary, || {
        format!(
            "planned {} frames in {} chunks (planHash {}) -> {} ({:.1} MB)",
            file.plan.frames,
            file.chunks.len(),
            &file.plan_hash[..12],
            args.output.display(),
            file.size.total() as f64 / 1e6
        )
    });
    Ok(())
}

/// `hf render-chunk PLAN_DIR --chunk K -o CHUNK_DIR`.
pub(crate) fn render_chunk(args: &RenderChunkArgs, cancel: Arc<AtomicBool>) -> anyhow::Result<()> {
    let index = hf_distributed::chunk_index(args.chunk.as_deref())?;
    let mut options = ChunkOptions::default().workers(args.workers);
    if let Some(browser) = &args.browser {
        options = options.browser(browser);
    }
    let report = Report::new(&args.print);
    let mut progress = |event| report.event(event);
    let rendered = hf_distributed::block_on(hf_distributed::render_chunk(
        &args.plan,
        &index,
        &args.output,
        &options,
        &mut progress,
        &cancel,
    ))?
    .with_context(|| format!("rendering chunk {index} of {} failed", args.plan.display()));
    report.finish(None);
    let sidecar = rendered?;
    let frames = sidecar.chunk.frames;
    let summary = serde_json::json!({
        "event": "chunk-rendered",
        "chunk": sidecar.chunk,
        "timings": sidecar.timings,
        "workers": sidecar.result.workers,
        "dir": args.output,
    });
    report.summary(&summary, || {
        format!(
            "rendered chunk {} (frames {} to {}) in {:.2} s -> {}",
            sidecar.chunk.index,
            frames.first,
            frames.end().saturating_sub(1),
            sidecar.timings.total.as_secs_f64(),
            args.output.display()
        )
    });
    Ok(())
}

/// `hf assemble PLAN_DIR CHUNK_DIR... -o OUT`.
pub(crate) fn assemble(args: &AssembleArgs) -> anyhow::Result<()> {
    let report = Report::new(&args.print);
    let started = std::time::Instant::now();
    let assembled = hf_distributed::assemble(&args.plan, &args.chunks, &args.output)
        .with_context(|| format!("assembling {} failed", args.output.display()))?;
    let summary = serde_json::json!({
        "event": "assembled",
        "output": assembled.path,
        "frames": assembled.frames,
        "bytes": assembled.bytes,
        "seconds": started.elapsed().as_secs_f64(),
    });
    report.summary(&summary, || {
        format!(
            "assembled {} frames ({:.2} s) in {:.2} s -> {} ({:.1} MB)",
            assembled.frames,
            assembled.duration_seconds,
            started.elapsed().as_secs_f64(),
            assembled.path.display(),
            assembled.bytes as f64 / 1e6
        )
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("lots").is_err());
    }
}
