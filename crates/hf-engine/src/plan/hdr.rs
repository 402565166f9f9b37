//! Whether a render is HDR: the sources' transfers, `--hdr` / `--sdr`, and what the output
//! format can carry. An HDR render captures the page with alpha and composites it with its
//! HDR media at 16 bits in the encoder (H.265 Main 10, BT.2020, PQ or HLG).

use crate::compile::{CompiledComposition, MediaKind};
use crate::job::HdrMode;
use crate::output::{OutputFormat, OutputKind, OutputPlan};
use crate::{RenderError, RenderJob};
use hf_core::ImageFormat;
use hf_encode::{Container, HdrSource, HdrTransfer, VideoCodec};
use serde::{Deserialize, Serialize};

/// The HDR output of a render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HdrPlan {
    /// The output's transfer.
    pub transfer: HdrTransfer,
    /// The HDR videos and images the encoder draws, by the index frames name them with.
    /// Paths are absolute, or relative to the plan's root (a distributed plan's copy).
    pub sources: Vec<HdrSource>,
}

/// The transfer HDR sources call for: PQ when any is PQ, else HLG; `None` without any.
fn dominant_transfer(compiled: &CompiledComposition) -> Option<HdrTransfer> {
    let transfers: Vec<HdrTransfer> = compiled
        .media
        .iter()
        .filter(|m| matches!(m.kind, MediaKind::Video | MediaKind::HdrImage))
        .filter_map(|m| m.info.video.as_ref().and_then(|v| v.transfer))
        .collect();
    if transfers.contains(&HdrTransfer::Pq) {
        Some(HdrTransfer::Pq)
    } else {
        transfers.first().copied()
    }
}

/// The render's HDR transfer (`None`: SDR), with warnings for HDR that the options rule out.
/// Refuses HDR with `--resume` and at odd frame sizes.
pub(crate) fn hdr_transfer(
    job: &RenderJob,
    compiled: &CompiledComposition,
    frame_size: (u32, u32),
    warnings: &mut Vec<String>,
) -> Result<Option<HdrTransfer>, RenderError> {
    let found = dominant_transfer(compiled);
    let (transfer, reason) = match (job.hdr, found) {
        (HdrMode::Sdr, _) | (HdrMode::Auto, None) => return Ok(None),
        (HdrMode::Force, None) => {
            warnings.push(
                "--hdr without HDR sources: rendering HLG (the page's SDR colours mapped to \
                 HLG's reference white)"
                    .into(),
            );
            (HdrTransfer::Hlg, "--hdr was given")
        }
        (HdrMode::Force, Some(t)) => (t, "--hdr was given"),
        (HdrMode::Auto, Some(t)) => (t, "an HDR source is in the page"),
    };
    if job.format == OutputFormat::Hls && job.hdr == HdrMode::Force {
        return Err(RenderError::InvalidOutput {
            reason: "--hdr is not available for hls: HLS output is H.264 SDR (as \
                     HyperFrames'); drop --hdr, or use --format mp4 for HDR"
                .into(),
        });
    }
    if !matches!(job.format, OutputFormat::Mp4 | OutputFormat::Mov) {
        warnings.push(format!(
            "{reason}, but {} cannot carry HDR: rendering SDR with HDR sources tone-mapped \
             (use --format mp4 or mov for HDR10/HLG output)",
            job.format
        ));
        return Ok(None);
    }
    if let Some(codec) = job.codec.filter(|c| *c != VideoCodec::H265) {
        warnings.push(format!(
            "{reason}, but --codec {codec} cannot carry HDR: rendering SDR with HDR sources \
             tone-mapped (HDR output is H.265 Main 10; drop --codec or pass --codec h265)"
        ));
        return Ok(None);
    }
    if job.resume.is_some() {
        return Err(RenderError::InvalidOutput {
            reason: format!(
                "--resume is not available for HDR output ({reason}): HDR frames are \
                 composited as they are encoded, never written to disk; drop --resume, or \
                 pass --sdr"
            ),
        });
    }
    if frame_size.0 % 2 == 1 || frame_size.1 % 2 == 1 {
        return Err(RenderError::InvalidOutput {
            reason: format!(
                "HDR output ({reason}) needs an even width and height (4:2:0 10-bit), and the \
                 frame is {}x{}; change the root's data-width/data-height, or pass --sdr",
                frame_size.0, frame_size.1
            ),
        });
    }
    if job.alpha {
        warnings.push("HDR output has no alpha channel: the output is opaque".into());
    }
    Ok(Some(transfer))
}

/// `output` made HDR: H.265 in the job's container, the page captured as PNG with alpha.
pub(crate) fn make_hdr(output: &mut OutputPlan, format: OutputFormat) {
    output.kind = OutputKind::Video {
        codec: VideoCodec::H265,
        container: match format {
            OutputFormat::Mov => Container::Mov,
            _ => Container::Mp4,
        },
    };
    output.image_format = ImageFormat::Png;
    output.transparent = true;
}
