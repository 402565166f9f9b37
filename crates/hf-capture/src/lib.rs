//! Capture stages for hf: drive headless Chrome over CDP (chromiumoxide on tokio) and turn a
//! compiled composition into a stream of frames.
//!
//! - [`browser`]: find and launch Debian's `chromium-headless-shell` with the deterministic flag
//!   set, in its own process group so nothing outlives a render.
//! - [`server`]: serve the compiled work dir (then the project dir) on `127.0.0.1`.
//! - [`CaptureSession`]: one browser, one page, ready for `seek + capture`.
//! - [`capture_streaming`]: the capture-streaming stage, frames straight into an encoder channel.
//! - [`capture_disk`]: the capture-disk stage, frames into files (resumable).
#![deny(missing_docs)]

pub mod browser;
mod disk;
mod error;
pub mod server;
mod session;
mod stream;
mod video;

pub use disk::{capture_disk, frame_path, DiskCaptureInput, DiskCaptureOutput};
pub use error::CaptureError;
pub use session::{ActiveCaptureMode, CaptureMode, CaptureSession, PageFacts, SessionOptions};
pub use stream::{capture_streaming, StreamingCaptureInput, StreamingCaptureOutput};
pub use video::{MediaSlot, VideoFrameSource, VideoFrames};
