//! Rendering a chunk: its segments captured by this machine's browser workers, each segment
//! into a sink of its own (a fresh segment encoder, frame files, or nothing), in any order and
//! on any worker. A segment whose browser dies is rendered again from its first frame on a
//! fresh browser, so the bytes are those of an undisturbed render.

use crate::plan::{auto_workers, available_memory, session_options, windows_in};
use crate::progress::FrameProgress;
use crate::{ChunkSpec, ProgressEvent, ProgressSink, RenderError, RenderPlan, SegmentSpec, Stage};
use hf_capture::{
    capture_frames, resolve_browser, BrowserPool, BrowserRestarter, CaptureError, CaptureInput,
    CaptureOutput, CaptureSession, FileServer, FrameFiles, TransitionWindow,
};
use hf_core::{DiscardFrames, Fps, FrameRange, FrameSink, IoError};
use hf_encode::{EncodeError, EncodeInput, HdrSource, SegmentEncoder, VideoEncodeSettings};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Retries of a segment whose browser died.
const BROWSER_RESTARTS: u32 = 2;

/// The browsers that render chunks on this machine (page loaded, ready to capture), and the
/// server their page comes from.
pub struct Workers {
    pub(crate) sessions: Vec<CaptureSession>,
    pub(crate) restarter: BrowserRestarter,
    pub(crate) server: FileServer,
}

impl Workers {
    /// `count` browsers with the page of `plan` loaded (its files under `plan_root`, the
    /// browser profiles under `profiles`), showing the plan's video frames, ready to render
    /// chunks of it.
    pub async fn start(
        plan: &RenderPlan,
        plan_root: &Path,
        profiles: &Path,
        browser: Option<&Path>,
        count: u32,
    ) -> Result<Workers, RenderError> {
        let executable = resolve_browser(browser)?;
        let server = FileServer::start(
            &plan_root.join(&plan.page.dir),
            &plan_root.join(&plan.project_dir),
        )
        .await?;
        let options = session_options(executable, &server, &plan.page, &plan.capture, plan.fps);
        let mut pool = BrowserPool::start(options, profiles.to_path_buf()).await?;
        pool.set_video_frames(Arc::new(plan.videos.clone()));
        pool.grow_to(count.max(1) as usize).await?;
        let (sessions, restarter) = pool.into_workers();
        Ok(Workers {
            sessions,
            restarter,
            server,
        })
    }

    /// Browser workers for `segments` segments on this machine: one more than the cores, at
    /// most one per ~1.5 GB of available memory and one per segment.
    pub fn auto_count(segments: usize) -> u32 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        auto_workers(cores, available_memory(), segments)
    }
}

/// One segment of a rendered chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentPiece {
    /// Segment number in the grid.
    pub index: usize,
    /// Its encoded file, relative to the plan root (video formats; frame-file outputs keep
    /// their frames under the plan's frames dir instead).
    pub file: Option<PathBuf>,
    /// Frames in it.
    pub frames: u64,
    /// Size of its file in bytes.
    pub bytes: u64,
}

/// What rendering one chunk produced. Results of several chunks add up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkResult {
    /// The chunk.
    pub chunk: ChunkSpec,
    /// Its segments, in order.
    pub segments: Vec<SegmentPiece>,
    /// What capture did, summed over the segments.
    pub capture: CaptureOutput,
    /// Decoding and converting captured images (encoder threads).
    pub convert_time: Duration,
    /// Inside the encoders and muxers.
    pub encode_time: Duration,
    /// Browser workers that rendered it.
    pub workers: u32,
    /// Wall time of the chunk.
    pub elapsed: Duration,
}

/// How each segment's frames travel, decided once per chunk from the plan.
enum FrameRoute {
    /// Captured and dropped (capture-only benchmarks).
    Discard,
    /// Straight into a fresh segment encoder.
    Encode(VideoEncodeSettings),
    /// Into frame files (outputs made from the whole sequence).
    Files(FrameFiles),
    /// Into frame files, then from them into a segment encoder (resumable renders).
    FilesThenEncode(FrameFiles, VideoEncodeSettings),
}

impl FrameRoute {
    fn of(plan: &RenderPlan, root: &Path) -> Result<Self, RenderError> {
        let encoder = plan.output.encoder.clone();
        if plan.capture_only {
            return Ok(FrameRoute::Discard);
        }
        let files = |dir: PathBuf| -> Result<FrameFiles, RenderError> {
            let dir = root.join(dir);
            std::fs::create_dir_all(&dir).map_err(IoError::with("create", &dir))?;
            Ok(FrameFiles::new(dir, plan.capture.image_format))
        };
        match (plan.frames_dir(), encoder) {
            (Some(dir), Some(settings)) => Ok(FrameRoute::FilesThenEncode(files(dir)?, settings)),
            (Some(dir), None) => Ok(FrameRoute::Files(files(dir)?)),
            (None, Some(settings)) => Ok(FrameRoute::Encode(settings)),
            (None, None) => Err(RenderError::InvalidOutput {
                reason: format!(
                    "the plan streams frames but {} is made from frame files; plan it again \
                     (frame-file outputs capture to disk)",
                    plan.output.format
                ),
            }),
        }
    }
}

/// Everything a worker needs, shared by the chunk's workers.
struct ChunkContext {
    route: FrameRoute,
    fps: Fps,
    frame_timeout: Duration,
    root: PathBuf,
    /// Frames that repeat the frame before them (the plan's prediction).
    held: Vec<FrameRange>,
    transitions: Vec<TransitionWindow>,
    /// HDR renders: the sources the encoders draw (see [`RenderPlan::locate_sources`]).
    hdr_sources: Vec<HdrSource>,
    /// Segment file names (relative to the root) by segment index, for video formats.
    segment_files: Vec<Option<PathBuf>>,
    queue: Mutex<VecDeque<SegmentSpec>>,
    /// Set when the chunk must stop: cancelled by the caller, or another worker failed.
    stop: AtomicBool,
    /// `(segment, frames of it done)` after every frame.
    progress: tokio::sync::mpsc::UnboundedSender<(usize, u64)>,
    restarter: BrowserRestarter,
}

/// What one segment cost, and where it went.
struct SegmentDone {
    piece: SegmentPiece,
    captured: CaptureOutput,
    convert_time: Duration,
    encode_time: Duration,
}

/// Render `chunk` of `plan` (files under `root`) with `workers`, reporting frames to
/// `progress`; stops with [`RenderError::Cancelled`] once `cancel` is set.
pub async fn render_chunk(
    plan: &RenderPlan,
    root: &Path,
    chunk: &ChunkSpec,
    workers: Workers,
    progress: &mut dyn ProgressSink,
    cancel: &AtomicBool,
) -> Result<ChunkResult, RenderError> {
    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Capture,
    });
    let started = Instant::now();
    let Workers {
        sessions,
        restarter,
        server,
    } = workers;
    let worker_count = sessions.len() as u32;
    let grid = plan.segments();
    let segments = &grid[chunk.first_segment..chunk.first_segment + chunk.segment_count];
    let (progress_tx, progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Arc::new(ChunkContext {
        route: FrameRoute::of(plan, root)?,
        fps: plan.fps,
        frame_timeout: plan.capture.frame_timeout,
        root: root.to_path_buf(),
        held: plan.held.clone(),
        transitions: plan.transitions.clone(),
        hdr_sources: plan
            .hdr
            .as_ref()
            .map(|h| h.sources.clone())
            .unwrap_or_default(),
        segment_files: grid.iter().map(|s| plan.segment_file(s.index)).collect(),
        queue: Mutex::new(segments.iter().copied().collect()),
        stop: AtomicBool::new(false),
        progress: progress_tx,
        restarter,
    });
    // The first session renders the first segment, whose first frames calibration may have
    // captured.
    let first_segment = ctx.queue.lock().expect("segment queue lock").pop_front();
    let handles: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(n, session)| {
            let first = if n == 0 { first_segment } else { None };
            tokio::spawn(run_worker(session, Arc::clone(&ctx), first))
        })
        .collect();
    let mut frames = FrameProgress::new(grid.len(), plan.frames);
    let joined = follow(
        handles,
        progress_rx,
        &mut frames,
        &ctx.stop,
        progress,
        cancel,
    )
    .await;
    drop(server);
    if cancel.load(Ordering::Relaxed) {
        return Err(RenderError::Cancelled);
    }
    let mut done = Vec::new();
    let mut first_error = None;
    for outcome in joined {
        match outcome.expect("a worker task does not panic") {
            Ok(mut segments) => done.append(&mut segments),
            // The first real failure, not a worker that stopped because of it.
            Err(RenderError::Capture(CaptureError::Cancelled)) => {}
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    Ok(chunk_result(chunk, done, worker_count, started.elapsed()))
}

/// Wait for the workers, reporting their progress and passing a cancel on to them.
async fn follow(
    handles: Vec<tokio::task::JoinHandle<Result<Vec<SegmentDone>, RenderError>>>,
    mut updates: tokio::sync::mpsc::UnboundedReceiver<(usize, u64)>,
    frames: &mut FrameProgress,
    stop: &AtomicBool,
    progress: &mut dyn ProgressSink,
    cancel: &AtomicBool,
) -> Vec<Result<Result<Vec<SegmentDone>, RenderError>, tokio::task::JoinError>> {
    let mut report = |(segment, done): (usize, u64)| {
        if let Some(event) = frames.record(segment, done) {
            progress.event(event);
        }
    };
    let mut updates_open = true;
    let all_done = futures::future::join_all(handles);
    tokio::pin!(all_done);
    let joined = loop {
        tokio::select! {
            update = updates.recv(), if updates_open => match update {
                Some(update) => report(update),
                None => updates_open = false,
            },
            joined = &mut all_done => break joined,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                if cancel.load(Ordering::Relaxed) {
                    stop.store(true, Ordering::Relaxed);
                }
            }
        }
    };
    while let Ok(update) = updates.try_recv() {
        report(update);
    }
    joined
}

/// Sum the segments of a chunk, in grid order.
fn chunk_result(
    chunk: &ChunkSpec,
    mut done: Vec<SegmentDone>,
    workers: u32,
    elapsed: Duration,
) -> ChunkResult {
    done.sort_by_key(|d| d.piece.index);
    let mut result = ChunkResult {
        chunk: *chunk,
        segments: Vec::with_capacity(done.len()),
        capture: CaptureOutput::default(),
        convert_time: Duration::ZERO,
        encode_time: Duration::ZERO,
        workers,
        elapsed,
    };
    for segment in done {
        result.capture += segment.captured;
        result.convert_time += segment.convert_time;
        result.encode_time += segment.encode_time;
        result.segments.push(segment.piece);
    }
    result
}

/// Render `first` (if given), then take segments from the queue until it is empty. A segment
/// whose browser dies is re-rendered from its first frame on a fresh browser.
async fn run_worker(
    mut session: CaptureSession,
    ctx: Arc<ChunkContext>,
    mut first: Option<SegmentSpec>,
) -> Result<Vec<SegmentDone>, RenderError> {
    let mut done = Vec::new();
    let mut restarts = 0;
    loop {
        let next = first
            .take()
            .or_else(|| ctx.queue.lock().expect("segment queue lock").pop_front());
        let Some(segment) = next else { break };
        loop {
            match render_segment(&mut session, &ctx, segment).await {
                Ok(result) => {
                    done.push(result);
                    break;
                }
                Err(error)
                    if session.browser_exited()
                        && restarts < BROWSER_RESTARTS
                        && !ctx.stop.load(Ordering::Relaxed) =>
                {
                    restarts += 1;
                    tracing::warn!(segment = segment.index, %error, "browser died; re-rendering the segment on a fresh browser");
                    session = ctx
                        .restarter
                        .restart(session)
                        .await
                        .inspect_err(|_| ctx.stop.store(true, Ordering::Relaxed))?;
                }
                Err(error) => {
                    ctx.stop.store(true, Ordering::Relaxed);
                    session.close().await;
                    return Err(error);
                }
            }
        }
    }
    session.close().await;
    Ok(done)
}

/// Capture one segment into the sink its route gives it.
async fn render_segment(
    session: &mut CaptureSession,
    ctx: &ChunkContext,
    segment: SegmentSpec,
) -> Result<SegmentDone, RenderError> {
    let mut encoder = None;
    let captured = capture_segment(session, ctx, segment, &mut encoder).await;
    let done = captured.map(|captured| segment_done(ctx, segment, captured, encoder.as_ref()));
    // An encoder stopped early waits for its thread to clean up: off the async workers.
    tokio::task::block_in_place(|| drop(encoder));
    done
}

/// Capture `segment` through its route; the segment encoder, if the route has one, is left in
/// `encoder`.
async fn capture_segment(
    session: &mut CaptureSession,
    ctx: &ChunkContext,
    segment: SegmentSpec,
    encoder: &mut Option<SegmentEncoder>,
) -> Result<CaptureOutput, RenderError> {
    Ok(match &ctx.route {
        FrameRoute::Discard => {
            let mut discard = DiscardFrames::default();
            let captured = capture_into(session, ctx, segment, &mut discard).await?;
            check_all_received(segment, discard.received)?;
            captured
        }
        FrameRoute::Files(files) => capture_into(session, ctx, segment, &mut files.clone()).await?,
        FrameRoute::Encode(settings) => {
            let sink = encoder.insert(start_encoder(ctx, settings, segment)?);
            capture_into(session, ctx, segment, sink).await?
        }
        FrameRoute::FilesThenEncode(files, settings) => {
            let captured = capture_into(session, ctx, segment, &mut files.clone()).await?;
            let sink = encoder.insert(start_encoder(ctx, settings, segment)?);
            tokio::task::block_in_place(|| files.replay(segment.frames(), sink))?;
            captured
        }
    })
}

/// The capture stage for `segment` into `sink`, reporting each frame to the chunk's progress.
async fn capture_into(
    session: &mut CaptureSession,
    ctx: &ChunkContext,
    segment: SegmentSpec,
    sink: &mut dyn FrameSink,
) -> Result<CaptureOutput, RenderError> {
    let input = CaptureInput {
        frames: segment.frames(),
        fps: ctx.fps,
        frame_timeout: ctx.frame_timeout,
        held: held_in(&ctx.held, segment.frames()),
        transitions: windows_in(&ctx.transitions, segment.frames()),
    };
    let mut on_frame = |index: u64| {
        let _ = ctx
            .progress
            .send((segment.index, index + 1 - segment.first_frame));
    };
    Ok(capture_frames(session, &input, sink, &ctx.stop, &mut on_frame).await?)
}

/// The parts of the runs in `held` that fall in `frames`.
fn held_in(held: &[FrameRange], frames: FrameRange) -> Vec<FrameRange> {
    held.iter()
        .filter_map(|run| {
            let first = run.first.max(frames.first);
            let end = run.end().min(frames.end());
            (first < end).then(|| FrameRange::new(first, end - first))
        })
        .collect()
}

/// A fresh encoder for `segment`, writing its file under the root.
fn start_encoder(
    ctx: &ChunkContext,
    settings: &VideoEncodeSettings,
    segment: SegmentSpec,
) -> Result<SegmentEncoder, RenderError> {
    let file = ctx.segment_files[segment.index]
        .as_ref()
        .expect("video formats name their segment files");
    Ok(SegmentEncoder::start(EncodeInput {
        settings: settings.clone(),
        output: ctx.root.join(file),
        first_frame: segment.first_frame,
        frame_count: segment.frame_count,
        hdr_sources: ctx.hdr_sources.clone(),
    })?)
}

/// Capture-only: every frame of the segment reached the discarding sink.
fn check_all_received(segment: SegmentSpec, received: u64) -> Result<(), RenderError> {
    if received == segment.frame_count {
        return Ok(());
    }
    Err(EncodeError::FrameCountMismatch {
        what: format!("capture-only segment {}", segment.index),
        expected: segment.frame_count,
        actual: received,
    }
    .into())
}

fn segment_done(
    ctx: &ChunkContext,
    segment: SegmentSpec,
    captured: CaptureOutput,
    encoder: Option<&SegmentEncoder>,
) -> SegmentDone {
    let encoded = encoder.and_then(SegmentEncoder::output);
    SegmentDone {
        piece: SegmentPiece {
            index: segment.index,
            file: encoded.and(ctx.segment_files[segment.index].clone()),
            frames: encoded.map_or(segment.frame_count, |e| e.frames),
            bytes: encoded.map_or(0, |e| e.bytes),
        },
        captured,
        convert_time: encoded.map_or(Duration::ZERO, |e| e.convert_time),
        encode_time: encoded.map_or(Duration::ZERO, |e| e.encode_time),
    }
}
