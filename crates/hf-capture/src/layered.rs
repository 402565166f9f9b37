//! Capture-layered: transition frames are captured as two layers (each scene alone) and
//! blended by `hf-transitions` kernels on rayon's pool while capture goes on. A bounded queue
//! keeps frames in render order for the sink and bounds the blends in flight.

use crate::CaptureError;
use hf_core::{
    Fps, FrameImage, FrameLayer, FrameRange, FrameSink, ImageFormat, LayeredTransition,
    LinearBlend, SinkError,
};
use hf_transitions::{Accents, BlendInput, Layer, Shader};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Blends queued per capture loop before capture waits for the oldest. A queued blend holds
/// its two captured images (a few hundred KB); a running one (at most one per pool thread)
/// also holds the decoded layers, their `f32` copies and the output, about 90 MB at 1080p.
pub const BLENDS_IN_FLIGHT: usize = 4;

/// One transition of a render: which frames blend which scenes with which shader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionWindow {
    /// The shader.
    pub shader: Shader,
    /// Id of the scene left.
    pub from_scene: String,
    /// Id of the scene arrived at.
    pub to_scene: String,
    /// Start on the root timeline, seconds.
    pub start: f64,
    /// Length, seconds (positive).
    pub duration: f64,
    /// The frames blended: every frame whose time is in `[start, start + duration]`.
    pub frames: FrameRange,
    /// Accent colours.
    pub accents: Accents,
    /// What each scene is captured over: a CSS colour (opaque outputs, the transition's
    /// `bgColor`), or `None` for transparent (outputs with alpha).
    pub background: Option<String>,
}

impl TransitionWindow {
    /// Linear progress at frame `index`: `clamp((t - start) / duration, 0, 1)`.
    pub fn progress(&self, fps: Fps, index: u64) -> f32 {
        ((fps.frame_time(index) - self.start) / self.duration).clamp(0.0, 1.0) as f32
    }
}

/// A transition at one frame's progress, blending linear-light scenes (HDR renders: the
/// encoder composites each scene and calls it).
#[derive(Debug)]
pub(crate) struct LinearTransition {
    pub(crate) window: Arc<TransitionWindow>,
    pub(crate) progress: f32,
}

impl LinearBlend for LinearTransition {
    fn blend(&self, scenes: [Vec<[f32; 4]>; 2], size: (usize, usize)) -> Vec<[f32; 4]> {
        hf_transitions::blend_linear(
            self.window.shader,
            scenes,
            size,
            self.progress,
            &self.window.accents,
        )
    }
}

/// Decode a captured layer into premultiplied pixels.
fn decode(index: u64, format: ImageFormat, bytes: &[u8]) -> Result<Layer, CaptureError> {
    let format = match format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
    };
    let decoded = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| CaptureError::Blend {
            index,
            reason: format!("a layer image does not decode: {e}"),
        })?
        .into_rgba8();
    let (width, height) = (decoded.width() as usize, decoded.height() as usize);
    Ok(Layer::from_straight_rgba(width, height, decoded.into_raw()))
}

/// What one blend needs, moved to the pool.
pub(crate) struct BlendJob {
    pub(crate) index: u64,
    pub(crate) window: Arc<TransitionWindow>,
    pub(crate) progress: f32,
    pub(crate) format: ImageFormat,
    pub(crate) layers: [Vec<u8>; 2],
}

impl BlendJob {
    fn run(self) -> Result<FrameImage, CaptureError> {
        let [from, to] = &self.layers;
        let from = decode(self.index, self.format, from)?;
        let to = decode(self.index, self.format, to)?;
        if (from.width(), from.height()) != (to.width(), to.height()) {
            return Err(CaptureError::Blend {
                index: self.index,
                reason: "the two layers differ in size".into(),
            });
        }
        let (width, height) = (from.width() as u32, from.height() as u32);
        let blended = hf_transitions::blend(BlendInput {
            shader: self.window.shader,
            from: &from,
            to: &to,
            progress: self.progress,
            accents: &self.window.accents,
        });
        Ok(FrameImage::Rgba {
            width,
            height,
            pixels: blended.into_straight_rgba(),
        })
    }
}

type BlendResult = Result<(FrameImage, Duration), CaptureError>;

/// A frame on its way to the sink.
enum Queued {
    Ready(u64, FrameImage),
    Blending(u64, crossbeam_channel::Receiver<BlendResult>),
}

/// Frames in render order on their way into a sink; transition frames are blended on the
/// pool meanwhile, at most [`BLENDS_IN_FLIGHT`] at a time.
pub(crate) struct BlendQueue<'s> {
    sink: &'s mut dyn FrameSink,
    queue: VecDeque<Queued>,
    /// Frames blended so far, and the pool time they took.
    pub(crate) blended: u64,
    pub(crate) blend_time: Duration,
}

impl<'s> BlendQueue<'s> {
    pub(crate) fn new(sink: &'s mut dyn FrameSink) -> Self {
        BlendQueue {
            sink,
            queue: VecDeque::new(),
            blended: 0,
            blend_time: Duration::ZERO,
        }
    }

    /// Whether the sink already holds frame `index` (a resumed capture).
    pub(crate) fn holds(&self, index: u64) -> bool {
        self.sink.holds(index)
    }

    /// The sink, once every frame is delivered ([`Self::flush`]).
    pub(crate) fn into_sink(self) -> &'s mut dyn FrameSink {
        debug_assert!(self.queue.is_empty());
        self.sink
    }

    /// Hand frame `index` on after the frames before it.
    pub(crate) fn push(&mut self, index: u64, image: FrameImage) -> Result<(), CaptureError> {
        if self.queue.is_empty() {
            return self.deliver(index, image);
        }
        self.queue.push_back(Queued::Ready(index, image));
        self.drain(false)
    }

    /// Queue a transition frame of an HDR render: `scenes` as layers, blended by the
    /// encoder with `blend`. Counted as blended.
    pub(crate) fn push_transition(
        &mut self,
        index: u64,
        scenes: [Vec<FrameLayer>; 2],
        blend: Arc<dyn LinearBlend>,
    ) -> Result<(), CaptureError> {
        self.blended += 1;
        let transition = LayeredTransition { scenes, blend };
        self.push(index, FrameImage::Transition(Box::new(transition)))
    }

    /// Blend `job` on the pool; its frame follows the frames pushed before it.
    pub(crate) fn push_blend(&mut self, job: BlendJob) -> Result<(), CaptureError> {
        let index = job.index;
        let (sender, receiver) = crossbeam_channel::bounded(1);
        rayon::spawn(move || {
            let started = Instant::now();
            let result = job.run().map(|image| (image, started.elapsed()));
            let _ = sender.send(result);
        });
        self.queue.push_back(Queued::Blending(index, receiver));
        self.drain(false)
    }

    /// Blends queued and not yet delivered.
    fn blends_queued(&self) -> usize {
        self.queue
            .iter()
            .filter(|queued| matches!(queued, Queued::Blending(..)))
            .count()
    }

    /// Every queued frame into the sink, waiting for the blends still running.
    pub(crate) fn flush(&mut self) -> Result<(), CaptureError> {
        self.drain(true)
    }

    /// Deliver the frames at the head that are ready; wait for blends when `all` is set or
    /// too many are in flight.
    fn drain(&mut self, all: bool) -> Result<(), CaptureError> {
        while let Some(head) = self.queue.pop_front() {
            let (index, image) = match head {
                Queued::Ready(index, image) => (index, image),
                Queued::Blending(index, receiver) => {
                    // The head counts too: it was just taken off the queue.
                    let wait = all || self.blends_queued() + 1 > BLENDS_IN_FLIGHT;
                    let result = if wait {
                        tokio::task::block_in_place(|| receiver.recv()).ok()
                    } else {
                        receiver.try_recv().ok()
                    };
                    let Some(result) = result else {
                        self.queue.push_front(Queued::Blending(index, receiver));
                        return Ok(());
                    };
                    let (image, took) = result?;
                    self.blended += 1;
                    self.blend_time += took;
                    (index, image)
                }
            };
            self.deliver(index, image)?;
        }
        Ok(())
    }

    fn deliver(&mut self, index: u64, image: FrameImage) -> Result<(), CaptureError> {
        let sink_failed = |source: SinkError| CaptureError::Sink { index, source };
        tokio::task::block_in_place(|| self.sink.frame(index, image)).map_err(sink_failed)
    }
}

/// The window of `windows` frame `index` is in.
pub(crate) fn window_of(
    windows: &[Arc<TransitionWindow>],
    index: u64,
) -> Option<&Arc<TransitionWindow>> {
    windows
        .iter()
        .find(|window| window.frames.indices().contains(&index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_linear_in_the_window() {
        let window = TransitionWindow {
            shader: Shader::Glitch,
            from_scene: "a".into(),
            to_scene: "b".into(),
            start: 0.75,
            duration: 0.85,
            frames: FrameRange::new(23, 26),
            accents: Accents::default(),
            background: None,
        };
        let fps = Fps::whole(30);
        assert!((window.progress(fps, 23) - (23.0 / 30.0 - 0.75) / 0.85).abs() < 1e-6);
        assert_eq!(window.progress(fps, 48), 1.0);
        assert_eq!(window.progress(fps, 10), 0.0);
    }
}
