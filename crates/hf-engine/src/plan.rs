//! The fixed segment grid and how workers are sized.
//!
//! A render's frames are cut into segments of a fixed length, a property of the render (never
//! of the worker count). Each segment is encoded by a fresh encoder into a closed-GOP piece, so
//! the joined output is the same bytes however many workers took the segments.

use hf_encode::Fps;
use serde::{Deserialize, Serialize};

/// One segment of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentSpec {
    /// Segment number, from 0.
    pub index: usize,
    /// Render index of its first frame.
    pub first_frame: u64,
    /// Frames in the segment.
    pub frame_count: u64,
}

/// The default segment length: about two seconds of frames.
pub fn default_segment_frames(fps: Fps) -> u64 {
    (2.0 * fps.as_f64()).round().max(1.0) as u64
}

/// Cut `total_frames` into consecutive segments of `segment_frames` (the last may be shorter).
pub fn segment_grid(total_frames: u64, segment_frames: u64) -> Vec<SegmentSpec> {
    let segment_frames = segment_frames.max(1);
    (0..total_frames.div_ceil(segment_frames))
        .map(|index| {
            let first_frame = index * segment_frames;
            SegmentSpec {
                index: index as usize,
                first_frame,
                frame_count: segment_frames.min(total_frames - first_frame),
            }
        })
        .collect()
}

/// Memory a browser worker needs, roughly.
const BYTES_PER_WORKER: u64 = 1_500_000_000;

/// Browser workers for `auto`: one more than the cores (capture waits on the browser about
/// half the time), capped by memory at ~1.5 GB each and by the number of segments.
pub fn auto_workers(cores: usize, available_memory: Option<u64>, segments: usize) -> u32 {
    let by_cores = cores.max(1) + 1;
    let by_memory =
        available_memory.map_or(by_cores, |bytes| (bytes / BYTES_PER_WORKER).max(1) as usize);
    by_cores.min(by_memory).min(segments.max(1)) as u32
}

/// Refine the resource-based worker count with a calibration of the composition: `per_frame`
/// is what one frame took on the probe browser, `browser_start` what opening that browser
/// took. A render whose frames would all be captured by one browser in less time than two
/// more browser starts stays on one worker (extra browsers would cost more than they save).
/// Returns the count and the reason, for `--verbose`.
pub fn calibrated_workers(
    by_resources: u32,
    frames: u64,
    per_frame: std::time::Duration,
    browser_start: std::time::Duration,
) -> (u32, &'static str) {
    let serial = per_frame.as_secs_f64() * frames as f64;
    if by_resources > 1 && serial < 2.0 * browser_start.as_secs_f64() {
        (
            1,
            "one worker: capturing every frame on the probe browser takes less than starting two more browsers",
        )
    } else {
        (
            by_resources,
            "cores + 1, at most one per ~1.5 GB of available memory and one per segment",
        )
    }
}

/// Available memory from `/proc/meminfo`, if readable.
pub fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_grid_covers_every_frame_once_in_order(total in 0u64..100_000, size in 1u64..2_000) {
            let grid = segment_grid(total, size);
            let mut next = 0;
            for (i, segment) in grid.iter().enumerate() {
                prop_assert_eq!(segment.index, i);
                prop_assert_eq!(segment.first_frame, next);
                prop_assert!(segment.frame_count >= 1 && segment.frame_count <= size);
                if i + 1 < grid.len() {
                    prop_assert_eq!(segment.frame_count, size);
                }
                next += segment.frame_count;
            }
            prop_assert_eq!(next, total);
        }

        #[test]
        fn auto_workers_stay_within_segments_and_memory(cores in 1usize..64, gib in 0u64..64, segments in 0usize..50) {
            let workers = auto_workers(cores, Some(gib << 30), segments) as usize;
            prop_assert!(workers >= 1);
            prop_assert!(workers <= segments.max(1));
            prop_assert!(workers <= cores + 1);
            prop_assert!(workers as u64 <= ((gib << 30) / BYTES_PER_WORKER).max(1));
        }
    }

    #[test]
    fn calibration_keeps_cheap_renders_on_one_browser() {
        use std::time::Duration;
        let ms = Duration::from_millis;
        // 90 frames at 5 ms = 0.45 s of capture: not worth two more 0.5 s browser starts.
        assert_eq!(calibrated_workers(3, 90, ms(5), ms(500)).0, 1);
        // 300 frames at 60 ms = 18 s: the resource-based count stands.
        assert_eq!(calibrated_workers(3, 300, ms(60), ms(500)).0, 3);
        assert_eq!(calibrated_workers(1, 300, ms(60), ms(500)).0, 1);
    }

    #[test]
    fn default_segments_are_two_seconds() {
        assert_eq!(default_segment_frames(Fps::whole(30)), 60);
        assert_eq!(
            default_segment_frames(Fps {
                num: 30000,
                den: 1001
            }),
            60
        );
        assert_eq!(default_segment_frames(Fps::whole(24)), 48);
        assert_eq!(
            segment_grid(150, 60)
                .iter()
                .map(|s| s.frame_count)
                .collect::<Vec<_>>(),
            vec![60, 60, 30]
        );
    }
}
