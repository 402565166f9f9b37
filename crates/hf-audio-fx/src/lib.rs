//! HyperFrames' audio effects, rendered offline and deterministically.
//!
//! A HyperFrames clip, `<hf-audio-group>` or root composition may carry `data-fx-chain` (a
//! JSON chain of seventeen effect types in signal order) and `data-automation` (lanes moving
//! the volume, an effect parameter or a preset's amount over time). HyperFrames renders them
//! by running a Web Audio graph in an `OfflineAudioContext` in headless Chrome; hf runs the
//! same graph's processing natively: Web Audio's biquad formulas and delay semantics,
//! HyperFrames' worklet processors (compressor, limiter, gate, bitcrush, pitch shift) and its
//! generated reverb impulse, with pure-Rust maths so a track is the same bytes on every
//! machine.
//!
//! [`Fx::parse`] reads the attributes, [`Fx::process`] runs a track through them (longer by
//! [`Fx::tail_seconds`]), and [`Automation`] also serves the volume lanes the mixer applies.
//!
//! Left out: the WaveShaper's 2x/4x oversampling (saturation shapes at the track's rate, so
//! strong drive aliases a little more than in Chrome), and `data-fx-carve`, which upstream
//! never reads at playback either (the nodes and lanes a carve wrote are what play).

mod automation;
mod chain;
mod dsp;
mod process;
mod registry;

pub use automation::{Automation, Lane, Point, Target, Via, MAX_GAIN};
pub use chain::{parse_chain, FxChain, FxNode};
pub use process::{Fx, MAX_TAIL_SECONDS};
pub use registry::{EffectKind, Scale};
