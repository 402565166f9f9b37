//! Compare a render with a reference render: PSNR at evenly spaced checkpoint frames, as the
//! regression harness (`cargo xtask regress`) and HyperFrames' harness do.

use crate::inspect::{decode_rgb_frames, probe_video, RgbImage};
use crate::EncodeError;
use std::path::Path;

/// PSNR reported for identical frames (the true value is infinite).
pub const IDENTICAL_PSNR: f64 = 100.0;

/// PSNR of one checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Frame index compared.
    pub frame: u64,
    /// PSNR in dB over the R, G and B planes ([`IDENTICAL_PSNR`] when identical).
    pub psnr: f64,
}

/// The result of [`compare_videos`].
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Frames in the reference.
    pub reference_frames: u64,
    /// Frames in the candidate.
    pub candidate_frames: u64,
    /// Duration of the reference in seconds.
    pub reference_duration: f64,
    /// Duration of the candidate in seconds.
    pub candidate_duration: f64,
    /// One entry per checkpoint, in frame order.
    pub checkpoints: Vec<Checkpoint>,
}

impl Comparison {
    /// Checkpoints whose PSNR is below `min_psnr`.
    pub fn failures(&self, min_psnr: f64) -> Vec<&Checkpoint> {
        self.checkpoints
            .iter()
            .filter(|c| c.psnr < min_psnr)
            .collect()
    }

    /// Lowest checkpoint PSNR.
    pub fn min_psnr(&self) -> f64 {
        self.checkpoints
            .iter()
            .map(|c| c.psnr)
            .fold(IDENTICAL_PSNR, f64::min)
    }

    /// Mean checkpoint PSNR.
    pub fn mean_psnr(&self) -> f64 {
        if self.checkpoints.is_empty() {
            return IDENTICAL_PSNR;
        }
        self.checkpoints.iter().map(|c| c.psnr).sum::<f64>() / self.checkpoints.len() as f64
    }
}

/// Checkpoint frames: `round(i / count * frames)` for `i` in `0..count`, de-duplicated.
pub fn checkpoint_frames(frames: u64, count: usize) -> Vec<u64> {
    if frames == 0 {
        return Vec::new();
    }
    let mut out: Vec<u64> = (0..count)
        .map(|i| ((i as f64 / count as f64) * frames as f64).round() as u64)
        .map(|f| f.min(frames - 1))
        .collect();
    out.dedup();
    out
}

/// PSNR of two images of the same size over all their bytes.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "images differ in size"
    );
    let squared: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| {
            let d = f64::from(*x) - f64::from(*y);
            d * d
        })
        .sum();
    let mse = squared / a.data.len().max(1) as f64;
    if mse == 0.0 {
        IDENTICAL_PSNR
    } else {
        (10.0 * (255.0f64 * 255.0 / mse).log10()).min(IDENTICAL_PSNR)
    }
}

/// Compare `candidate` with `reference` at `count` checkpoints of the reference's frames.
/// A size mismatch is an error; a frame-count mismatch is reported in the result (the
/// checkpoints past the candidate's end compare with its last frame).
pub fn compare_videos(
    reference: &Path,
    candidate: &Path,
    count: usize,
) -> Result<Comparison, EncodeError> {
    let reference_info = probe_video(reference)?;
    let candidate_info = probe_video(candidate)?;
    if (reference_info.width, reference_info.height)
        != (candidate_info.width, candidate_info.height)
    {
        return Err(EncodeError::Incomparable(format!(
            "{} is {}x{} but the reference {} is {}x{}",
            candidate.display(),
            candidate_info.width,
            candidate_info.height,
            reference.display(),
            reference_info.width,
            reference_info.height
        )));
    }
    let frames = checkpoint_frames(reference_info.frames, count);
    let last = candidate_info.frames.saturating_sub(1);
    let candidate_frames: Vec<u64> = frames.iter().map(|&f| f.min(last)).collect();
    let reference_images = decode_rgb_frames(reference, &frames)?;
    let candidate_images = decode_rgb_frames(candidate, &candidate_frames)?;
    let checkpoints = frames
        .iter()
        .zip(reference_images.iter().zip(&candidate_images))
        .map(|(&frame, (a, b))| Checkpoint {
            frame,
            psnr: psnr(a, b),
        })
        .collect();
    Ok(Comparison {
        reference_frames: reference_info.frames,
        candidate_frames: candidate_info.frames,
        reference_duration: reference_info.duration_seconds,
        candidate_duration: candidate_info.duration_seconds,
        checkpoints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_spread_over_the_frames() {
        assert_eq!(checkpoint_frames(60, 100).len(), 60);
        assert_eq!(checkpoint_frames(300, 100)[..3], [0, 3, 6]);
        assert_eq!(*checkpoint_frames(300, 100).last().unwrap(), 297);
        assert!(checkpoint_frames(0, 100).is_empty());
    }

    #[test]
    fn psnr_of_known_errors() {
        let a = RgbImage {
            width: 2,
            height: 1,
            data: vec![0; 6],
        };
        let mut b = a.clone();
        assert_eq!(psnr(&a, &b), IDENTICAL_PSNR);
        b.data = vec![255; 6];
        assert!((psnr(&a, &b) - 0.0).abs() < 1e-9);
        b.data = vec![0, 0, 0, 0, 0, 6];
        // mse = 36 / 6 = 6 -> 10 log10(65025 / 6)
        assert!((psnr(&a, &b) - 10.0 * (65025.0f64 / 6.0).log10()).abs() < 1e-9);
    }
}
