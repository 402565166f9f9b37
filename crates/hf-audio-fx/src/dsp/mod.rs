//! The effects as offline processors of one channel, each doing what HyperFrames' Web Audio
//! graph for it does in an `OfflineAudioContext` (Chrome's node semantics: biquad formulas,
//! delay interpolation, a feedback delay of at least one render quantum) and what its
//! AudioWorklet processors compute, sample for sample.

mod dynamics;
mod filter;
mod reverb;
mod shape;
mod time;
mod truepeak;

pub(crate) use truepeak::latency_frames;

use crate::automation::{Automation, LaneCursor};
use crate::chain::FxNode;
use crate::registry::EffectKind;

/// Sample times of a plane: sample `i` is at `start + i / rate` seconds on the lanes' clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub rate: f64,
    pub start: f64,
}

impl Clock {
    pub(crate) fn time(self, index: usize) -> f64 {
        self.start + index as f64 / self.rate
    }
}

/// One effect running over a channel in place, samples stored as `f32` between effects as
/// Web Audio stores them between nodes.
pub(crate) trait Effect {
    fn run(&mut self, plane: &mut [f32], clock: Clock);
}

/// A parameter's value over time: fixed, or an automation lane.
pub(crate) enum Control<'a> {
    Fixed(f64),
    Lane(LaneCursor<'a>),
}

impl Control<'_> {
    /// The value at `t` (non-decreasing between calls), as a mapped or log-scaled AudioParam
    /// follows its lane.
    pub(crate) fn at(&mut self, t: f64) -> f64 {
        match self {
            Self::Fixed(v) => *v,
            Self::Lane(cursor) => cursor.at(t),
        }
    }

    /// The value at `t` as an AudioParam driven with the lane's own values follows it (see
    /// [`LaneCursor::at_ramped`]).
    pub(crate) fn ramped(&mut self, t: f64) -> f64 {
        match self {
            Self::Fixed(v) => *v,
            Self::Lane(cursor) => cursor.at_ramped(t),
        }
    }

    pub(crate) fn is_fixed(&self) -> bool {
        matches!(self, Self::Fixed(_))
    }
}

/// Parameter `key` of `node`: its lane when the parameter is automatable and one drives it,
/// else its value.
pub(crate) fn control<'a>(node: &FxNode, automation: &'a Automation, key: &str) -> Control<'a> {
    let automatable = node.kind.number(key).is_some_and(|p| p.automatable);
    match automation.fx(node.id.as_deref(), key) {
        Some(lane) if automatable => {
            let first = lane.points[0].v;
            if lane.points.iter().all(|p| p.v == first) {
                Control::Fixed(first)
            } else {
                Control::Lane(LaneCursor::new(lane))
            }
        }
        _ => Control::Fixed(node.number(key)),
    }
}

/// `10^(db / 20)`.
pub(crate) fn db_to_gain(db: f64) -> f64 {
    libm::pow(10.0, db / 20.0)
}

/// Run `node` (enabled) over every channel of a track, its lanes from `automation`: the true-peak
/// limiter over all channels at once (one gain for all), every other effect channel by channel.
pub(crate) fn run_node(
    node: &FxNode,
    automation: &Automation,
    planes: &mut [Vec<f32>],
    clock: Clock,
) {
    if node.kind == EffectKind::Truepeak {
        truepeak::TruePeak::new(node, clock.rate).run(planes);
        return;
    }
    for plane in planes {
        build(node, automation, clock.rate).run(plane, clock);
    }
}

/// The processor for one channel of `node` at `rate`, its lanes from `automation`.
fn build<'a>(node: &FxNode, automation: &'a Automation, rate: f64) -> Box<dyn Effect + 'a> {
    match node.kind {
        EffectKind::Gain => Box::new(filter::Gain::new(control(node, automation, "gain"))),
        EffectKind::Highpass | EffectKind::Lowpass if node.choice("poles") == "1" => Box::new(
            filter::OnePole::new(node.kind, node.number("frequency"), rate),
        ),
        EffectKind::Peaking
        | EffectKind::Lowshelf
        | EffectKind::Highshelf
        | EffectKind::Highpass
        | EffectKind::Lowpass => Box::new(filter::Biquad::new(node, automation)),
        EffectKind::Compressor => Box::new(dynamics::Compressor::new(node, rate)),
        EffectKind::Limiter => Box::new(dynamics::Limiter::new(node, rate)),
        EffectKind::Truepeak => {
            unreachable!("run_node runs the true-peak limiter over all channels")
        }
        EffectKind::Gate => Box::new(dynamics::Gate::new(node, rate)),
        EffectKind::Saturate => Box::new(shape::Saturate::new(node, automation)),
        EffectKind::Bitcrush => Box::new(shape::Bitcrush::new(node)),
        EffectKind::Pitchshift => Box::new(time::Pitchshift::new(node, rate)),
        EffectKind::Delay => Box::new(time::Delay::new(node, automation, rate)),
        EffectKind::Chorus => Box::new(time::Chorus::new(node, automation, rate)),
        EffectKind::Phaser => Box::new(filter::Phaser::new(node, automation)),
        EffectKind::Reverb => Box::new(reverb::Reverb::new(node, automation, rate)),
    }
}

/// A delay line: the samples pushed so far, read back at fractional delays with linear
/// interpolation (as Chrome's DelayNode reads); samples before the first read as 0.
pub(crate) struct Ring {
    buffer: Vec<f64>,
    pushed: usize,
}

impl Ring {
    /// Room for delays up to `capacity - 2` samples.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            buffer: vec![0.0; capacity.max(4)],
            pushed: 0,
        }
    }

    pub(crate) fn push(&mut self, sample: f64) {
        let len = self.buffer.len();
        self.buffer[self.pushed % len] = sample;
        self.pushed += 1;
    }

    fn sample(&self, index: isize) -> f64 {
        if index < 0 || index as usize >= self.pushed {
            return 0.0;
        }
        self.buffer[index as usize % self.buffer.len()]
    }

    /// The signal `delay` samples before the last one pushed.
    pub(crate) fn read(&self, delay: f64) -> f64 {
        let position = self.pushed as f64 - 1.0 - delay;
        let floor = libm::floor(position);
        let fraction = position - floor;
        let index = floor as isize;
        self.sample(index) * (1.0 - fraction) + self.sample(index + 1) * fraction
    }
}

/// The looping one-second wave HyperFrames plays at `speed` Hz into a modulated parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wave {
    Sine,
    Triangle,
}

/// Frames per Web Audio render quantum: k-rate parameters change only at quantum starts.
const QUANTUM: usize = 128;

/// An LFO's phase (cycles), advanced sample by sample at a speed that may be automated (a
/// buffer source's `playbackRate`: k-rate, read once per render quantum).
pub(crate) struct Lfo<'a> {
    wave: Wave,
    speed: Control<'a>,
    current_speed: f64,
    phase: f64,
    frames: usize,
}

impl<'a> Lfo<'a> {
    pub(crate) fn new(wave: Wave, speed: Control<'a>) -> Self {
        Self {
            wave,
            speed,
            current_speed: 0.0,
            phase: 0.0,
            frames: 0,
        }
    }

    /// The wave's value at `t`, the next sample time.
    pub(crate) fn next(&mut self, t: f64, rate: f64) -> f64 {
        if self.frames.is_multiple_of(QUANTUM) {
            self.current_speed = self.speed.ramped(t);
        }
        let speed = self.current_speed;
        if self.frames == 0 {
            // Started `t` seconds into the lane's clock, as HyperFrames offsets it.
            self.phase = (t * speed).rem_euclid(1.0);
        }
        self.frames += 1;
        let phase = self.phase;
        self.phase = (self.phase + speed / rate).rem_euclid(1.0);
        match self.wave {
            Wave::Sine => libm::sin(2.0 * std::f64::consts::PI * phase),
            Wave::Triangle => 4.0 * (((phase + 0.75) % 1.0) - 0.5).abs() - 1.0,
        }
    }
}

/// An exponential follower's per-sample coefficient for a time constant of `ms`.
pub(crate) fn follower_coefficient(ms: f64, rate: f64) -> f64 {
    libm::exp(-1.0 / (rate * (ms / 1000.0).max(1e-5)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_reads_whole_and_fractional_delays() {
        let mut ring = Ring::new(8);
        for x in [1.0, 2.0, 3.0, 4.0] {
            ring.push(x);
        }
        assert_eq!(ring.read(0.0), 4.0);
        assert_eq!(ring.read(2.0), 2.0);
        assert_eq!(ring.read(0.5), 3.5);
        assert_eq!(
            ring.read(3.5),
            0.5,
            "half of the first sample and half of silence"
        );
        assert_eq!(ring.read(6.0), 0.0);
    }

    #[test]
    fn lfo_waves_start_at_the_phase_of_their_clock() {
        let mut sine = Lfo::new(Wave::Sine, Control::Fixed(1.0));
        assert!(
            (sine.next(0.25, 4.0) - 1.0).abs() < 1e-12,
            "a quarter cycle in"
        );
        assert!(sine.next(0.5, 4.0).abs() < 1e-12);
        let mut triangle = Lfo::new(Wave::Triangle, Control::Fixed(1.0));
        let values: Vec<f64> = (0..4)
            .map(|i| triangle.next(f64::from(i) / 4.0, 4.0))
            .collect();
        assert_eq!(values, vec![0.0, 1.0, 0.0, -1.0]);
    }
}
