//! `hf assemble`: check that a set of chunk directories is exactly the plan's chunks, whole
//! and rendered from this plan, then join them into the output (atomically).

use crate::chunk::{ChunkSidecar, CHUNK_FORMAT, SIDECAR};
use crate::files::file_sha256;
use crate::plan_dir::{read_plan, PlanFile};
use crate::DistributedError;
use hf_engine::{Assembled, ChunkDir};
use std::path::{Path, PathBuf};

/// Join the chunks in `chunk_dirs` (any order) of the plan in `plan_dir` into `output`.
///
/// Before anything is written: every chunk's sidecar names this plan's hash and one of its
/// chunks, every chunk is there exactly once, every piece has the size and hash its sidecar
/// records (and a video piece the frames, starting on a keyframe); the plan itself is checked
/// as [`read_plan`] does (the audio mix is there when the plan has sound). The output appears
/// by rename only when complete; chunk directories are left as they were, so an assemble can
/// be run again.
pub fn assemble(
    plan_dir: &Path,
    chunk_dirs: &[PathBuf],
    output: &Path,
) -> Result<Assembled, DistributedError> {
    let _span = tracing::info_span!("assemble", output = %output.display()).entered();
    let file = read_plan(plan_dir)?;
    let mut chunks = Vec::with_capacity(chunk_dirs.len());
    for dir in chunk_dirs {
        chunks.push((dir.clone(), read_chunk(&file, dir)?));
    }
    let chunks = in_plan_order(&file, chunks)?;
    let mut plan = file.plan.clone();
    plan.output.path = output.to_path_buf();
    let dirs: Vec<ChunkDir<'_>> = chunks
        .iter()
        .map(|(dir, sidecar)| ChunkDir {
            dir,
            result: &sidecar.result,
        })
        .collect();
    Ok(hf_engine::assemble_stage(&plan, plan_dir, &dirs, true)?)
}

/// Read and check the sidecar of the chunk in `dir`: this plan, one of its chunks, its
/// pieces whole.
fn read_chunk(file: &PlanFile, dir: &Path) -> Result<ChunkSidecar, DistributedError> {
    let invalid = |reason: String| DistributedError::ChunkInvalid {
        dir: dir.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(dir.join(SIDECAR))
        .map_err(|e| invalid(format!("no readable {SIDECAR} ({e})")))?;
    let sidecar: ChunkSidecar =
        serde_json::from_str(&text).map_err(|e| invalid(format!("{SIDECAR} is not valid: {e}")))?;
    if sidecar.format != CHUNK_FORMAT {
        return Err(invalid(format!(
            "format {}, this hf reads {CHUNK_FORMAT}",
            sidecar.format
        )));
    }
    let index = sidecar.chunk.index;
    let from_other_plan = || DistributedError::ChunkFromOtherPlan {
        dir: dir.to_path_buf(),
        index,
        chunk_hash: sidecar.plan_hash.clone(),
        plan_hash: file.plan_hash.clone(),
    };
    if sidecar.plan_hash != file.plan_hash
        || file.chunks.get(index as usize) != Some(&sidecar.chunk)
        || sidecar.result.chunk != sidecar.chunk
    {
        return Err(from_other_plan());
    }
    for piece in &sidecar.pieces {
        check_piece(dir, index, piece, &sidecar)?;
    }
    Ok(sidecar)
}

/// A piece has the size and hash its sidecar records; a video piece holds its segment's
/// frames and starts on a keyframe.
fn check_piece(
    dir: &Path,
    index: u32,
    piece: &crate::PieceDigest,
    sidecar: &ChunkSidecar,
) -> Result<(), DistributedError> {
    let corrupt = |reason: String| DistributedError::ChunkCorrupt {
        dir: dir.to_path_buf(),
        index,
        file: piece.file.clone(),
        reason,
    };
    let path = dir.join(&piece.file);
    let bytes = std::fs::metadata(&path)
        .map_err(|e| corrupt(format!("cannot be read ({e})")))?
        .len();
    if bytes != piece.bytes {
        return Err(corrupt(format!(
            "has {bytes} bytes, the sidecar says {}",
            piece.bytes
        )));
    }
    if file_sha256(&path)? != piece.sha256 {
        return Err(corrupt("does not have the hash its sidecar records".into()));
    }
    let segment = sidecar
        .result
        .segments
        .iter()
        .find(|s| s.file.as_ref() == Some(&piece.file));
    if let Some(segment) = segment {
        let video = hf_encode::inspect::probe_video(&path)
            .map_err(|e| corrupt(format!("is not a readable video ({e})")))?;
        if video.frames != segment.frames || video.keyframes.first() != Some(&0) {
            return Err(corrupt(format!(
                "holds {} frames (keyframes {:?}); the segment has {} from a keyframe",
                video.frames, video.keyframes, segment.frames
            )));
        }
    }
    Ok(())
}

/// The chunks sorted by index: each of the plan's chunks exactly once.
fn in_plan_order(
    file: &PlanFile,
    mut chunks: Vec<(PathBuf, ChunkSidecar)>,
) -> Result<Vec<(PathBuf, ChunkSidecar)>, DistributedError> {
    chunks.sort_by_key(|(_, sidecar)| sidecar.chunk.index);
    for pair in chunks.windows(2) {
        if pair[0].1.chunk.index == pair[1].1.chunk.index {
            return Err(DistributedError::ChunkDuplicate {
                index: pair[0].1.chunk.index,
                first: pair[0].0.clone(),
                second: pair[1].0.clone(),
            });
        }
    }
    for spec in &file.chunks {
        if !chunks
            .iter()
            .any(|(_, sidecar)| sidecar.chunk.index == spec.index)
        {
            return Err(DistributedError::ChunkMissing {
                index: spec.index,
                first: spec.frames.first,
                last: spec.frames.end().saturating_sub(1),
            });
        }
    }
    Ok(chunks)
}
