//! The capture-disk stage: frames written into the work dir as they are captured, so a render
//! can be resumed and frames inspected. Frames already on disk are skipped.

use crate::{CaptureError, CaptureSession};
use hf_encode::{Fps, FrameImage, ImageFormat};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Input of [`capture_disk`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiskCaptureInput {
    /// Render index of the first frame.
    pub first_frame: u64,
    /// How many consecutive frames.
    pub frame_count: u64,
    /// Frame rate: frame `i` is captured at `t = i * den / num`.
    pub fps: Fps,
    /// Longest time one frame (seek + capture) may take.
    pub frame_timeout: Duration,
    /// Directory the frames are written to.
    pub frames_dir: PathBuf,
    /// Format the session captures in (decides the file extension).
    pub image_format: ImageFormat,
}

/// Result of [`capture_disk`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DiskCaptureOutput {
    /// Frames captured and written by this call.
    pub captured: u64,
    /// Frames that were already on disk.
    pub skipped: u64,
}

/// The file of frame `index` in `frames_dir`.
pub fn frame_path(frames_dir: &Path, index: u64, format: ImageFormat) -> PathBuf {
    let extension = match format {
        ImageFormat::Jpeg => "jpg",
        ImageFormat::Png => "png",
    };
    frames_dir.join(format!("frame_{index:06}.{extension}"))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CaptureError> {
    let temp = path.with_extension("partial");
    std::fs::write(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|source| CaptureError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
}

/// Capture the frames of `input` that are not on disk yet; `on_frame` gets each render index.
pub async fn capture_disk(
    session: &mut CaptureSession,
    input: &DiskCaptureInput,
    cancel: &AtomicBool,
    on_frame: &mut (dyn FnMut(u64) + Send),
) -> Result<DiskCaptureOutput, CaptureError> {
    let mut output = DiskCaptureOutput::default();
    session.require_full_image();
    for index in input.first_frame..input.first_frame + input.frame_count {
        if cancel.load(Ordering::Relaxed) {
            return Err(CaptureError::Cancelled);
        }
        let path = frame_path(&input.frames_dir, index, input.image_format);
        if path.is_file() {
            // The session's last image is no longer the previous frame.
            session.require_full_image();
            output.skipped += 1;
            on_frame(index);
            continue;
        }
        let time = input.fps.frame_time(index);
        let image = session
            .capture_frame_within(index, time, input.frame_timeout)
            .await?;
        tokio::task::block_in_place(|| match image {
            FrameImage::Encoded { bytes, .. } => write_atomically(&path, &bytes),
            FrameImage::SameAsPrevious => {
                let previous = frame_path(&input.frames_dir, index - 1, input.image_format);
                std::fs::read(&previous)
                    .map_err(|source| CaptureError::Io {
                        action: "read",
                        path: previous.clone(),
                        source,
                    })
                    .and_then(|bytes| write_atomically(&path, &bytes))
            }
        })?;
        output.captured += 1;
        on_frame(index);
    }
    Ok(output)
}
