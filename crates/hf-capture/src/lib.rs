//! Capture stages for hf: drive headless Chrome over CDP (chromiumoxide on tokio) and turn a
//! compiled composition into a stream of frames pushed into a [`FrameSink`](hf_core::FrameSink).
//!
//! - [`resolve_browser`]: find Debian's `chromium-headless-shell` (or the one configured);
//!   every browser runs in its own process group, so nothing outlives a render.
//! - [`FileServer`]: serve the compiled page (then the project dir) on `127.0.0.1`.
//! - [`CaptureSession`]: one browser, one page, ready for `seek + capture`.
//! - [`BrowserPool`]: the browsers of a render, launched concurrently, calibrated, restarted
//!   when one dies.
//! - [`capture_frames`]: the capture stage, one run of frames into a sink; [`FrameFiles`] is
//!   the sink of capture-disk.
//! - [`RUNTIME_JS`]: the page runtime every compiled page loads first; this crate is the only
//!   place that calls it.
#![deny(missing_docs)]

mod browser;
mod capture;
mod disk;
mod error;
mod layered;
mod page;
mod pool;
mod runtime;
mod server;
mod session;
mod video;

pub use browser::{resolve_browser, ChromeProcess, LaunchOptions, Sandbox};
pub use capture::{capture_frames, CaptureInput, CaptureOutput};
pub use disk::FrameFiles;
pub use error::CaptureError;
pub use layered::{TransitionWindow, BLENDS_IN_FLIGHT};
pub use pool::{BrowserPool, BrowserRestarter};
pub use runtime::{runtime_script_tag, PageActivity, TransitionMeta, RUNTIME_FILE, RUNTIME_JS};
pub use server::{names_hidden_file, FileServer, ACCESS_COOKIE};
pub use session::{ActiveCaptureMode, CaptureMode, CaptureSession, PageFacts, SessionOptions};
pub use video::{AudioGroupSlot, HdrElement, MediaSlot, VideoFrameSource, VideoFrames};
