//! Gain, Web Audio's biquad filters (the Audio EQ Cookbook as the Web Audio spec states it:
//! low/high-pass Q in dB, shelves with slope 1), the one-pole IIR HyperFrames uses for
//! `poles: "1"`, and the phaser's swept all-pass stages.

use super::{control, db_to_gain, Clock, Control, Effect, Lfo, Wave};
use crate::automation::Automation;
use crate::chain::FxNode;
use crate::registry::EffectKind;
use std::f64::consts::PI;

/// A gain stage in dB.
pub(crate) struct Gain<'a> {
    db: Control<'a>,
}

impl<'a> Gain<'a> {
    pub(crate) fn new(db: Control<'a>) -> Self {
        Self { db }
    }
}

impl Effect for Gain<'_> {
    fn run(&mut self, plane: &mut [f32], clock: Clock) {
        for (i, sample) in plane.iter_mut().enumerate() {
            *sample = (f64::from(*sample) * db_to_gain(self.db.at(clock.time(i)))) as f32;
        }
    }
}

/// The filter shapes a biquad takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Lowpass,
    Highpass,
    Peaking,
    Lowshelf,
    Highshelf,
    Allpass,
}

/// Normalized coefficients `[b0, b1, b2, a1, a2]` (a0 = 1).
type Coefficients = [f64; 5];

/// Web Audio's coefficients for `shape` at `frequency` Hz, quality `q` and `gain` dB.
pub(crate) fn coefficients(
    shape: Shape,
    frequency: f64,
    q: f64,
    gain: f64,
    rate: f64,
) -> Coefficients {
    let nyquist = rate / 2.0;
    let normalized = (frequency / nyquist).clamp(1e-9, 1.0 - 1e-9);
    let w0 = PI * normalized;
    let (sin, cos) = (libm::sin(w0), libm::cos(w0));
    let a = libm::pow(10.0, gain / 40.0);
    let alpha_q = sin / (2.0 * q.max(1e-9));
    let alpha_db = sin / (2.0 * libm::pow(10.0, q / 20.0));
    let alpha_s = sin / 2.0 * std::f64::consts::SQRT_2;
    let root = 2.0 * libm::sqrt(a) * alpha_s;
    let [b0, b1, b2, a0, a1, a2] = match shape {
        Shape::Lowpass => [
            (1.0 - cos) / 2.0,
            1.0 - cos,
            (1.0 - cos) / 2.0,
            1.0 + alpha_db,
            -2.0 * cos,
            1.0 - alpha_db,
        ],
        Shape::Highpass => [
            (1.0 + cos) / 2.0,
            -(1.0 + cos),
            (1.0 + cos) / 2.0,
            1.0 + alpha_db,
            -2.0 * cos,
            1.0 - alpha_db,
        ],
        Shape::Peaking => [
            1.0 + alpha_q * a,
            -2.0 * cos,
            1.0 - alpha_q * a,
            1.0 + alpha_q / a,
            -2.0 * cos,
            1.0 - alpha_q / a,
        ],
        Shape::Lowshelf => [
            a * ((a + 1.0) - (a - 1.0) * cos + root),
            2.0 * a * ((a - 1.0) - (a + 1.0) * cos),
            a * ((a + 1.0) - (a - 1.0) * cos - root),
            (a + 1.0) + (a - 1.0) * cos + root,
            -2.0 * ((a - 1.0) + (a + 1.0) * cos),
            (a + 1.0) + (a - 1.0) * cos - root,
        ],
        Shape::Highshelf => [
            a * ((a + 1.0) + (a - 1.0) * cos + root),
            -2.0 * a * ((a - 1.0) + (a + 1.0) * cos),
            a * ((a + 1.0) + (a - 1.0) * cos - root),
            (a + 1.0) - (a - 1.0) * cos + root,
            2.0 * ((a - 1.0) - (a + 1.0) * cos),
            (a + 1.0) - (a - 1.0) * cos - root,
        ],
        Shape::Allpass => [
            1.0 - alpha_q,
            -2.0 * cos,
            1.0 + alpha_q,
            1.0 + alpha_q,
            -2.0 * cos,
            1.0 - alpha_q,
        ],
    };
    [b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0]
}

/// A direct-form-I biquad's memory.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    x1: f64,
    x2: f64,
    y1: f64,
    y2: f64,
}

impl Memory {
    pub(crate) fn step(&mut self, c: &Coefficients, x: f64) -> f64 {
        let y = c[0] * x + c[1] * self.x1 + c[2] * self.x2 - c[3] * self.y1 - c[4] * self.y2;
        (self.x2, self.x1, self.y2, self.y1) = (self.x1, x, self.y1, y);
        y
    }
}

/// A two-pole filter whose frequency, Q and gain may follow lanes (coefficients then
/// recomputed per sample, as Chrome does for sample-accurate parameters).
pub(crate) struct Biquad<'a> {
    shape: Shape,
    frequency: Control<'a>,
    q: Control<'a>,
    gain: Control<'a>,
    memory: Memory,
}

impl<'a> Biquad<'a> {
    pub(crate) fn new(node: &FxNode, automation: &'a Automation) -> Self {
        let shape = match node.kind {
            EffectKind::Lowpass => Shape::Lowpass,
            EffectKind::Highpass => Shape::Highpass,
            EffectKind::Lowshelf => Shape::Lowshelf,
            EffectKind::Highshelf => Shape::Highshelf,
            _ => Shape::Peaking,
        };
        Self {
            shape,
            frequency: control(node, automation, "frequency"),
            // Shelves have no Q: Web Audio ignores it for them.
            q: control(node, automation, "q"),
            gain: control(node, automation, "gain"),
            memory: Memory::default(),
        }
    }
}

impl Effect for Biquad<'_> {
    fn run(&mut self, plane: &mut [f32], clock: Clock) {
        let fixed = self.frequency.is_fixed() && self.q.is_fixed() && self.gain.is_fixed();
        let mut c = [0.0; 5];
        for (i, sample) in plane.iter_mut().enumerate() {
            if i == 0 || !fixed {
                let t = clock.time(i);
                let (f, q, g) = (self.frequency.at(t), self.q.at(t), self.gain.ramped(t));
                c = coefficients(self.shape, f, q, g, clock.rate);
            }
            *sample = self.memory.step(&c, f64::from(*sample)) as f32;
        }
    }
}

/// HyperFrames' 6 dB/octave filter: an IIR filter from the bilinear transform at a fixed
/// frequency (no lane moves it).
pub(crate) struct OnePole {
    b: [f64; 2],
    a1: f64,
    x1: f64,
    y1: f64,
}

impl OnePole {
    pub(crate) fn new(kind: EffectKind, frequency: f64, rate: f64) -> Self {
        let k = libm::tan(PI * frequency / rate);
        let b = if kind == EffectKind::Highpass {
            [1.0 / (1.0 + k), -1.0 / (1.0 + k)]
        } else {
            [k / (1.0 + k), k / (1.0 + k)]
        };
        Self {
            b,
            a1: (k - 1.0) / (k + 1.0),
            x1: 0.0,
            y1: 0.0,
        }
    }
}

impl Effect for OnePole {
    fn run(&mut self, plane: &mut [f32], _clock: Clock) {
        for sample in plane.iter_mut() {
            let x = f64::from(*sample);
            let y = self.b[0] * x + self.b[1] * self.x1 - self.a1 * self.y1;
            (self.x1, self.y1) = (x, y);
            *sample = y as f32;
        }
    }
}

/// Stages of the phaser's all-pass chain.
const PHASER_STAGES: usize = 6;

/// Q of each all-pass stage: HyperFrames' rounded value, not exactly `1 / sqrt(2)`.
#[allow(clippy::approx_constant)]
const PHASER_Q: f64 = 0.7071;

/// The phaser: input trim, six all-pass stages (Q 0.7071) at `1000 / delay` Hz swept by
/// `decay` of that by an LFO, summed with the trimmed dry signal, then the output trim.
pub(crate) struct Phaser<'a> {
    in_gain: Control<'a>,
    out_gain: Control<'a>,
    centre: f64,
    depth: f64,
    lfo: Lfo<'a>,
    stages: [Memory; PHASER_STAGES],
}

impl<'a> Phaser<'a> {
    pub(crate) fn new(node: &FxNode, automation: &'a Automation) -> Self {
        let centre = 1000.0 / node.number("delay").max(0.1);
        let wave = if node.choice("type") == "1" {
            Wave::Sine
        } else {
            Wave::Triangle
        };
        Self {
            in_gain: control(node, automation, "in_gain"),
            out_gain: control(node, automation, "out_gain"),
            centre,
            depth: centre * node.number("decay"),
            lfo: Lfo::new(wave, control(node, automation, "speed")),
            stages: [Memory::default(); PHASER_STAGES],
        }
    }
}

impl Effect for Phaser<'_> {
    fn run(&mut self, plane: &mut [f32], clock: Clock) {
        let nyquist = clock.rate / 2.0;
        for (i, sample) in plane.iter_mut().enumerate() {
            let t = clock.time(i);
            let trimmed = f64::from(*sample) * self.in_gain.ramped(t);
            let frequency =
                (self.centre + self.depth * self.lfo.next(t, clock.rate)).clamp(0.0, nyquist);
            let c = coefficients(Shape::Allpass, frequency, PHASER_Q, 0.0, clock.rate);
            let wet = self
                .stages
                .iter_mut()
                .fold(trimmed, |signal, stage| stage.step(&c, signal));
            *sample = ((wet + trimmed) * self.out_gain.ramped(t)) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gain of `c` at `frequency` Hz: |H(e^jw)|.
    fn response(c: &Coefficients, frequency: f64, rate: f64) -> f64 {
        let w = 2.0 * PI * frequency / rate;
        let z = |k: f64| (libm::cos(k * w), -libm::sin(k * w));
        let (z1, z2) = (z(1.0), z(2.0));
        let num = (c[0] + c[1] * z1.0 + c[2] * z2.0, c[1] * z1.1 + c[2] * z2.1);
        let den = (1.0 + c[3] * z1.0 + c[4] * z2.0, c[3] * z1.1 + c[4] * z2.1);
        libm::hypot(num.0, num.1) / libm::hypot(den.0, den.1)
    }

    #[test]
    fn biquads_have_the_web_audio_responses() {
        let rate = 48_000.0;
        let db = |g: f64| 20.0 * libm::log10(g);
        // Low- and high-pass Q is in dB: the gain at the cutoff is Q dB.
        let lp = coefficients(Shape::Lowpass, 1000.0, 6.0, 0.0, rate);
        assert!((db(response(&lp, 1000.0, rate)) - 6.0).abs() < 0.01);
        assert!(db(response(&lp, 10.0, rate)).abs() < 0.01);
        assert!(db(response(&lp, 16_000.0, rate)) < -40.0);
        let hp = coefficients(Shape::Highpass, 1000.0, 0.0, 0.0, rate);
        assert!((db(response(&hp, 1000.0, rate))).abs() < 0.01);
        assert!(db(response(&hp, 50.0, rate)) < -45.0);
        let peak = coefficients(Shape::Peaking, 1000.0, 1.0, -6.0, rate);
        assert!((db(response(&peak, 1000.0, rate)) + 6.0).abs() < 0.01);
        assert!(db(response(&peak, 20.0, rate)).abs() < 0.05);
        let low = coefficients(Shape::Lowshelf, 200.0, 0.0, 9.0, rate);
        assert!((db(response(&low, 10.0, rate)) - 9.0).abs() < 0.05);
        assert!(
            (db(response(&low, 200.0, rate)) - 4.5).abs() < 0.05,
            "half the gain at the corner"
        );
        let high = coefficients(Shape::Highshelf, 4000.0, 0.0, -12.0, rate);
        assert!((db(response(&high, 20_000.0, rate)) + 12.0).abs() < 0.2);
        let all = coefficients(Shape::Allpass, 700.0, PHASER_Q, 0.0, rate);
        for f in [50.0, 700.0, 9000.0] {
            assert!((response(&all, f, rate) - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn the_one_pole_filters_pass_their_band_at_6_db_per_octave() {
        let rate = 48_000.0;
        let run = |kind, hz: f64| {
            let mut filter = OnePole::new(kind, 1000.0, rate);
            let mut plane: Vec<f32> = (0..48_000)
                .map(|i| libm::sin(2.0 * PI * hz * f64::from(i) / rate) as f32)
                .collect();
            filter.run(&mut plane, Clock { rate, start: 0.0 });
            plane[24_000..].iter().fold(0f32, |m, s| m.max(s.abs()))
        };
        assert!(
            (run(EffectKind::Lowpass, 1000.0) - std::f64::consts::FRAC_1_SQRT_2 as f32).abs()
                < 0.01,
            "-3 dB at the corner"
        );
        assert!((run(EffectKind::Lowpass, 8000.0) - 0.12).abs() < 0.02);
        assert!(run(EffectKind::Highpass, 15_000.0) > 0.99);
    }
}
