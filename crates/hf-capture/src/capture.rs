//! The capture stage: seek and capture each frame of a run, pushing it into a [`FrameSink`].
//! Where frames go (an encoder, frame files, nowhere) is the sink's business; capture-streaming
//! and capture-disk are this one loop with different sinks.

use crate::layered::{window_of, BlendJob, BlendQueue, LinearTransition};
use crate::{CaptureError, CaptureSession, TransitionWindow};
use hf_core::{Fps, FrameImage, FrameRange, FrameSink, SinkError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Input of [`capture_frames`]: which frames to capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureInput {
    /// The frames, in order.
    pub frames: FrameRange,
    /// Frame rate: frame `i` is captured at `t = i * den / num`.
    pub fps: Fps,
    /// Longest time one frame (seek + capture) may take.
    pub frame_timeout: Duration,
    /// Frames known to show what the frame before them shows: they are not captured, the
    /// sink gets [`FrameImage::SameAsPrevious`]. The first frame of the run is always captured.
    pub held: Vec<FrameRange>,
    /// Transitions with frames in this run: those frames are captured as two layers and
    /// blended (capture-layered).
    #[serde(default)]
    pub transitions: Vec<TransitionWindow>,
}

impl CaptureInput {
    /// Whether frame `index` repeats the frame before it without being captured.
    fn repeats(&self, index: u64) -> bool {
        index > self.frames.first && self.held.iter().any(|run| run.indices().contains(&index))
    }
}

/// Result of [`capture_frames`]. Results of several runs add up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureOutput {
    /// Frames captured and pushed into the sink.
    pub captured: u64,
    /// Frames the sink already held (a resumed capture), not captured again.
    pub held: u64,
    /// Of the captured frames, those the page reported unchanged (no image decoded for them).
    pub unchanged: u64,
    /// Frames known to repeat the frame before them, handed on without being captured.
    #[serde(default)]
    pub repeated: u64,
    /// Time spent seeking and capturing in the browser.
    pub capture_time: Duration,
    /// Time spent handing frames to the sink (waiting for an encoder that is behind).
    pub sink_time: Duration,
    /// Of the captured frames, transition frames blended from two layers.
    #[serde(default)]
    pub blended: u64,
    /// Pool time spent decoding and blending transition layers (alongside capture).
    #[serde(default)]
    pub blend_time: Duration,
}

impl std::ops::AddAssign for CaptureOutput {
    fn add_assign(&mut self, other: Self) {
        self.captured += other.captured;
        self.held += other.held;
        self.unchanged += other.unchanged;
        self.repeated += other.repeated;
        self.capture_time += other.capture_time;
        self.sink_time += other.sink_time;
        self.blended += other.blended;
        self.blend_time += other.blend_time;
    }
}

/// Capture the frames of `input` from `session` into `sink`, in order; frames the sink holds
/// already are skipped. `on_frame` is called with the render index after each frame is handed
/// over (or skipped); setting `cancel` stops the loop before the next frame.
pub async fn capture_frames(
    session: &mut CaptureSession,
    input: &CaptureInput,
    sink: &mut dyn FrameSink,
    cancel: &AtomicBool,
    on_frame: &mut (dyn FnMut(u64) + Send),
) -> Result<CaptureOutput, CaptureError> {
    let mut output = CaptureOutput::default();
    let sink_failed = |index: u64| move |source: SinkError| CaptureError::Sink { index, source };
    // A fresh consumer has no previous frame to repeat.
    session.require_full_image();
    // Sinks block (an encoder that is behind, a file write): off the async workers.
    let frames = input.frames;
    tokio::task::block_in_place(|| sink.begin(frames)).map_err(sink_failed(frames.first))?;
    let windows = prepare_transitions(session, &input.transitions);
    let mut queue = BlendQueue::new(sink);
    for index in frames.indices() {
        if cancel.load(Ordering::Relaxed) {
            return Err(CaptureError::Cancelled);
        }
        if queue.holds(index) {
            // The session's last image is no longer the previous frame.
            session.require_full_image();
            output.held += 1;
            on_frame(index);
            continue;
        }
        if input.repeats(index) {
            // Nothing to seek, draw, encode or decode: the sink shows the frame before again.
            queue.push(index, FrameImage::SameAsPrevious)?;
            output.repeated += 1;
            on_frame(index);
            continue;
        }
        match window_of(&windows, index) {
            Some(window) => capture_blended(session, input, window, index, &mut queue).await?,
            None => capture_whole(session, input, index, &mut queue).await?,
        }
        .add_to(&mut output);
        output.captured += 1;
        on_frame(index);
    }
    let started = Instant::now();
    queue.flush()?;
    output.sink_time += started.elapsed();
    output.blended = queue.blended;
    output.blend_time = queue.blend_time;
    if output.blended > 0 {
        tracing::debug!(
            blended = output.blended,
            blend_time = ?output.blend_time,
            noise_fields_mb = hf_transitions::cached_field_bytes() as f64 / 1e6,
            "transition frames blended"
        );
    }
    let sink = queue.into_sink();
    tokio::task::block_in_place(|| sink.finish()).map_err(sink_failed(frames.end()))?;
    Ok(output)
}

/// The run's transitions, shared with the blends, with their noise fields computed now (in
/// parallel, not later inside a blend on the pool).
fn prepare_transitions(
    session: &CaptureSession,
    transitions: &[TransitionWindow],
) -> Vec<Arc<TransitionWindow>> {
    let (width, height) = session.frame_size();
    for window in transitions {
        tokio::task::block_in_place(|| {
            hf_transitions::prepare(window.shader, width as usize, height as usize)
        });
    }
    transitions.iter().cloned().map(Arc::new).collect()
}

/// What capturing one frame took.
struct FrameCost {
    capture_time: Duration,
    sink_time: Duration,
    unchanged: bool,
}

impl FrameCost {
    fn add_to(self, output: &mut CaptureOutput) {
        output.capture_time += self.capture_time;
        output.sink_time += self.sink_time;
        output.unchanged += u64::from(self.unchanged);
    }
}

/// Capture frame `index` of the page as it is and queue it.
async fn capture_whole(
    session: &mut CaptureSession,
    input: &CaptureInput,
    index: u64,
    queue: &mut BlendQueue<'_>,
) -> Result<FrameCost, CaptureError> {
    let started = Instant::now();
    let time = input.fps.frame_time(index);
    let image = session
        .capture_frame_within(index, time, input.frame_timeout)
        .await?;
    let capture_time = started.elapsed();
    let unchanged = image == FrameImage::SameAsPrevious;
    let started = Instant::now();
    queue.push(index, image)?;
    Ok(FrameCost {
        capture_time,
        sink_time: started.elapsed(),
        unchanged,
    })
}

/// Capture frame `index` of `window` as one layer per scene and queue their blend: on the
/// pool, or in an HDR render by the encoder (each scene as the layers of an HDR frame,
/// composited and blended in linear light).
async fn capture_blended(
    session: &mut CaptureSession,
    input: &CaptureInput,
    window: &Arc<TransitionWindow>,
    index: u64,
    queue: &mut BlendQueue<'_>,
) -> Result<FrameCost, CaptureError> {
    let started = Instant::now();
    let time = input.fps.frame_time(index);
    let scenes = [window.from_scene.as_str(), window.to_scene.as_str()];
    let background = window.background.as_deref();
    let (limit, progress) = (input.frame_timeout, window.progress(input.fps, index));
    let capture_time;
    let sink_started;
    if session.draws_hdr_media() {
        let scenes = session
            .capture_hdr_scenes_within(index, time, scenes, background, limit)
            .await?;
        capture_time = started.elapsed();
        sink_started = Instant::now();
        let blend = LinearTransition {
            window: window.clone(),
            progress,
        };
        queue.push_transition(index, scenes, Arc::new(blend))?;
    } else {
        let layers = session
            .capture_layers_within(index, time, scenes, background, limit)
            .await?;
        capture_time = started.elapsed();
        sink_started = Instant::now();
        queue.push_blend(BlendJob {
            index,
            window: window.clone(),
            progress,
            format: session.image_format(),
            layers,
        })?;
    }
    Ok(FrameCost {
        capture_time,
        sink_time: sink_started.elapsed(),
        unchanged: false,
    })
}
