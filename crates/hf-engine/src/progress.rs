//! Progress a render reports while it runs.

use crate::RenderResult;
use hf_capture::ActiveCaptureMode;
use hf_core::Fps;
use serde::{Deserialize, Serialize};

/// A stage of the pipeline, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Reading and rewriting the project.
    Compile,
    /// Starting the browser and loading the page.
    Probe,
    /// Seeking, capturing and encoding frames.
    Capture,
    /// Joining segments into the output.
    Assemble,
}

/// Progress reported while rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ProgressEvent {
    /// A stage began.
    StageStarted {
        /// Which stage.
        stage: Stage,
    },
    /// The frame plan is known.
    Planned {
        /// Frames to render.
        frames: u64,
        /// Frame rate.
        fps: Fps,
        /// Duration in seconds.
        duration_seconds: f64,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Capture path in use.
        capture_mode: ActiveCaptureMode,
        /// Browser workers.
        workers: u32,
        /// Segments of the grid.
        segments: usize,
    },
    /// A frame was captured and handed to the encoder.
    Frame {
        /// Frames done so far.
        done: u64,
        /// Frames in the render.
        total: u64,
    },
    /// Something the user should know that does not stop the render.
    Warning {
        /// What happened and what to do about it.
        message: String,
    },
    /// The output is in place.
    Finished {
        /// The result.
        result: Box<RenderResult>,
    },
}

/// Receives [`ProgressEvent`]s. Any `FnMut(ProgressEvent) + Send` closure is a sink.
pub trait ProgressSink: Send {
    /// Called for every event, in order, from the render's thread.
    fn event(&mut self, event: ProgressEvent);
}

impl<F: FnMut(ProgressEvent) + Send> ProgressSink for F {
    fn event(&mut self, event: ProgressEvent) {
        self(event)
    }
}

/// Folds the frames each segment has done into render-wide [`ProgressEvent::Frame`]s.
pub(crate) struct FrameProgress {
    done_per_segment: Vec<u64>,
    reported: u64,
    total: u64,
}

impl FrameProgress {
    /// Progress over `segments` segments of a render of `total` frames.
    pub(crate) fn new(segments: usize, total: u64) -> Self {
        FrameProgress {
            done_per_segment: vec![0; segments],
            reported: 0,
            total,
        }
    }

    /// `done` frames of `segment` are done (a restarted segment counts again from 0, so only
    /// its highest count counts); the event to report when the total grew.
    pub(crate) fn record(&mut self, segment: usize, done: u64) -> Option<ProgressEvent> {
        let slot = &mut self.done_per_segment[segment];
        *slot = (*slot).max(done);
        let done: u64 = self.done_per_segment.iter().sum();
        (done > self.reported).then(|| {
            self.reported = done;
            ProgressEvent::Frame {
                done,
                total: self.total,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_progress_only_grows() {
        let mut progress = FrameProgress::new(2, 10);
        let frame = |done| Some(ProgressEvent::Frame { done, total: 10 });
        assert_eq!(progress.record(0, 3), frame(3));
        assert_eq!(progress.record(1, 2), frame(5));
        // A segment re-rendered from its start reports lower counts: nothing new.
        assert_eq!(progress.record(1, 1), None);
        assert_eq!(progress.record(1, 5), frame(8));
    }
}
