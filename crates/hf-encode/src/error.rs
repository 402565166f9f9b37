//! The errors of hf-encode: [`EncodeError`] for its stages, [`MediaError`] for source media.

use std::path::PathBuf;

/// Everything that can go wrong while encoding, assembling or inspecting media.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// libav returned an error during an operation.
    #[error("libav failed to {action}: {source}")]
    Libav {
        /// What hf was doing when libav failed.
        action: String,
        /// The libav error.
        #[source]
        source: ffmpeg_next::Error,
    },
    /// A required encoder is missing from the linked libav build.
    #[error("the libav build has no `{encoder}` encoder; install Debian's `{package}` package")]
    MissingEncoder {
        /// libav encoder name.
        encoder: &'static str,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// A captured frame could not be decoded.
    #[error("captured frame {index} could not be decoded: {reason}")]
    BadFrame {
        /// Frame index in the render.
        index: u64,
        /// Why it failed.
        reason: String,
    },
    /// The first frame of a segment said "same as previous", so there was nothing to repeat.
    #[error("frame {index} repeats the previous frame, but the segment has no previous frame")]
    NothingToRepeat {
        /// Frame index in the render.
        index: u64,
    },
    /// The number of frames written differs from what the plan expects.
    #[error("{what}: expected {expected} frames, got {actual}")]
    FrameCountMismatch {
        /// What was checked.
        what: String,
        /// Frames expected.
        expected: u64,
        /// Frames found.
        actual: u64,
    },
    /// The written file does not hold the planned frames and duration.
    #[error("{path} came out with {frames} frames lasting {seconds:.6} s; the plan is {expected_frames} frames lasting {expected_seconds:.6} s")]
    DurationMismatch {
        /// The output.
        path: PathBuf,
        /// Frames read back.
        frames: u64,
        /// Duration read back, in seconds.
        seconds: f64,
        /// Frames planned.
        expected_frames: u64,
        /// Duration planned (`frames / fps`).
        expected_seconds: f64,
    },
    /// The frame producer stopped before sending every frame.
    #[error("the capture stage stopped after {received} of {expected} frames")]
    ProducerStopped {
        /// Frames received.
        received: u64,
        /// Frames expected.
        expected: u64,
    },
    /// A file could not be written, read or renamed.
    #[error(transparent)]
    Io(#[from] hf_core::IoError),
    /// A media file has no video stream.
    #[error("{path} has no video stream")]
    NoVideoStream {
        /// The file.
        path: PathBuf,
    },
    /// A media file has no audio stream.
    #[error("{path} has no audio stream")]
    NoAudioStream {
        /// The file.
        path: PathBuf,
    },
    /// The plan has sounding elements but the assemble stage was given no mix.
    #[error("the render has audio ({tracks} sounding elements) but no mixed audio reached the assemble stage")]
    MissingAudio {
        /// Sounding elements in the plan.
        tracks: usize,
    },
    /// The muxed audio and video lengths differ by more than one audio frame.
    #[error("{path}: audio lasts {audio_seconds:.6} s but video {video_seconds:.6} s (more than one audio frame apart)")]
    AudioVideoMismatch {
        /// The output.
        path: PathBuf,
        /// Audio duration read back.
        audio_seconds: f64,
        /// Video duration read back.
        video_seconds: f64,
    },
    /// A requested frame is past the end of the file.
    #[error("{path} has only {frames} frames; frame {index} was requested")]
    FrameOutOfRange {
        /// The file.
        path: PathBuf,
        /// Frames in the file.
        frames: u64,
        /// The requested index.
        index: u64,
    },
    /// Two videos cannot be compared.
    #[error("{0}")]
    Incomparable(String),
}

impl EncodeError {
    pub(crate) fn libav(action: impl Into<String>) -> impl FnOnce(ffmpeg_next::Error) -> Self {
        let action = action.into();
        move |source| EncodeError::Libav { action, source }
    }

    /// Whether a write failed because its file system is full (ENOSPC).
    pub fn is_disk_full(&self) -> bool {
        match self {
            EncodeError::Libav { source, .. } => {
                *source
                    == ffmpeg_next::Error::Other {
                        errno: libc::ENOSPC,
                    }
            }
            EncodeError::Io(io) => io.is_disk_full(),
            _ => false,
        }
    }
}

/// Why a media source cannot be used. The messages complete "`<path>` ...".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// Nothing at the path.
    #[error("does not exist")]
    NotFound,
    /// The file holds text, typically an error page saved under a media name.
    #[error("is {0}, not media (an error page saved under a media name?)")]
    NotMedia(&'static str),
    /// libav cannot open or parse it.
    #[error("cannot be read as media: {0}")]
    Unreadable(String),
    /// Its packets stop well before the duration its header declares.
    #[error(
        "is truncated: its data ends at {ends:.2} s of the {declared:.2} s its header declares"
    )]
    Truncated {
        /// Where the packets end, in seconds.
        ends: f64,
        /// The declared duration, in seconds.
        declared: f64,
    },
    /// No decoder for the codec in this libav build.
    #[error("uses the {kind} codec `{codec}`, which this libav build cannot decode")]
    UnsupportedCodec {
        /// "video" or "audio".
        kind: &'static str,
        /// The codec name.
        codec: String,
    },
    /// Neither audio nor video.
    #[error("has no audio or video stream")]
    NoStreams,
    /// The first frame of a stream does not decode.
    #[error("is corrupt: its first {kind} frame does not decode ({reason})")]
    Corrupt {
        /// "video" or "audio".
        kind: &'static str,
        /// libav's reason.
        reason: String,
    },
}
