//! Compressor, limiter and gate: HyperFrames' AudioWorklet processors (one-pole envelope
//! followers per channel, soft knee in dB), whose settings no lane can move.

use super::{db_to_gain, follower_coefficient, Clock, Effect};
use crate::chain::FxNode;

/// A peak follower: rises with the attack coefficient, falls with the release one.
struct Follower {
    attack: f64,
    release: f64,
    value: f64,
}

impl Follower {
    fn new(attack_ms: f64, release_ms: f64, rate: f64) -> Self {
        Self {
            attack: follower_coefficient(attack_ms, rate),
            release: follower_coefficient(release_ms, rate),
            value: 0.0,
        }
    }

    fn push(&mut self, x: f64) -> f64 {
        let magnitude = x.abs();
        let c = if magnitude > self.value {
            self.attack
        } else {
            self.release
        };
        self.value = magnitude + c * (self.value - magnitude);
        self.value
    }
}

/// The knee width in dB of a `knee` setting (1 is a hard corner).
fn knee_db(knee: f64) -> f64 {
    20.0 * libm::log10(knee.max(1.0001))
}

/// Gain change in dB for an envelope `over` dB above the threshold.
fn knee_gain(over: f64, ratio: f64, knee: f64) -> f64 {
    if knee > 0.0 && over > -knee && over < knee {
        let t = (over + knee) / (2.0 * knee);
        return -((1.0 - 1.0 / ratio) * knee * t * t);
    }
    if over > 0.0 {
        -(over * (1.0 - 1.0 / ratio))
    } else {
        0.0
    }
}

/// Downward compression above the threshold, makeup gain, and a dry blend below `mix` 1.
pub(crate) struct Compressor {
    follower: Follower,
    threshold: f64,
    ratio: f64,
    knee: f64,
    makeup: f64,
    mix: f64,
}

impl Compressor {
    pub(crate) fn new(node: &FxNode, rate: f64) -> Self {
        Self {
            follower: Follower::new(node.number("attack"), node.number("release"), rate),
            threshold: node.number("threshold"),
            ratio: node.number("ratio"),
            knee: knee_db(node.number("knee")),
            makeup: db_to_gain(node.number("makeup")),
            mix: node.number("mix"),
        }
    }
}

impl Effect for Compressor {
    fn run(&mut self, plane: &mut [f32], _clock: Clock) {
        let knee_start = db_to_gain(self.threshold - self.knee);
        let dry = 1.0 - self.mix;
        for sample in plane.iter_mut() {
            let x = f64::from(*sample);
            let envelope = self.follower.push(x);
            let gain = if envelope <= knee_start {
                1.0
            } else {
                let over = 20.0 * libm::log10(envelope) - self.threshold;
                libm::exp(knee_gain(over, self.ratio, self.knee) * std::f64::consts::LN_10 / 20.0)
            };
            *sample = (x * gain * self.makeup * self.mix + x * dry) as f32;
        }
    }
}

/// Gain reduction to the ceiling wherever the envelope exceeds it, then the output level.
pub(crate) struct Limiter {
    follower: Follower,
    ceiling: f64,
    output: f64,
}

impl Limiter {
    pub(crate) fn new(node: &FxNode, rate: f64) -> Self {
        Self {
            follower: Follower::new(node.number("attack"), node.number("release"), rate),
            ceiling: db_to_gain(node.number("limit")),
            output: db_to_gain(node.number("level_out")),
        }
    }
}

impl Effect for Limiter {
    fn run(&mut self, plane: &mut [f32], _clock: Clock) {
        for sample in plane.iter_mut() {
            let x = f64::from(*sample);
            let envelope = self.follower.push(x);
            let gain = if envelope > self.ceiling {
                self.ceiling / envelope
            } else {
                1.0
            };
            *sample = (x * gain * self.output) as f32;
        }
    }
}

/// Expansion below the threshold down to the range floor, the gain itself smoothed (release
/// while closing, attack while opening).
pub(crate) struct Gate {
    follower: Follower,
    threshold: f64,
    floor: f64,
    ratio: f64,
    gain: f64,
}

impl Gate {
    pub(crate) fn new(node: &FxNode, rate: f64) -> Self {
        Self {
            follower: Follower::new(node.number("attack"), node.number("release"), rate),
            threshold: db_to_gain(node.number("threshold")),
            floor: db_to_gain(node.number("range")),
            ratio: node.number("ratio"),
            gain: 1.0,
        }
    }
}

impl Effect for Gate {
    fn run(&mut self, plane: &mut [f32], _clock: Clock) {
        for sample in plane.iter_mut() {
            let x = f64::from(*sample);
            let envelope = self.follower.push(x);
            let mut target = 1.0;
            if envelope < self.threshold {
                let under = if envelope > 1e-9 {
                    self.threshold / envelope
                } else {
                    1e9
                };
                target = self.floor.max(1.0 / libm::pow(under, self.ratio - 1.0));
                if !target.is_finite() {
                    target = self.floor;
                }
            }
            let c = if target < self.gain {
                self.follower.release
            } else {
                self.follower.attack
            };
            self.gain = target + c * (self.gain - target);
            *sample = (x * self.gain) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::test_node as node;

    fn steady(effect: &mut dyn Effect, level: f32) -> f32 {
        let mut plane = vec![level; 48_000];
        effect.run(
            &mut plane,
            Clock {
                rate: 48_000.0,
                start: 0.0,
            },
        );
        plane[47_999]
    }

    #[test]
    fn a_settled_compressor_follows_its_static_curve() {
        // Hard knee (1), 4:1 above -20 dB: a steady 0 dB input comes out at -15 dB.
        let mut c = Compressor::new(
            &node(
                r#"{"type":"compressor","params":{"threshold":-20,"ratio":4,"knee":1,"attack":1,"release":10}}"#,
            ),
            48_000.0,
        );
        let out = 20.0 * libm::log10(f64::from(steady(&mut c, 1.0)));
        assert!((out + 15.0).abs() < 0.01, "{out}");
        // Below the knee nothing changes.
        let mut c = Compressor::new(
            &node(r#"{"type":"compressor","params":{"threshold":-20}}"#),
            48_000.0,
        );
        assert_eq!(steady(&mut c, 0.01), 0.01);
    }

    #[test]
    fn the_limiter_holds_its_ceiling_and_the_gate_its_floor() {
        let mut l = Limiter::new(
            &node(r#"{"type":"limiter","params":{"limit":-6}}"#),
            48_000.0,
        );
        assert!((steady(&mut l, 1.0) - 0.501_187).abs() < 1e-4);
        let mut g = Gate::new(
            &node(r#"{"type":"gate","params":{"threshold":-20,"range":-40,"ratio":20}}"#),
            48_000.0,
        );
        // 40 dB under the threshold at 20:1: pulled down to the -40 dB floor.
        assert!((steady(&mut g, 0.001) - 0.001 * 0.01).abs() < 1e-7);
        let mut g = Gate::new(
            &node(r#"{"type":"gate","params":{"threshold":-20}}"#),
            48_000.0,
        );
        assert_eq!(steady(&mut g, 0.5), 0.5, "open above the threshold");
    }
}
