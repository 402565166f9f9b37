//! Compare a render with a reference render: PSNR at evenly spaced checkpoint frames, as the
//! regression harness (`cargo xtask regress`) and HyperFrames' harness do.

use crate::inspect::{decode_rgba_frames, probe_video, RgbImage, RgbaImage};
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

/// The file holding `path`'s audio: itself, or `audio.m4a` inside a PNG sequence directory.
fn audio_file_of(path: &Path) -> std::path::PathBuf {
    if path.is_dir() {
        path.join("audio.m4a")
    } else {
        path.to_path_buf()
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

/// PSNR of two RGBA images: over R, G and B when both are opaque, else over premultiplied
/// colour and alpha (a transparent pixel matches whatever colour lies under it).
pub fn psnr_rgba(a: &RgbaImage, b: &RgbaImage) -> f64 {
    if a.has_transparency() || b.has_transparency() {
        let flat = |image: &RgbaImage| RgbImage {
            width: image.width,
            height: image.height,
            data: image.premultiplied(),
        };
        psnr(&flat(a), &flat(b))
    } else {
        psnr(&a.to_rgb(), &b.to_rgb())
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
    let reference_images = decode_rgba_frames(reference, &frames)?;
    let candidate_images = decode_rgba_frames(candidate, &candidate_frames)?;
    let checkpoints = frames
        .iter()
        .zip(reference_images.iter().zip(&candidate_images))
        .map(|(&frame, (a, b))| Checkpoint {
            frame,
            psnr: psnr_rgba(a, b),
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

/// RMS window and hop of the audio envelope at 48 kHz: 128 ms and 64 ms, the 2048/1024
/// samples at 16 kHz HyperFrames' harness uses.
const ENVELOPE_WINDOW: usize = 6144;
const ENVELOPE_HOP: usize = 3072;
/// Fewer overlapping windows than this cannot be correlated meaningfully.
const MIN_OVERLAP_WINDOWS: usize = 32;

/// The result of [`compare_audio`].
#[derive(Debug, Clone, PartialEq)]
pub struct AudioComparison {
    /// Best Pearson correlation of the two RMS envelopes over the lags searched (1 when both
    /// are silent, -1 when they cannot be compared).
    pub correlation: f64,
    /// The lag of the best correlation, in envelope windows (64 ms); positive when the
    /// candidate is late.
    pub lag_windows: i64,
    /// Audio duration of the reference, in seconds.
    pub reference_seconds: f64,
    /// Audio duration of the candidate, in seconds.
    pub candidate_seconds: f64,
}

/// RMS envelope of interleaved stereo samples, on their mono mix.
pub fn rms_envelope(samples: &[f32]) -> Vec<f64> {
    let mono: Vec<f64> = samples
        .chunks_exact(2)
        .map(|p| (f64::from(p[0]) + f64::from(p[1])) / 2.0)
        .collect();
    if mono.len() < ENVELOPE_WINDOW {
        return Vec::new();
    }
    (0..=(mono.len() - ENVELOPE_WINDOW) / ENVELOPE_HOP)
        .map(|w| {
            let window = &mono[w * ENVELOPE_HOP..w * ENVELOPE_HOP + ENVELOPE_WINDOW];
            (window.iter().map(|v| v * v).sum::<f64>() / ENVELOPE_WINDOW as f64).sqrt()
        })
        .collect()
}

/// Best Pearson correlation of two envelopes over lags `-max_lag..=max_lag` and its lag.
pub fn envelope_correlation(reference: &[f64], candidate: &[f64], max_lag: u32) -> (f64, i64) {
    let silent = |e: &[f64]| e.iter().all(|v| *v < 1e-6);
    if silent(reference) && silent(candidate) {
        return (1.0, 0);
    }
    let mut best = (-1.0, 0);
    let max_lag = i64::from(max_lag);
    for lag in -max_lag..=max_lag {
        // candidate[i + lag] pairs with reference[i].
        let pairs: Vec<(f64, f64)> = reference
            .iter()
            .enumerate()
            .filter_map(|(i, &r)| {
                let j = i as i64 + lag;
                (j >= 0 && (j as usize) < candidate.len()).then(|| (r, candidate[j as usize]))
            })
            .collect();
        if pairs.len() <= MIN_OVERLAP_WINDOWS {
            continue;
        }
        let n = pairs.len() as f64;
        let (mean_r, mean_c) = (
            pairs.iter().map(|p| p.0).sum::<f64>() / n,
            pairs.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let (mut cov, mut var_r, mut var_c) = (0.0, 0.0, 0.0);
        for (r, c) in &pairs {
            cov += (r - mean_r) * (c - mean_c);
            var_r += (r - mean_r).powi(2);
            var_c += (c - mean_c).powi(2);
        }
        if var_r < 1e-12 || var_c < 1e-12 {
            continue;
        }
        let score = cov / (var_r * var_c).sqrt();
        if score > best.0 {
            best = (score, lag);
        }
    }
    best
}

/// Compare the audio of `candidate` with `reference`: correlation of RMS envelopes with a lag
/// search of `max_lag_windows`. `None` when neither has audio; an error when only one has.
pub fn compare_audio(
    reference: &Path,
    candidate: &Path,
    max_lag_windows: u32,
) -> Result<Option<AudioComparison>, EncodeError> {
    // A PNG sequence directory carries its audio in an `audio.m4a` beside the frames.
    let (reference, candidate) = (&audio_file_of(reference), &audio_file_of(candidate));
    // Each file's audio is measured once (reading every packet) and decoded once.
    let audio_seconds = |path: &Path| -> Result<Option<f64>, EncodeError> {
        if !path.exists() {
            return Ok(None);
        }
        match crate::inspect::audio_duration(path) {
            Ok(seconds) => Ok(Some(seconds)),
            Err(EncodeError::NoAudioStream { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    };
    let (reference_seconds, candidate_seconds) =
        match (audio_seconds(reference)?, audio_seconds(candidate)?) {
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err(EncodeError::Incomparable(format!(
                    "{} has no audio but the reference {} has",
                    candidate.display(),
                    reference.display()
                )))
            }
            (None, Some(_)) => {
                return Err(EncodeError::Incomparable(format!(
                    "{} has audio but the reference {} has none",
                    candidate.display(),
                    reference.display()
                )))
            }
            (Some(r), Some(c)) => (r, c),
        };
    let reference_samples = crate::inspect::decode_audio(reference, reference_seconds)?;
    let candidate_samples = crate::inspect::decode_audio(candidate, candidate_seconds)?;
    let (correlation, lag_windows) = envelope_correlation(
        &rms_envelope(&reference_samples),
        &rms_envelope(&candidate_samples),
        max_lag_windows,
    );
    Ok(Some(AudioComparison {
        correlation,
        lag_windows,
        reference_seconds,
        candidate_seconds,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An envelope of bursts: loud at the windows listed, quiet elsewhere.
    fn bursts(len: usize, loud: &[usize]) -> Vec<f64> {
        (0..len)
            .map(|i| if loud.contains(&i) { 0.5 } else { 0.01 })
            .collect()
    }

    #[test]
    fn envelope_correlation_finds_the_lag_and_rejects_other_signals() {
        let reference = bursts(100, &[10, 11, 40, 41, 42, 70]);
        let late = bursts(100, &[15, 16, 45, 46, 47, 75]);
        let (score, lag) = envelope_correlation(&reference, &late, 10);
        assert!(score > 0.99 && lag == 5, "{score} {lag}");
        // Outside the lag search it does not match.
        let (score, _) = envelope_correlation(&reference, &late, 2);
        assert!(score < 0.5, "{score}");
        let other = bursts(100, &[25, 55, 56, 90]);
        assert!(envelope_correlation(&reference, &other, 10).0 < 0.5);
        assert_eq!(envelope_correlation(&[0.0; 50], &[0.0; 50], 10), (1.0, 0));
        // Too short to compare.
        assert_eq!(
            envelope_correlation(&reference[..20], &late[..20], 2).0,
            -1.0
        );
    }

    #[test]
    fn rms_envelope_of_a_constant_signal() {
        let samples = vec![0.5f32; 48_000 * 2];
        let envelope = rms_envelope(&samples);
        assert_eq!(
            envelope.len(),
            (48_000 - ENVELOPE_WINDOW) / ENVELOPE_HOP + 1
        );
        assert!(envelope.iter().all(|v| (v - 0.5).abs() < 1e-9));
    }

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
