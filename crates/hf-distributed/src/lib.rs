//! Distributed rendering for hf: `plan`, `render-chunk` and `assemble` as separately runnable
//! steps over a content-addressed plan directory.
//!
//! This crate currently holds only the chunk description; the plan format and the commands
//! arrive with the distributed issue.
#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

/// One chunk of a distributed render: a contiguous run of frames on the segment grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSpec {
    /// Chunk number, from 0.
    pub index: u32,
    /// Render index of the chunk's first frame.
    pub first_frame: u64,
    /// Frames in the chunk.
    pub frame_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_specs_round_trip_through_bincode() {
        let chunk = ChunkSpec {
            index: 3,
            first_frame: 180,
            frame_count: 60,
        };
        let bytes = bincode::serde::encode_to_vec(chunk, bincode::config::standard()).unwrap();
        let (back, _): (ChunkSpec, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(back, chunk);
    }
}
