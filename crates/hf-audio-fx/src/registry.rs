//! The seventeen effects HyperFrames 0.8's `data-fx-chain` names (its `HF_AUDIO_FX` registry): ids,
//! parameters, ranges, defaults, and which parameters an automation lane can drive.

use serde::{Deserialize, Serialize};

/// One effect type of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EffectKind {
    /// Level stage, -60..+12 dB.
    Gain,
    /// Peaking EQ band.
    Peaking,
    /// Low shelf.
    Lowshelf,
    /// High shelf.
    Highshelf,
    /// High-pass (one or two poles).
    Highpass,
    /// Low-pass (one or two poles).
    Lowpass,
    /// Compressor with knee, makeup and dry mix.
    Compressor,
    /// Peak limiter.
    Limiter,
    /// Lookahead limiter on the 4x-oversampled (true) peak, all channels linked.
    Truepeak,
    /// Noise gate.
    Gate,
    /// Wave-shaping saturation.
    Saturate,
    /// Bit depth and sample-hold reduction.
    Bitcrush,
    /// Granular pitch shift.
    Pitchshift,
    /// Feedback delay.
    Delay,
    /// LFO-modulated delay.
    Chorus,
    /// Six all-pass stages swept by an LFO.
    Phaser,
    /// Convolution with a generated impulse.
    Reverb,
}

/// How an automation lane interpolates a parameter between two points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scale {
    /// Straight between the values.
    Linear,
    /// Straight between their logarithms (frequencies, times).
    Log,
}

/// A numeric parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NumberParam {
    pub key: &'static str,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    pub log: bool,
    /// A lane on it changes the sound (an AudioParam backs it upstream).
    pub automatable: bool,
}

/// A parameter with a fixed set of string values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ChoiceParam {
    pub key: &'static str,
    pub options: &'static [&'static str],
    pub default: &'static str,
}

/// One parameter of an effect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ParamDef {
    Number(NumberParam),
    Choice(ChoiceParam),
}

const fn num(key: &'static str, min: f64, max: f64, default: f64) -> ParamDef {
    ParamDef::Number(NumberParam {
        key,
        min,
        max,
        default,
        log: false,
        automatable: false,
    })
}

const fn log(key: &'static str, min: f64, max: f64, default: f64) -> ParamDef {
    ParamDef::Number(NumberParam {
        key,
        min,
        max,
        default,
        log: true,
        automatable: false,
    })
}

/// `param` with lanes allowed.
const fn auto(param: ParamDef) -> ParamDef {
    match param {
        ParamDef::Number(mut n) => {
            n.automatable = true;
            ParamDef::Number(n)
        }
        choice => choice,
    }
}

const POLES: ParamDef = ParamDef::Choice(ChoiceParam {
    key: "poles",
    options: &["1", "2"],
    default: "2",
});

impl EffectKind {
    /// Every effect, in the registry's order.
    pub const ALL: [EffectKind; 17] = [
        Self::Gain,
        Self::Peaking,
        Self::Lowshelf,
        Self::Highshelf,
        Self::Highpass,
        Self::Lowpass,
        Self::Compressor,
        Self::Limiter,
        Self::Truepeak,
        Self::Gate,
        Self::Saturate,
        Self::Bitcrush,
        Self::Pitchshift,
        Self::Delay,
        Self::Chorus,
        Self::Phaser,
        Self::Reverb,
    ];

    /// The id a chain writes (`"highpass"`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Gain => "gain",
            Self::Peaking => "peaking",
            Self::Lowshelf => "lowshelf",
            Self::Highshelf => "highshelf",
            Self::Highpass => "highpass",
            Self::Lowpass => "lowpass",
            Self::Compressor => "compressor",
            Self::Limiter => "limiter",
            Self::Truepeak => "truepeak",
            Self::Gate => "gate",
            Self::Saturate => "saturate",
            Self::Bitcrush => "bitcrush",
            Self::Pitchshift => "pitchshift",
            Self::Delay => "delay",
            Self::Chorus => "chorus",
            Self::Phaser => "phaser",
            Self::Reverb => "reverb",
        }
    }

    /// The effect a chain's `type` names.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.id() == id)
    }

    /// Its parameters with ranges and defaults.
    pub(crate) fn params(self) -> &'static [ParamDef] {
        match self {
            Self::Gain => const { &[auto(num("gain", -60.0, 12.0, 0.0))] },
            Self::Peaking => {
                const {
                    &[
                        auto(log("frequency", 20.0, 20_000.0, 1000.0)),
                        auto(num("gain", -40.0, 40.0, 0.0)),
                        auto(log("q", 0.1, 20.0, 1.0)),
                    ]
                }
            }
            Self::Lowshelf => {
                const {
                    &[
                        auto(log("frequency", 20.0, 2000.0, 200.0)),
                        auto(num("gain", -40.0, 40.0, 0.0)),
                    ]
                }
            }
            Self::Highshelf => {
                const {
                    &[
                        auto(log("frequency", 500.0, 20_000.0, 4000.0)),
                        auto(num("gain", -40.0, 40.0, 0.0)),
                    ]
                }
            }
            Self::Highpass => {
                const {
                    &[
                        auto(log("frequency", 20.0, 20_000.0, 300.0)),
                        auto(log("q", 0.1, 20.0, 0.707)),
                        POLES,
                    ]
                }
            }
            Self::Lowpass => {
                const {
                    &[
                        auto(log("frequency", 100.0, 20_000.0, 8000.0)),
                        auto(log("q", 0.1, 20.0, 0.707)),
                        POLES,
                    ]
                }
            }
            Self::Compressor => {
                const {
                    &[
                        num("threshold", -60.0, 0.0, -24.0),
                        num("ratio", 1.0, 20.0, 4.0),
                        log("attack", 0.01, 2000.0, 20.0),
                        log("release", 0.01, 9000.0, 250.0),
                        num("knee", 1.0, 8.0, 2.83),
                        num("makeup", 0.0, 36.0, 0.0),
                        num("mix", 0.0, 1.0, 1.0),
                    ]
                }
            }
            Self::Limiter => {
                const {
                    &[
                        num("limit", -24.0, 0.0, -1.0),
                        num("attack", 0.1, 80.0, 5.0),
                        log("release", 1.0, 8000.0, 50.0),
                        num("level_out", -24.0, 24.0, 0.0),
                    ]
                }
            }
            Self::Truepeak => {
                const {
                    &[
                        num("ceiling", -24.0, 0.0, -1.0),
                        num("lookahead", 0.5, 10.0, 3.0),
                        log("release", 10.0, 2000.0, 80.0),
                    ]
                }
            }
            Self::Gate => {
                const {
                    &[
                        num("threshold", -80.0, 0.0, -35.0),
                        num("range", -80.0, 0.0, -24.0),
                        num("ratio", 1.0, 20.0, 10.0),
                        log("attack", 0.01, 9000.0, 1.0),
                        log("release", 0.01, 9000.0, 100.0),
                        num("knee", 1.0, 8.0, 2.83),
                    ]
                }
            }
            Self::Saturate => {
                const {
                    &[
                        ParamDef::Choice(ChoiceParam {
                            key: "type",
                            options: &[
                                "tanh", "atan", "cubic", "exp", "alg", "quintic", "sin", "erf",
                                "hard",
                            ],
                            default: "tanh",
                        }),
                        num("threshold", -40.0, 0.0, -6.0),
                        auto(num("output", -24.0, 24.0, 0.0)),
                        num("oversample", 1.0, 8.0, 4.0),
                    ]
                }
            }
            Self::Bitcrush => {
                const {
                    &[
                        num("bits", 1.0, 32.0, 8.0),
                        num("samples", 1.0, 250.0, 1.0),
                        num("mix", 0.0, 1.0, 1.0),
                    ]
                }
            }
            Self::Pitchshift => {
                const {
                    &[
                        num("semitones", -12.0, 12.0, 0.0),
                        num("mix", 0.0, 1.0, 1.0),
                    ]
                }
            }
            Self::Delay => {
                const {
                    &[
                        auto(log("time", 1.0, 5000.0, 250.0)),
                        auto(num("feedback", 0.01, 0.95, 0.35)),
                        auto(num("mix", 0.0, 1.0, 0.4)),
                    ]
                }
            }
            Self::Chorus => {
                const {
                    &[
                        auto(num("delay", 1.0, 100.0, 7.0)),
                        auto(num("depth", 0.0, 10.0, 2.0)),
                        auto(num("speed", 0.01, 10.0, 1.0)),
                        auto(num("mix", 0.0, 1.0, 0.5)),
                    ]
                }
            }
            Self::Phaser => {
                const {
                    &[
                        auto(num("in_gain", 0.0, 1.0, 0.4)),
                        auto(num("out_gain", 0.0, 2.0, 0.74)),
                        num("delay", 0.1, 5.0, 3.0),
                        num("decay", 0.0, 0.99, 0.4),
                        auto(num("speed", 0.1, 2.0, 0.5)),
                        ParamDef::Choice(ChoiceParam {
                            key: "type",
                            options: &["0", "1"],
                            default: "0",
                        }),
                    ]
                }
            }
            Self::Reverb => {
                const {
                    &[
                        num("size", 0.05, 1.0, 0.7),
                        num("damping", 0.0, 1.0, 0.5),
                        auto(num("wet", 0.0, 1.0, 0.35)),
                        auto(num("dry", 0.0, 1.0, 0.7)),
                    ]
                }
            }
        }
    }

    /// The numeric parameter `key`, if the effect has one.
    pub(crate) fn number(self, key: &str) -> Option<NumberParam> {
        self.params().iter().find_map(|p| match p {
            ParamDef::Number(n) if n.key == key => Some(*n),
            _ => None,
        })
    }
}

impl NumberParam {
    /// How a lane on it interpolates: logarithmic only for a log parameter whose range is
    /// positive.
    pub(crate) fn scale(&self) -> Scale {
        if self.log && self.min > 0.0 {
            Scale::Log
        } else {
            Scale::Linear
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_effect_round_trips_its_id_and_has_unique_parameter_keys() {
        for kind in EffectKind::ALL {
            assert_eq!(EffectKind::from_id(kind.id()), Some(kind));
            let keys: Vec<&str> = kind
                .params()
                .iter()
                .map(|p| match p {
                    ParamDef::Number(n) => n.key,
                    ParamDef::Choice(c) => c.key,
                })
                .collect();
            let mut unique = keys.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), keys.len(), "{}", kind.id());
        }
        assert_eq!(EffectKind::from_id("flanger"), None);
        assert_eq!(
            EffectKind::Delay.number("time").unwrap().scale(),
            Scale::Log
        );
        assert!(
            !EffectKind::Compressor
                .number("threshold")
                .unwrap()
                .automatable
        );
    }
}
