//! Batch renders (`--batch`): one render of the same project per row of variables, outputs
//! named by a template, a manifest kept up to date as rows run (HyperFrames' batch format).
//!
//! Rows share what a render caches by content: remote assets and extracted video frames are
//! fetched and extracted by the first row that needs them and reused by the rest.

use crate::{render_with_cancel, ProgressEvent, RenderError, RenderJob};
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One row: the variable values of one render.
pub type BatchRow = Map<String, Value>;

/// A batch: the project's job (its `output` is the template) and the rows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchJob {
    /// The render every row shares; `variables` is replaced by each row, `output` is the
    /// template (`{index}` and `{key}` placeholders; default
    /// `renders/<project>_<timestamp>_{index}.<ext>`).
    pub job: RenderJob,
    /// The batch file (named in the manifest and in errors).
    pub batch_path: PathBuf,
    /// The rows, in order.
    pub rows: Vec<BatchRow>,
    /// Rows rendered at once (at least 1).
    pub concurrency: usize,
    /// After the first failure, start no more rows (the rest are skipped).
    pub fail_fast: bool,
}

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// Not started.
    Pending,
    /// Rendering.
    Running,
    /// Rendered.
    Completed,
    /// Its render failed.
    Failed,
    /// Not started because an earlier row failed under `fail_fast` (or the batch was cancelled).
    Skipped,
}

/// A row in the manifest.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowRecord {
    /// 0-based row number.
    pub index: usize,
    /// The row's output, absolute.
    pub output_path: PathBuf,
    /// Where it stands.
    pub status: RowStatus,
    /// The rendered video's duration in milliseconds.
    pub duration_ms: Option<u64>,
    /// Wall time of the row's render in milliseconds.
    pub render_time_ms: Option<u64>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// The failure's `error[CODE]`.
    pub error_code: Option<String>,
    /// ISO 8601 start time.
    pub started_at: Option<String>,
    /// ISO 8601 end time.
    pub completed_at: Option<String>,
    /// The row's variables.
    pub variables: BatchRow,
}

/// The manifest (`manifest.json` in the deepest directory holding every output), rewritten on
/// every change of a row's status.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchManifest {
    /// Format version: 1.
    pub version: u32,
    /// The batch file.
    pub batch_path: PathBuf,
    /// Where this manifest is written.
    pub manifest_path: PathBuf,
    /// Rows in the batch.
    pub total: usize,
    /// Rows rendered.
    pub completed: usize,
    /// Rows that failed.
    pub failed: usize,
    /// Rows not started.
    pub skipped: usize,
    /// Every row.
    pub rows: Vec<RowRecord>,
}

/// What a batch reports while it runs.
#[derive(Debug)]
pub enum BatchEvent<'a> {
    /// A row's render started.
    RowStarted(&'a RowRecord),
    /// A progress event of a row's render.
    Progress(usize, ProgressEvent),
    /// A row completed or failed.
    RowFinished(&'a RowRecord),
}

impl BatchJob {
    /// A batch of `job` over the rows of the JSON file `batch_path`: an array of objects, or
    /// `{"rows": [...]}`.
    pub fn from_file(job: RenderJob, batch_path: &Path) -> Result<Self, RenderError> {
        let text = std::fs::read_to_string(batch_path).map_err(|e| {
            invalid(
                batch_path,
                format!("cannot be read ({e}); pass a JSON file of rows"),
            )
        })?;
        Ok(BatchJob {
            job,
            batch_path: batch_path.to_path_buf(),
            rows: parse_rows(&text, batch_path)?,
            concurrency: 1,
            fail_fast: false,
        })
    }

    /// Each row's output path (absolute) and the manifest's path; two rows on one path, or a
    /// row on the manifest, is an error naming them.
    pub fn outputs(&self) -> Result<(Vec<PathBuf>, PathBuf), RenderError> {
        let template = match &self.job.output {
            Some(path) => path.to_string_lossy().into_owned(),
            None => default_template(&self.job),
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut outputs = Vec::with_capacity(self.rows.len());
        for (index, row) in self.rows.iter().enumerate() {
            let path = fill_template(&template, row, index)
                .map_err(|reason| invalid(&self.batch_path, reason))?;
            outputs.push(lexical_absolute(&cwd.join(path)));
        }
        let manifest = common_directory(&outputs).join("manifest.json");
        check_collisions(&outputs, &manifest)
            .map_err(|reason| invalid(&self.batch_path, reason))?;
        Ok((outputs, manifest))
    }
}

fn invalid(path: &Path, reason: String) -> RenderError {
    RenderError::InvalidBatch {
        path: path.to_path_buf(),
        reason,
    }
}

/// The rows of a batch file.
fn parse_rows(text: &str, path: &Path) -> Result<Vec<BatchRow>, RenderError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| invalid(path, format!("is not valid JSON ({e})")))?;
    let not_rows = || {
        invalid(
            path,
            "must be a JSON array of objects, or an object with a \"rows\" array".into(),
        )
    };
    let rows = match value {
        Value::Array(rows) => rows,
        Value::Object(mut object) => match object.remove("rows") {
            Some(Value::Array(rows)) => rows,
            _ => return Err(not_rows()),
        },
        _ => return Err(not_rows()),
    };
    if rows.is_empty() {
        return Err(invalid(
            path,
            "contains zero rows; give an array of variable objects such as [{\"title\":\"A\"}]"
                .into(),
        ));
    }
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| match row {
            Value::Object(map) => Ok(map),
            _ => Err(invalid(
                path,
                format!("row {index} must be a JSON object of variable values"),
            )),
        })
        .collect()
}

/// `renders/<project>_<timestamp>_{index}.<ext>`.
fn default_template(job: &RenderJob) -> String {
    let single = crate::workdir::default_output(job);
    let stem = single
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = match job.format.extension() {
        "" => format!("{stem}_{{index}}"),
        extension => format!("{stem}_{{index}}.{extension}"),
    };
    single.with_file_name(file).to_string_lossy().into_owned()
}

/// The template with `{index}` and `{key}` placeholders filled from `row`.
fn fill_template(template: &str, row: &BatchRow, index: usize) -> Result<String, String> {
    let placeholder = regex::Regex::new(r"\{([A-Za-z0-9_.-]+)\}").expect("valid pattern");
    let mut failure = None;
    let filled = placeholder.replace_all(template, |captures: &regex::Captures<'_>| {
        let key = &captures[1];
        if key == "index" {
            return index.to_string();
        }
        match row.get(key) {
            Some(Value::String(text)) => text.clone(),
            Some(value @ (Value::Number(_) | Value::Bool(_))) => value.to_string(),
            Some(_) => {
                failure.get_or_insert(format!(
                    "placeholder {{{key}}} in row {index} must resolve to a string, number, or boolean"
                ));
                String::new()
            }
            None => {
                failure.get_or_insert(format!(
                    "has no value for the output placeholder {{{key}}} in row {index}; add \"{key}\" to the row or use {{index}}"
                ));
                String::new()
            }
        }
    });
    match failure {
        Some(reason) => Err(reason),
        None => Ok(filled.into_owned()),
    }
}

/// `path` with `.` and `..` resolved without touching the file system.
fn lexical_absolute(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The deepest directory holding every path.
fn common_directory(paths: &[PathBuf]) -> PathBuf {
    let mut common = paths
        .first()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for path in &paths[1..] {
        while !path.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

fn check_collisions(outputs: &[PathBuf], manifest: &Path) -> Result<(), String> {
    for (index, output) in outputs.iter().enumerate() {
        if let Some(previous) = outputs[..index].iter().position(|o| o == output) {
            return Err(format!(
                "rows {previous} and {index} both resolve to {}; use placeholders such as {{index}} or a unique row key in --output",
                output.display()
            ));
        }
        if output == manifest {
            return Err(format!(
                "row {index} resolves to the manifest path {}",
                manifest.display()
            ));
        }
    }
    Ok(())
}

/// Render every row of `batch`: `concurrency` rows at a time, in row order; the manifest is
/// rewritten at every change. A failed row does not stop the batch (unless `fail_fast`); the
/// result says which rows failed. `cancel` stops running rows and skips the rest.
pub fn render_batch(
    batch: &BatchJob,
    events: &(dyn Fn(BatchEvent<'_>) + Sync),
    cancel: Arc<AtomicBool>,
) -> Result<BatchManifest, RenderError> {
    if batch.concurrency == 0 {
        return Err(RenderError::InvalidOption {
            what: "batch concurrency",
            value: "0".into(),
            expected: "a number of rows rendered at once, from 1",
        });
    }
    batch.job.validate()?;
    let (outputs, manifest_path) = batch.outputs()?;
    let manifest = Mutex::new(BatchManifest {
        version: 1,
        batch_path: batch.batch_path.clone(),
        manifest_path,
        total: batch.rows.len(),
        completed: 0,
        failed: 0,
        skipped: 0,
        rows: outputs
            .into_iter()
            .zip(&batch.rows)
            .enumerate()
            .map(|(index, (output_path, variables))| RowRecord {
                index,
                output_path,
                status: RowStatus::Pending,
                duration_ms: None,
                render_time_ms: None,
                error: None,
                error_code: None,
                started_at: None,
                completed_at: None,
                variables: variables.clone(),
            })
            .collect(),
    });
    write_manifest(&manifest)?;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..batch.concurrency.min(batch.rows.len()) {
            scope.spawn(|| loop {
                if stop.load(Ordering::SeqCst) || cancel.load(Ordering::SeqCst) {
                    return;
                }
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= batch.rows.len() {
                    return;
                }
                let ok = render_row(batch, index, &manifest, events, &cancel);
                if !ok && batch.fail_fast {
                    stop.store(true, Ordering::SeqCst);
                }
            });
        }
    });
    let reason = if cancel.load(Ordering::SeqCst) {
        "Skipped: the batch was cancelled."
    } else {
        "Skipped after --batch-fail-fast."
    };
    {
        let mut manifest = manifest.lock().expect("manifest lock");
        for row in manifest.rows.iter_mut() {
            if row.status == RowStatus::Pending {
                row.status = RowStatus::Skipped;
                row.error = Some(reason.into());
                row.completed_at = Some(now());
            }
        }
    }
    write_manifest(&manifest)?;
    Ok(manifest.into_inner().expect("manifest lock"))
}

/// Render row `index`; `false` when it failed.
fn render_row(
    batch: &BatchJob,
    index: usize,
    manifest: &Mutex<BatchManifest>,
    events: &(dyn Fn(BatchEvent<'_>) + Sync),
    cancel: &Arc<AtomicBool>,
) -> bool {
    let output = update(manifest, index, events, |row| {
        row.status = RowStatus::Running;
        row.started_at = Some(now());
        row.output_path.clone()
    });
    let mut job = batch.job.clone();
    job.output = Some(output);
    job.variables = Some(batch.rows[index].clone());
    let started = Instant::now();
    let result = render_with_cancel(
        job,
        |event| events(BatchEvent::Progress(index, event)),
        Arc::clone(cancel),
    );
    let elapsed = started.elapsed().as_millis() as u64;
    update(manifest, index, events, |row| {
        row.render_time_ms = Some(elapsed);
        row.completed_at = Some(now());
        match &result {
            Ok(result) => {
                row.status = RowStatus::Completed;
                row.duration_ms = Some((result.duration_seconds * 1000.0).round() as u64);
            }
            Err(error) => {
                row.status = RowStatus::Failed;
                row.error = Some(error.to_string());
                row.error_code = Some(error.code().into());
            }
        }
    });
    result.is_ok()
}

/// Change row `index`, rewrite the manifest and report the row.
fn update<T>(
    manifest: &Mutex<BatchManifest>,
    index: usize,
    events: &(dyn Fn(BatchEvent<'_>) + Sync),
    change: impl FnOnce(&mut RowRecord) -> T,
) -> T {
    let mut guard = manifest.lock().expect("manifest lock");
    let value = change(&mut guard.rows[index]);
    let row = &guard.rows[index];
    events(match row.status {
        RowStatus::Running => BatchEvent::RowStarted(row),
        _ => BatchEvent::RowFinished(row),
    });
    drop(guard);
    if let Err(error) = write_manifest(manifest) {
        tracing::warn!("batch manifest not written: {error}");
    }
    value
}

/// Count the rows by status and write the manifest (beside, then renamed into place).
fn write_manifest(manifest: &Mutex<BatchManifest>) -> Result<(), RenderError> {
    let mut manifest = manifest.lock().expect("manifest lock");
    let count = |status| manifest.rows.iter().filter(|r| r.status == status).count();
    (manifest.completed, manifest.failed, manifest.skipped) = (
        count(RowStatus::Completed),
        count(RowStatus::Failed),
        count(RowStatus::Skipped),
    );
    let path = manifest.manifest_path.clone();
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(hf_core::IoError::with("create", dir))?;
    let text = serde_json::to_string_pretty(&*manifest).expect("manifest serialises") + "\n";
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, text).map_err(hf_core::IoError::with("write", &partial))?;
    std::fs::rename(&partial, &path).map_err(hf_core::IoError::with("rename", &partial))?;
    Ok(())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<BatchRow>, String> {
        parse_rows(text, Path::new("rows.json")).map_err(|e| e.to_string())
    }

    #[test]
    fn rows_are_an_array_or_a_rows_object_of_objects() {
        assert_eq!(rows(r#"[{"a":1},{}]"#).unwrap().len(), 2);
        assert_eq!(rows(r#"{"rows":[{"a":1}]}"#).unwrap()[0]["a"], 1);
        assert_eq!(
            rows("[]").unwrap_err(),
            "batch rows.json contains zero rows; give an array of variable objects such as [{\"title\":\"A\"}]"
        );
        assert_eq!(
            rows(r#"[{"a":1}, 3]"#).unwrap_err(),
            "batch rows.json row 1 must be a JSON object of variable values"
        );
        assert!(rows(r#"{"row":[]}"#)
            .unwrap_err()
            .ends_with("an object with a \"rows\" array"));
        assert!(rows("[")
            .unwrap_err()
            .starts_with("batch rows.json is not valid JSON"));
    }

    #[test]
    fn templates_fill_index_and_row_keys() {
        let row = rows(r#"[{"name":"ada","n":2,"ok":true,"list":[1]}]"#)
            .unwrap()
            .remove(0);
        assert_eq!(
            fill_template("out/{name}-{n}-{ok}-{index}.mp4", &row, 7).unwrap(),
            "out/ada-2-true-7.mp4"
        );
        assert_eq!(
            fill_template("{missing}.mp4", &row, 0).unwrap_err(),
            "has no value for the output placeholder {missing} in row 0; add \"missing\" to the row or use {index}"
        );
        assert_eq!(
            fill_template("{list}.mp4", &row, 3).unwrap_err(),
            "placeholder {list} in row 3 must resolve to a string, number, or boolean"
        );
    }

    #[test]
    fn two_rows_on_one_path_are_refused_and_the_manifest_sits_above_all_outputs() {
        let mut batch = BatchJob {
            job: RenderJob::new("p").output("/tmp/b/{team}/clip.mp4"),
            batch_path: "rows.json".into(),
            rows: rows(r#"[{"team":"a"},{"team":"b/c"}]"#).unwrap(),
            concurrency: 1,
            fail_fast: false,
        };
        let (outputs, manifest) = batch.outputs().unwrap();
        assert_eq!(outputs[1], Path::new("/tmp/b/b/c/clip.mp4"));
        assert_eq!(manifest, Path::new("/tmp/b/manifest.json"));
        batch.rows = rows(r#"[{"team":"a"},{"team":"b"},{"team":"a"}]"#).unwrap();
        assert_eq!(
            batch.outputs().unwrap_err().to_string(),
            "batch rows.json rows 0 and 2 both resolve to /tmp/b/a/clip.mp4; use placeholders such as {index} or a unique row key in --output"
        );
        batch.job.output = Some("/tmp/b/manifest.json".into());
        batch.rows.truncate(1);
        assert!(batch
            .outputs()
            .unwrap_err()
            .to_string()
            .contains("row 0 resolves to the manifest path"));
    }
}
