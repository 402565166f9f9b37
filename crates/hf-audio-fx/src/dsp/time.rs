//! Delay (a DelayNode in a feedback loop), chorus (a DelayNode swept by a sine LFO) and pitch
//! shift (HyperFrames' dual-tap granular worklet).

use super::{control, Clock, Control, Effect, Lfo, Ring, Wave};
use crate::automation::Automation;
use crate::chain::FxNode;

/// Web Audio's render quantum: a DelayNode inside a cycle delays at least this many frames,
/// and Chrome's cycle adds this many frames to every trip round the loop.
const RENDER_QUANTUM: f64 = 128.0;

/// Echoes: `d[n] = s[n - time]` with `s[n] = x[n] + feedback * d[n - 128]` (the first echo
/// after `time`, each later one another `time` + 128 frames on, as Chrome runs the loop), out
/// `mix * d + (1 - mix) * x`.
pub(crate) struct Delay<'a> {
    time: Control<'a>,
    feedback: Control<'a>,
    mix: Control<'a>,
    line: Ring,
    echoes: Ring,
}

impl<'a> Delay<'a> {
    pub(crate) fn new(node: &FxNode, automation: &'a Automation, rate: f64) -> Self {
        Self {
            time: control(node, automation, "time"),
            feedback: control(node, automation, "feedback"),
            mix: control(node, automation, "mix"),
            line: Ring::new((5.0 * rate) as usize + 4),
            echoes: Ring::new(RENDER_QUANTUM as usize + 4),
        }
    }
}

impl Effect for Delay<'_> {
    fn run(&mut self, plane: &mut [f32], clock: Clock) {
        for (i, sample) in plane.iter_mut().enumerate() {
            let t = clock.time(i);
            let seconds = (self.time.at(t) / 1000.0).min(5.0);
            let frames = (seconds * clock.rate).max(RENDER_QUANTUM);
            // The line holds the loop's input; its output `frames` ago is this sample's echo.
            let echo = self.line.read(frames - 1.0);
            let fed_back = self.echoes.read(RENDER_QUANTUM - 1.0);
            self.echoes.push(echo);
            let x = f64::from(*sample);
            self.line.push(x + self.feedback.ramped(t) * fed_back);
            // The wet gain follows the lane's values; the dry one its `1 - mix` mapping.
            let (wet, dry) = (self.mix.ramped(t), 1.0 - self.mix.at(t));
            *sample = (wet * echo + dry * x) as f32;
        }
    }
}

/// Longest chorus delay (its DelayNode's maximum), seconds.
const CHORUS_MAX_DELAY: f64 = 0.5;

/// Chorus: the signal delayed by `delay + depth * sin(speed)` ms, mixed with the dry signal.
pub(crate) struct Chorus<'a> {
    delay: Control<'a>,
    depth: Control<'a>,
    mix: Control<'a>,
    lfo: Lfo<'a>,
    line: Ring,
}

impl<'a> Chorus<'a> {
    pub(crate) fn new(node: &FxNode, automation: &'a Automation, rate: f64) -> Self {
        Self {
            delay: control(node, automation, "delay"),
            depth: control(node, automation, "depth"),
            mix: control(node, automation, "mix"),
            lfo: Lfo::new(Wave::Sine, control(node, automation, "speed")),
            line: Ring::new((CHORUS_MAX_DELAY * rate) as usize + 4),
        }
    }
}

impl Effect for Chorus<'_> {
    fn run(&mut self, plane: &mut [f32], clock: Clock) {
        for (i, sample) in plane.iter_mut().enumerate() {
            let t = clock.time(i);
            let x = f64::from(*sample);
            self.line.push(x);
            let swing = self.depth.at(t) / 1000.0 * self.lfo.next(t, clock.rate);
            let seconds = (self.delay.at(t) / 1000.0 + swing).clamp(0.0, CHORUS_MAX_DELAY);
            let wet = self.line.read(seconds * clock.rate);
            let (wet_gain, dry_gain) = (self.mix.ramped(t), 1.0 - self.mix.at(t));
            *sample = (wet_gain * wet + dry_gain * x) as f32;
        }
    }
}

/// Pitch shift without a change of speed: two read taps half a 100 ms grain apart sweep the
/// delay at `1 - 2^(semitones/12)` per sample, each faded by `sin(pi * phase)`.
pub(crate) struct Pitchshift {
    grain: f64,
    increment: f64,
    mix: f64,
    phase: f64,
    line: Ring,
}

impl Pitchshift {
    pub(crate) fn new(node: &FxNode, rate: f64) -> Self {
        let grain = libm::floor(rate * 0.1 + 0.5);
        let ratio = libm::pow(2.0, node.number("semitones") / 12.0);
        Self {
            grain,
            increment: (1.0 - ratio) / grain,
            mix: node.number("mix"),
            phase: 0.0,
            line: Ring::new(2 * grain as usize + 4),
        }
    }
}

impl Effect for Pitchshift {
    fn run(&mut self, plane: &mut [f32], _clock: Clock) {
        let fade = |phase: f64| libm::sin(std::f64::consts::PI * phase);
        for sample in plane.iter_mut() {
            self.phase += self.increment;
            self.phase -= libm::floor(self.phase);
            let other = (self.phase + 0.5) % 1.0;
            let x = f64::from(*sample);
            self.line.push(x);
            // The worklet's taps read one sample behind the one just written.
            let wet = self.line.read(self.phase * self.grain + 1.0) * fade(self.phase)
                + self.line.read(other * self.grain + 1.0) * fade(other);
            *sample = (x * (1.0 - self.mix) + wet * self.mix) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::test_node as node;

    fn impulse_response(effect: &mut dyn Effect, len: usize) -> Vec<f32> {
        let mut plane = vec![0f32; len];
        plane[0] = 1.0;
        effect.run(
            &mut plane,
            Clock {
                rate: 1000.0,
                start: 0.0,
            },
        );
        plane
    }

    #[test]
    fn delay_echoes_decay_by_the_feedback_and_short_loops_wait_a_quantum() {
        let none = Automation::default();
        // At 1 kHz, 200 ms is 200 samples.
        let echo = node(r#"{"type":"delay","params":{"time":200,"feedback":0.5,"mix":0.5}}"#);
        let out = impulse_response(&mut Delay::new(&echo, &none, 1000.0), 900);
        assert_eq!(out[0], 0.5, "dry half");
        // Echoes at 200, then 128 frames later per trip round the loop.
        assert_eq!((out[200], out[528], out[856]), (0.5, 0.25, 0.125));
        assert_eq!(out.iter().filter(|s| **s != 0.0).count(), 3 + 1);
        let short = node(r#"{"type":"delay","params":{"time":10,"feedback":0.5,"mix":1}}"#);
        let out = impulse_response(&mut Delay::new(&short, &none, 1000.0), 400);
        assert_eq!(out[128], 1.0, "10 samples is clamped to 128 in a loop");
        assert_eq!(out[384], 0.5);
    }

    #[test]
    fn chorus_delays_by_its_centre_when_depth_is_zero() {
        let none = Automation::default();
        let chorus = node(r#"{"type":"chorus","params":{"delay":20,"depth":0,"mix":1}}"#);
        let out = impulse_response(&mut Chorus::new(&chorus, &none, 1000.0), 40);
        assert_eq!(out[20], 1.0);
        assert_eq!(out.iter().filter(|s| **s != 0.0).count(), 1);
    }

    #[test]
    fn pitchshift_by_an_octave_doubles_a_tone_frequency() {
        let rate = 48_000.0;
        let up = node(r#"{"type":"pitchshift","params":{"semitones":12}}"#);
        let mut shift = Pitchshift::new(&up, rate);
        let mut plane: Vec<f32> = (0..48_000)
            .map(|i| libm::sin(2.0 * std::f64::consts::PI * 200.0 * f64::from(i) / rate) as f32)
            .collect();
        shift.run(&mut plane, Clock { rate, start: 0.0 });
        // Upward zero crossings per second of the second half: about 400.
        let crossings = plane[24_000..]
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        assert!((380..=420).contains(&(crossings * 2)), "{crossings}");
    }
}
