//! When a `<video>` shows which of its source frames.

use crate::Fps;
use serde::{Deserialize, Serialize};

/// When and how a `<video>` shows its source: which source frame (sampled at the render's frame
/// rate from the media start) is on screen at a render time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VideoTiming {
    /// Render time at which the slot opens, in seconds.
    pub start: f64,
    /// Render time at which the slot closes (exclusive), in seconds.
    pub end: f64,
    /// Source time shown at the slot's start (`data-media-start`), in seconds.
    pub media_start: f64,
    /// Playback rate, clamped to 0.1..5.
    pub rate: f64,
    /// The source wraps around (`loop`) instead of holding its last frame.
    pub looped: bool,
    /// Source frames available from `media_start` at the render frame rate (at least 1).
    pub frames: u64,
    /// The render frame rate.
    pub fps: Fps,
}

/// Smallest and largest playback rate (as HyperFrames clamps `data-playback-rate`).
pub const PLAYBACK_RATE_RANGE: (f64, f64) = (0.1, 5.0);

/// `rate` clamped to [`PLAYBACK_RATE_RANGE`]; 1 when it is not a number.
pub fn playback_rate(rate: f64) -> f64 {
    if rate.is_finite() {
        rate.clamp(PLAYBACK_RATE_RANGE.0, PLAYBACK_RATE_RANGE.1)
    } else {
        1.0
    }
}

impl VideoTiming {
    /// The timing of a video slot `[start, end)` whose source lasts `source_seconds`.
    pub fn new(
        start: f64,
        end: f64,
        media_start: f64,
        rate: f64,
        looped: bool,
        source_seconds: f64,
        fps: Fps,
    ) -> Self {
        let rate = playback_rate(rate);
        let media_start = media_start.max(0.0);
        let playable = (source_seconds - media_start).max(0.0);
        let frames = ((playable * fps.as_f64()) - 1e-6).ceil().max(1.0) as u64;
        VideoTiming {
            start,
            end,
            media_start,
            rate,
            looped,
            frames,
            fps,
        }
    }

    /// The source frame on screen at render time `time`, or `None` outside the slot. Frame `k`
    /// is the source at `media_start + k / fps`; past the end a looping video wraps and any
    /// other holds its last frame.
    pub fn frame_at(&self, time: f64) -> Option<u64> {
        if time < self.start || time >= self.end {
            return None;
        }
        let local = ((time - self.start) * self.rate * self.fps.as_f64() + 1e-9).floor() as u64;
        Some(if self.looped {
            local % self.frames
        } else {
            local.min(self.frames - 1)
        })
    }

    /// Source time of frame `k`, in seconds.
    pub fn source_time(&self, k: u64) -> f64 {
        self.media_start + k as f64 / self.fps.as_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn timing(rate: f64, looped: bool, source: f64) -> VideoTiming {
        VideoTiming::new(1.0, 5.0, 0.5, rate, looped, source, Fps::whole(30))
    }

    #[test]
    fn slot_is_half_open_and_starts_at_media_start() {
        let t = timing(1.0, false, 10.0);
        assert_eq!(t.frame_at(0.99), None);
        assert_eq!(t.frame_at(1.0), Some(0));
        assert_eq!(t.frame_at(5.0), None);
        assert_eq!(t.frames, 285);
        assert!((t.source_time(30) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn rate_is_clamped() {
        assert_eq!(timing(50.0, false, 10.0).rate, 5.0);
        assert_eq!(timing(0.0, false, 10.0).rate, 0.1);
        assert_eq!(timing(f64::NAN, false, 10.0).rate, 1.0);
    }

    proptest! {
        #[test]
        fn frames_follow_rate_hold_and_loop(
            rate in 0.1f64..5.0,
            looped: bool,
            source in 0.2f64..6.0,
            frame in 30u64..150,
        ) {
            let t = timing(rate, looped, source);
            let time = Fps::whole(30).frame_time(frame);
            let k = t.frame_at(time).expect("inside the slot");
            prop_assert!(k < t.frames);
            let unbounded = ((time - 1.0) * rate * 30.0 + 1e-9).floor() as u64;
            if looped {
                prop_assert_eq!(k, unbounded % t.frames);
            } else if unbounded < t.frames {
                prop_assert_eq!(k, unbounded);
            } else {
                // Held on the last frame.
                prop_assert_eq!(k, t.frames - 1);
            }
            // Source time never runs past the playable source by more than one frame.
            prop_assert!(t.source_time(k) < source.max(0.5 + 1.0 / 30.0) + 1.0 / 30.0);
            // Time advances monotonically within the source until it wraps or holds.
            if let Some(next) = t.frame_at(time + 1.0 / 30.0) {
                prop_assert!(next >= k || looped);
            }
        }
    }
}
