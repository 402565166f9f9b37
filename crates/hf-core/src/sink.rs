//! The seam between producing frames and consuming them.

use crate::{FrameImage, FrameRange};

/// What a [`FrameSink`] reports when it cannot take a frame. The producer stops and passes it
/// up unchanged, so the caller can downcast it to the sink's own error type.
pub type SinkError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Receives a run of frames in render order: capture stages push into it, encoders and frame
/// writers implement it.
///
/// A producer calls [`begin`](Self::begin) once, then [`frame`](Self::frame) for every index of
/// the run that the sink does not already [`hold`](Self::holds), then [`finish`](Self::finish)
/// once. After an error it calls nothing more and drops the sink.
///
/// # For implementations
///
/// Only `frame` is required. `begin` and `finish` default to doing nothing and `holds` to
/// holding nothing. A sink dropped without `finish` (the producer failed or was cancelled)
/// must clean up what it started, such as a partly written file. [`FrameImage::SameAsPrevious`]
/// never opens a run: it repeats the frame pushed (or held) just before.
pub trait FrameSink: Send {
    /// The run about to be pushed. Default: nothing.
    fn begin(&mut self, frames: FrameRange) -> Result<(), SinkError> {
        let _ = frames;
        Ok(())
    }

    /// Whether the sink already holds frame `index` (a resumed capture): the producer skips
    /// it. Default: `false`.
    fn holds(&self, index: u64) -> bool {
        let _ = index;
        false
    }

    /// Frame `index` of the run.
    fn frame(&mut self, index: u64, image: FrameImage) -> Result<(), SinkError>;

    /// Every frame of the run was pushed. Default: nothing.
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink that counts frames and drops them (benchmarks measure capture alone with it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscardFrames {
    /// Frames received so far.
    pub received: u64,
}

impl FrameSink for DiscardFrames {
    fn frame(&mut self, _index: u64, _image: FrameImage) -> Result<(), SinkError> {
        self.received += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_accept_a_run_and_hold_nothing() {
        let mut sink = DiscardFrames::default();
        let sink: &mut dyn FrameSink = &mut sink;
        sink.begin(FrameRange::new(0, 2)).unwrap();
        assert!(!sink.holds(0));
        sink.frame(0, FrameImage::SameAsPrevious).unwrap();
        sink.frame(1, FrameImage::SameAsPrevious).unwrap();
        sink.finish().unwrap();
    }

    #[test]
    fn discarding_counts_frames() {
        let mut sink = DiscardFrames::default();
        for index in 0..3 {
            sink.frame(index, FrameImage::SameAsPrevious).unwrap();
        }
        assert_eq!(sink.received, 3);
    }
}
