//! Saturation (a Web Audio WaveShaper curve of 8192 points and an output gain) and bitcrush
//! (HyperFrames' worklet: rounding to `2^(bits-1)` levels, holding every `samples`th value).

use super::{control, db_to_gain, Clock, Control, Effect, Ring};
use crate::automation::Automation;
use crate::chain::FxNode;
use std::f64::consts::FRAC_PI_2;

/// Points of the shaper's curve.
const CURVE_POINTS: usize = 8192;

/// The nine saturation curves, each mapping -1..1 into -1..1.
fn curve_fn(name: &str) -> fn(f64) -> f64 {
    fn sign_beyond_one(x: f64, inside: fn(f64) -> f64) -> f64 {
        if x.abs() >= 1.0 {
            x.signum()
        } else {
            inside(x)
        }
    }
    match name {
        "atan" => |x| (2.0 / std::f64::consts::PI) * libm::atan(FRAC_PI_2 * x),
        "cubic" => |x| sign_beyond_one(x, |x| x - x * x * x / 3.0),
        "exp" => |x| x.signum() * (1.0 - libm::exp(-x.abs())),
        "alg" => |x| x / libm::sqrt(1.0 + x * x),
        "quintic" => |x| sign_beyond_one(x, |x| x - libm::pow(x, 5.0) / 5.0),
        "sin" => |x| sign_beyond_one(x, |x| libm::sin(FRAC_PI_2 * x)),
        "erf" => |x| libm::tanh(1.20211 * x),
        "hard" => |x| x.clamp(-1.0, 1.0),
        _ => libm::tanh,
    }
}

/// Wave-shaping through the curve scaled to the threshold, then the output gain (automatable).
/// Oversampling is modelled by the latency Chrome's up- and down-samplers add (128 frames at
/// 2x, 192 at 4x); the shaping itself runs at the track's rate.
pub(crate) struct Saturate<'a> {
    curve: Vec<f32>,
    output: Control<'a>,
    latency: Ring,
    latency_frames: f64,
}

impl<'a> Saturate<'a> {
    pub(crate) fn new(node: &FxNode, automation: &'a Automation) -> Self {
        let shape = curve_fn(node.choice("type"));
        let threshold = db_to_gain(node.number("threshold")).max(1e-6);
        let curve = (0..CURVE_POINTS)
            .map(|i| {
                let x = i as f64 / (CURVE_POINTS - 1) as f64 * 2.0 - 1.0;
                (shape(x / threshold) * threshold) as f32
            })
            .collect();
        let oversample = node.number("oversample");
        let latency_frames = if oversample >= 4.0 {
            192.0
        } else if oversample >= 2.0 {
            128.0
        } else {
            0.0
        };
        Self {
            curve,
            output: control(node, automation, "output"),
            latency: Ring::new(latency_frames as usize + 4),
            latency_frames,
        }
    }

    /// The curve at `x`, linearly interpolated, held beyond -1 and 1 (Web Audio's lookup).
    fn shape(&self, x: f64) -> f64 {
        let last = self.curve.len() - 1;
        let v = last as f64 * 0.5 * (x + 1.0);
        if v < 0.0 {
            return f64::from(self.curve[0]);
        }
        if v >= last as f64 {
            return f64::from(self.curve[last]);
        }
        let k = v as usize;
        let f = v - k as f64;
        (1.0 - f) * f64::from(self.curve[k]) + f * f64::from(self.curve[k + 1])
    }
}

impl Effect for Saturate<'_> {
    fn run(&mut self, plane: &mut [f32], clock: Clock) {
        for (i, sample) in plane.iter_mut().enumerate() {
            self.latency
                .push(f64::from(self.shape(f64::from(*sample)) as f32));
            let shaped = self.latency.read(self.latency_frames);
            let gain = db_to_gain(self.output.at(clock.time(i)));
            *sample = (shaped * gain) as f32;
        }
    }
}

/// Quantization to `2^(bits-1)` levels, each value held for `samples` samples, blended with
/// the dry signal by `mix`.
pub(crate) struct Bitcrush {
    levels: f64,
    step: usize,
    mix: f64,
    held: f64,
    count: usize,
}

impl Bitcrush {
    pub(crate) fn new(node: &FxNode) -> Self {
        Self {
            levels: libm::pow(2.0, node.number("bits") - 1.0),
            // JavaScript's Math.round: halves go up.
            step: (libm::floor(node.number("samples") + 0.5) as usize).max(1),
            mix: node.number("mix"),
            held: 0.0,
            count: 0,
        }
    }
}

impl Effect for Bitcrush {
    fn run(&mut self, plane: &mut [f32], _clock: Clock) {
        for sample in plane.iter_mut() {
            let x = f64::from(*sample);
            if self.count == 0 {
                self.held = libm::floor(x * self.levels + 0.5) / self.levels;
            }
            *sample = (self.held * self.mix + x * (1.0 - self.mix)) as f32;
            self.count = (self.count + 1) % self.step;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::test_node as node;

    #[test]
    fn saturation_clips_softly_at_the_threshold_and_applies_its_output() {
        let none = Automation::default();
        let hard = node(
            r#"{"type":"saturate","params":{"type":"hard","threshold":-6.0206,"output":6.0206,"oversample":1}}"#,
        );
        let mut s = Saturate::new(&hard, &none);
        let mut plane = vec![0.25f32, 0.9, -1.5];
        s.run(
            &mut plane,
            Clock {
                rate: 48_000.0,
                start: 0.0,
            },
        );
        // Hard clip at 0.5, then +6 dB: 0.25 -> 0.5, 0.9 -> 1.0, -1.5 -> -1.0.
        for (got, want) in plane.iter().zip([0.5f32, 1.0, -1.0]) {
            assert!((got - want).abs() < 1e-3, "{plane:?}");
        }
        let soft = node(r#"{"type":"saturate","params":{"threshold":0}}"#);
        let mut s = Saturate::new(&soft, &none);
        assert!((s.shape(0.5) - libm::tanh(0.5)).abs() < 1e-4);
        // 4x oversampling (the default) comes out 192 frames late, as in Chrome.
        let mut plane = vec![0f32; 200];
        plane[0] = 0.5;
        s.run(
            &mut plane,
            Clock {
                rate: 48_000.0,
                start: 0.0,
            },
        );
        assert_eq!(plane.iter().position(|s| *s != 0.0), Some(192));
    }

    #[test]
    fn bitcrush_quantizes_and_holds() {
        let mut b = Bitcrush::new(&node(
            r#"{"type":"bitcrush","params":{"bits":2,"samples":2}}"#,
        ));
        let mut plane = vec![0.3f32, 0.9, -0.2, -0.8];
        b.run(
            &mut plane,
            Clock {
                rate: 48_000.0,
                start: 0.0,
            },
        );
        // Two levels per unit: 0.3 -> 0.5 held for two samples, -0.2 -> 0 held.
        assert_eq!(plane, vec![0.5, 0.5, 0.0, 0.0]);
    }
}
