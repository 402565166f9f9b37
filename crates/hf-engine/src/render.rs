//! Sequence the stages: compile -> probe -> capture + encode -> assemble.

use crate::compile::{compile_stage, CompileInput};
use crate::job::{
    CapturePlan, MediaSummary, ProgressEvent, ProgressSink, RenderJob, RenderResult, Stage,
    StageTimings,
};
use crate::media::{extract_videos, plan_media};
use crate::output::{resolve_output, OutputKind};
use crate::plan::{
    auto_workers, available_memory, calibrated_workers, default_segment_frames, segment_grid,
    SegmentSpec,
};
use crate::RenderError;
use hf_capture::browser::resolve_browser;
use hf_capture::server::FileServer;
use hf_capture::VideoFrames;
use hf_capture::{capture_disk, frame_path, DiskCaptureInput, StreamingCaptureOutput};
use hf_capture::{
    capture_streaming, CaptureError, CaptureSession, SessionOptions, StreamingCaptureInput,
};
use hf_encode::{
    assemble_stage, encode_stage, gif_stage, png_sequence_stage, AssembleInput, EncodeInput, Fps,
    GifInput, GopSettings, PngSequenceInput, VideoEncodeSettings,
};
use hf_encode::{audio_stage, AudioMixInput, EncodeOutput, FrameImage, AUDIO_RATE};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// libx264 threads per segment encoder: fixed, so the bytes never depend on the machine or the
/// worker count.
const ENCODER_THREADS: u32 = 2;

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
        .map_err(|source| RenderError::Io {
            action: "start",
            path: "the async runtime".into(),
            source,
        })?;
    runtime.block_on(render_async(job, &mut progress, cancel))
}

/// The default output path: `renders/<dir name>_<YYYY-MM-DD_HH-MM-SS>.<ext>` (no extension for
/// a PNG sequence directory).
fn default_output(job: &RenderJob) -> PathBuf {
    let name = job
        .project_dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "render".to_string());
    let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S");
    let file = match job.format.extension() {
        "" => format!("{name}_{stamp}"),
        extension => format!("{name}_{stamp}.{extension}"),
    };
    PathBuf::from("renders").join(file)
}

/// Make sure the output's directory exists and accepts files, before any work is done. A PNG
/// sequence is a directory: an empty one may already be there.
fn check_output_writable(output: &Path, directory: bool) -> Result<(), RenderError> {
    let not_writable = |reason: String| RenderError::OutputNotWritable {
        path: output.to_path_buf(),
        reason,
    };
    if output.is_dir() {
        let empty = std::fs::read_dir(output).is_ok_and(|mut d| d.next().is_none());
        if !directory {
            return Err(not_writable("it is a directory".into()));
        }
        if !empty {
            return Err(not_writable(
                "the directory exists and is not empty (a png-sequence output must be new)".into(),
            ));
        }
    } else if directory && output.exists() {
        return Err(not_writable(
            "a file is in the way (a png-sequence output is a directory)".into(),
        ));
    }
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .map_err(|e| not_writable(format!("cannot create {}: {e}", parent.display())))?;
    tempfile::Builder::new()
        .prefix(".hf-write-check")
        .tempfile_in(&parent)
        .map_err(|e| not_writable(format!("{} is not writable: {e}", parent.display())))?;
    Ok(())
}

/// Everything a worker needs, shared by all workers.
struct WorkerContext {
    options: SessionOptions,
    /// Encoder settings; `None` when the output is made from frame files (gif, png-sequence).
    settings: Option<VideoEncodeSettings>,
    /// Discard captured frames instead of encoding them (benchmarking).
    capture_only: bool,
    fps: Fps,
    frame_timeout: Duration,
    work_dir: PathBuf,
    /// Where frames are written first, for the capture-disk plan.
    frames_dir: Option<PathBuf>,
    queue: Mutex<VecDeque<SegmentSpec>>,
    /// Set when the render must stop: cancelled by the caller, or another worker failed.
    stop: AtomicBool,
    /// `(segment, frames of it done)` after every frame.
    progress: tokio::sync::mpsc::UnboundedSender<(usize, u64)>,
    browsers_started: std::sync::atomic::AtomicUsize,
    /// Extracted frames every session shows in place of `<video>` elements (set once
    /// extraction is done, before capture starts).
    video_frames: std::sync::OnceLock<Arc<VideoFrames>>,
}

impl WorkerContext {
    /// Options for one more browser, with a profile directory of its own.
    fn next_browser(&self) -> SessionOptions {
        let n = self.browsers_started.fetch_add(1, Ordering::Relaxed);
        SessionOptions {
            user_data_dir: self.work_dir.join(format!("profile-{n}")),
            ..self.options.clone()
        }
    }
}

/// What one segment cost, and where it went.
struct SegmentResult {
    index: usize,
    /// The encoded segment (none when frames only go to disk).
    encoded: Option<EncodeOutput>,
    captured: StreamingCaptureOutput,
    /// Frames that were already on disk (capture-disk resume).
    resumed: u64,
}

/// Capture and encode one segment with a fresh encoder on its own thread (or, for outputs
/// made from frame files, only capture it to disk).
async fn render_segment(
    session: &mut CaptureSession,
    ctx: &WorkerContext,
    segment: SegmentSpec,
) -> Result<SegmentResult, RenderError> {
    let mut on_frame = |index: u64| {
        let _ = ctx
            .progress
            .send((segment.index, index + 1 - segment.first_frame));
    };
    let disk_input = ctx.frames_dir.as_ref().map(|frames_dir| DiskCaptureInput {
        first_frame: segment.first_frame,
        frame_count: segment.frame_count,
        fps: ctx.fps,
        frame_timeout: ctx.frame_timeout,
        frames_dir: frames_dir.clone(),
        image_format: ctx.options.image_format,
    });
    if ctx.capture_only {
        return discard_segment(session, ctx, segment, &mut on_frame).await;
    }
    let Some(settings) = &ctx.settings else {
        let input = disk_input.expect("frame-file outputs capture to disk");
        let disk = capture_disk(session, &input, &ctx.stop, &mut on_frame).await?;
        return Ok(SegmentResult {
            index: segment.index,
            encoded: None,
            captured: StreamingCaptureOutput {
                frames: segment.frame_count,
                ..Default::default()
            },
            resumed: disk.skipped,
        });
    };
    let input = EncodeInput {
        settings: settings.clone(),
        output: ctx.work_dir.join(format!(
            "segment-{:05}.{}",
            segment.index,
            settings.codec.container().extension()
        )),
        first_frame: segment.first_frame,
        frame_count: segment.frame_count,
    };
    let (sender, receiver) = crossbeam_channel::bounded(8);
    let encoder = std::thread::Builder::new()
        .name(format!("hf-encode-{}", segment.index))
        .spawn(move || encode_stage(input, receiver))
        .map_err(|source| RenderError::Io {
            action: "start",
            path: "an encoder thread".into(),
            source,
        })?;
    let mut resumed = 0;
    let captured = match disk_input {
        None => {
            let input = StreamingCaptureInput {
                first_frame: segment.first_frame,
                frame_count: segment.frame_count,
                fps: ctx.fps,
                frame_timeout: ctx.frame_timeout,
            };
            capture_streaming(session, input, &sender, &ctx.stop, &mut on_frame).await
        }
        Some(input) => match capture_disk(session, &input, &ctx.stop, &mut on_frame).await {
            Ok(disk) => {
                resumed = disk.skipped;
                send_frames_from_disk(&input, &sender).map(|()| StreamingCaptureOutput {
                    frames: segment.frame_count,
                    ..Default::default()
                })
            }
            Err(error) => Err(error),
        },
    };
    drop(sender);
    let encoded =
        tokio::task::block_in_place(|| encoder.join()).expect("the encoder thread does not panic");
    // Report the cause, not its echo: a capture that could not hand frames over failed because
    // the encoder did; an encoder that ran short of frames failed because the capture did.
    match (captured, encoded) {
        (Ok(captured), Ok(encoded)) => Ok(SegmentResult {
            index: segment.index,
            encoded: Some(encoded),
            captured,
            resumed,
        }),
        (Err(CaptureError::EncoderGone { .. }), Err(encode_error)) => Err(encode_error.into()),
        (Err(capture_error), _) => Err(capture_error.into()),
        (Ok(_), Err(encode_error)) => Err(encode_error.into()),
    }
}

/// Capture a segment and drop its frames as they arrive (the capture-only benchmark).
async fn discard_segment(
    session: &mut CaptureSession,
    ctx: &WorkerContext,
    segment: SegmentSpec,
    on_frame: &mut (dyn FnMut(u64) + Send),
) -> Result<SegmentResult, RenderError> {
    let (sender, receiver) = crossbeam_channel::bounded(8);
    let drain = std::thread::spawn(move || receiver.iter().count());
    let input = StreamingCaptureInput {
        first_frame: segment.first_frame,
        frame_count: segment.frame_count,
        fps: ctx.fps,
        frame_timeout: ctx.frame_timeout,
    };
    let captured = capture_streaming(session, input, &sender, &ctx.stop, on_frame).await;
    drop(sender);
    let received =
        tokio::task::block_in_place(|| drain.join()).expect("the drain thread does not panic");
    let captured = captured?;
    if received as u64 != segment.frame_count {
        return Err(hf_encode::EncodeError::FrameCountMismatch {
            what: format!("capture-only segment {}", segment.index),
            expected: segment.frame_count,
            actual: received as u64,
        }
        .into());
    }
    Ok(SegmentResult {
        index: segment.index,
        encoded: None,
        captured,
        resumed: 0,
    })
}

/// Feed a segment's frame files, in order, to its encoder.
fn send_frames_from_disk(
    input: &DiskCaptureInput,
    sender: &crossbeam_channel::Sender<FrameImage>,
) -> Result<(), CaptureError> {
    tokio::task::block_in_place(|| {
        for index in input.first_frame..input.first_frame + input.frame_count {
            let path = frame_path(&input.frames_dir, index, input.image_format);
            let bytes = std::fs::read(&path).map_err(|source| CaptureError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?;
            let image = FrameImage::Encoded {
                format: input.image_format,
                bytes,
            };
            sender
                .send(image)
                .map_err(|_| CaptureError::EncoderGone { index })?;
        }
        Ok(())
    })
}

/// What the assemble step wrote, whatever the format.
struct Assembled {
    path: PathBuf,
    frames: u64,
    bytes: u64,
    duration_seconds: f64,
    audio_seconds: Option<f64>,
}

/// Join segments (video formats), or build the GIF / PNG sequence from the frame files.
fn assemble_output(
    kind: &OutputKind,
    results: &[SegmentResult],
    ctx: &WorkerContext,
    output: &Path,
    frames: u64,
    audio: Option<PathBuf>,
    audio_tracks: usize,
) -> Result<Assembled, RenderError> {
    let frame_files = || -> Vec<PathBuf> {
        let dir = ctx
            .frames_dir
            .as_ref()
            .expect("frame-file outputs capture to disk");
        (0..frames)
            .map(|index| frame_path(dir, index, ctx.options.image_format))
            .collect()
    };
    let duration_seconds = frames as f64 * ctx.fps.frame_duration();
    match *kind {
        OutputKind::Video { container, .. } => {
            let assembled = assemble_stage(AssembleInput {
                segments: results
                    .iter()
                    .filter_map(|r| r.encoded.as_ref().map(|e| e.path.clone()))
                    .collect(),
                output: output.to_path_buf(),
                fps: ctx.fps,
                expected_frames: frames,
                faststart: true,
                container,
                audio,
                audio_tracks,
            })?;
            Ok(Assembled {
                path: assembled.path,
                frames: assembled.frames,
                bytes: assembled.bytes,
                duration_seconds: assembled.duration_seconds,
                audio_seconds: assembled.audio_seconds,
            })
        }
        OutputKind::Gif { loop_count } => {
            let gif = gif_stage(&GifInput {
                frames: frame_files(),
                fps: ctx.fps,
                output: output.to_path_buf(),
                loop_count,
            })?;
            Ok(Assembled {
                path: gif.path,
                frames: gif.frames,
                bytes: gif.bytes,
                duration_seconds,
                audio_seconds: None,
            })
        }
        OutputKind::PngSequence => {
            let sequence = png_sequence_stage(&PngSequenceInput {
                frames: frame_files(),
                output: output.to_path_buf(),
                audio,
            })?;
            Ok(Assembled {
                path: sequence.path,
                frames: sequence.frames,
                bytes: sequence.bytes,
                duration_seconds,
                audio_seconds: sequence.audio_seconds,
            })
        }
    }
}

/// Retries of a segment whose browser died.
const BROWSER_RESTARTS: u32 = 2;

/// Render `first` (if given), then take segments from the queue until it is empty. A segment
/// whose browser dies is re-rendered from its first frame on a fresh browser, so the output is
/// the same as an undisturbed render.
async fn run_worker(
    mut session: CaptureSession,
    ctx: Arc<WorkerContext>,
    mut first: Option<SegmentSpec>,
) -> Result<Vec<SegmentResult>, RenderError> {
    let mut results = Vec::new();
    let mut restarts = 0;
    loop {
        let next = first
            .take()
            .or_else(|| ctx.queue.lock().expect("segment queue lock").pop_front());
        let Some(segment) = next else { break };
        loop {
            match render_segment(&mut session, &ctx, segment).await {
                Ok(result) => {
                    results.push(result);
                    break;
                }
                Err(error)
                    if session.browser_exited()
                        && restarts < BROWSER_RESTARTS
                        && !ctx.stop.load(Ordering::Relaxed) =>
                {
                    restarts += 1;
                    tracing::warn!(segment = segment.index, %error, "browser died; re-rendering the segment on a fresh browser");
                    session.close().await;
                    session = CaptureSession::open(&ctx.next_browser())
                        .await
                        .inspect_err(|_| ctx.stop.store(true, Ordering::Relaxed))?;
                    session.set_video_frames(Arc::clone(
                        ctx.video_frames.get().expect("set before capture"),
                    ));
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
    Ok(results)
}

/// The render's work dir: a private temp dir, or the caller's resumable one.
enum WorkDir {
    /// Removed when dropped, whatever happens.
    Temp(tempfile::TempDir),
    /// `--resume`: kept when the render fails or is cancelled, removed when it succeeds.
    Resumable(PathBuf),
}

impl WorkDir {
    fn create(job: &RenderJob) -> Result<Self, RenderError> {
        if let Some(dir) = &job.resume {
            std::fs::create_dir_all(dir).map_err(|source| RenderError::Io {
                action: "create",
                path: dir.clone(),
                source,
            })?;
            return Ok(WorkDir::Resumable(dir.clone()));
        }
        let parent = job
            .work_dir_parent
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        tempfile::Builder::new()
            .prefix("hf-render-")
            .tempdir_in(&parent)
            .map(WorkDir::Temp)
            .map_err(|source| RenderError::Io {
                action: "create a work dir in",
                path: parent,
                source,
            })
    }

    fn path(&self) -> &Path {
        match self {
            WorkDir::Temp(dir) => dir.path(),
            WorkDir::Resumable(dir) => dir,
        }
    }
}

/// What identifies a render's frames; a resumed work dir must hold the same.
#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct FrameIdentity {
    project: String,
    width: u32,
    height: u32,
    fps: String,
    frames: u64,
    jpeg_quality: u8,
}

/// Record the identity of a resumable work dir, or check it against the one recorded.
fn check_resume_identity(dir: &Path, now: &FrameIdentity) -> Result<(), RenderError> {
    let path = dir.join("render.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let was: FrameIdentity =
            serde_json::from_str(&text).map_err(|e| RenderError::ResumeMismatch {
                dir: dir.to_path_buf(),
                field: "render.json",
                was: format!("unreadable ({e})"),
                now: "a valid record".into(),
            })?;
        let differs = |field: &'static str, was: String, now: String| {
            Err(RenderError::ResumeMismatch {
                dir: dir.to_path_buf(),
                field,
                was,
                now,
            })
        };
        if was.project != now.project {
            return differs("the project", was.project, now.project.clone());
        }
        if (was.width, was.height) != (now.width, now.height) {
            return differs(
                "the size",
                format!("{}x{}", was.width, was.height),
                format!("{}x{}", now.width, now.height),
            );
        }
        if was.fps != now.fps {
            return differs("the frame rate", was.fps, now.fps.clone());
        }
        if was.frames != now.frames {
            return differs(
                "the frame count",
                was.frames.to_string(),
                now.frames.to_string(),
            );
        }
        if was.jpeg_quality != now.jpeg_quality {
            return differs(
                "the capture quality",
                was.jpeg_quality.to_string(),
                now.jpeg_quality.to_string(),
            );
        }
        return Ok(());
    }
    let text = serde_json::to_string_pretty(now).expect("identity serialises");
    std::fs::write(&path, text).map_err(|source| RenderError::Io {
        action: "write",
        path,
        source,
    })
}

/// Async form of [`render`], for callers already inside a multi-threaded tokio runtime.
pub async fn render_async(
    job: RenderJob,
    progress: &mut dyn ProgressSink,
    cancel: Arc<AtomicBool>,
) -> Result<RenderResult, RenderError> {
    let work = WorkDir::create(&job)?;
    let result = render_in(&job, progress, &cancel, work.path()).await;
    match (&work, &result) {
        (WorkDir::Resumable(dir), Ok(_)) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        (WorkDir::Resumable(dir), Err(_)) => tracing::warn!(
            "frames captured so far are kept in {}; run again with --resume {} to continue",
            dir.display(),
            dir.display()
        ),
        (WorkDir::Temp(_), _) => {}
    }
    result
}

async fn render_in(
    job: &RenderJob,
    progress: &mut dyn ProgressSink,
    cancel: &AtomicBool,
    work_dir: &Path,
) -> Result<RenderResult, RenderError> {
    let started = Instant::now();
    let mut timings = StageTimings::default();
    let output = job.output.clone().unwrap_or_else(|| default_output(job));

    // The output options are checked before any work (again below with the final frame rate).
    resolve_output(job, job.fps.unwrap_or(Fps::whole(30)))?;

    // compile
    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Compile,
    });
    let stage_started = Instant::now();
    let compiled = compile_stage(&CompileInput {
        project_dir: job.project_dir.clone(),
        work_dir: work_dir.join("compiled"),
        variables: job.variables.clone(),
        strict_variables: job.strict_variables,
        allow_missing_assets: job.allow_missing_assets,
        asset_cache: job.asset_cache.clone(),
    })?;
    for warning in &compiled.warnings {
        progress.event(ProgressEvent::Warning {
            message: warning.clone(),
        });
    }
    let output_plan = resolve_output(job, job.fps.or(compiled.fps_hint).unwrap_or(Fps::whole(30)))?;
    for warning in &output_plan.warnings {
        progress.event(ProgressEvent::Warning {
            message: warning.clone(),
        });
    }
    let fps = output_plan.fps;
    let device_scale_factor = match job.resolution {
        Some(resolution) => resolution.scale_for(compiled.width, compiled.height)?,
        None => 1.0,
    };
    // The size of the captured frames (and of the output, before odd-size padding).
    let (frame_width, frame_height) = (
        (f64::from(compiled.width) * device_scale_factor).round() as u32,
        (f64::from(compiled.height) * device_scale_factor).round() as u32,
    );
    check_output_writable(&output, output_plan.kind == OutputKind::PngSequence)?;
    timings.compile = stage_started.elapsed();

    // probe: launch the first browser, load the page, learn the duration
    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Probe,
    });
    let stage_started = Instant::now();
    let executable = resolve_browser(job.browser.as_deref())?;
    let server = FileServer::start(
        compiled
            .html_path
            .parent()
            .expect("compiled page has a parent"),
        &compiled.project_dir,
    )
    .await?;
    let (preset, crf, jpeg_quality) = job.quality.settings();
    let options = SessionOptions {
        executable,
        user_data_dir: work_dir.join("profile-0"),
        url: server.url("index.html"),
        width: compiled.width,
        height: compiled.height,
        mode: job.capture_mode,
        image_format: output_plan.image_format,
        jpeg_quality,
        frame_interval_ms: 1000.0 * fps.frame_duration(),
        load_timeout: Duration::from_secs_f64(job.load_timeout_seconds),
        timeline_timeout: Duration::from_secs_f64(job.timeline_timeout_seconds),
        fps: fps.as_f64(),
        device_scale_factor,
        transparent: output_plan.transparent,
    };
    let browser_started = Instant::now();
    let mut probe_session = CaptureSession::open(&options).await?;
    let browser_start = browser_started.elapsed();
    let missing = &probe_session.facts().missing_timelines;
    if !missing.is_empty() {
        progress.event(ProgressEvent::Warning {
            message: format!(
                "composition {} registered no timeline in window.__timelines within {} s of loading; \
                 rendering without its GSAP animation (mark it data-no-timeline if that is intended)",
                missing.join(", "),
                job.timeline_timeout_seconds
            ),
        });
    }
    let index = compiled.project_dir.join("index.html");
    let duration = match compiled.static_duration {
        Some(duration) => duration,
        None if probe_session.facts().duration > 0.0 => probe_session.facts().duration,
        None => {
            return Err(RenderError::ZeroDuration {
                path: index,
                root_id: compiled.root_id.clone(),
            })
        }
    };
    let frames = fps.frame_count(duration);
    if frames == 0 {
        return Err(RenderError::ZeroDuration {
            path: index,
            root_id: compiled.root_id.clone(),
        });
    }

    // media: the frames videos show are extracted now; audio is mixed alongside capture
    let mut slots = if compiled.media.is_empty() {
        Vec::new()
    } else {
        probe_session.media_slots(frames).await?
    };
    // Boxes in device pixels, so supersampled renders extract videos sharp enough.
    for slot in &mut slots {
        slot.width *= device_scale_factor;
        slot.height *= device_scale_factor;
        slot.shown_width *= device_scale_factor;
        slot.shown_height *= device_scale_factor;
    }
    let envelopes = if compiled.media.iter().any(|m| m.sounds) {
        probe_session.volume_envelopes(frames).await?
    } else {
        Default::default()
    };
    let media_plan = plan_media(&compiled.media, &slots, &envelopes, fps, frames, duration);
    // Frames are extracted while the other browsers start.
    let extract_started = Instant::now();
    let extraction = {
        let plan = media_plan.clone();
        let compiled_dir = compiled
            .html_path
            .parent()
            .expect("compiled page has a parent")
            .to_path_buf();
        let cache = job
            .asset_cache
            .clone()
            .unwrap_or_else(crate::AssetCache::default_dir);
        tokio::task::spawn_blocking(move || {
            let extracted = extract_videos(&plan, &compiled_dir, &cache, fps);
            (extracted, extract_started.elapsed())
        })
    };
    let mut audio_tracks = media_plan.audio.len();
    if audio_tracks > 0 && matches!(output_plan.kind, OutputKind::Gif { .. }) {
        progress.event(ProgressEvent::Warning {
            message: format!(
                "gif has no audio track; the sound of {audio_tracks} element(s) is left out                  (render webm, mov, mp4 or png-sequence to keep it)"
            ),
        });
        audio_tracks = 0;
    }
    let audio_mix = (audio_tracks > 0 && !job.capture_only).then(|| {
        let input = AudioMixInput {
            tracks: media_plan.audio.clone(),
            samples: (frames as f64 * fps.frame_duration() * f64::from(AUDIO_RATE)).round() as u64,
            output: work_dir.join("audio.f32"),
        };
        std::thread::spawn(move || {
            let started = Instant::now();
            audio_stage(&input).map(|mix| (mix, started.elapsed()))
        })
    });
    tracing::info!(
        videos = media_plan.videos.len(),
        video_frames = media_plan
            .videos
            .iter()
            .map(|v| v.frames.len())
            .sum::<usize>(),
        audio_tracks,
        "media plan"
    );

    // plan: the segment grid, the workers, and where frames go
    let segment_frames = job
        .segment_frames
        .unwrap_or_else(|| default_segment_frames(fps));
    let segments = segment_grid(frames, segment_frames);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = match job.workers {
        0 => {
            let memory = available_memory();
            let by_resources = auto_workers(cores, memory, segments.len());
            // Calibrate: time the first two frames on the probe browser. They are kept for
            // segment 0, which the probe browser renders first, so the page only ever moves
            // forward (jumping ahead and back would leave state a page cannot undo). Pages
            // that show video frames are not calibrated: the frames are still being
            // extracted, and a page without them neither costs nor looks the same.
            let shows_frames = !media_plan.videos.is_empty();
            let per_frame = if by_resources > 1 && !shows_frames {
                let calibration_started = Instant::now();
                let limit = Duration::from_secs_f64(job.frame_timeout_seconds);
                let timed = frames.min(2);
                for index in 0..timed {
                    probe_session
                        .prefetch_frame(index, fps.frame_time(index), limit)
                        .await?;
                }
                calibration_started.elapsed() / timed as u32
            } else {
                Duration::ZERO
            };
            let (chosen, reason) = if shows_frames {
                (
                    by_resources,
                    "cores + 1, at most one per ~1.5 GB of available memory and one per segment (not calibrated: the page shows video frames)",
                )
            } else {
                calibrated_workers(by_resources, frames, per_frame, browser_start)
            };
            tracing::info!(
                workers = chosen,
                cores,
                available_memory_mb = memory.map(|m| m / 1_000_000),
                segments = segments.len(),
                calibrated_ms_per_frame = per_frame.as_secs_f64() * 1000.0,
                browser_start_ms = browser_start.as_secs_f64() * 1000.0,
                "auto workers: {reason}"
            );
            chosen
        }
        n => n.min(segments.len() as u32),
    };
    // Outputs made from frame files (gif, png-sequence) always capture to disk.
    let capture_plan = if job.capture_only {
        CapturePlan::Streaming
    } else if job.resume.is_some() || output_plan.needs_frame_files() {
        CapturePlan::Disk
    } else {
        job.capture
    };
    let frames_dir = match capture_plan {
        CapturePlan::Streaming => None,
        CapturePlan::Disk => {
            let identity = FrameIdentity {
                project: compiled
                    .project_dir
                    .canonicalize()
                    .unwrap_or(compiled.project_dir.clone())
                    .display()
                    .to_string(),
                width: frame_width,
                height: frame_height,
                fps: fps.to_string(),
                frames,
                jpeg_quality,
            };
            check_resume_identity(work_dir, &identity)?;
            let dir = work_dir.join("frames");
            std::fs::create_dir_all(&dir).map_err(|source| RenderError::Io {
                action: "create",
                path: dir.clone(),
                source,
            })?;
            Some(dir)
        }
    };
    let capture_mode = probe_session.mode();
    tracing::info!(
        frames,
        segments = segments.len(),
        segment_frames,
        workers,
        ?capture_mode,
        ?capture_plan,
        "render plan"
    );
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Arc::new(WorkerContext {
        options,
        settings: match output_plan.kind {
            OutputKind::Video { codec, .. } => Some(VideoEncodeSettings {
                codec,
                width: frame_width,
                height: frame_height,
                fps,
                preset: preset.to_string(),
                crf: job.crf.unwrap_or(crf),
                bitrate: output_plan.bitrate,
                // Every segment is its own closed GOP.
                gop: GopSettings {
                    keyint: segment_frames as u32,
                    bframes: 0,
                },
                threads: ENCODER_THREADS,
            }),
            OutputKind::Gif { .. } | OutputKind::PngSequence => None,
        },
        capture_only: job.capture_only,
        fps,
        frame_timeout: Duration::from_secs_f64(job.frame_timeout_seconds),
        work_dir: work_dir.to_path_buf(),
        frames_dir,
        queue: Mutex::new(segments.iter().copied().collect()),
        stop: AtomicBool::new(false),
        progress: progress_tx,
        browsers_started: std::sync::atomic::AtomicUsize::new(1),
        video_frames: std::sync::OnceLock::new(),
    });

    // The probe browser becomes worker 0; the others start concurrently.
    let browsers = futures::future::try_join_all((1..workers).map(|_| {
        let options = ctx.next_browser();
        async move { CaptureSession::open(&options).await }
    }));
    let (extra, extracted) = tokio::join!(browsers, extraction);
    let (extracted, extract_time) = extracted.expect("the extract task does not panic");
    let (video_frames, frames_extracted, frames_cached) = extracted?;
    let mut extra = extra?;
    timings.extract = extract_time;
    let video_frames = Arc::new(video_frames);
    ctx.video_frames
        .set(Arc::clone(&video_frames))
        .expect("video frames are set once");
    probe_session.set_video_frames(Arc::clone(&video_frames));
    for session in &mut extra {
        session.set_video_frames(Arc::clone(&video_frames));
    }
    timings.probe = stage_started.elapsed();
    progress.event(ProgressEvent::Planned {
        frames,
        fps,
        duration_seconds: duration,
        width: frame_width,
        height: frame_height,
        capture_mode,
        workers,
        segments: segments.len(),
    });

    // capture + encode
    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Capture,
    });
    let stage_started = Instant::now();
    // The probe browser renders segment 0, whose first frames calibration may have captured.
    let first_segment = ctx.queue.lock().expect("segment queue lock").pop_front();
    let handles: Vec<_> = std::iter::once((probe_session, first_segment))
        .chain(extra.into_iter().map(|session| (session, None)))
        .map(|(session, first)| tokio::spawn(run_worker(session, Arc::clone(&ctx), first)))
        .collect();
    let mut done_per_segment = vec![0u64; segments.len()];
    let mut reported = 0;
    let mut progress_open = true;
    let all_done = futures::future::join_all(handles);
    tokio::pin!(all_done);
    let joined = loop {
        tokio::select! {
            message = progress_rx.recv(), if progress_open => match message {
                Some((segment, done)) => {
                    done_per_segment[segment] = done_per_segment[segment].max(done);
                    let done: u64 = done_per_segment.iter().sum();
                    if done > reported {
                        reported = done;
                        progress.event(ProgressEvent::Frame { done, total: frames });
                    }
                }
                None => progress_open = false,
            },
            joined = &mut all_done => break joined,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                if cancel.load(Ordering::Relaxed) {
                    ctx.stop.store(true, Ordering::Relaxed);
                }
            }
        }
    };
    while let Ok((segment, done)) = progress_rx.try_recv() {
        done_per_segment[segment] = done_per_segment[segment].max(done);
        let done: u64 = done_per_segment.iter().sum();
        if done > reported {
            reported = done;
            progress.event(ProgressEvent::Frame {
                done,
                total: frames,
            });
        }
    }
    drop(server);
    if cancel.load(Ordering::Relaxed) {
        return Err(RenderError::Cancelled);
    }
    let mut results = Vec::new();
    let mut first_error = None;
    for outcome in joined {
        match outcome.expect("a worker task does not panic") {
            Ok(mut segment_results) => results.append(&mut segment_results),
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
    results.sort_by_key(|r| r.index);
    timings.capture = stage_started.elapsed();
    for result in &results {
        timings.encoder_wait += result.captured.encoder_wait;
        if let Some(encoded) = &result.encoded {
            timings.convert += encoded.convert_time;
            timings.encode += encoded.encode_time;
        }
    }
    let unchanged_frames = results.iter().map(|r| r.captured.unchanged_frames).sum();
    let resumed_frames = results.iter().map(|r| r.resumed).sum();

    if job.capture_only {
        let result = RenderResult {
            output,
            format: job.format,
            codec: None,
            frames,
            fps,
            duration_seconds: frames as f64 * fps.frame_duration(),
            width: frame_width,
            height: frame_height,
            bytes: 0,
            elapsed_seconds: started.elapsed().as_secs_f64(),
            capture_mode,
            workers,
            segments: segments.len(),
            capture_plan,
            resumed_frames,
            capture_only: true,
            unchanged_frames,
            media: MediaSummary::default(),
            timings,
        };
        progress.event(ProgressEvent::Finished {
            result: Box::new(result.clone()),
        });
        return Ok(result);
    }

    // assemble
    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Assemble,
    });
    let stage_started = Instant::now();
    let audio = match audio_mix {
        None => None,
        Some(thread) => {
            let (mix, elapsed) = tokio::task::block_in_place(|| thread.join())
                .expect("the audio thread does not panic")?;
            timings.audio = elapsed;
            Some(mix.path)
        }
    };
    let assembled = tokio::task::block_in_place(|| {
        assemble_output(
            &output_plan.kind,
            &results,
            &ctx,
            &output,
            frames,
            audio,
            audio_tracks,
        )
    })?;
    timings.assemble = stage_started.elapsed();

    let result = RenderResult {
        output: assembled.path,
        format: job.format,
        codec: ctx.settings.as_ref().map(|s| s.codec),
        frames: assembled.frames,
        fps,
        duration_seconds: assembled.duration_seconds,
        width: frame_width,
        height: frame_height,
        bytes: assembled.bytes,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        capture_mode,
        workers,
        segments: segments.len(),
        capture_plan,
        resumed_frames,
        capture_only: false,
        unchanged_frames,
        media: MediaSummary {
            videos: media_plan.videos.len(),
            frames_extracted,
            frames_cached,
            audio_tracks,
            audio_seconds: assembled.audio_seconds,
        },
        timings,
    };
    progress.event(ProgressEvent::Finished {
        result: Box::new(result.clone()),
    });
    Ok(result)
}
