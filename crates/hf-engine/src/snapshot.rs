//! `hf snapshot`: PNG stills of chosen frames, captured by the render pipeline itself (the same
//! plan, page, seek and capture a render uses, as a PNG sequence would), with one browser and
//! no encoder.

use crate::plan::windows_in;
use crate::render::start_workers;
use crate::workdir::WorkDir;
use crate::{plan_stage, OutputFormat, PlannedRender, ProgressSink, RenderError, RenderJob};
use hf_capture::{capture_frames, CaptureInput, FrameFiles};
use hf_core::{FrameRange, ImageFormat, IoError};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Which frames to capture.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotFrames {
    /// At these times in seconds (each snapped to the frame showing it).
    At(Vec<f64>),
    /// `n` frames evenly spaced over the whole composition, first and last included.
    Count(u32),
    /// `n` frames evenly spaced from `start` to `end` seconds.
    Range {
        /// First time, in seconds.
        start: f64,
        /// Last time, in seconds.
        end: f64,
        /// How many.
        count: u32,
    },
}

/// One still written.
#[derive(Debug, Clone, PartialEq)]
pub struct Still {
    /// The frame captured.
    pub frame: u64,
    /// Its time, `frame / fps`.
    pub seconds: f64,
    /// The PNG.
    pub path: PathBuf,
}

/// What [`snapshot`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The stills, in time order.
    pub stills: Vec<Still>,
    /// Seconds from the start of the call to the first still on disk.
    pub first_still_seconds: f64,
}

/// Capture `frames` of `job`'s composition as PNGs into `out_dir` (created; RGBA where the page
/// is transparent), named `frame-NN-at-<t>s.png`.
pub fn snapshot(
    job: RenderJob,
    frames: &SnapshotFrames,
    out_dir: PathBuf,
    mut progress: impl ProgressSink,
) -> Result<Snapshot, RenderError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| IoError::new("start", "the async runtime", e))?;
    runtime.block_on(snapshot_async(job, frames, out_dir, &mut progress))
}

async fn snapshot_async(
    mut job: RenderJob,
    frames: &SnapshotFrames,
    out_dir: PathBuf,
    progress: &mut dyn ProgressSink,
) -> Result<Snapshot, RenderError> {
    let started = Instant::now();
    // Stills are what a PNG sequence holds: PNG over a transparent background, one browser,
    // nothing encoded, no sound.
    job.format = OutputFormat::PngSequence;
    job.output = Some(out_dir.join(".hf-snapshot-unused"));
    job.workers = 1;
    job.capture_only = true;
    job.validate()?;
    let work = WorkDir::create(&job)?;
    let root = work.path();
    let PlannedRender { plan, local } = plan_stage(&job, root, progress).await?;
    let wanted = frame_indices(frames, plan.frames, plan.fps.as_f64());
    let (mut workers, _media, _run) = start_workers(&plan, local).await?;
    std::fs::create_dir_all(&out_dir).map_err(IoError::with("create", &out_dir))?;
    let captured = root.join("snapshot");
    std::fs::create_dir_all(&captured).map_err(IoError::with("create", &captured))?;
    let mut files = FrameFiles::new(&captured, ImageFormat::Png);
    let session = &mut workers.sessions[0];
    let mut stills = Vec::new();
    let mut first_still_seconds = 0.0;
    for (n, &frame) in wanted.iter().enumerate() {
        let png = capture_still(session, &plan, &mut files, frame).await?;
        let seconds = frame as f64 * plan.fps.frame_duration();
        let path = out_dir.join(format!("frame-{n:02}-at-{}s.png", seconds_label(seconds)));
        std::fs::copy(&png, &path).map_err(IoError::with("write", &path))?;
        if n == 0 {
            first_still_seconds = started.elapsed().as_secs_f64();
        }
        stills.push(Still {
            frame,
            seconds,
            path,
        });
    }
    Ok(Snapshot {
        stills,
        first_still_seconds,
    })
}

/// Capture `frame` into `files` as a render would (a transition frame blended); the PNG.
async fn capture_still(
    session: &mut hf_capture::CaptureSession,
    plan: &crate::RenderPlan,
    files: &mut FrameFiles,
    frame: u64,
) -> Result<PathBuf, RenderError> {
    let range = FrameRange::new(frame, 1);
    let input = CaptureInput {
        frames: range,
        fps: plan.fps,
        frame_timeout: plan.capture.frame_timeout,
        held: Vec::new(),
        transitions: windows_in(&plan.transitions, range),
    };
    let never = AtomicBool::new(false);
    capture_frames(session, &input, files, &never, &mut |_| {}).await?;
    Ok(files.path(frame))
}

/// The frames `frames` names in a composition of `total` frames at `fps`, sorted, unique.
pub(crate) fn frame_indices(frames: &SnapshotFrames, total: u64, fps: f64) -> Vec<u64> {
    let last = total.saturating_sub(1);
    let at = |seconds: f64| ((seconds * fps).round().max(0.0) as u64).min(last);
    let spaced = |first: u64, end: u64, count: u32| -> Vec<u64> {
        match count {
            0 => Vec::new(),
            1 => vec![(first + end) / 2],
            n => (0..n)
                .map(|i| {
                    first + ((end - first) as f64 * f64::from(i) / f64::from(n - 1)).round() as u64
                })
                .collect(),
        }
    };
    let mut out = match frames {
        SnapshotFrames::At(times) => times.iter().map(|&t| at(t)).collect(),
        SnapshotFrames::Count(count) => spaced(0, last, *count),
        SnapshotFrames::Range { start, end, count } => spaced(at(*start), at(*end), *count),
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// `1.5`, `0`, `2.033`: at most 3 decimals, no trailing zeros.
fn seconds_label(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_counts_and_ranges_become_frames() {
        assert_eq!(
            frame_indices(&SnapshotFrames::At(vec![0.5, 2.25, 99.0, 0.51]), 90, 30.0),
            [15, 68, 89]
        );
        assert_eq!(
            frame_indices(&SnapshotFrames::Count(5), 90, 30.0),
            [0, 22, 45, 67, 89]
        );
        assert_eq!(frame_indices(&SnapshotFrames::Count(1), 90, 30.0), [44]);
        assert_eq!(
            frame_indices(
                &SnapshotFrames::Range {
                    start: 1.0,
                    end: 2.0,
                    count: 3
                },
                90,
                30.0
            ),
            [30, 45, 60]
        );
        assert_eq!(seconds_label(2.0333333), "2.033");
        assert_eq!(seconds_label(0.0), "0");
        assert_eq!(seconds_label(1.5), "1.5");
    }
}
