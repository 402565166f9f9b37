//! The in-process render: plan, then the whole render as one chunk on this machine's browser
//! pool, then assemble. `hf plan` / `hf render-chunk` / `hf assemble` run the same three
//! stages in separate processes.

use crate::chunk::{render_chunk, Workers};
use crate::plan::{plan_stage, LocalRender, MediaWork, PlannedRender};
use crate::workdir::WorkDir;
use crate::{
    assemble_stage, Assembled, ChunkDir, ChunkResult, MediaSummary, ProgressEvent, ProgressSink,
    RenderError, RenderJob, RenderPlan, RenderResult, Stage, StageTimings,
};
use hf_capture::{ActiveCaptureMode, CaptureOutput};
use hf_core::IoError;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Render `job` to a video file, reporting progress to `progress`.
///
/// Creates its own tokio runtime; from async code call [`render_async`] instead.
pub fn render(job: RenderJob, progress: impl ProgressSink) -> Result<RenderResult, RenderError> {
    render_with_cancel(job, progress, Arc::new(AtomicBool::new(false)))
}

/// [`render`], stopping early with [`RenderError::Cancelled`] once `cancel` is set (e.g. from a
/// signal handler). Browsers, the work dir and any partial output are cleaned up either way.
pub fn render_with_cancel(
    job: RenderJob,
    mut progress: impl ProgressSink,
    cancel: Arc<AtomicBool>,
) -> Result<RenderResult, RenderError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| IoError::new("start", "the async runtime", e))?;
    runtime.block_on(render_async(job, &mut progress, cancel))
}

/// Async form of [`render`], for callers already inside a multi-threaded tokio runtime.
pub async fn render_async(
    job: RenderJob,
    progress: &mut dyn ProgressSink,
    cancel: Arc<AtomicBool>,
) -> Result<RenderResult, RenderError> {
    job.validate()?;
    let work = WorkDir::create(&job)?;
    let result = render_in(&job, progress, &cancel, work.path()).await;
    work.finish(result.is_ok());
    result
}

/// Plan, render the whole plan as one chunk, assemble; everything under `root`.
async fn render_in(
    job: &RenderJob,
    progress: &mut dyn ProgressSink,
    cancel: &AtomicBool,
    root: &Path,
) -> Result<RenderResult, RenderError> {
    let started = Instant::now();
    let PlannedRender { plan, local } =
        until_cancelled(plan_stage(job, root, progress), cancel).await?;
    let (workers, media, mut run) = until_cancelled(start_workers(&plan, local), cancel).await?;
    progress.event(ProgressEvent::Planned {
        frames: plan.frames,
        fps: plan.fps,
        duration_seconds: plan.duration_seconds,
        width: plan.page.frame_size().0,
        height: plan.page.frame_size().1,
        capture_mode: run.capture_mode,
        workers: run.workers,
        segments: plan.segments().len(),
    });
    let chunk = render_chunk(&plan, root, &plan.whole(), workers, progress, cancel).await?;
    add_chunk(&mut run.timings, &chunk);
    let chunks = [chunk];
    let assembled = if plan.capture_only {
        None
    } else {
        progress.event(ProgressEvent::StageStarted {
            stage: Stage::Assemble,
        });
        let assemble_started = Instant::now();
        if let Some(mix) = media.audio {
            let finished = async {
                while !mix.is_finished() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(())
            };
            until_cancelled(finished, cancel).await?;
            let (mixed, elapsed) = mix.join().expect("the audio thread does not panic")?;
            run.timings.audio = elapsed;
            if mixed.lowered_db > 0.0 {
                progress.event(ProgressEvent::Warning {
                    message: format!(
                        "audio lowered by {:.1} dB to stay under -1 dBTP (its true peak was over \
                         the delivery ceiling, as HyperFrames lowers it)",
                        mixed.lowered_db
                    ),
                });
            }
        }
        let dirs = [ChunkDir {
            dir: root,
            result: &chunks[0],
        }];
        let assembled = tokio::task::block_in_place(|| assemble_stage(&plan, root, &dirs, false))?;
        run.timings.assemble = assemble_started.elapsed();
        Some(assembled)
    };
    run.elapsed = started.elapsed();
    let result = render_result(&plan, &chunks, assembled.as_ref(), run);
    progress.event(ProgressEvent::Finished {
        result: Box::new(result.clone()),
    });
    Ok(result)
}

/// `work`, or [`RenderError::Cancelled`] as soon as `cancel` is set (checked every 50 ms):
/// compiling, probing, extracting video frames and mixing audio stop as promptly as capture
/// does. Dropping `work` closes its browsers; background threads end with the process.
async fn until_cancelled<T>(
    work: impl std::future::Future<Output = Result<T, RenderError>>,
    cancel: &AtomicBool,
) -> Result<T, RenderError> {
    let cancelled = async {
        while !cancel.load(std::sync::atomic::Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        result = work => result,
        () = cancelled => Err(RenderError::Cancelled),
    }
}

/// Launch the other browsers while the video frames are extracted, then show the frames in
/// every browser. The probe stage ends here.
pub(crate) async fn start_workers(
    plan: &RenderPlan,
    local: LocalRender,
) -> Result<(Workers, MediaWork, RunFacts), RenderError> {
    let LocalRender {
        mut pool,
        server,
        workers,
        mut media,
        mut timings,
        probe_started,
    } = local;
    let (grown, extracted) = tokio::join!(pool.grow_to(workers as usize), &mut media.extraction);
    let extracted = extracted.expect("the extract task does not panic")?;
    grown?;
    timings.extract = extracted.elapsed;
    pool.set_video_frames(Arc::new(plan.videos.clone()));
    timings.probe = probe_started.elapsed();
    let (sessions, restarter) = pool.into_workers();
    let run = RunFacts {
        capture_mode: sessions[0].mode(),
        workers,
        media: MediaSummary {
            videos: plan.videos.videos.len(),
            frames_extracted: extracted.decoded,
            frames_cached: extracted.cached,
            audio_tracks: plan.audio.as_ref().map_or(0, |a| a.tracks.len()),
            audio_seconds: None,
        },
        timings,
        elapsed: Default::default(),
    };
    let workers = Workers {
        sessions,
        restarter,
        server,
    };
    Ok((workers, media, run))
}

/// Add what rendering `chunk` took to `timings`: its wall time as the capture stage, and its
/// hand-off, conversion and encoder time.
fn add_chunk(timings: &mut StageTimings, chunk: &ChunkResult) {
    timings.capture += chunk.elapsed;
    timings.encoder_wait += chunk.capture.sink_time;
    timings.blend += chunk.capture.blend_time;
    timings.convert += chunk.convert_time;
    timings.encode += chunk.encode_time;
}

/// What an in-process render knows besides its plan and chunks.
pub(crate) struct RunFacts {
    capture_mode: ActiveCaptureMode,
    workers: u32,
    /// Videos and their frames (audio facts come from the output).
    media: MediaSummary,
    timings: StageTimings,
    elapsed: Duration,
}

/// The result of rendering `plan` as `chunks`, `assembled` into the output (`None`: the plan
/// only captures, nothing was written).
fn render_result(
    plan: &RenderPlan,
    chunks: &[ChunkResult],
    assembled: Option<&Assembled>,
    run: RunFacts,
) -> RenderResult {
    let mut captured = CaptureOutput::default();
    for chunk in chunks {
        captured += chunk.capture;
    }
    let (width, height) = plan.page.frame_size();
    let planned_duration = plan.frames as f64 * plan.fps.frame_duration();
    RenderResult {
        output: assembled.map_or(plan.output.path.clone(), |a| a.path.clone()),
        format: plan.output.format,
        codec: assembled
            .and(plan.output.encoder.as_ref())
            .map(|encoder| encoder.codec),
        frames: assembled.map_or(plan.frames, |a| a.frames),
        fps: plan.fps,
        duration_seconds: assembled.map_or(planned_duration, |a| a.duration_seconds),
        width,
        height,
        bytes: assembled.map_or(0, |a| a.bytes),
        elapsed_seconds: run.elapsed.as_secs_f64(),
        capture_mode: run.capture_mode,
        workers: run.workers,
        segments: plan.segments().len(),
        capture_plan: plan.capture.route,
        resumed_frames: captured.held,
        capture_only: assembled.is_none(),
        unchanged_frames: captured.unchanged,
        blended_frames: captured.blended,
        held_frames: captured.repeated,
        media: match assembled {
            Some(assembled) => MediaSummary {
                audio_seconds: assembled.audio_seconds,
                ..run.media
            },
            None => MediaSummary::default(),
        },
        timings: run.timings,
    }
}
