//! hf's engine: compile a HyperFrames project, plan the render, and run the capture, encode
//! and assemble stages in-process.
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
//!
//! [`render`] is three stages, each usable on its own (the distributed commands run them in
//! separate processes): [`plan_stage`] turns a [`RenderJob`] into a [`RenderPlan`];
//! [`render_chunk`] renders a [`ChunkSpec`] of it into encoded segments ([`ChunkResult`]);
//! [`assemble_stage`] joins the chunks into the output.
#![deny(missing_docs)]

mod assemble;
mod assets;
mod batch;
mod chunk;
mod compile;
mod error;
mod job;
mod lint;
mod media;
mod output;
mod plan;
mod progress;
mod render;
mod result;
mod snapshot;
mod workdir;

pub use assemble::{assemble_stage, Assembled, ChunkDir};
pub use assets::AssetCache;
pub use batch::{
    render_batch, BatchEvent, BatchJob, BatchManifest, BatchRow, RowRecord, RowStatus,
};
pub use chunk::{render_chunk, ChunkResult, SegmentPiece, Workers};
pub use compile::{
    compile_stage, ClipSummary, CompileInput, CompiledComposition, CompositionSummary, MediaKind,
    MediaSource, VariableDeclaration,
};
pub use error::RenderError;
pub use hf_capture::{ActiveCaptureMode, CaptureMode};
pub use hf_core::Fps;
pub use hf_encode::VideoCodec;
pub use job::{CapturePlan, HdrMode, Quality, RenderJob, VideoFrameFormat};
pub use lint::{lint_stage, Finding, LintInput, LintReport, Severity};
pub use output::{parse_bitrate, OutputFormat, OutputKind, OutputRequest, Resolution};
pub use plan::{
    plan_stage, AudioPlan, CaptureSettings, ChunkSpec, HdrPlan, OutputTarget, PagePlan,
    PlannedRender, RenderPlan, SegmentSpec, PLAN_VERSION,
};
pub use progress::{ProgressEvent, ProgressSink, Stage};
pub use render::{render, render_async, render_with_cancel};
pub use result::{MediaSummary, RenderResult, StageTimings};
pub use snapshot::{snapshot, Snapshot, SnapshotFrames, Still};
