//! `hf render-chunk`: render one chunk of a sealed plan with this machine's browsers, into a
//! chunk directory of encoded pieces (or frame files) and a sidecar that ties them to the plan.

use crate::files::{commit_dir, file_sha256, scratch_beside};
use crate::plan_dir::{hf_version, read_plan, PlanFile};
use crate::DistributedError;
use hf_core::{captured_frame_name, IoError};
use hf_engine::{ChunkResult, ChunkSpec, ProgressEvent, ProgressSink, RenderPlan, Workers};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// `chunk.json`'s `format`.
pub const CHUNK_FORMAT: &str = "hf-chunk-v1";

/// The sidecar's name in a chunk directory.
pub const SIDECAR: &str = "chunk.json";

/// Environment variables a scheduler sets to a task's index, read (in order) when no chunk
/// index is given: Kubernetes Indexed Jobs, AWS Batch array jobs.
pub const CHUNK_INDEX_VARS: [&str; 2] = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

/// How `hf render-chunk` renders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkOptions {
    /// Browser workers; 0 means auto (cores, memory, the chunk's segments). Default: 0.
    pub workers: u32,
    /// The browser binary. Default: found as `hf render` finds it.
    pub browser: Option<PathBuf>,
}

impl ChunkOptions {
    /// Set the browser workers (0 = auto).
    pub fn workers(mut self, workers: u32) -> Self {
        self.workers = workers;
        self
    }

    /// Set the browser binary.
    pub fn browser(mut self, browser: impl Into<PathBuf>) -> Self {
        self.browser = Some(browser.into());
        self
    }
}

/// One file of a chunk, as its sidecar records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceDigest {
    /// Path relative to the chunk directory.
    pub file: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// sha256 of its bytes, hex.
    pub sha256: String,
}

/// Where a chunk's time went, from the start of `render-chunk`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkTimings {
    /// Reading the plan and checking its hash.
    pub verify: Duration,
    /// Until every browser had the page loaded.
    pub browsers_ready: Duration,
    /// Until the first frame was captured: the chunk's fixed cost.
    pub first_frame: Option<Duration>,
    /// The whole step.
    pub total: Duration,
}

/// `chunk.json`: what a chunk holds and which plan it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkSidecar {
    /// [`CHUNK_FORMAT`].
    pub format: String,
    /// The planHash of the plan it was rendered from.
    pub plan_hash: String,
    /// The hf build that rendered it.
    pub hf_version: String,
    /// The chunk.
    pub chunk: ChunkSpec,
    /// What rendering it produced (segment files, frame counts).
    pub result: ChunkResult,
    /// Every file of the chunk with its hash.
    pub pieces: Vec<PieceDigest>,
    /// Where the time went.
    pub timings: ChunkTimings,
}

/// The chunk index: `index` when given, else the first of [`CHUNK_INDEX_VARS`] that is set.
pub fn chunk_index(index: Option<&str>) -> Result<String, DistributedError> {
    if let Some(index) = index {
        return Ok(index.to_string());
    }
    CHUNK_INDEX_VARS
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()))
        .ok_or(DistributedError::ChunkIndexMissing)
}

/// Render chunk `index` of the plan in `plan_dir` into the directory `out` (new, empty, or an
/// earlier render of a chunk: a retry replaces it with the same bytes). It is built beside
/// `out` in a directory of its own and renamed into place when complete.
pub async fn render_chunk(
    plan_dir: &Path,
    index: &str,
    out: &Path,
    options: &ChunkOptions,
    progress: &mut dyn ProgressSink,
    cancel: &AtomicBool,
) -> Result<ChunkSidecar, DistributedError> {
    let started = Instant::now();
    let file = read_plan(plan_dir)?;
    let chunk = file.chunk(index)?;
    let verify = started.elapsed();
    let built = scratch_beside(out)?;
    let rendered = render_into(&file, plan_dir, chunk, &built, options, progress, cancel).await;
    let committed = rendered.and_then(|(result, mut timings)| {
        timings.verify = verify;
        timings.total = started.elapsed();
        let sidecar = seal(&file, chunk, result, timings, &built)?;
        commit_dir(&built, out, |d| d.join(SIDECAR).is_file())?;
        Ok(sidecar)
    });
    if committed.is_err() {
        let _ = std::fs::remove_dir_all(&built);
    }
    committed
}

/// Start the browsers and render the chunk's segments into `built`.
async fn render_into(
    file: &PlanFile,
    plan_dir: &Path,
    chunk: ChunkSpec,
    built: &Path,
    options: &ChunkOptions,
    progress: &mut dyn ProgressSink,
    cancel: &AtomicBool,
) -> Result<(ChunkResult, ChunkTimings), DistributedError> {
    let started = Instant::now();
    let browsers = built.join(".browsers");
    let count = match options.workers {
        0 => Workers::auto_count(chunk.segment_count),
        n => n.min(chunk.segment_count as u32),
    };
    let workers = Workers::start(
        &file.plan,
        plan_dir,
        &browsers,
        options.browser.as_deref(),
        count,
    )
    .await?;
    let mut timings = ChunkTimings {
        browsers_ready: started.elapsed(),
        ..ChunkTimings::default()
    };
    let mut tracked = |event: ProgressEvent| {
        if matches!(event, ProgressEvent::Frame { .. }) && timings.first_frame.is_none() {
            timings.first_frame = Some(started.elapsed());
        }
        progress.event(event);
    };
    let mut plan = file.plan.clone();
    plan.locate_sources(plan_dir);
    let result =
        hf_engine::render_chunk(&plan, built, &chunk, workers, &mut tracked, cancel).await?;
    std::fs::remove_dir_all(&browsers).map_err(IoError::with("remove", &browsers))?;
    Ok((result, timings))
}

/// Hash the chunk's files and write its sidecar.
fn seal(
    file: &PlanFile,
    chunk: ChunkSpec,
    result: ChunkResult,
    timings: ChunkTimings,
    built: &Path,
) -> Result<ChunkSidecar, DistributedError> {
    let pieces = piece_files(&file.plan, &result)
        .into_iter()
        .map(|relative| digest(built, relative))
        .collect::<Result<Vec<_>, IoError>>()?;
    let sidecar = ChunkSidecar {
        format: CHUNK_FORMAT.to_string(),
        plan_hash: file.plan_hash.clone(),
        hf_version: hf_version(),
        chunk,
        result,
        pieces,
        timings,
    };
    let path = built.join(SIDECAR);
    let text = serde_json::to_string_pretty(&sidecar).expect("a sidecar serialises");
    std::fs::write(&path, text).map_err(IoError::with("write", &path))?;
    Ok(sidecar)
}

/// The files a chunk consists of, relative to its directory: its encoded segments, or for
/// outputs made from frame files, its frames.
pub(crate) fn piece_files(plan: &RenderPlan, result: &ChunkResult) -> Vec<PathBuf> {
    match plan.frames_dir() {
        Some(frames) => result
            .chunk
            .frames
            .indices()
            .map(|index| frames.join(captured_frame_name(index, plan.capture.image_format)))
            .collect(),
        None => result
            .segments
            .iter()
            .filter_map(|piece| piece.file.clone())
            .collect(),
    }
}

fn digest(dir: &Path, relative: PathBuf) -> Result<PieceDigest, IoError> {
    let path = dir.join(&relative);
    let bytes = std::fs::metadata(&path)
        .map_err(IoError::with("read", &path))?
        .len();
    Ok(PieceDigest {
        sha256: file_sha256(&path)?,
        file: relative,
        bytes,
    })
}
