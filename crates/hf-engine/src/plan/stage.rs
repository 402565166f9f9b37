//! The plan stage: compile the project, load it in the first browser to learn what only the
//! page knows (duration, media slots, volume envelopes), and decide the rest of the render.

use super::hdr::{hdr_transfer, make_hdr, HdrPlan};
use super::held::held_frames;
use super::transitions::transition_windows;
use super::workers::{auto_workers, available_memory, calibrated_workers};
use super::{
    default_segment_frames, AudioPlan, CaptureSettings, OutputTarget, PagePlan, RenderPlan,
    PLAN_VERSION,
};
use crate::compile::{compile_stage, CompileInput, CompiledComposition};
use crate::job::VideoFrameFormat;
use crate::media::{extract_videos, plan_media, FrameGrid, MediaPlan, Sound};
use crate::output::{resolve_output, OutputFormat, OutputKind, OutputPlan};
use crate::workdir::{
    check_output_is_not_an_input, check_output_writable, check_resume_identity, default_output,
    FrameIdentity,
};
use crate::{
    AssetCache, CapturePlan, ProgressEvent, ProgressSink, RenderError, RenderJob, Stage,
    StageTimings,
};
use hf_capture::{
    resolve_browser, BrowserPool, FileServer, PageActivity, SessionOptions, VideoFrames,
};
use hf_core::{Fps, FrameRange, IoError};
use hf_encode::{audio_stage, AudioMixInput, AudioMixOutput, EncodeError, GopSettings};
use hf_encode::{HdrTransfer, VideoEncodeSettings, AUDIO_RATE};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// libx264 threads per segment encoder: fixed, so the bytes never depend on the machine or the
/// worker count.
const ENCODER_THREADS: u32 = 2;

/// Where the compiled page goes under the plan root.
const COMPILED_DIR: &str = "compiled";

/// Where the audio mix goes under the plan root.
const AUDIO_MIX: &str = "audio.f32";

/// A plan, and what this process already holds for rendering it: the first browser (page
/// loaded and probed, maybe calibrated), the file server, and the media work under way.
pub struct PlannedRender {
    /// The plan.
    pub plan: RenderPlan,
    pub(crate) local: LocalRender,
}

impl PlannedRender {
    /// Wait for the media work (video frames extracted and linked beside the page, audio
    /// mixed) and close the browser: every file the plan names under its root is complete.
    pub async fn finish(self) -> Result<RenderPlan, RenderError> {
        let LocalRender {
            pool,
            server,
            media,
            ..
        } = self.local;
        media
            .extraction
            .await
            .expect("the extract task does not panic")?;
        if let Some(mix) = media.audio {
            tokio::task::block_in_place(|| mix.join()).expect("the audio thread does not panic")?;
        }
        let (sessions, _) = pool.into_workers();
        for session in sessions {
            session.close().await;
        }
        drop(server);
        Ok(self.plan)
    }
}

/// What [`plan_stage`] leaves running for the in-process render of its plan.
pub(crate) struct LocalRender {
    pub(crate) pool: BrowserPool,
    pub(crate) server: FileServer,
    /// Browser workers for this machine.
    pub(crate) workers: u32,
    pub(crate) media: MediaWork,
    pub(crate) timings: StageTimings,
    /// When the probe stage started (it ends once every browser is up).
    pub(crate) probe_started: Instant,
}

/// Media work that runs alongside what follows the plan stage.
pub(crate) struct MediaWork {
    /// Video frame extraction.
    pub(crate) extraction: tokio::task::JoinHandle<Result<Extracted, RenderError>>,
    /// The audio mix, on its own thread.
    pub(crate) audio: Option<AudioMixThread>,
}

/// What extracting the videos' frames did.
pub(crate) struct Extracted {
    /// Source frames decoded.
    pub(crate) decoded: u64,
    /// Source frames found in the frame cache.
    pub(crate) cached: u64,
    pub(crate) elapsed: Duration,
}

/// The thread mixing the audio: the mix and how long it took.
pub(crate) type AudioMixThread =
    std::thread::JoinHandle<Result<(AudioMixOutput, Duration), EncodeError>>;

fn warn_all(progress: &mut dyn ProgressSink, warnings: &[String]) {
    for warning in warnings {
        progress.event(ProgressEvent::Warning {
            message: warning.clone(),
        });
    }
}

/// The frames never captured because they repeat the frame before them (none when the job
/// turns skipping off), with a line in the log saying how many and why not more.
fn held_frames_of(
    job: &RenderJob,
    activity: &PageActivity,
    videos: &VideoFrames,
    fps: Fps,
    frames: u64,
) -> Vec<FrameRange> {
    if !job.skip_static {
        return Vec::new();
    }
    let held = held_frames(activity, videos, fps, frames);
    let count: u64 = held.iter().map(|run| run.count).sum();
    tracing::info!(
        held = count,
        frames,
        share = format!("{:.0}%", 100.0 * count as f64 / frames as f64),
        unpredictable = activity.unknown.as_deref().unwrap_or("no"),
        "frames that repeat the frame before them"
    );
    held
}

/// Compile `job`'s project under `root`, probe it in a first browser and decide the render.
/// Video frame extraction and the audio mix start here and run on; the in-process render
/// picks them up from the result.
pub async fn plan_stage(
    job: &RenderJob,
    root: &Path,
    progress: &mut dyn ProgressSink,
) -> Result<PlannedRender, RenderError> {
    let mut timings = StageTimings::default();
    let output_path = job.output.clone().unwrap_or_else(|| default_output(job));
    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Compile,
    });
    let started = Instant::now();
    let (compiled, output, page, hdr) = compile(job, root, &output_path, progress)?;
    timings.compile = started.elapsed();

    progress.event(ProgressEvent::StageStarted {
        stage: Stage::Probe,
    });
    let probe_started = Instant::now();
    let fps = output.fps;
    let capture = capture_settings(job, &output, hdr.is_some());
    let (server, mut pool) = open_page(job, root, &page, &capture, fps).await?;
    let (duration, frames) = duration_and_frames(job, &compiled, &mut pool, fps, progress)?;
    // Read before anything seeks the page: every animation is there as the page made it.
    let mut activity = pool.first().activity().await?;
    // Transition scenes go over their bgColor unless the output keeps alpha.
    let keeps_alpha = capture.transparent && hdr.is_none();
    let transitions =
        transition_windows(&pool.first().facts().transitions, fps, frames, keeps_alpha)?;
    // A blended frame differs from the one before it, whatever the page does.
    activity
        .spans
        .extend(transitions.iter().map(|t| [t.start, t.start + t.duration]));
    let mut media = probe_media(&compiled, &mut pool, &page, fps, frames, duration, hdr).await?;
    if job.video_frame_format == VideoFrameFormat::Png {
        media.videos.iter_mut().for_each(|video| video.png = true);
    }
    let extraction = start_extraction(job, root, &media, fps);
    let audio = audio_plan(&media, &output, fps, frames, progress);
    let mix = start_mix(job, root, audio.as_ref());
    let segment_frames = match job.format {
        // One HLS segment per grid segment, a keyframe at each (HyperFrames' GOP).
        OutputFormat::Hls => (fps.as_f64() * f64::from(job.hls_segment_seconds))
            .round()
            .max(1.0) as u64,
        _ => job
            .segment_frames
            .unwrap_or_else(|| default_segment_frames(fps)),
    };
    let videos = media.video_frames();
    let held = held_frames_of(job, &activity, &videos, fps, frames);
    let plan = RenderPlan {
        version: PLAN_VERSION,
        project_dir: compiled.project_dir.clone(),
        output: output_target(job, &output, output_path, &page, hdr, segment_frames),
        page,
        frames,
        fps,
        duration_seconds: duration,
        segment_frames,
        capture,
        videos,
        held,
        transitions,
        hdr: hdr.map(|transfer| HdrPlan {
            transfer,
            sources: media.hdr_sources(),
        }),
        audio,
        capture_only: job.capture_only,
    };
    let workers = choose_workers(job, &mut pool, &plan, !media.videos.is_empty()).await?;
    if let Some(dir) = plan.frames_dir() {
        let identity = FrameIdentity::new(
            &plan.project_dir,
            plan.page.frame_size(),
            plan.fps,
            plan.frames,
            plan.capture.jpeg_quality,
        );
        check_resume_identity(root, &identity)?;
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir).map_err(IoError::with("create", &dir))?;
    }
    tracing::info!(
        frames,
        segments = plan.segments().len(),
        segment_frames,
        workers,
        capture_mode = ?pool.first().mode(),
        capture_plan = ?plan.capture.route,
        "render plan"
    );
    Ok(PlannedRender {
        plan,
        local: LocalRender {
            pool,
            server,
            workers,
            media: MediaWork {
                extraction,
                audio: mix,
            },
            timings,
            probe_started,
        },
    })
}

/// The compile stage, the resolved output options and the page's size; the output path is
/// checked before any browser starts.
fn compile(
    job: &RenderJob,
    root: &Path,
    output_path: &Path,
    progress: &mut dyn ProgressSink,
) -> Result<
    (
        CompiledComposition,
        OutputPlan,
        PagePlan,
        Option<HdrTransfer>,
    ),
    RenderError,
> {
    if job.strict || job.strict_all {
        let warnings =
            crate::lint::gate(&job.project_dir, job.composition.as_deref(), job.strict_all)?;
        warn_all(progress, &warnings);
    }
    let compiled = compile_stage(&CompileInput {
        project_dir: job.project_dir.clone(),
        composition: job.composition.clone(),
        work_dir: root.join(COMPILED_DIR),
        variables: job.variables.clone(),
        strict_variables: job.strict_variables,
        allow_missing_assets: job.allow_missing_assets,
        strict: job.strict || job.strict_all,
        allow_private_network: job.allow_private_network,
        asset_cache: job.asset_cache.clone(),
    })?;
    warn_all(progress, &compiled.warnings);
    if let Some(seconds) = compiled.static_duration {
        check_duration_cap(job, &compiled, seconds)?;
    }
    let fps = job.fps.or(compiled.fps_hint).unwrap_or(Fps::whole(30));
    let mut output = resolve_output(&job.output_request(), fps)?;
    warn_all(progress, &output.warnings);
    let device_scale_factor = match job.resolution {
        Some(resolution) => resolution.scale_for(compiled.width, compiled.height)?,
        None => 1.0,
    };
    let page = PagePlan {
        dir: PathBuf::from(COMPILED_DIR),
        root_id: compiled.root_id.clone(),
        width: compiled.width,
        height: compiled.height,
        device_scale_factor,
        webgpu: compiled.requires_webgpu,
    };
    let mut warnings = Vec::new();
    let hdr = hdr_transfer(job, &compiled, page.frame_size(), &mut warnings)?;
    warn_all(progress, &warnings);
    if let Some(transfer) = hdr {
        make_hdr(&mut output, job.format);
        tracing::info!(%transfer, "HDR output: H.265 Main 10, BT.2020");
    }
    check_output_writable(output_path, job.format.is_directory())?;
    check_output_is_not_an_input(output_path, &compiled)?;
    Ok((compiled, output, page, hdr))
}

/// How frames are captured. Outputs made from frame files (gif, png-sequence) and resumable
/// renders always capture to disk; capture-only and HDR renders stream.
fn capture_settings(job: &RenderJob, output: &OutputPlan, hdr: bool) -> CaptureSettings {
    let route = if job.capture_only || hdr {
        CapturePlan::Streaming
    } else if job.resume.is_some() || output.needs_frame_files() {
        CapturePlan::Disk
    } else {
        job.capture
    };
    CaptureSettings {
        mode: job.capture_mode,
        image_format: output.image_format,
        jpeg_quality: job.quality.settings().2,
        transparent: output.transparent,
        route,
        frame_timeout: Duration::from_secs_f64(job.frame_timeout_seconds),
        load_timeout: Duration::from_secs_f64(job.load_timeout_seconds),
        timeline_timeout: Duration::from_secs_f64(job.timeline_timeout_seconds),
    }
}

/// Serve the compiled page and load it in the first browser of the render's pool.
async fn open_page(
    job: &RenderJob,
    root: &Path,
    page: &PagePlan,
    capture: &CaptureSettings,
    fps: Fps,
) -> Result<(FileServer, BrowserPool), RenderError> {
    let executable = resolve_browser(job.browser.as_deref())?;
    let server = FileServer::start(&root.join(&page.dir), &job.project_dir).await?;
    let options = session_options(executable, &server, page, capture, fps);
    let pool = BrowserPool::start(options, root.to_path_buf()).await?;
    Ok((server, pool))
}

/// How every browser of a render opens its page (profiles go where the pool puts them).
pub(crate) fn session_options(
    executable: PathBuf,
    server: &FileServer,
    page: &PagePlan,
    capture: &CaptureSettings,
    fps: Fps,
) -> SessionOptions {
    SessionOptions {
        executable,
        user_data_dir: PathBuf::new(),
        url: server.url("index.html"),
        access_token: server.access_token().to_string(),
        width: page.width,
        height: page.height,
        mode: capture.mode,
        image_format: capture.image_format,
        jpeg_quality: capture.jpeg_quality,
        frame_interval_ms: 1000.0 * fps.frame_duration(),
        load_timeout: capture.load_timeout,
        timeline_timeout: capture.timeline_timeout,
        fps: fps.as_f64(),
        device_scale_factor: page.device_scale_factor,
        transparent: capture.transparent,
        webgpu: page.webgpu,
    }
}

/// A composition longer than `--max-duration` is refused (before the browser starts when its
/// root says how long it is).
fn check_duration_cap(
    job: &RenderJob,
    compiled: &CompiledComposition,
    seconds: f64,
) -> Result<(), RenderError> {
    if seconds <= job.max_duration_seconds {
        return Ok(());
    }
    Err(RenderError::DurationTooLong {
        path: compiled.entry.clone(),
        root_id: compiled.root_id.clone(),
        seconds,
        cap: job.max_duration_seconds,
    })
}

/// The duration (the root's `data-duration`, else what the page reports) and the frame count;
/// warns about compositions that registered no timeline.
fn duration_and_frames(
    job: &RenderJob,
    compiled: &CompiledComposition,
    pool: &mut BrowserPool,
    fps: Fps,
    progress: &mut dyn ProgressSink,
) -> Result<(f64, u64), RenderError> {
    let facts = pool.first().facts();
    if !facts.missing_timelines.is_empty() {
        progress.event(ProgressEvent::Warning {
            message: format!(
                "composition {} registered no timeline in window.__timelines within {} s of loading; \
                 rendering without its GSAP animation (mark it data-no-timeline if that is intended)",
                facts.missing_timelines.join(", "),
                job.timeline_timeout_seconds
            ),
        });
    }
    if !facts.unready_libraries.is_empty() {
        progress.event(ProgressEvent::Warning {
            message: format!(
                "{} still loading {} s after the page loaded; rendering anyway. d3 and map \
                 state is never seeked: drive it from a GSAP timeline or an hf-seek listener",
                facts.unready_libraries.join(", "),
                job.timeline_timeout_seconds
            ),
        });
    }
    if !facts.blocked_requests.is_empty() {
        let shown: Vec<&str> = facts
            .blocked_requests
            .iter()
            .take(5)
            .map(String::as_str)
            .collect();
        progress.event(ProgressEvent::Warning {
            message: format!(
                "the page requested {} URL(s) beyond hf's file server, which a render never \
                 reaches (blocked): {}{}; put the files in the project, or name them in the \
                 HTML (<script src>, <link>, <img>...) so the compile stage fetches them",
                facts.blocked_requests.len(),
                shown.join(", "),
                if facts.blocked_requests.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            ),
        });
    }
    if !facts.live_maps.is_empty() {
        progress.event(ProgressEvent::Warning {
            message: format!(
                "the page shows a live map ({}): its tiles come from the network, which a \
                 render may not reach, and its camera is not seeked; render a static image \
                 of the map, or drive the camera from the timeline",
                facts.live_maps.join(", ")
            ),
        });
    }
    let zero = || RenderError::ZeroDuration {
        path: compiled.entry.clone(),
        root_id: compiled.root_id.clone(),
    };
    let duration = match compiled.static_duration {
        Some(duration) => duration,
        None if facts.duration > 0.0 => facts.duration,
        None => return Err(zero()),
    };
    check_duration_cap(job, compiled, duration)?;
    match fps.frame_count(duration) {
        0 => Err(zero()),
        frames => Ok((duration, frames)),
    }
}

/// Which source frames each video shows and which elements sound, from the page's media slots
/// (boxes in device pixels, so supersampled renders extract videos sharp enough).
async fn probe_media(
    compiled: &CompiledComposition,
    pool: &mut BrowserPool,
    page: &PagePlan,
    fps: Fps,
    frames: u64,
    duration: f64,
    hdr: Option<HdrTransfer>,
) -> Result<MediaPlan, RenderError> {
    let session = pool.first();
    let mut slots = if compiled.media.is_empty() {
        Vec::new()
    } else {
        session.media_slots(frames).await?
    };
    for slot in &mut slots {
        slot.width *= page.device_scale_factor;
        slot.height *= page.device_scale_factor;
        slot.shown_width *= page.device_scale_factor;
        slot.shown_height *= page.device_scale_factor;
    }
    let sounds = compiled.media.iter().any(|m| m.sounds);
    let envelopes = if sounds {
        session.volume_envelopes(frames).await?
    } else {
        Default::default()
    };
    let master = if sounds {
        session.master_fx().await?
    } else {
        None
    };
    let grid = FrameGrid {
        fps: fps.as_f64(),
        frames,
    };
    let sound = Sound::resolve(&slots, envelopes, master.as_deref(), grid, &compiled.entry)?;
    let media = plan_media(&compiled.media, &slots, &sound, fps, frames, duration, hdr);
    tracing::info!(
        videos = media.videos.len(),
        video_frames = media.videos.iter().map(|v| v.frames.len()).sum::<usize>(),
        audio_tracks = media.audio.len(),
        "media plan"
    );
    Ok(media)
}

/// Extract the frames videos show into the frame cache, linked beside the compiled page, on a
/// blocking thread (it overlaps with the other browsers' start).
fn start_extraction(
    job: &RenderJob,
    root: &Path,
    media: &MediaPlan,
    fps: Fps,
) -> tokio::task::JoinHandle<Result<Extracted, RenderError>> {
    let media = media.clone();
    let compiled_dir = root.join(COMPILED_DIR);
    let cache = job
        .asset_cache
        .clone()
        .unwrap_or_else(AssetCache::default_dir);
    let started = Instant::now();
    tokio::task::spawn_blocking(move || {
        let (decoded, cached) = extract_videos(&media, &compiled_dir, &cache, fps)?;
        Ok(Extracted {
            decoded,
            cached,
            elapsed: started.elapsed(),
        })
    })
}

/// The render's sound, unless nothing sounds or the format has no audio track (gif: with a
/// warning).
fn audio_plan(
    media: &MediaPlan,
    output: &OutputPlan,
    fps: Fps,
    frames: u64,
    progress: &mut dyn ProgressSink,
) -> Option<AudioPlan> {
    let tracks = media.audio.len();
    if tracks > 0 && matches!(output.kind, OutputKind::Gif { .. }) {
        progress.event(ProgressEvent::Warning {
            message: format!(
                "gif has no audio track; the sound of {tracks} element(s) is left out \
                 (render webm, mov, mp4 or png-sequence to keep it)"
            ),
        });
        return None;
    }
    (tracks > 0).then(|| AudioPlan {
        tracks: media.audio.clone(),
        groups: media.audio_groups.clone(),
        master: media.master_fx.clone(),
        samples: (frames as f64 * fps.frame_duration() * f64::from(AUDIO_RATE)).round() as u64,
        mix: PathBuf::from(AUDIO_MIX),
    })
}

/// Mix the audio on its own thread, alongside capture (not for capture-only renders).
fn start_mix(job: &RenderJob, root: &Path, audio: Option<&AudioPlan>) -> Option<AudioMixThread> {
    let audio = audio.filter(|_| !job.capture_only)?;
    let input = AudioMixInput {
        tracks: audio.tracks.clone(),
        groups: audio.groups.clone(),
        master: audio.master.clone(),
        samples: audio.samples,
        output: root.join(&audio.mix),
    };
    Some(std::thread::spawn(move || {
        let started = Instant::now();
        audio_stage(&input).map(|mix| (mix, started.elapsed()))
    }))
}

/// The output and, for video formats, the settings of every segment encoder (each segment
/// is its own closed GOP).
fn output_target(
    job: &RenderJob,
    output: &OutputPlan,
    path: PathBuf,
    page: &PagePlan,
    hdr: Option<HdrTransfer>,
    segment_frames: u64,
) -> OutputTarget {
    let fps = output.fps;
    let (preset, crf, _) = job.quality.settings();
    // As HyperFrames: x265 Main 10 drafts use `fast`, not `ultrafast`.
    let preset = match (hdr, preset) {
        (Some(_), "ultrafast") => "fast",
        _ => preset,
    };
    let (width, height) = page.frame_size();
    OutputTarget {
        path,
        format: job.format,
        kind: output.kind,
        encoder: match output.kind {
            OutputKind::Video { codec, .. } => Some(VideoEncodeSettings {
                codec,
                width,
                height,
                fps,
                preset: preset.to_string(),
                crf: job.crf.unwrap_or(crf),
                bitrate: output.bitrate,
                gop: GopSettings {
                    keyint: segment_frames as u32,
                    bframes: 0,
                },
                threads: ENCODER_THREADS,
                hdr,
                vp9_cpu_used: job.vp9_cpu_used,
            }),
            OutputKind::Gif { .. } | OutputKind::PngSequence => None,
        },
        hls_segment_seconds: (job.format == OutputFormat::Hls).then_some(job.hls_segment_seconds),
    }
}

/// Browser workers on this machine: the job's count (at most one per segment), or for auto
/// the resources, refined by timing the first frames on the first browser. Pages that show
/// video frames are not calibrated: the frames are still being extracted, and a page without
/// them neither costs nor looks the same.
async fn choose_workers(
    job: &RenderJob,
    pool: &mut BrowserPool,
    plan: &RenderPlan,
    shows_frames: bool,
) -> Result<u32, RenderError> {
    let segments = plan.segments().len();
    if job.workers > 0 {
        return Ok(job.workers.min(segments as u32));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = available_memory();
    let by_resources = auto_workers(cores, memory, segments);
    let per_frame = if by_resources > 1 && !shows_frames {
        pool.calibrate(plan.frames, plan.fps, plan.capture.frame_timeout)
            .await?
    } else {
        Duration::ZERO
    };
    let (chosen, reason) = if shows_frames {
        (
            by_resources,
            "cores + 1, at most one per ~1.5 GB of available memory and one per segment (not calibrated: the page shows video frames)",
        )
    } else {
        calibrated_workers(by_resources, plan.frames, per_frame, pool.first_launch())
    };
    tracing::info!(
        workers = chosen,
        cores,
        available_memory_mb = memory.map(|m| m / 1_000_000),
        segments,
        calibrated_ms_per_frame = per_frame.as_secs_f64() * 1000.0,
        browser_start_ms = pool.first_launch().as_secs_f64() * 1000.0,
        "auto workers: {reason}"
    );
    Ok(chosen)
}
