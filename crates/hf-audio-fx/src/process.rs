//! A chain with its lanes, run over a whole track: enabled nodes in signal order, runs of one
//! preset blended wet/dry by its amount, and the output longer than the input by the chain's
//! tail so reverbs and echoes decay instead of being cut.

use crate::automation::{Automation, LaneCursor};
use crate::chain::{parse_chain, FxChain, FxNode};
use crate::dsp::{self, Clock, Control};
use serde::{Deserialize, Serialize};

/// Longest tail a chain adds, seconds.
pub const MAX_TAIL_SECONDS: f64 = 5.0;

/// What a tail decays to before it counts as ended (a delay's echoes).
const TAIL_FLOOR: f64 = 0.001;

/// An effect chain ready to run: the chain and the lanes that drive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fx {
    /// The nodes.
    pub chain: FxChain,
    /// Lanes resolved against the chain (volume lanes included; they are not applied here).
    pub automation: Automation,
}

impl Fx {
    /// Read `data-fx-chain` and the element's `data-automation` (if any). The error says
    /// which attribute is unreadable and why.
    pub fn parse(chain: &str, automation: Option<&str>) -> Result<Self, String> {
        let chain = parse_chain(chain).map_err(|e| format!("data-fx-chain: {e}"))?;
        let automation = match automation {
            Some(raw) => Automation::parse(raw)
                .map_err(|e| format!("data-automation: {e}"))?
                .resolve(Some(&chain)),
            None => Automation::default(),
        };
        Ok(Self { chain, automation })
    }

    /// No enabled node: the track passes unchanged.
    pub fn is_empty(&self) -> bool {
        self.chain.nodes.iter().all(|n| !n.enabled)
    }

    /// Seconds the chain rings on after its input ends: reverb `0.6 + 2.6 * size`, delay
    /// echoes down to -60 dB, chorus its delay, pitch shift 0.2; summed, at most
    /// [`MAX_TAIL_SECONDS`]; an automated setting counts at its lane's maximum.
    pub fn tail_seconds(&self) -> f64 {
        let total: f64 = self.chain.nodes.iter().map(|n| self.node_tail(n)).sum();
        total.min(MAX_TAIL_SECONDS)
    }

    fn node_tail(&self, node: &FxNode) -> f64 {
        use crate::registry::EffectKind::*;
        let max = |key: &str| {
            self.automation
                .fx(node.id.as_deref(), key)
                .map_or(node.number(key), |lane| lane.max())
        };
        if !node.enabled {
            return 0.0;
        }
        match node.kind {
            Reverb if max("wet") > 0.0 => 0.6 + max("size").clamp(0.0, 1.0) * 2.6,
            Delay if max("mix") > 0.0 => delay_tail(max("time"), max("feedback")),
            Chorus if max("mix") > 0.0 => max("delay") / 1000.0,
            Pitchshift if max("mix") > 0.0 => 0.2,
            _ => 0.0,
        }
    }

    /// Run the chain over interleaved `samples` of `channels` channels at `rate` Hz whose
    /// first sample is `start` seconds on the lanes' clock. The result is longer by the tail.
    /// True-peak limiters' latency is rendered past the end and dropped from the start.
    pub fn process(&self, samples: &[f32], channels: usize, rate: u32, start: f64) -> Vec<f32> {
        let channels = channels.max(1);
        let frames = samples.len() / channels;
        let tail = libm::ceil(self.tail_seconds() * f64::from(rate)) as usize;
        let latency: usize = self
            .chain
            .nodes
            .iter()
            .filter(|n| n.enabled && n.kind == crate::registry::EffectKind::Truepeak)
            .map(|n| dsp::latency_frames(n, f64::from(rate)))
            .sum();
        let clock = Clock {
            rate: f64::from(rate),
            start,
        };
        let mut planes: Vec<Vec<f32>> = (0..channels)
            .map(|c| {
                let mut plane: Vec<f32> =
                    samples.iter().skip(c).step_by(channels).copied().collect();
                plane.resize(frames + tail + latency, 0.0);
                plane
            })
            .collect();
        self.run(&mut planes, clock);
        (latency..latency + frames + tail)
            .flat_map(|i| planes.iter().map(move |p| p[i]))
            .collect()
    }

    /// Every enabled node over the channels, preset runs blended with their dry input.
    fn run(&self, planes: &mut [Vec<f32>], clock: Clock) {
        let enabled: Vec<&FxNode> = self.chain.nodes.iter().filter(|n| n.enabled).collect();
        for run in enabled.chunk_by(|a, b| a.preset == b.preset) {
            let dry = run[0].preset.as_ref().map(|_| planes.to_vec());
            for node in run {
                dsp::run_node(node, &self.automation, planes, clock);
            }
            if let (Some(dry), Some(preset)) = (dry, &run[0].preset) {
                for (plane, dry) in planes.iter_mut().zip(dry) {
                    let mut amount = match self.automation.preset(preset) {
                        Some(lane) => Control::Lane(LaneCursor::new(lane)),
                        None => Control::Fixed(run[0].preset_amount.unwrap_or(1.0)),
                    };
                    for (i, (wet, dry)) in plane.iter_mut().zip(dry).enumerate() {
                        let t = clock.time(i);
                        let (wet_gain, dry_gain) = (amount.ramped(t), 1.0 - amount.at(t));
                        *wet = (wet_gain * f64::from(*wet) + dry_gain * f64::from(dry)) as f32;
                    }
                }
            }
        }
    }
}

/// Seconds until echoes `time` ms apart, each `feedback` times the last, fall under -60 dB.
fn delay_tail(time: f64, feedback: f64) -> f64 {
    let gap = (time / 1000.0).min(5.0);
    if gap <= 0.0 {
        return 0.0;
    }
    let feedback = feedback.clamp(0.0, 0.999);
    if feedback <= 0.0 {
        return gap;
    }
    libm::ceil(libm::log(TAIL_FLOOR) / libm::log(feedback)) * gap
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(chain: &str, automation: Option<&str>) -> Fx {
        Fx::parse(chain, automation).unwrap()
    }

    #[test]
    fn tails_follow_the_settings_and_their_lanes_and_stop_at_five_seconds() {
        let reverb = fx(
            r#"{"version":1,"nodes":[{"type":"reverb","id":"r","params":{"size":0.5}}]}"#,
            None,
        );
        assert!((reverb.tail_seconds() - 1.9).abs() < 1e-12);
        let dry_reverb = fx(
            r#"{"version":1,"nodes":[{"type":"reverb","id":"r","params":{"wet":0}}]}"#,
            Some(
                r#"{"version":1,"lanes":[{"target":"fx.r.wet","points":[{"t":0,"v":0},{"t":1,"v":0.2}]}]}"#,
            ),
        );
        assert!(
            (dry_reverb.tail_seconds() - (0.6 + 0.7 * 2.6)).abs() < 1e-12,
            "wet reaches 0.2"
        );
        // 250 ms at 0.35: ceil(ln 0.001 / ln 0.35) = 7 echoes.
        let delay = fx(r#"{"version":1,"nodes":[{"type":"delay"}]}"#, None);
        assert!((delay.tail_seconds() - 1.75).abs() < 1e-12);
        let long = fx(
            r#"{"version":1,"nodes":[{"type":"delay","params":{"time":2000,"feedback":0.9}},{"type":"chorus","enabled":false}]}"#,
            None,
        );
        assert_eq!(long.tail_seconds(), MAX_TAIL_SECONDS);
        assert!(fx(
            r#"{"version":1,"nodes":[{"type":"gain","enabled":false}]}"#,
            None
        )
        .is_empty());
    }

    #[test]
    fn presets_blend_their_run_and_lanes_move_parameters_over_time() {
        // A preset run of one -60 dB gain at amount 0.5 leaves about half the signal.
        let chain = r#"{"version":1,"nodes":[
            {"type":"gain","params":{"gain":-60},"fromPreset":"duck","presetAmount":0.5},
            {"type":"gain","id":"g","params":{"gain":0}}]}"#;
        let lanes = r#"{"version":1,"lanes":[{"target":"fx.g.gain","points":[{"t":1,"v":0},{"t":2,"v":-6.0206}]}]}"#;
        let out = fx(chain, Some(lanes)).process(&[1.0; 8], 2, 2, 0.0);
        assert_eq!(out.len(), 8, "no tail");
        let expected_half = 0.5 + 0.5 * 0.001;
        // Frames at 0, 0.5, 1, 1.5 s: the lane holds 0 dB until 1 s, then ramps to -6 dB at 2 s.
        assert!((f64::from(out[0]) - expected_half).abs() < 1e-6);
        assert!((f64::from(out[4]) - expected_half).abs() < 1e-6);
        let at_1_5 = expected_half * libm::pow(10.0, -3.0103 / 20.0);
        assert!((f64::from(out[6]) - at_1_5).abs() < 1e-5, "{out:?}");
        assert_eq!(out[6], out[7], "both channels alike");
        let preset_lane =
            r#"{"version":1,"lanes":[{"target":"fx.preset.duck","points":[{"t":0,"v":0}]}]}"#;
        let out = fx(chain, Some(preset_lane)).process(&[1.0; 2], 1, 2, 0.0);
        assert_eq!(out, vec![1.0, 1.0], "amount 0 is the dry signal");
    }

    #[test]
    fn a_true_peak_limiter_comes_out_aligned_with_its_input() {
        let limiter = fx(
            r#"{"version":1,"nodes":[{"type":"truepeak","params":{"ceiling":0,"lookahead":1}}]}"#,
            None,
        );
        let mut input = vec![0f32; 400];
        input[100] = 0.5;
        input[101] = 0.5;
        let out = limiter.process(&input, 2, 48_000, 0.0);
        assert_eq!(out, input, "under the ceiling: unchanged, not delayed");
    }

    #[test]
    fn a_reverb_rings_on_past_the_input_and_processing_is_deterministic() {
        let reverb = fx(
            r#"{"version":1,"nodes":[{"type":"highpass","params":{"frequency":200}},{"type":"reverb","params":{"size":0.1}}]}"#,
            None,
        );
        let input: Vec<f32> = (0..4800)
            .map(|i| if i % 96 < 48 { 0.5 } else { -0.5 })
            .collect();
        let out = reverb.process(&input, 2, 48_000, 0.0);
        let tail_frames = (0.86f64 * 48_000.0).ceil() as usize;
        assert_eq!(out.len(), input.len() + tail_frames * 2);
        let ringing = out[input.len()..input.len() + 4800]
            .iter()
            .fold(0f32, |m, s| m.max(s.abs()));
        assert!(ringing > 0.01, "the tail rings: {ringing}");
        assert_eq!(out, reverb.process(&input, 2, 48_000, 0.0));
    }
}
