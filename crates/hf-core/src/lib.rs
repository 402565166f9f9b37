//! The types every hf stage shares, with no libav, browser or async runtime behind them:
//!
//! - [`Fps`]: an exact rational frame rate; frame `i` is at `i * den / num` seconds.
//! - [`FrameImage`] and [`ImageFormat`]: a captured frame as it travels from capture to encode.
//! - [`FrameSink`]: where a capture stage pushes frames, in order (an encoder, frame files).
//! - [`FrameRange`]: a run of consecutive frames (a segment, a chunk).
//! - [`VideoTiming`]: which source frame a `<video>` shows at a render time.
//! - Frame file names: [`captured_frame_name`], [`sequence_frame_name`], [`extracted_frame_name`].
//! - [`IoError`]: a file operation that failed, naming the action and the path.
#![deny(missing_docs)]

mod fps;
mod frame;
mod io;
mod naming;
mod sink;
mod timing;

pub use fps::Fps;
pub use frame::{
    FrameImage, FrameLayer, FrameRange, ImageFormat, LayeredTransition, LinearBlend,
    MediaPlacement, ObjectFit,
};
pub use io::IoError;
pub use naming::{captured_frame_name, extracted_frame_name, sequence_frame_name};
pub use sink::{DiscardFrames, FrameSink, SinkError};
pub use timing::{playback_rate, VideoTiming, PLAYBACK_RATE_RANGE};
