//! Why a render failed.

use hf_capture::CaptureError;
use hf_core::IoError;
use hf_encode::EncodeError;
use std::path::PathBuf;

/// Why a render failed. Every variant has a stable [`RenderError::code`] and a message that
/// names the file or element involved and how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The project directory does not exist.
    #[error("project directory {path} does not exist; pass the folder that holds index.html")]
    ProjectNotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The project has no `index.html`.
    #[error("{path} not found; a HyperFrames project needs an index.html at its top level")]
    IndexNotFound {
        /// The expected path.
        path: PathBuf,
    },
    /// The `-c/--composition` page cannot be rendered.
    #[error("composition {path} {reason}")]
    CompositionNotFound {
        /// The file named.
        path: PathBuf,
        /// Why it cannot be rendered and the fix.
        reason: String,
    },
    /// A `--batch` file or its output template cannot be used.
    #[error("batch {path} {reason}")]
    InvalidBatch {
        /// The batch file.
        path: PathBuf,
        /// What is wrong and the fix.
        reason: String,
    },
    /// `--strict`: something that is otherwise a warning.
    #[error("{message}; --strict makes this an error")]
    Strict {
        /// The warning.
        message: String,
    },
    /// `--strict` / `--strict-all`: lint found what the flag makes fatal.
    #[error(
        "lint found {} problem(s) that {flag} makes fatal (run `hf lint` for the fixes):\n  {}",
        findings.len(),
        findings.join("\n  ")
    )]
    LintFailed {
        /// The flag.
        flag: &'static str,
        /// Each finding, one line each.
        findings: Vec<String>,
    },
    /// `index.html` has no `[data-composition-id]` element.
    #[error(
        "{path} has no composition root; add data-composition-id=\"main\" (with data-width, \
         data-height and data-duration) to the element that holds the composition"
    )]
    NoComposition {
        /// The entry page.
        path: PathBuf,
    },
    /// An attribute has a value hf cannot use.
    #[error("{path}: element \"{element}\" has {attribute}=\"{value}\"; expected {expected}")]
    InvalidAttribute {
        /// The file.
        path: PathBuf,
        /// The element's composition id.
        element: String,
        /// The attribute name.
        attribute: String,
        /// Its value.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// An element's audio effects or their lanes cannot be read (HyperFrames fails the mix
    /// too, rather than ship a dry track that sounds plausible and is wrong).
    #[error(
        "{path}: element \"{element}\" has an unreadable {reason}\n  fix: write data-fx-chain as \
         {{\"version\":1,\"nodes\":[{{\"type\":\"lowpass\",\"params\":{{\"frequency\":3000}}}}]}} \
         with effect types from HyperFrames' audio effects reference, and data-automation as \
         {{\"version\":1,\"lanes\":[{{\"target\":\"fx.<node id>.<param>\",\"points\":[{{\"t\":0,\"v\":1}}]}}]}}"
    )]
    InvalidAudioFx {
        /// The file.
        path: PathBuf,
        /// The element's render id, or the audio group's id.
        element: String,
        /// Which attribute and what is wrong with it.
        reason: String,
    },
    /// The HTML could not be rewritten.
    #[error("{path} could not be parsed: {reason}")]
    InvalidHtml {
        /// The file.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// Neither a static duration nor the page gives a duration.
    #[error(
        "composition \"{root_id}\" in {path} has zero duration: it has no data-duration and no \
         registered timeline or timed clip gives one; add data-duration=\"<seconds>\" to the root"
    )]
    ZeroDuration {
        /// The entry page.
        path: PathBuf,
        /// Root composition id.
        root_id: String,
    },
    /// The composition lasts longer than the cap (`--max-duration`).
    #[error(
        "composition \"{root_id}\" in {path} lasts {seconds} s, above the {cap} s hf renders \
         without being asked; check its data-duration, or pass --max-duration {seconds} to \
         render it anyway"
    )]
    DurationTooLong {
        /// The entry page.
        path: PathBuf,
        /// Root composition id.
        root_id: String,
        /// Its duration in seconds.
        seconds: f64,
        /// The cap in seconds.
        cap: f64,
    },
    /// `--variables` is not a JSON object.
    #[error("--variables must be a JSON object such as '{{\"title\":\"Hello\"}}': {reason}")]
    InvalidVariables {
        /// Parser message.
        reason: String,
    },
    /// A `data-composition-src` names a file that does not exist or cannot be read.
    #[error(
        "{from}: sub-composition host \"{host}\" has data-composition-src=\"{src}\", but {path} \
         {reason}; data-composition-src is relative to the project directory"
    )]
    SubCompositionMissing {
        /// The file holding the host element.
        from: PathBuf,
        /// The host's composition id.
        host: String,
        /// The attribute value.
        src: String,
        /// The resolved path.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// Sub-compositions include each other.
    #[error("sub-compositions include each other: {chain}; remove one data-composition-src from the cycle")]
    SubCompositionCycle {
        /// The files in the cycle, `a.html -> b.html -> a.html`.
        chain: String,
    },
    /// Relative `data-start` references form a cycle or name no clip.
    #[error("{path}: element \"{element}\" has data-start=\"{value}\": {reason}")]
    InvalidStart {
        /// The file.
        path: PathBuf,
        /// The element id.
        element: String,
        /// The attribute value.
        value: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A `data-composition-variables` declaration or a variable override is invalid.
    #[error("{0}")]
    VariableDeclaration(String),
    /// A remote asset could not be downloaded and is not in the cache.
    #[error(
        "{element} needs {url}, which could not be downloaded ({reason}) and is not in the asset \
         cache; run `hf cache import {url} <local file>` or pass --allow-missing-assets"
    )]
    RemoteAsset {
        /// The element that references it (`<script src>`, `<link>`, `@import`...).
        element: String,
        /// The URL.
        url: String,
        /// The download error.
        reason: String,
    },
    /// A `<video>` or `<audio>` source cannot be used.
    #[error("{path}: {element}: {file} {reason}; {fix}", fix = media_fix(reason))]
    BadMedia {
        /// The page that holds the element.
        path: PathBuf,
        /// The element as written, with its id: `<video id="intro" src="clip.mp4">`.
        element: String,
        /// The file it resolves to.
        file: PathBuf,
        /// What is wrong with it.
        reason: Box<hf_encode::MediaError>,
    },
    /// The output options contradict each other or the format.
    #[error("{reason}")]
    InvalidOutput {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The job asks for something this build cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// The output cannot be written.
    #[error("cannot write the output {path}: {reason}; choose another path with -o/--output")]
    OutputNotWritable {
        /// The output path.
        path: PathBuf,
        /// The underlying reason.
        reason: String,
    },
    /// A file operation failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A job setting is out of range.
    #[error("invalid {what} {value} (expected {expected})")]
    InvalidOption {
        /// The setting.
        what: &'static str,
        /// Its value.
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// `--resume` names a work dir made for a different render.
    #[error("cannot resume from {dir}: it holds frames of a different render ({field} was {was}, now {now}); use a new --resume directory or remove this one")]
    ResumeMismatch {
        /// The work dir.
        dir: PathBuf,
        /// The setting that differs.
        field: &'static str,
        /// Its value in the work dir.
        was: String,
        /// Its value now.
        now: String,
    },
    /// The chunks given to the assemble stage do not make up the plan's segment grid.
    #[error("the chunks do not make up the render: {reason}")]
    InvalidChunks {
        /// What is missing or out of place, and what to do.
        reason: String,
    },
    /// A transition names a shader that does not exist.
    #[error("transition {number} uses {error}\n  fix: use one of those names, or leave `shader` out for a crossfade")]
    UnknownShader {
        /// 1-based position in the page's transitions.
        number: usize,
        /// The name and the known names.
        error: hf_transitions::UnknownShader,
    },
    /// A transition names a scene that is not on the page.
    #[error("transition {number} names scene \"{id}\", but no element has that id\n  fix: give the scene's element id=\"{id}\" or correct the id in the transition")]
    TransitionSceneNotFound {
        /// 1-based position in the page's transitions.
        number: usize,
        /// The missing id.
        id: String,
    },
    /// A transition's time or duration is not a number.
    #[error("transition {number} has a {field} that is not a number\n  fix: give it in seconds, e.g. {field}: 1.5")]
    InvalidTransition {
        /// 1-based position in the page's transitions.
        number: usize,
        /// `time` or `duration`.
        field: &'static str,
    },
    /// The render was cancelled by the caller (SIGINT/SIGTERM in the CLI).
    #[error("the render was cancelled; nothing was written")]
    Cancelled,
    /// The capture stage failed.
    #[error(transparent)]
    Capture(hf_capture::CaptureError),
    /// The encode or assemble stage failed.
    #[error(transparent)]
    Encode(#[from] hf_encode::EncodeError),
}

/// How to fix a media source, by what is wrong with it.
fn media_fix(reason: &hf_encode::MediaError) -> &'static str {
    use hf_encode::MediaError as M;
    match reason {
        M::NotFound => {
            "put the file at that path or correct the src (relative to the project folder)"
        }
        M::NotMedia(_) => "download the real media file again; this one holds a server's reply",
        M::UnsupportedCodec { .. } => {
            "re-encode it, e.g. `ffmpeg -i in -c:v libx264 -pix_fmt yuv420p -c:a aac out.mp4`"
        }
        _ => "export or download the file again",
    }
}

impl RenderError {
    /// A stable machine-readable code for the failure.
    pub fn code(&self) -> &'static str {
        use hf_capture::CaptureError as C;
        match self {
            RenderError::ProjectNotFound { .. } => "PROJECT_NOT_FOUND",
            RenderError::IndexNotFound { .. } => "INDEX_HTML_NOT_FOUND",
            RenderError::CompositionNotFound { .. } => "COMPOSITION_NOT_FOUND",
            RenderError::InvalidBatch { .. } => "INVALID_BATCH",
            RenderError::Strict { .. } | RenderError::LintFailed { .. } => "STRICT",
            RenderError::NoComposition { .. } => "NO_COMPOSITION_ROOT",
            RenderError::InvalidAttribute { .. } | RenderError::InvalidAudioFx { .. } => {
                "INVALID_ATTRIBUTE"
            }
            RenderError::InvalidHtml { .. } => "INVALID_HTML",
            RenderError::ZeroDuration { .. } => "COMPOSITION_ZERO_DURATION",
            RenderError::DurationTooLong { .. } => "COMPOSITION_TOO_LONG",
            RenderError::InvalidVariables { .. } => "INVALID_VARIABLES",
            RenderError::SubCompositionMissing { .. } => "SUB_COMPOSITION_NOT_FOUND",
            RenderError::SubCompositionCycle { .. } => "SUB_COMPOSITION_CYCLE",
            RenderError::InvalidStart { .. } => "INVALID_START",
            RenderError::VariableDeclaration(_) => "INVALID_VARIABLES",
            RenderError::RemoteAsset { .. } => "REMOTE_ASSET_UNAVAILABLE",
            RenderError::BadMedia { reason, .. } if **reason == hf_encode::MediaError::NotFound => {
                "MEDIA_NOT_FOUND"
            }
            RenderError::BadMedia { .. } => "MEDIA_INVALID",
            RenderError::Unsupported(_) => "UNSUPPORTED",
            RenderError::InvalidOutput { .. } => "INVALID_OUTPUT_OPTIONS",
            RenderError::Encode(hf_encode::EncodeError::MissingEncoder { .. }) => "ENCODER_MISSING",
            error if error.is_disk_full() => "DISK_FULL",
            RenderError::OutputNotWritable { .. } => "OUTPUT_NOT_WRITABLE",
            RenderError::Io(_) => "IO_ERROR",
            RenderError::InvalidOption { .. } => "INVALID_OPTION",
            RenderError::InvalidChunks { .. } => "INVALID_CHUNKS",
            RenderError::UnknownShader { .. } => "UNKNOWN_SHADER",
            RenderError::TransitionSceneNotFound { .. } => "TRANSITION_SCENE_NOT_FOUND",
            RenderError::InvalidTransition { .. } => "INVALID_TRANSITION",
            RenderError::Cancelled | RenderError::Capture(C::Cancelled) => "CANCELLED",
            RenderError::ResumeMismatch { .. } => "RESUME_MISMATCH",
            RenderError::Capture(C::FrameTimeout { .. }) => "FRAME_TIMEOUT",
            RenderError::Capture(C::BrowserNotFound { .. }) => "BROWSER_NOT_FOUND",
            RenderError::Capture(C::Launch { .. }) => "BROWSER_LAUNCH_FAILED",
            RenderError::Capture(C::PageScript { .. }) => "PAGE_SCRIPT_ERROR",
            RenderError::Capture(C::NotReady { .. }) => "PAGE_NOT_READY",
            RenderError::Capture(C::NavigatedAway { .. }) => "PAGE_NAVIGATED_AWAY",
            RenderError::Capture(C::PageCrashed { .. }) => "PAGE_CRASHED",
            RenderError::Capture(_) => "CAPTURE_FAILED",
            RenderError::Encode(_) => "ENCODE_FAILED",
        }
    }
}

impl RenderError {
    /// Whether the render failed writing to a full file system (ENOSPC), in the work dir
    /// or at the output.
    pub fn is_disk_full(&self) -> bool {
        match self {
            RenderError::Encode(encode) => encode.is_disk_full(),
            RenderError::Io(io) | RenderError::Capture(CaptureError::Io(io)) => io.is_disk_full(),
            _ => false,
        }
    }
}

impl From<CaptureError> for RenderError {
    /// A sink's failure is reported as the sink's own error (the encoder's, a frame file's),
    /// not as the capture's echo of it.
    fn from(error: CaptureError) -> Self {
        match error {
            CaptureError::Sink { index, source } => match source.downcast::<EncodeError>() {
                Ok(encode) => RenderError::Encode(*encode),
                Err(source) => match source.downcast::<IoError>() {
                    Ok(io) => RenderError::Io(*io),
                    Err(source) => RenderError::Capture(CaptureError::Sink { index, source }),
                },
            },
            CaptureError::Io(io) => RenderError::Io(io),
            other => RenderError::Capture(other),
        }
    }
}
