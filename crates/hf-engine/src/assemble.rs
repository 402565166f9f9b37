//! The assemble stage: the chunks of a plan joined into its output, written beside the output
//! path and renamed into place only when whole.

use crate::output::OutputKind;
use crate::{ChunkResult, RenderError, RenderPlan};
use hf_core::captured_frame_name;
use hf_encode::{
    gif_stage, png_sequence_stage, AssembleInput, GifInput, HlsInput, PngSequenceInput,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the assemble stage wrote, whatever the format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assembled {
    /// The output file (a directory for a PNG sequence).
    pub path: PathBuf,
    /// Frames in it.
    pub frames: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// Video duration in seconds.
    pub duration_seconds: f64,
    /// Audio duration read back, when it has audio.
    pub audio_seconds: Option<f64>,
}

/// A rendered chunk and the directory its pieces are in.
#[derive(Debug, Clone, Copy)]
pub struct ChunkDir<'a> {
    /// Where the chunk's segment files (or frame files) are.
    pub dir: &'a Path,
    /// What rendering it produced.
    pub result: &'a ChunkResult,
}

/// Join the segments of `chunks` (video formats), or build the GIF / PNG sequence from their
/// frame files, into `plan`'s output; the audio mix is read under `plan_root`. The chunks
/// must cover the plan's segment grid exactly once, in order; the audio mix, when the plan
/// has audio, must be complete. Frame files are moved into a PNG sequence, unless
/// `keep_frames` (the chunks can then be assembled again).
pub fn assemble_stage(
    plan: &RenderPlan,
    plan_root: &Path,
    chunks: &[ChunkDir<'_>],
    keep_frames: bool,
) -> Result<Assembled, RenderError> {
    let _span =
        tracing::info_span!("assemble_stage", output = %plan.output.path.display()).entered();
    let results: Vec<&ChunkResult> = chunks.iter().map(|chunk| chunk.result).collect();
    check_coverage(plan, &results)?;
    let output = plan.output.path.clone();
    let audio = plan.audio.as_ref().map(|audio| plan_root.join(&audio.mix));
    let duration_seconds = plan.frames as f64 * plan.fps.frame_duration();
    match plan.output.kind {
        OutputKind::Video { container, .. } => {
            let segments = chunks
                .iter()
                .flat_map(|chunk| {
                    let pieces = &chunk.result.segments;
                    pieces
                        .iter()
                        .filter_map(|piece| Some(chunk.dir.join(piece.file.as_ref()?)))
                })
                .collect();
            // HLS: the joined mp4 beside the playlist directory, then split into it.
            let joined = match plan.output.hls_segment_seconds {
                Some(_) => Some(hls_source(&output)?),
                None => None,
            };
            let assembled = hf_encode::assemble_stage(AssembleInput {
                segments,
                output: joined
                    .as_ref()
                    .map_or(output.clone(), |f| f.path().to_path_buf()),
                fps: plan.fps,
                expected_frames: plan.frames,
                faststart: true,
                container,
                audio,
                audio_tracks: plan.audio.as_ref().map_or(0, |a| a.tracks.len()),
            })?;
            let bytes = match (plan.output.hls_segment_seconds, &joined) {
                (Some(segment_seconds), Some(joined)) => {
                    hf_encode::hls_stage(&HlsInput {
                        source: joined.path().to_path_buf(),
                        output: output.clone(),
                        segment_seconds,
                    })?
                    .bytes
                }
                _ => assembled.bytes,
            };
            Ok(Assembled {
                path: output,
                frames: assembled.frames,
                bytes,
                duration_seconds: assembled.duration_seconds,
                audio_seconds: assembled.audio_seconds,
            })
        }
        OutputKind::Gif { loop_count } => {
            let gif = gif_stage(&GifInput {
                frames: frame_files(plan, chunks),
                fps: plan.fps,
                output,
                loop_count,
            })?;
            Ok(Assembled {
                path: gif.path,
                frames: gif.frames,
                bytes: gif.bytes,
                duration_seconds,
                audio_seconds: None,
            })
        }
        OutputKind::PngSequence => {
            let sequence = png_sequence_stage(&PngSequenceInput {
                frames: frame_files(plan, chunks),
                output,
                audio,
                keep_frames,
            })?;
            Ok(Assembled {
                path: sequence.path,
                frames: sequence.frames,
                bytes: sequence.bytes,
                duration_seconds,
                audio_seconds: sequence.audio_seconds,
            })
        }
    }
}

/// A hidden temporary mp4 beside the HLS directory `output` (removed when dropped).
fn hls_source(output: &Path) -> Result<tempfile::NamedTempFile, RenderError> {
    let dir = output.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".hf-hls-")
        .suffix(".mp4")
        .tempfile_in(dir)
        .map_err(|e| hf_core::IoError::new("create a temporary file in", dir, e).into())
}

/// Every captured frame file of the render, in order: each chunk's frames in its dir.
fn frame_files(plan: &RenderPlan, chunks: &[ChunkDir<'_>]) -> Vec<PathBuf> {
    let frames_dir = plan
        .frames_dir()
        .expect("frame-file outputs capture to disk");
    chunks
        .iter()
        .flat_map(|chunk| {
            let dir = chunk.dir.join(&frames_dir);
            let format = plan.capture.image_format;
            let frames = chunk.result.chunk.frames;
            frames
                .indices()
                .map(move |index| dir.join(captured_frame_name(index, format)))
        })
        .collect()
}

/// The chunks' segments are the plan's grid: every segment once, in order.
fn check_coverage(plan: &RenderPlan, chunks: &[&ChunkResult]) -> Result<(), RenderError> {
    let grid = plan.segments();
    let pieces: Vec<usize> = chunks
        .iter()
        .flat_map(|chunk| chunk.segments.iter().map(|piece| piece.index))
        .collect();
    for (position, segment) in grid.iter().enumerate() {
        match pieces.get(position) {
            Some(&index) if index == segment.index => continue,
            Some(&index) if pieces.contains(&segment.index) => {
                return Err(RenderError::InvalidChunks {
                    reason: format!(
                        "segment {index} comes where segment {} belongs; pass the chunks in order",
                        segment.index
                    ),
                })
            }
            _ => {
                return Err(RenderError::InvalidChunks {
                    reason: format!(
                        "segment {} of {} (frames from {}) is in none of the chunks; render the \
                         chunk that holds it",
                        segment.index,
                        grid.len(),
                        segment.first_frame
                    ),
                })
            }
        }
    }
    if pieces.len() > grid.len() {
        return Err(RenderError::InvalidChunks {
            reason: format!(
                "the chunks hold {} segments but the plan has {}; pass each chunk once",
                pieces.len(),
                grid.len()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::SegmentPiece;
    use crate::plan::tests::sample_plan;
    use hf_capture::CaptureOutput;
    use std::time::Duration;

    fn chunk_of(plan: &RenderPlan, segments: &[usize]) -> ChunkResult {
        ChunkResult {
            chunk: plan.whole(),
            segments: segments
                .iter()
                .map(|&index| SegmentPiece {
                    index,
                    file: plan.segment_file(index),
                    frames: plan.segment_frames,
                    bytes: 1,
                })
                .collect(),
            capture: CaptureOutput::default(),
            convert_time: Duration::ZERO,
            encode_time: Duration::ZERO,
            workers: 1,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn chunks_must_cover_the_grid_once_in_order() {
        let plan = sample_plan(150, 60);
        let (a, b) = (chunk_of(&plan, &[0, 1]), chunk_of(&plan, &[2]));
        assert!(check_coverage(&plan, &[&a, &b]).is_ok());
        let missing = check_coverage(&plan, &[&a]).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "the chunks do not make up the render: segment 2 of 3 (frames from 120) is in none \
             of the chunks; render the chunk that holds it"
        );
        assert_eq!(missing.code(), "INVALID_CHUNKS");
        let swapped = check_coverage(&plan, &[&b, &a]);
        assert!(swapped
            .unwrap_err()
            .to_string()
            .contains("pass the chunks in order"));
        let all = chunk_of(&plan, &[0, 1, 2]);
        let twice = check_coverage(&plan, &[&all, &b]);
        assert!(twice
            .unwrap_err()
            .to_string()
            .contains("pass each chunk once"));
    }
}
