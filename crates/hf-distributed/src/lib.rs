//! Distributed rendering for hf: `plan`, `render-chunk` and `assemble` as separately runnable
//! steps over a content-addressed plan directory.
//!
//! The steps are hf-engine's stages ([`plan_stage`], [`render_chunk`], [`assemble_stage`])
//! run in separate processes, with the [`RenderPlan`] and the [`ChunkSpec`]s travelling between
//! them; the plan-directory format and the commands arrive with the distributed issue.
#![deny(missing_docs)]

pub use hf_engine::{assemble_stage, plan_stage, render_chunk, ChunkResult, ChunkSpec, RenderPlan};

#[cfg(test)]
mod tests {
    use super::*;
    use hf_core::FrameRange;

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
