//! `hf plan`: run the plan stage once (compile, probe, video frame extraction, audio mix) and
//! write a self-contained, sealed plan directory that chunk workers anywhere can render.

use crate::files::{commit_dir, copy_tree, link_or_copy, scratch_beside, tree_bytes};
use crate::plan_dir::{hf_version, PlanFile, PlanSize, PLAN_FILE, PLAN_FORMAT};
use crate::DistributedError;
use hf_core::{extracted_frame_name, IoError};
use hf_engine::{plan_stage, OutputFormat, ProgressSink, RenderJob, RenderPlan};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tracing::Instrument;

/// The longest render a plan takes, in seconds (a day).
pub const MAX_DURATION_SECONDS: f64 = 86_400.0;

/// The largest frame side a plan takes, in pixels.
pub const MAX_FRAME_SIDE: u32 = 8192;

/// The default cap on a plan directory's size: 2 GiB.
pub const DEFAULT_MAX_PLAN_BYTES: u64 = 2 << 30;

/// Chunks when the plan is not told: at most this many (fewer when there are fewer segments).
pub const DEFAULT_CHUNKS: usize = 16;

/// Top-level project entries never copied into a plan (tooling, version control, outputs).
const PROJECT_SKIP: &[&str] = &[
    ".git",
    ".hyperframes",
    ".cache",
    ".next",
    ".turbo",
    "node_modules",
    "target",
    "renders",
    "output",
    "failures",
    "dist",
];

/// Where the project's files go in a plan directory.
const PROJECT_DIR: &str = "project";

/// How a plan is cut into chunks: whole runs of the render's segment grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// This many chunks (fewer when the grid has fewer segments).
    Count(usize),
    /// Chunks of about this many frames (rounded to whole segments, at least one).
    Frames(u64),
}

/// How `hf plan` plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// How the render is cut into chunks. Default: [`DEFAULT_CHUNKS`] chunks.
    pub chunking: Chunking,
    /// The largest plan directory allowed, in bytes. Default: [`DEFAULT_MAX_PLAN_BYTES`].
    pub max_plan_bytes: u64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            chunking: Chunking::Count(DEFAULT_CHUNKS),
            max_plan_bytes: DEFAULT_MAX_PLAN_BYTES,
        }
    }
}

impl PlanOptions {
    /// Set how the render is cut into chunks.
    pub fn chunking(mut self, chunking: Chunking) -> Self {
        self.chunking = chunking;
        self
    }

    /// Set the cap on the plan directory's size.
    pub fn max_plan_bytes(mut self, bytes: u64) -> Self {
        self.max_plan_bytes = bytes;
        self
    }
}

/// Plan `job` into the directory `dir` (which must be new, empty, or an earlier plan). It is
/// built beside `dir` and renamed into place only when complete and sealed.
pub async fn plan(
    job: &RenderJob,
    dir: &Path,
    options: &PlanOptions,
    progress: &mut dyn ProgressSink,
) -> Result<PlanFile, DistributedError> {
    job.validate()?;
    let built = scratch_beside(dir)?;
    let span = tracing::info_span!("plan", dir = %dir.display());
    let planned = build(job, &built, dir, options, progress)
        .instrument(span)
        .await;
    let committed = planned
        .and_then(|file| commit_dir(&built, dir, |d| d.join(PLAN_FILE).is_file()).map(|()| file));
    if committed.is_err() {
        let _ = std::fs::remove_dir_all(&built);
    }
    committed
}

/// Build the plan directory in `built` (`target` is where it will go).
async fn build(
    job: &RenderJob,
    built: &Path,
    target: &Path,
    options: &PlanOptions,
    progress: &mut dyn ProgressSink,
) -> Result<PlanFile, DistributedError> {
    let work = built.join(".work");
    let mut local = job.clone();
    // The output is assemble's business; one browser probes (nothing is rendered here).
    local.output = Some(work.join(output_name(job.format)));
    local.workers = 1;
    local.resume = None;
    local.capture_only = false;
    let plan = plan_stage(&local, &work, progress).await?.finish().await?;
    check_caps(&plan)?;
    let plan = freeze(plan, &work, built, target, &job.project_dir)?;
    let count = chunk_count(plan.segments().len(), plan.segment_frames, options.chunking);
    let chunks = plan.chunks(count);
    let size = measure(built, &plan)?;
    if size.total() > options.max_plan_bytes {
        return Err(DistributedError::PlanTooLarge {
            bytes: size.total(),
            limit: options.max_plan_bytes,
            breakdown: size.to_string(),
        });
    }
    let mut file = PlanFile {
        format: PLAN_FORMAT.to_string(),
        plan_hash: String::new(),
        hf_version: hf_version(),
        libav: hf_encode::libav_versions(),
        chunks,
        size,
        plan,
    };
    file.plan_hash = file.hash(built)?;
    file.write(built)?;
    Ok(file)
}

/// The output's name inside a plan (assemble writes the real one).
fn output_name(format: OutputFormat) -> String {
    match format.extension() {
        "" => "output".to_string(),
        extension => format!("output.{extension}"),
    }
}

/// A plan takes at most a day of frames of at most [`MAX_FRAME_SIDE`] pixels a side.
fn check_caps(plan: &RenderPlan) -> Result<(), DistributedError> {
    if plan.duration_seconds > MAX_DURATION_SECONDS {
        return Err(DistributedError::DurationOutOfRange {
            seconds: plan.duration_seconds,
            max: MAX_DURATION_SECONDS,
        });
    }
    let (width, height) = plan.page.frame_size();
    if width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE {
        return Err(DistributedError::FrameSizeOutOfRange {
            width,
            height,
            max: MAX_FRAME_SIDE,
        });
    }
    Ok(())
}

/// Chunks for `chunking` of `segments` segments of `segment_frames`: a count, or whole
/// segments adding up to about the frames asked.
fn chunk_count(segments: usize, segment_frames: u64, chunking: Chunking) -> usize {
    match chunking {
        Chunking::Count(count) => count.max(1),
        Chunking::Frames(frames) => {
            let per_chunk = (frames as f64 / segment_frames as f64).round().max(1.0) as usize;
            segments.div_ceil(per_chunk)
        }
    }
}

/// Move the planned files from `work` into `built` as a self-contained plan: the compiled
/// page with real copies of the video frames the render shows (not links into a cache), the
/// audio mix and the project's files; `work` goes. Returns the plan with its paths relative
/// to the plan directory.
fn freeze(
    mut plan: RenderPlan,
    work: &Path,
    built: &Path,
    target: &Path,
    project: &Path,
) -> Result<RenderPlan, DistributedError> {
    let compiled = built.join(&plan.page.dir);
    let from = work.join(&plan.page.dir);
    std::fs::rename(&from, &compiled).map_err(IoError::with("move", &from))?;
    materialize_video_frames(&plan, &compiled)?;
    if let Some(audio) = &plan.audio {
        let from = work.join(&audio.mix);
        std::fs::rename(&from, built.join(&audio.mix)).map_err(IoError::with("move", &from))?;
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or(p.to_path_buf());
    let exclude = [absolute(target), absolute(built)];
    copy_tree(project, &built.join(PROJECT_DIR), PROJECT_SKIP, &exclude)?;
    std::fs::remove_dir_all(work).map_err(IoError::with("remove", work))?;
    let project = absolute(project);
    if let Some(audio) = &mut plan.audio {
        for track in &mut audio.tracks {
            track.source = relative_source(&track.source, work, &project);
        }
    }
    // Chunk workers decode HDR sources from the plan's copy of the project.
    if let Some(hdr) = &mut plan.hdr {
        for source in &mut hdr.sources {
            source.path = relative_source(&source.path, work, &project);
        }
    }
    plan.project_dir = PathBuf::from(PROJECT_DIR);
    plan.output.path = PathBuf::from(output_name(plan.output.format));
    Ok(plan)
}

/// A source's path inside the plan: under the compiled page or the project copy (an audio
/// source was mixed already and its path is a record; HDR sources are decoded from there).
fn relative_source(source: &Path, work: &Path, project: &Path) -> PathBuf {
    let source = std::path::absolute(source).unwrap_or(source.to_path_buf());
    if let Ok(inside) = source.strip_prefix(std::path::absolute(work).unwrap_or(work.into())) {
        return inside.to_path_buf();
    }
    match source.strip_prefix(project) {
        Ok(inside) => Path::new(PROJECT_DIR).join(inside),
        Err(_) => source,
    }
}

/// Replace each video's link into the frame cache with a directory of the frames the render
/// shows (hard links where the file system allows).
fn materialize_video_frames(plan: &RenderPlan, compiled: &Path) -> Result<(), DistributedError> {
    for video in plan.videos.videos.iter().filter(|v| !v.hdr) {
        let dir = compiled.join(video.url_prefix.trim_end_matches('/'));
        let cache = std::fs::read_link(&dir).map_err(IoError::with("read", &dir))?;
        let shown: BTreeSet<u64> = (0..plan.frames)
            .filter_map(|index| video.timing.frame_at(plan.fps.frame_time(index)))
            .collect();
        std::fs::remove_file(&dir).map_err(IoError::with("replace", &dir))?;
        std::fs::create_dir_all(&dir).map_err(IoError::with("create", &dir))?;
        for k in shown {
            let name = extracted_frame_name(k, video.alpha);
            link_or_copy(&cache.join(&name), &dir.join(&name))?;
        }
    }
    Ok(())
}

/// The plan directory's bytes, by part.
fn measure(built: &Path, plan: &RenderPlan) -> Result<PlanSize, DistributedError> {
    let compiled = built.join(&plan.page.dir);
    let frames: u64 = plan
        .videos
        .videos
        .iter()
        .map(|video| tree_bytes(&compiled.join(video.url_prefix.trim_end_matches('/'))))
        .sum::<Result<u64, IoError>>()?;
    Ok(PlanSize {
        compiled: tree_bytes(&compiled)? - frames,
        video_frames: frames,
        project: tree_bytes(&built.join(PROJECT_DIR))?,
        audio: plan.audio.as_ref().map_or(0, |audio| {
            std::fs::metadata(built.join(&audio.mix)).map_or(0, |m| m.len())
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_frames_round_to_whole_segments() {
        // 10 segments of 30 frames.
        let count = |frames| chunk_count(10, 30, Chunking::Frames(frames));
        assert_eq!(count(60), 5);
        assert_eq!(count(100), 4, "100 frames round to 3 segments");
        assert_eq!(count(1), 10, "at least one segment a chunk");
        assert_eq!(count(10_000), 1);
        assert_eq!(chunk_count(10, 30, Chunking::Count(0)), 1);
        assert_eq!(chunk_count(10, 30, Chunking::Count(4)), 4);
    }

    #[test]
    fn audio_sources_are_recorded_inside_the_plan() {
        let project = Path::new("/projects/title");
        let work = Path::new("/plans/.p.partial/.work");
        assert_eq!(
            relative_source(&project.join("media/a.wav"), work, project),
            PathBuf::from("project/media/a.wav")
        );
        assert_eq!(
            relative_source(&work.join("compiled/__hf_assets/b.mp3"), work, project),
            PathBuf::from("compiled/__hf_assets/b.mp3")
        );
        assert_eq!(
            relative_source(Path::new("/elsewhere/c.wav"), work, project),
            PathBuf::from("/elsewhere/c.wav")
        );
    }

    #[test]
    fn outputs_inside_a_plan_are_named_by_format() {
        assert_eq!(output_name(OutputFormat::Mp4), "output.mp4");
        assert_eq!(output_name(OutputFormat::PngSequence), "output");
    }
}
