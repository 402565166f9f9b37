//! HyperFrames' true-peak limiter worklet: the peak of every channel estimated on a 4x
//! oversampled signal (Kaiser-windowed sinc, 33 taps per polyphase branch), the gain each
//! sample needs held over the lookahead window and averaged across it, released exponentially,
//! applied to every channel alike after a delay of the lookahead plus the detector's 16 frames.

use crate::chain::FxNode;
use std::collections::VecDeque;

/// Oversampling of the peak detector.
const OVERSAMPLE: usize = 4;
/// The detector's delay at the track's rate, frames.
const DETECTOR_DELAY: usize = 16;
/// Half the interpolation kernel, at the oversampled rate.
const KERNEL_HALF: usize = OVERSAMPLE * DETECTOR_DELAY;
/// Taps per polyphase branch.
const BRANCH_TAPS: usize = 2 * DETECTOR_DELAY + 1;

/// The modified Bessel function I0, by its series (40 terms, as the worklet sums it).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..40 {
        let half = x / (2.0 * f64::from(k));
        term *= half * half;
        sum += term;
    }
    sum
}

/// The polyphase branches of the interpolator, newest tap first, each of unit gain at DC.
fn branches() -> [[f64; BRANCH_TAPS]; OVERSAMPLE] {
    let beta = 6.0;
    let norm = bessel_i0(beta);
    let mut branches = [[0.0; BRANCH_TAPS]; OVERSAMPLE];
    for (p, taps) in branches.iter_mut().enumerate() {
        let mut sum = 0.0;
        for (j, tap) in taps.iter_mut().enumerate() {
            let k = p + OVERSAMPLE * j;
            if k > 2 * KERNEL_HALF {
                continue;
            }
            let offset = k as f64 - KERNEL_HALF as f64;
            let t = offset / OVERSAMPLE as f64;
            let sinc = if t == 0.0 {
                1.0
            } else {
                libm::sin(std::f64::consts::PI * t) / (std::f64::consts::PI * t)
            };
            let r = offset / KERNEL_HALF as f64;
            *tap = sinc * (bessel_i0(beta * libm::sqrt((1.0 - r * r).max(0.0))) / norm);
            sum += *tap;
        }
        taps.iter_mut().for_each(|tap| *tap /= sum);
    }
    branches
}

/// The limiter's settings.
pub(crate) struct TruePeak {
    ceiling: f64,
    release: f64,
    look: usize,
}

/// The lookahead in frames of a true-peak node at `rate`.
fn lookahead_frames(node: &FxNode, rate: f64) -> usize {
    (libm::floor(node.number("lookahead") * rate / 1000.0 + 0.5) as usize).max(1)
}

/// How late a true-peak node's output is (lookahead plus the detector's delay); HyperFrames
/// renders that much more and drops it from the start, so the chain comes out aligned.
pub(crate) fn latency_frames(node: &FxNode, rate: f64) -> usize {
    lookahead_frames(node, rate) + DETECTOR_DELAY
}

impl TruePeak {
    pub(crate) fn new(node: &FxNode, rate: f64) -> Self {
        let look = lookahead_frames(node, rate);
        let release_seconds = (node.number("release") / 1000.0).max(1e-4);
        Self {
            ceiling: libm::pow(10.0, node.number("ceiling") / 20.0),
            release: 1.0 - libm::exp(-1.0 / (rate * release_seconds)),
            look,
        }
    }

    /// Limit `planes` (all channels of one track, equally long) in place.
    pub(crate) fn run(&self, planes: &mut [Vec<f32>]) {
        let branches = branches();
        let frames = planes.first().map_or(0, Vec::len);
        // Per channel: the last BRANCH_TAPS inputs (newest first) and the delay line.
        let mut recent: Vec<VecDeque<f32>> =
            vec![VecDeque::from(vec![0.0; BRANCH_TAPS]); planes.len()];
        let mut delayed: Vec<VecDeque<f32>> =
            vec![VecDeque::from(vec![0.0; self.look + DETECTOR_DELAY]); planes.len()];
        let mut gains = Gains::new(self.look + 1);
        let mut gain = 1.0;
        for n in 0..frames {
            let mut peak = 0f64;
            for (plane, recent) in planes.iter().zip(&mut recent) {
                recent.pop_back();
                recent.push_front(plane[n]);
                for taps in &branches {
                    let acc: f64 = taps
                        .iter()
                        .zip(recent.iter())
                        .map(|(t, x)| t * f64::from(*x))
                        .sum();
                    peak = peak.max(acc.abs());
                }
            }
            let need = if peak > self.ceiling {
                self.ceiling / peak
            } else {
                1.0
            };
            let target = gains.push(need);
            gain = (gain + (1.0 - gain) * self.release).min(target);
            if target >= 1.0 && gain > 0.999_999_9 {
                gain = 1.0;
            }
            for (plane, line) in planes.iter_mut().zip(&mut delayed) {
                line.push_back(plane[n]);
                let out = line.pop_front().expect("the line is never empty");
                plane[n] = (f64::from(out) * gain) as f32;
            }
        }
    }
}

/// The gain the limiter heads for: the lowest needed over the window, averaged over the
/// window (so the gain falls smoothly before a peak arrives through the delay).
struct Gains {
    /// (frame, need) with increasing needs: the window's minimum first.
    minima: VecDeque<(usize, f64)>,
    held: Vec<f64>,
    sum: f64,
    at: usize,
    frame: usize,
}

impl Gains {
    fn new(window: usize) -> Self {
        Self {
            minima: VecDeque::new(),
            held: vec![1.0; window],
            sum: window as f64,
            at: 0,
            frame: 0,
        }
    }

    /// Add this frame's need; the target gain.
    fn push(&mut self, need: f64) -> f64 {
        let window = self.held.len();
        while self.minima.back().is_some_and(|&(_, v)| v >= need) {
            self.minima.pop_back();
        }
        self.minima.push_back((self.frame, need));
        while self
            .minima
            .front()
            .is_some_and(|&(f, _)| f + window <= self.frame)
        {
            self.minima.pop_front();
        }
        self.frame += 1;
        let min = self.minima.front().map_or(need, |&(_, v)| v);
        self.sum += min - self.held[self.at];
        self.held[self.at] = min;
        self.at = (self.at + 1) % window;
        (self.sum / window as f64).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::parse_chain;

    #[test]
    fn the_interpolator_branches_have_unit_dc_gain_and_the_centre_branch_is_a_pass_through() {
        let branches = branches();
        for taps in &branches {
            assert!((taps.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // Branch 0 samples the sinc at whole input samples: only its centre tap is non-zero.
        assert!((branches[0][DETECTOR_DELAY] - 1.0).abs() < 1e-12);
        assert!(branches[0]
            .iter()
            .enumerate()
            .all(|(j, t)| j == DETECTOR_DELAY || t.abs() < 1e-12));
    }

    #[test]
    fn a_loud_burst_is_held_under_the_ceiling_and_delayed_by_the_lookahead() {
        let node = parse_chain(
            r#"{"version":1,"nodes":[{"type":"truepeak","params":{"ceiling":-6,"lookahead":1}}]}"#,
        )
        .unwrap()
        .nodes
        .remove(0);
        let limiter = TruePeak::new(&node, 48_000.0);
        assert_eq!(limiter.look, 48);
        let tone = |i: usize| (libm::sin(i as f64 * 0.05) * 0.9) as f32;
        let mut planes = vec![(0..9600).map(tone).collect::<Vec<f32>>(); 2];
        limiter.run(&mut planes);
        let ceiling = libm::pow(10.0, -6.0 / 20.0) as f32;
        let peak = planes[0].iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak <= ceiling * 1.01, "{peak}");
        // Output is the input 48 + 16 frames later, scaled.
        assert!(planes[0][..64].iter().all(|s| *s == 0.0));
        assert!(planes[0][64 + 20] != 0.0);
        assert_eq!(planes[0], planes[1], "linked channels");
    }
}
