//! Sequence the stages: compile -> probe -> capture + encode -> assemble.

use crate::compile::{compile_stage, CompileInput};
use crate::job::{ProgressEvent, ProgressSink, RenderJob, RenderResult, Stage, StageTimings};
use crate::RenderError;
use hf_capture::browser::resolve_browser;
use hf_capture::server::FileServer;
use hf_capture::{
    capture_streaming, CaptureError, CaptureSession, SessionOptions, StreamingCaptureInput,
};
use hf_encode::{
    assemble_stage, encode_stage, AssembleInput, EncodeInput, Fps, GopSettings, ImageFormat,
    VideoEncodeSettings,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Render `job` to a video file, reporting progress to `progress`.
///
/// Creates its own tokio runtime; from async code call [`render_async`] instead.
pub fn render(
    job: RenderJob,
    mut progress: impl ProgressSink,
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
    runtime.block_on(render_async(job, &mut progress))
}

/// The default output path: `renders/<dir name>_<YYYY-MM-DD_HH-MM-SS>.<ext>`.
fn default_output(job: &RenderJob) -> PathBuf {
    let name = job
        .project_dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "render".to_string());
    let stamp = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S");
    PathBuf::from("renders").join(format!("{name}_{stamp}.{}", job.format.extension()))
}

/// Make sure the output's directory exists and accepts files, before any work is done.
fn check_output_writable(output: &Path) -> Result<(), RenderError> {
    let not_writable = |reason: String| RenderError::OutputNotWritable {
        path: output.to_path_buf(),
        reason,
    };
    if output.is_dir() {
        return Err(not_writable("it is a directory".into()));
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

/// Async form of [`render`], for callers already inside a multi-threaded tokio runtime.
pub async fn render_async(
    job: RenderJob,
    progress: &mut dyn ProgressSink,
) -> Result<RenderResult, RenderError> {
    let started = Instant::now();
    let mut timings = StageTimings::default();
    if job.workers > 1 {
        tracing::warn!(
            requested = job.workers,
            "this build captures with one browser worker"
        );
    }
    let output = job.output.clone().unwrap_or_else(|| default_output(&job));
    let work = tempfile::Builder::new()
        .prefix("hf-render-")
        .tempdir()
        .map_err(|source| RenderError::Io {
            action: "create",
            path: std::env::temp_dir(),
            source,
        })?;

    // compile
    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Compile,
    });
    let stage_started = Instant::now();
    let compiled = compile_stage(&CompileInput {
        project_dir: job.project_dir.clone(),
        work_dir: work.path().join("compiled"),
        variables: job.variables.clone(),
    })?;
    check_output_writable(&output)?;
    let fps = job.fps.or(compiled.fps_hint).unwrap_or(Fps::whole(30));
    timings.compile = stage_started.elapsed();

    // probe: launch the browser, load the page, learn the duration
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
        user_data_dir: work.path().join("profile"),
        url: server.url("index.html"),
        width: compiled.width,
        height: compiled.height,
        mode: job.capture_mode,
        image_format: ImageFormat::Jpeg,
        jpeg_quality,
        frame_interval_ms: 1000.0 * fps.frame_duration(),
        load_timeout: Duration::from_secs_f64(job.load_timeout_seconds),
        timeline_timeout: Duration::from_secs_f64(job.timeline_timeout_seconds),
        fps: fps.as_f64(),
    };
    let mut session = CaptureSession::open(&options).await?;
    let duration = match compiled.static_duration {
        Some(duration) => duration,
        None if session.facts().duration > 0.0 => session.facts().duration,
        None => {
            return Err(RenderError::ZeroDuration {
                path: compiled.project_dir.join("index.html"),
                root_id: compiled.root_id.clone(),
            })
        }
    };
    let frames = fps.frame_count(duration);
    if frames == 0 {
        return Err(RenderError::ZeroDuration {
            path: compiled.project_dir.join("index.html"),
            root_id: compiled.root_id.clone(),
        });
    }
    timings.probe = stage_started.elapsed();
    let capture_mode = session.mode();
    progress.event(ProgressEvent::Planned {
        frames,
        fps,
        duration_seconds: duration,
        width: compiled.width,
        height: compiled.height,
        capture_mode,
    });

    // capture + encode: one segment for now, closed 2-second GOPs
    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Capture,
    });
    let stage_started = Instant::now();
    let segment = work.path().join("segment-00000.mp4");
    let keyint = (2.0 * fps.as_f64()).round().max(1.0) as u32;
    let encode_input = EncodeInput {
        settings: VideoEncodeSettings {
            width: compiled.width,
            height: compiled.height,
            fps,
            preset: preset.to_string(),
            crf: job.crf.unwrap_or(crf),
            gop: GopSettings { keyint, bframes: 0 },
        },
        output: segment.clone(),
        first_frame: 0,
        frame_count: frames,
    };
    let (sender, receiver) = crossbeam_channel::bounded(8);
    let encoder = std::thread::Builder::new()
        .name("hf-encode".into())
        .spawn(move || encode_stage(encode_input, receiver))
        .map_err(|source| RenderError::Io {
            action: "start",
            path: "the encoder thread".into(),
            source,
        })?;
    let capture_input = StreamingCaptureInput {
        first_frame: 0,
        frame_count: frames,
        fps,
    };
    let captured = {
        let mut on_frame = |index: u64| {
            progress.event(ProgressEvent::Frame {
                done: index + 1,
                total: frames,
            })
        };
        capture_streaming(&mut session, capture_input, &sender, &mut on_frame).await
    };
    drop(sender);
    let encoded = encoder.join().expect("the encoder thread does not panic");
    session.close().await;
    drop(server);
    // Report the cause, not its echo: a capture that could not hand frames over failed because
    // the encoder did; an encoder that ran short of frames failed because the capture did.
    let (captured, encoded) = match (captured, encoded) {
        (Ok(captured), Ok(encoded)) => (captured, encoded),
        (Err(CaptureError::EncoderGone { .. }), Err(encode_error)) => {
            return Err(encode_error.into())
        }
        (Err(capture_error), _) => return Err(capture_error.into()),
        (Ok(_), Err(encode_error)) => return Err(encode_error.into()),
    };
    timings.capture = stage_started.elapsed();
    timings.encoder_wait = captured.encoder_wait;
    timings.convert = encoded.convert_time;
    timings.encode = encoded.encode_time;

    // assemble
    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Assemble,
    });
    let stage_started = Instant::now();
    let assembled = tokio::task::block_in_place(|| {
        assemble_stage(AssembleInput {
            segments: vec![segment],
            output: output.clone(),
            fps,
            expected_frames: frames,
            faststart: true,
        })
    })?;
    timings.assemble = stage_started.elapsed();

    let result = RenderResult {
        output: assembled.path,
        frames: assembled.frames,
        fps,
        duration_seconds: assembled.duration_seconds,
        width: compiled.width,
        height: compiled.height,
        bytes: assembled.bytes,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        capture_mode,
        unchanged_frames: captured.unchanged_frames,
        timings,
    };
    progress.event(ProgressEvent::Finished {
        result: Box::new(result.clone()),
    });
    Ok(result)
}
