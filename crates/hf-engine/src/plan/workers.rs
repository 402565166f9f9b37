//! How many browser workers a render on this machine gets (a local decision, never part of
//! the plan: the output is the same bytes for any count).

/// Memory a browser worker needs, roughly.
const BYTES_PER_WORKER: u64 = 1_500_000_000;

/// Browser workers for `auto`: one more than the cores (capture waits on the browser about
/// half the time), capped by memory at ~1.5 GB each and by the number of segments.
pub(crate) fn auto_workers(cores: usize, available_memory: Option<u64>, segments: usize) -> u32 {
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
pub(crate) fn calibrated_workers(
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
pub(crate) fn available_memory() -> Option<u64> {
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
}
