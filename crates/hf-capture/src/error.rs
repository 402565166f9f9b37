//! The errors of the capture stages.

use std::path::PathBuf;

/// Everything that can go wrong while launching Chrome or capturing frames.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// No usable browser binary.
    #[error(
        "no headless Chrome found (looked at: {searched}); install it with \
         `sudo apt-get install chromium-headless-shell` (or run ./setup.sh), or point \
         HF_BROWSER_PATH at a chrome-headless-shell binary"
    )]
    BrowserNotFound {
        /// The places that were checked, comma-separated.
        searched: String,
    },
    /// The browser process did not start or did not open its DevTools endpoint.
    #[error("could not start {path}: {reason}{stderr}")]
    Launch {
        /// The browser binary.
        path: PathBuf,
        /// What went wrong.
        reason: String,
        /// The tail of the browser's stderr, if any (already prefixed with a newline).
        stderr: String,
    },
    /// A DevTools command failed.
    #[error("Chrome DevTools command {command} failed: {message}")]
    Cdp {
        /// The CDP method or step.
        command: String,
        /// The error text.
        message: String,
    },
    /// A script threw while the composition loaded.
    #[error("{url} threw while loading: {message}\n  fix the script error (it is quoted from the page console)")]
    PageScript {
        /// The page URL.
        url: String,
        /// The exception text with its location.
        message: String,
    },
    /// The page's renderer process crashed.
    #[error("{url}: the page's renderer crashed (Chrome ran out of memory or hit one of its limits: a script that allocates without bound, an enormous canvas or image); fix the page")]
    PageCrashed {
        /// The page URL.
        url: String,
    },
    /// The page navigated away from the composition while loading.
    #[error("{url} navigated away to {to} while loading (location.href = ..., a redirect or a form submit); a composition must stay on its page: remove the navigation")]
    NavigatedAway {
        /// The page URL.
        url: String,
        /// Where it went.
        to: String,
    },
    /// The page did not become ready in time.
    #[error("{url} was not ready after {seconds:.1} s: {waiting_for}")]
    NotReady {
        /// The page URL.
        url: String,
        /// How long hf waited.
        seconds: f64,
        /// What was still pending.
        waiting_for: String,
    },
    /// `__hf.seek(t)` threw.
    #[error("seeking to frame {index} (t = {time:.4} s) failed: {message}")]
    Seek {
        /// Frame index.
        index: u64,
        /// Frame time in seconds.
        time: f64,
        /// The exception text.
        message: String,
    },
    /// Chrome returned no image for a frame, even after retries.
    #[error("Chrome returned no image for frame {index} after {attempts} attempts")]
    NoImage {
        /// Frame index.
        index: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// The sink did not take a frame (an encoder that failed, a frame file that could not be
    /// written); `source` is the sink's own error, to downcast.
    #[error("frame {index} could not be handed on: {source}")]
    Sink {
        /// Frame index that could not be delivered.
        index: u64,
        /// The sink's error.
        #[source]
        source: hf_core::SinkError,
    },
    /// A frame did not finish in time (e.g. a page stuck in a busy loop).
    #[error("frame {index} (t = {time:.4} s) did not finish within {seconds:.1} s; look for a script that loops or blocks at that time")]
    FrameTimeout {
        /// Frame index.
        index: u64,
        /// Frame time in seconds.
        time: f64,
        /// The per-frame limit.
        seconds: f64,
    },
    /// A transition frame's layers could not be blended.
    #[error("transition frame {index} could not be blended: {reason}")]
    Blend {
        /// Render index of the frame.
        index: u64,
        /// What went wrong (a layer image that does not decode).
        reason: String,
    },
    /// The render was cancelled (SIGINT/SIGTERM or the embedder's cancel flag).
    #[error("the render was cancelled")]
    Cancelled,
    /// A frame file could not be read (replaying capture-disk frames).
    #[error(transparent)]
    Io(#[from] hf_core::IoError),
    /// The local file server failed.
    #[error("the local file server failed: {0}")]
    Server(#[source] std::io::Error),
}

impl CaptureError {
    pub(crate) fn cdp(command: &str) -> impl FnOnce(chromiumoxide::error::CdpError) -> Self + '_ {
        move |e| CaptureError::Cdp {
            command: command.to_string(),
            message: e.to_string(),
        }
    }
}
