//! Where a render works and writes: its work dir (temporary, or kept for `--resume`), the
//! identity a resumed work dir must match, and the output path checked before any work.

use crate::{RenderError, RenderJob};
use hf_core::{Fps, IoError};
use std::path::{Path, PathBuf};

/// The default output path: `renders/<dir name>_<YYYY-MM-DD_HH-MM-SS>.<ext>` (no extension for
/// a PNG sequence directory).
pub(crate) fn default_output(job: &RenderJob) -> PathBuf {
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
/// sequence or an HLS playlist is a directory: an empty one may already be there.
pub(crate) fn check_output_writable(output: &Path, directory: bool) -> Result<(), RenderError> {
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
                "the directory exists and is not empty (a png-sequence or hls output must be new)"
                    .into(),
            ));
        }
    } else if directory && output.exists() {
        return Err(not_writable(
            "a file is in the way (a png-sequence or hls output is a directory)".into(),
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

/// Refuse an output path that is one of the render's inputs (the page, a sub-composition, a
/// media file) or another source file of the project (html, css, js, json): rendering would
/// overwrite it.
pub(crate) fn check_output_is_not_an_input(
    output: &Path,
    compiled: &crate::CompiledComposition,
) -> Result<(), RenderError> {
    let Ok(target) = output.canonicalize() else {
        return Ok(()); // not there yet: nothing to overwrite
    };
    let same = |path: &Path| path.canonicalize().is_ok_and(|p| p == target);
    let input = std::iter::once(compiled.entry.as_path())
        .chain(compiled.inlined_files.iter().map(PathBuf::as_path))
        .chain(compiled.media.iter().map(|m| m.path.as_path()))
        .find(|path| same(path));
    let source_file = compiled.project_dir.canonicalize().is_ok_and(|project| {
        target.starts_with(project)
            && target
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["html", "htm", "css", "js", "mjs", "json"].contains(&e))
    });
    if input.is_none() && !source_file {
        return Ok(());
    }
    Err(RenderError::OutputNotWritable {
        path: output.to_path_buf(),
        reason: "it is a file of the project the render reads (it would be overwritten)".into(),
    })
}

/// The render's work dir: a private temp dir, or the caller's resumable one.
pub(crate) enum WorkDir {
    /// Removed when dropped, whatever happens.
    Temp(tempfile::TempDir),
    /// `--resume`: kept when the render fails or is cancelled, removed when it succeeds.
    Resumable(PathBuf),
}

impl WorkDir {
    pub(crate) fn create(job: &RenderJob) -> Result<Self, RenderError> {
        if let Some(dir) = &job.resume {
            std::fs::create_dir_all(dir).map_err(IoError::with("create", dir))?;
            return Ok(WorkDir::Resumable(dir.clone()));
        }
        let parent = job
            .work_dir_parent
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        sweep_stale_work_dirs(&parent);
        let dir = tempfile::Builder::new()
            .prefix(WORK_DIR_PREFIX)
            .tempdir_in(&parent)
            .map_err(|source| IoError::new("create a work dir in", &parent, source))?;
        let owner = dir.path().join(OWNER_FILE);
        std::fs::write(
            &owner,
            process_identity(std::process::id()).unwrap_or_default(),
        )
        .map_err(IoError::with("write", &owner))?;
        Ok(WorkDir::Temp(dir))
    }

    pub(crate) fn path(&self) -> &Path {
        match self {
            WorkDir::Temp(dir) => dir.path(),
            WorkDir::Resumable(dir) => dir,
        }
    }

    /// The render ended: a resumable work dir goes once the render succeeded, and is kept
    /// (with a hint) when it failed. A temporary one goes when dropped.
    pub(crate) fn finish(&self, succeeded: bool) {
        match self {
            WorkDir::Resumable(dir) if succeeded => {
                let _ = std::fs::remove_dir_all(dir);
            }
            WorkDir::Resumable(dir) => tracing::warn!(
                "frames captured so far are kept in {}; run again with --resume {} to continue",
                dir.display(),
                dir.display()
            ),
            WorkDir::Temp(_) => {}
        }
    }
}

const WORK_DIR_PREFIX: &str = "hf-render-";
/// In each temporary work dir: the owning process as `<pid> <start time>`.
const OWNER_FILE: &str = "owner";

/// `<pid> <start time in clock ticks since boot>` of a live process (`None`: not running).
/// The start time tells a reused pid from the process that wrote the file.
fn process_identity(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let start = rest.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

/// Remove the work dirs in `parent` that a killed hf left behind (their owner is no longer
/// running). Dirs without an owner file, and those of live renders, are left alone.
fn sweep_stale_work_dirs(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(WORK_DIR_PREFIX) {
            continue;
        }
        let dir = entry.path();
        let Ok(owner) = std::fs::read_to_string(dir.join(OWNER_FILE)) else {
            continue;
        };
        let pid = owner
            .split_whitespace()
            .next()
            .and_then(|p| p.parse::<u32>().ok());
        let alive = pid
            .and_then(process_identity)
            .is_some_and(|now| now == owner.trim());
        if !alive {
            tracing::info!(dir = %dir.display(), "removing the work dir of a render that was killed");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// What identifies a render's frames; a resumed work dir must hold the same.
#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
pub(crate) struct FrameIdentity {
    project: String,
    width: u32,
    height: u32,
    fps: String,
    frames: u64,
    jpeg_quality: u8,
}

impl FrameIdentity {
    /// The identity of `frames` frames of `project` at `fps`, `size` pixels, captured at
    /// `jpeg_quality`.
    pub(crate) fn new(
        project: &Path,
        size: (u32, u32),
        fps: Fps,
        frames: u64,
        jpeg_quality: u8,
    ) -> Self {
        FrameIdentity {
            project: project
                .canonicalize()
                .unwrap_or(project.to_path_buf())
                .display()
                .to_string(),
            width: size.0,
            height: size.1,
            fps: fps.to_string(),
            frames,
            jpeg_quality,
        }
    }
}

/// Record the identity of a resumable work dir, or check it against the one recorded.
pub(crate) fn check_resume_identity(dir: &Path, now: &FrameIdentity) -> Result<(), RenderError> {
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
    std::fs::write(&path, text).map_err(|source| IoError::new("write", path, source).into())
}
