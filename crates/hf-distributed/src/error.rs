//! Why a distributed step failed. Every variant has a stable [`DistributedError::code`]; the
//! codes a retry cannot fix are [`DistributedError::is_terminal`].

use hf_core::IoError;
use hf_engine::RenderError;
use std::path::PathBuf;

/// Why `plan`, `render-chunk` or `assemble` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DistributedError {
    /// The render stages failed (compile, probe, capture, encode, assemble).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A file operation failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The output directory or file is taken by something hf did not write.
    #[error("cannot write {path}: {reason}; choose another path")]
    OutputInUse {
        /// The path.
        path: PathBuf,
        /// What is there.
        reason: String,
    },
    /// The plan directory would exceed the size cap.
    #[error("the plan would take {bytes} bytes, over the {limit}-byte cap ({breakdown}); shorten the render, shrink the media, or raise --max-plan-size")]
    PlanTooLarge {
        /// Its size.
        bytes: u64,
        /// The cap.
        limit: u64,
        /// Bytes by part: compiled page, project files, video frames, audio.
        breakdown: String,
    },
    /// The render is longer than a distributed plan takes.
    #[error("the composition lasts {seconds:.1} s; a distributed render takes at most {max:.0} s: render it with hf render, or shorten it")]
    DurationOutOfRange {
        /// Its duration.
        seconds: f64,
        /// The cap.
        max: f64,
    },
    /// The frames are larger than a distributed plan takes.
    #[error("frames of {width}x{height} exceed the {max}x{max} a distributed render takes; lower --resolution")]
    FrameSizeOutOfRange {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// The cap per side.
        max: u32,
    },
    /// A file the plan needs is missing.
    #[error("{path} is missing: {what}; pass the directory `hf plan` wrote, complete")]
    MissingPlanArtifact {
        /// The file.
        path: PathBuf,
        /// What it is.
        what: &'static str,
    },
    /// `plan.json` is not a plan this hf reads.
    #[error("{path} is not an hf plan ({reason}); make it with `hf plan`")]
    PlanFormatUnsupported {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The plan directory's files do not hash to the plan's `planHash`.
    #[error("the plan in {dir} was changed after `hf plan` wrote it (planHash {expected}, its files hash to {actual}); plan again")]
    PlanHashMismatch {
        /// The plan directory.
        dir: PathBuf,
        /// `planHash` in `plan.json`.
        expected: String,
        /// What the files hash to.
        actual: String,
    },
    /// The plan was made by another hf or libav build, whose bytes may differ.
    #[error("the plan was made with {what} {plan}, this is {here}; render every chunk and assemble with the build that planned")]
    VersionMismatch {
        /// `hf` or `libav`.
        what: &'static str,
        /// The planner's.
        plan: String,
        /// This process's.
        here: String,
    },
    /// No chunk index was given.
    #[error("no chunk index: pass --chunk K, or set JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job)")]
    ChunkIndexMissing,
    /// The chunk index is not one of the plan's.
    #[error("chunk {index} is out of range: the plan has chunks 0 to {last}")]
    ChunkIndexOutOfRange {
        /// The index asked for (as given).
        index: String,
        /// The last chunk index.
        last: usize,
    },
    /// A chunk directory holds no readable chunk.
    #[error("{dir} is not a chunk `hf render-chunk` wrote: {reason}")]
    ChunkInvalid {
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A chunk was rendered from another plan.
    #[error("{dir} holds chunk {index} of another plan (planHash {chunk_hash}, this plan is {plan_hash}); render it again from this plan")]
    ChunkFromOtherPlan {
        /// The chunk directory.
        dir: PathBuf,
        /// Its chunk index.
        index: u32,
        /// The planHash it records.
        chunk_hash: String,
        /// This plan's.
        plan_hash: String,
    },
    /// A chunk's file is not what its sidecar says.
    #[error("{dir}: {file} {reason}; render chunk {index} again")]
    ChunkCorrupt {
        /// The chunk directory.
        dir: PathBuf,
        /// Its chunk index.
        index: u32,
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A chunk of the plan is in none of the chunk directories.
    #[error("chunk {index} (frames {first} to {last}) is missing; render it with `hf render-chunk PLAN --chunk {index}` and pass its directory")]
    ChunkMissing {
        /// The chunk index.
        index: u32,
        /// Its first frame.
        first: u64,
        /// Its last frame.
        last: u64,
    },
    /// Two chunk directories hold the same chunk.
    #[error("chunk {index} is given twice ({first} and {second}); pass each chunk once")]
    ChunkDuplicate {
        /// The chunk index.
        index: u32,
        /// One directory.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
}

impl DistributedError {
    /// A stable machine-readable code for the failure.
    pub fn code(&self) -> &'static str {
        match self {
            DistributedError::Render(error) => error.code(),
            DistributedError::Io(_) => "IO_ERROR",
            DistributedError::OutputInUse { .. } => "OUTPUT_NOT_WRITABLE",
            DistributedError::PlanTooLarge { .. } => "PLAN_TOO_LARGE",
            DistributedError::DurationOutOfRange { .. } => "DURATION_OUT_OF_RANGE",
            DistributedError::FrameSizeOutOfRange { .. } => "FRAME_SIZE_OUT_OF_RANGE",
            DistributedError::MissingPlanArtifact { .. } => "MISSING_PLAN_ARTIFACT",
            DistributedError::PlanFormatUnsupported { .. } => "PLAN_FORMAT_UNSUPPORTED",
            DistributedError::PlanHashMismatch { .. } => "PLAN_HASH_MISMATCH",
            DistributedError::VersionMismatch { .. } => "VERSION_MISMATCH",
            DistributedError::ChunkIndexMissing => "CHUNK_INDEX_MISSING",
            DistributedError::ChunkIndexOutOfRange { .. } => "CHUNK_INDEX_OUT_OF_RANGE",
            DistributedError::ChunkInvalid { .. } => "CHUNK_INVALID",
            DistributedError::ChunkFromOtherPlan { .. } => "CHUNK_PLAN_MISMATCH",
            DistributedError::ChunkCorrupt { .. } => "CHUNK_CORRUPT",
            DistributedError::ChunkMissing { .. } => "CHUNK_MISSING",
            DistributedError::ChunkDuplicate { .. } => "CHUNK_DUPLICATE",
        }
    }

    /// Whether retrying the same step with the same inputs cannot help (a scheduler should
    /// fail the job instead of retrying): bad plans, bad chunks, bad input.
    pub fn is_terminal(&self) -> bool {
        !matches!(
            self.code(),
            "IO_ERROR"
                | "CAPTURE_FAILED"
                | "FRAME_TIMEOUT"
                | "BROWSER_LAUNCH_FAILED"
                | "ENCODE_FAILED"
        )
    }
}
