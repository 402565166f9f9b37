//! `hf render --batch`: one render per row, a line per row, one result document with `--json`.

use crate::args::RenderArgs;
use crate::report::print_line;
use hf_engine::{render_batch, BatchEvent, BatchJob, ProgressEvent, RenderJob, RowStatus};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Some rows of a batch failed (exit 1; the manifest says which).
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} rows failed; see {manifest}")]
pub(crate) struct BatchFailed {
    failed: usize,
    total: usize,
    manifest: String,
}

/// Render the rows of `batch_path` with the flags of `args`.
pub(crate) fn run(
    args: &RenderArgs,
    batch_path: &Path,
    cancel: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let mut batch = BatchJob::from_file(RenderJob::try_from(args)?, batch_path)?;
    batch.concurrency = args.batch_concurrency.unwrap_or(1) as usize;
    batch.fail_fast = args.batch_fail_fast;
    let (quiet, json) = (args.print.quiet, args.print.json);
    let total = batch.rows.len();
    let events = |event: BatchEvent<'_>| match event {
        BatchEvent::RowStarted(row) if !quiet && !json => print_line(&format!(
            "row {}/{total}: rendering {}",
            row.index + 1,
            row.output_path.display()
        )),
        BatchEvent::Progress(index, ProgressEvent::Warning { message }) if !json => {
            eprintln!("warning: row {index}: {message}")
        }
        BatchEvent::RowFinished(row) if row.status == RowStatus::Failed && !json => eprintln!(
            "row {}/{total} failed: error[{}]: {}",
            row.index + 1,
            row.error_code.as_deref().unwrap_or("ERROR"),
            row.error.as_deref().unwrap_or_default()
        ),
        BatchEvent::RowFinished(row) if !quiet && !json => print_line(&format!(
            "row {}/{total}: rendered in {:.2} s -> {}",
            row.index + 1,
            row.render_time_ms.unwrap_or_default() as f64 / 1000.0,
            row.output_path.display()
        )),
        _ => {}
    };
    let manifest = render_batch(&batch, &events, Arc::clone(&cancel))?;
    if cancel.load(Ordering::Relaxed) {
        anyhow::bail!(
            "the batch was cancelled; finished rows are kept (see {})",
            manifest.manifest_path.display()
        );
    }
    if json {
        let mut document = serde_json::to_value(&manifest).expect("manifest serialises");
        let object = document.as_object_mut().expect("an object");
        object.remove("version");
        object.remove("batchPath");
        let mut line = serde_json::Map::new();
        line.insert("type".into(), "batch-complete".into());
        line.extend(std::mem::take(object));
        print_line(&serde_json::Value::Object(line).to_string());
    } else if !quiet {
        print_line(&format!(
            "batch: {} completed, {} failed, {} skipped -> {}",
            manifest.completed,
            manifest.failed,
            manifest.skipped,
            manifest.manifest_path.display()
        ));
    }
    if manifest.failed > 0 {
        return Err(BatchFailed {
            failed: manifest.failed,
            total,
            manifest: manifest.manifest_path.display().to_string(),
        }
        .into());
    }
    Ok(())
}
