//! hf's engine: compile a HyperFrames project, probe it, and sequence the capture, encode and
//! assemble stages in-process.
//!
//! Embedding hf is one call:
//!
//! ```no_run
//! use hf_engine::{render, RenderJob};
//! let job = RenderJob::new("examples/hello").output("hello.mp4");
//! let result = render(job, |event: hf_engine::ProgressEvent| eprintln!("{event:?}"))?;
//! println!("{} frames -> {}", result.frames, result.output.display());
//! # Ok::<(), hf_engine::RenderError>(())
//! ```
#![deny(missing_docs)]

pub mod assets;
pub mod compile;
mod error;
mod job;
mod media;
pub mod output;
pub mod plan;
mod render;

pub use assets::AssetCache;
pub use compile::{compile_stage, CompileInput, CompiledComposition};
pub use error::RenderError;
pub use hf_capture::{ActiveCaptureMode, CaptureMode};
pub use hf_encode::{Fps, VideoCodec};
pub use job::{
    CapturePlan, MediaSummary, OutputFormat, ProgressEvent, ProgressSink, Quality, RenderJob,
    RenderResult, Stage, StageTimings,
};
pub use output::{OutputKind, OutputPlan, Resolution};
pub use render::{render, render_async, render_with_cancel};
