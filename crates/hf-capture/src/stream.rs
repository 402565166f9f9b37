//! The capture-streaming stage: seek and capture each frame, hand it straight to the encoder.

use crate::{CaptureError, CaptureSession};
use hf_encode::{Fps, FrameImage};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Input of [`capture_streaming`]: which frames to capture.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct StreamingCaptureInput {
    /// Render index of the first frame.
    pub first_frame: u64,
    /// How many consecutive frames.
    pub frame_count: u64,
    /// Frame rate: frame `i` is captured at `t = i * den / num`.
    pub fps: Fps,
    /// Longest time one frame (seek + capture) may take.
    pub frame_timeout: Duration,
}

/// Result of [`capture_streaming`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StreamingCaptureOutput {
    /// Frames sent to the encoder.
    pub frames: u64,
    /// Frames the page reported as unchanged (no image decoded for them).
    pub unchanged_frames: u64,
    /// Time spent seeking and capturing in the browser.
    pub capture_time: Duration,
    /// Time spent waiting for the encoder to accept frames.
    pub encoder_wait: Duration,
}

/// Capture `input.frame_count` frames from `session`, sending each to `sink` in order.
/// `on_frame` is called with the render index after each frame is handed over; setting `cancel`
/// stops the loop before the next frame.
pub async fn capture_streaming(
    session: &mut CaptureSession,
    input: StreamingCaptureInput,
    sink: &crossbeam_channel::Sender<FrameImage>,
    cancel: &AtomicBool,
    on_frame: &mut (dyn FnMut(u64) + Send),
) -> Result<StreamingCaptureOutput, CaptureError> {
    let mut output = StreamingCaptureOutput::default();
    // A fresh consumer has no previous frame to repeat.
    session.require_full_image();
    for index in input.first_frame..input.first_frame + input.frame_count {
        if cancel.load(Ordering::Relaxed) {
            return Err(CaptureError::Cancelled);
        }
        let started = Instant::now();
        let time = input.fps.frame_time(index);
        let image = session
            .capture_frame_within(index, time, input.frame_timeout)
            .await?;
        output.capture_time += started.elapsed();
        if image == FrameImage::SameAsPrevious {
            output.unchanged_frames += 1;
        }
        let started = Instant::now();
        // The encoder runs on its own thread; a full channel means it is the bottleneck.
        tokio::task::block_in_place(|| sink.send(image))
            .map_err(|_| CaptureError::EncoderGone { index })?;
        output.encoder_wait += started.elapsed();
        output.frames += 1;
        on_frame(index);
    }
    Ok(output)
}
