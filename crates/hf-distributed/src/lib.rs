//! Distributed rendering for hf: `plan`, `render-chunk` and `assemble` as separately runnable
//! steps, with a sealed plan directory between them, so any scheduler (Ray, a Kubernetes
//! Indexed Job, an AWS Batch array job) can spread a render over machines and get the file
//! `hf render` writes, byte for byte.
//!
//! - [`plan`]: hf-engine's plan stage once, into a self-contained plan directory
//!   ([`PlanFile`], sealed by its planHash over every byte a worker reads).
//! - [`render_chunk`]: one chunk of the plan, after checking the plan's hash and the hf and
//!   libav builds, into a chunk directory with a sidecar ([`ChunkSidecar`]).
//! - [`assemble`]: every chunk checked against the plan (hash, coverage, piece hashes), then
//!   joined into the output, written atomically.
#![deny(missing_docs)]

mod assemble;
mod chunk;
mod error;
mod files;
mod plan;
mod plan_dir;

pub use assemble::assemble;
pub use chunk::{
    chunk_index, render_chunk, ChunkOptions, ChunkSidecar, ChunkTimings, PieceDigest, CHUNK_FORMAT,
    CHUNK_INDEX_VARS, SIDECAR,
};
pub use error::DistributedError;
pub use plan::{
    plan, Chunking, PlanOptions, DEFAULT_CHUNKS, DEFAULT_MAX_PLAN_BYTES, MAX_DURATION_SECONDS,
    MAX_FRAME_SIDE,
};
pub use plan_dir::{hf_version, read_plan, PlanFile, PlanSize, PLAN_FILE, PLAN_FORMAT};

/// Run `step` on a tokio runtime of its own (for callers without one, like the CLI).
pub fn block_on<T>(step: impl std::future::Future<Output = T>) -> Result<T, DistributedError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| hf_core::IoError::new("start", "the async runtime", e))?;
    Ok(runtime.block_on(step))
}

#[cfg(test)]
mod tests {
    use hf_core::FrameRange;
    use hf_engine::ChunkSpec;

    #[test]
    fn chunk_specs_round_trip_through_bincode() {
        let chunk = ChunkSpec {
            index: 3,
            first_segment: 6,
            segment_count: 2,
            frames: FrameRange::new(180, 60),
        };
        let bytes = bincode::serde::encode_to_vec(chunk, bincode::config::standard()).unwrap();
        let (back, _): (ChunkSpec, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(back, chunk);
    }
}
