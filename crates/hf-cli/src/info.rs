//! `hf info` and `hf compositions`: what a project is, read by the compile stage alone (no
//! browser): size, rate, duration, clips per track, media, fonts, variables, compositions.

use crate::args::JobArgs;
use crate::report::print_line;
use clap::Args;
use hf_engine::{compile_stage, CompileInput, CompiledComposition, Fps, MediaKind, RenderJob};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The flags of `hf info` and `hf compositions`.
#[derive(Args)]
pub(crate) struct InfoArgs {
    /// Project directory holding index.html.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    job: JobArgs,
}

/// Compile the project into a throwaway dir.
fn compile(args: &InfoArgs) -> anyhow::Result<(RenderJob, CompiledComposition)> {
    let job = args.job.job(&args.dir)?;
    let work = tempfile::Builder::new().prefix("hf-info-").tempdir()?;
    let mut input = CompileInput::new(&job.project_dir, work.path());
    input.composition = job.composition.clone();
    input.variables = job.variables.clone();
    input.allow_missing_assets = true;
    input.asset_cache = job.asset_cache.clone();
    let compiled = compile_stage(&input)?;
    Ok((job, compiled))
}

fn project_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string())
}

/// Files and bytes under `dir`.
fn project_size(dir: &Path) -> (u64, u64) {
    let mut total = (0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return total;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let (files, bytes) = project_size(&path);
            total = (total.0 + files, total.1 + bytes);
        } else if let Ok(meta) = entry.metadata() {
            total = (total.0 + 1, total.1 + meta.len());
        }
    }
    total
}

/// `hf info`.
pub(crate) fn info(args: &InfoArgs) -> anyhow::Result<()> {
    let (job, c) = compile(args)?;
    let fps = job.fps.or(c.fps_hint).unwrap_or(Fps::whole(30));
    let frames = c.static_duration.map(|d| fps.frame_count(d));
    let mut tracks: BTreeMap<i64, usize> = BTreeMap::new();
    for clip in &c.clips {
        *tracks.entry(clip.track).or_default() += 1;
    }
    let media: Vec<serde_json::Value> = c
        .media
        .iter()
        .map(|m| {
            let video = m.info.video.as_ref();
            json!({
                "id": m.element_id,
                "kind": kind_name(m.kind),
                "src": m.src,
                "duration": m.info.duration_seconds,
                "width": video.map(|v| v.width),
                "height": video.map(|v| v.height),
                "audio": m.info.audio.is_some(),
            })
        })
        .collect();
    let (files, bytes) = project_size(&args.dir);
    let name = project_name(&args.dir);
    if args.json {
        print_line(
            &json!({
                "name": name,
                "entry": c.entry,
                "rootId": c.root_id,
                "width": c.width,
                "height": c.height,
                "fps": fps.to_string(),
                "duration": c.static_duration,
                "frames": frames,
                "clips": c.clips,
                "tracks": tracks,
                "media": media,
                "fonts": c.fonts,
                "variables": c.variables,
                "compositions": c.compositions.len(),
                "files": files,
                "bytes": bytes,
            })
            .to_string(),
        );
        return Ok(());
    }
    print_line(&format!("◇  {name} ({})", c.root_id));
    print_line(&format!("Size          {}x{}", c.width, c.height));
    print_line(&format!("Frame rate    {fps} fps"));
    print_line(&match (c.static_duration, frames) {
        (Some(d), Some(n)) => format!("Duration      {d:.2} s ({n} frames)"),
        _ => "Duration      set by the page's timeline (known when it renders)".to_string(),
    });
    let per_track: Vec<String> = tracks
        .iter()
        .map(|(t, n)| format!("track {t}: {n}"))
        .collect();
    print_line(&format!(
        "Clips         {} on {} track(s){}",
        c.clips.len(),
        tracks.len(),
        if per_track.is_empty() {
            String::new()
        } else {
            format!(" ({})", per_track.join(", "))
        }
    ));
    for m in &c.media {
        print_line(&format!(
            "Media         {} {} ({:.2} s{})",
            kind_name(m.kind),
            m.src,
            m.info.duration_seconds,
            m.info
                .video
                .as_ref()
                .map_or(String::new(), |v| format!(", {}x{}", v.width, v.height))
        ));
    }
    print_line(&format!(
        "Fonts         {}",
        if c.fonts.is_empty() {
            "none of hf's bundled families".to_string()
        } else {
            c.fonts.join(", ")
        }
    ));
    for v in &c.variables {
        print_line(&format!(
            "Variable      {}: {} = {}",
            v.id, v.kind, v.default
        ));
    }
    print_line(&format!("Compositions  {}", c.compositions.len()));
    print_line(&format!(
        "Files         {files} ({:.1} MB)",
        bytes as f64 / 1e6
    ));
    Ok(())
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::AnimatedImage => "gif",
        MediaKind::HdrImage => "hdr-image",
    }
}

/// `hf compositions`.
pub(crate) fn compositions(args: &InfoArgs) -> anyhow::Result<()> {
    let (_, c) = compile(args)?;
    if args.json {
        print_line(&json!({ "compositions": c.compositions }).to_string());
        return Ok(());
    }
    print_line(&format!(
        "◇  {} — {} composition(s)",
        project_name(&args.dir),
        c.compositions.len()
    ));
    for (i, comp) in c.compositions.iter().enumerate() {
        let duration = comp
            .duration
            .map_or("-".to_string(), |d| format!("{d:.2} s"));
        let size = match (comp.width, comp.height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ if i == 0 => format!("{}x{}", c.width, c.height),
            _ => "-".to_string(),
        };
        let place = match (&comp.start, &comp.file) {
            (_, Some(file)) => format!("at {} <- {file}", comp.start.as_deref().unwrap_or("0")),
            (Some(start), None) => format!("at {start}"),
            (None, None) => "root".to_string(),
        };
        print_line(&format!(
            "{:<20} {duration:>9}  {size:>10}  {place}",
            comp.id
        ));
    }
    Ok(())
}
