//! `cargo xtask regress [NAME...] [--update] [--workers N] [--release] [--mode in-process|
//! distributed] [--chunks K]`: render every `fixtures/<name>/` that has a `meta.json` and
//! compare it with `baseline/output.<ext>` (`baseline/output/` for png-sequence) by PSNR at 100
//! evenly spaced checkpoints; alpha formats are compared on premultiplied colour and alpha.
//! `--mode distributed` renders through `hf plan` (K chunks, default 3), `hf render-chunk` for
//! each chunk (last first) and `hf assemble`, against the same baselines.

use anyhow::{bail, Context, Result};
use hf_encode::compare::{compare_audio, compare_videos};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Checkpoints compared per fixture.
const CHECKPOINTS: usize = 100;
/// Largest allowed difference between the output's duration and the baseline's, in seconds.
const MAX_DURATION_DIFFERENCE: f64 = 0.05;
/// Audio envelope correlation required when meta.json does not say (HyperFrames' usual value).
const DEFAULT_MIN_AUDIO_CORRELATION: f64 = 0.9;
/// Lag searched when meta.json does not say, in 64 ms windows (about 7.7 s).
const DEFAULT_MAX_AUDIO_LAG_WINDOWS: u32 = 120;

/// `fixtures/<name>/meta.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Meta {
    /// Must equal the fixture's folder name.
    pub name: String,
    /// What the fixture exercises (for people reading the fixture).
    #[allow(dead_code)]
    pub description: String,
    /// Free-form tags (for people reading the fixture).
    #[serde(default)]
    #[allow(dead_code)]
    pub tags: Vec<String>,
    /// A checkpoint under this PSNR (dB) fails.
    pub min_psnr: f64,
    /// How many checkpoints may fail.
    #[serde(default)]
    pub max_frame_failures: usize,
    /// Minimum correlation of audio RMS envelopes (checked when both files have audio).
    #[serde(default)]
    pub min_audio_correlation: Option<f64>,
    /// Lag allowed in the audio correlation search, in RMS windows.
    #[serde(default)]
    pub max_audio_lag_windows: Option<u32>,
    /// How to render it.
    #[serde(default)]
    pub render_config: RenderConfig,
}

/// `renderConfig` of a fixture.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RenderConfig {
    /// Integer or rational such as "30000/1001".
    #[serde(default)]
    pub fps: Option<serde_json::Value>,
    /// Output format: mp4 (default), webm, mov, gif or png-sequence.
    #[serde(default)]
    pub format: Option<String>,
    /// Worker count.
    #[serde(default)]
    pub workers: Option<u32>,
    /// draft, standard or high (default high, as upstream's harness).
    #[serde(default)]
    pub quality: Option<String>,
    /// Variable overrides.
    #[serde(default)]
    pub variables: Option<serde_json::Map<String, serde_json::Value>>,
    /// Frames per segment of the grid (default: hf's, about two seconds).
    #[serde(default)]
    pub segment_frames: Option<u64>,
}

/// `renderConfig.fps` as `hf render --fps` takes it: `30` or `"30000/1001"`.
fn fps_argument(fps: &serde_json::Value) -> Option<String> {
    match fps {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Read and check `meta.json` of the fixture in `dir`.
pub fn load_meta(dir: &Path) -> Result<Meta> {
    let path = dir.join("meta.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let meta: Meta =
        serde_json::from_str(&text).with_context(|| format!("{} is invalid", path.display()))?;
    let folder = dir.file_name().unwrap_or_default().to_string_lossy();
    if meta.name != folder {
        bail!(
            "{}: name \"{}\" differs from the folder name \"{folder}\"",
            path.display(),
            meta.name
        );
    }
    if !(meta.min_psnr > 0.0 && meta.min_psnr <= 100.0) {
        bail!(
            "{}: minPsnr must be between 0 and 100 dB, got {}",
            path.display(),
            meta.min_psnr
        );
    }
    if let Some(fps) = &meta.render_config.fps {
        let Some(text) = fps_argument(fps) else {
            bail!(
                "{}: renderConfig.fps must be a number or a string like \"30000/1001\", got {fps}",
                path.display()
            );
        };
        text.parse::<hf_core::Fps>()
            .map_err(|e| anyhow::anyhow!("{}: renderConfig.fps \"{text}\": {e}", path.display()))?;
    }
    match meta.render_config.format.as_deref() {
        None | Some("mp4" | "webm" | "mov" | "gif" | "png-sequence") => {}
        Some(other) => bail!(
            "{}: renderConfig.format \"{other}\" must be mp4, webm, mov, gif or png-sequence",
            path.display()
        ),
    }
    match meta.render_config.quality.as_deref() {
        None | Some("draft" | "standard" | "high") => {}
        Some(other) => bail!(
            "{}: renderConfig.quality \"{other}\" must be draft, standard or high",
            path.display()
        ),
    }
    Ok(meta)
}

/// How a fixture is rendered.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `hf render`.
    InProcess,
    /// `hf plan`, then `hf render-chunk` for every chunk (last first), then `hf assemble`.
    Distributed,
}

struct Options {
    names: Vec<String>,
    update: bool,
    mode: Mode,
    /// Chunks asked of `hf plan` in distributed mode.
    chunks: u32,
    workers: Option<String>,
    release: bool,
    /// Use the `hf` that `cargo test --workspace` just built instead of building it again
    /// (a plain `cargo build -p hf-cli` resolves features differently and rebuilds the world).
    prebuilt: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        names: Vec::new(),
        update: false,
        mode: Mode::InProcess,
        chunks: 3,
        workers: None,
        release: false,
        prebuilt: false,
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--update" => options.update = true,
            "--release" => options.release = true,
            "--prebuilt" => options.prebuilt = true,
            "--workers" => {
                options.workers = Some(iter.next().context("--workers needs a value")?.clone())
            }
            "--mode" => {
                options.mode = match iter.next().context("--mode needs a value")?.as_str() {
                    "in-process" => Mode::InProcess,
                    "distributed" => Mode::Distributed,
                    other => bail!("--mode {other}: use in-process or distributed"),
                }
            }
            "--chunks" => {
                let value = iter.next().context("--chunks needs a value")?;
                options.chunks = value.parse().context("--chunks takes a number")?;
            }
            flag if flag.starts_with("--") => bail!("unknown flag {flag}"),
            name => options.names.push(name.to_string()),
        }
    }
    if options.update && options.mode == Mode::Distributed {
        bail!("--update renders baselines in-process only; drop --mode distributed");
    }
    Ok(options)
}

/// Run the regression suite; an error when any fixture fails.
pub fn regress(root: &Path, args: &[String]) -> Result<()> {
    let options = parse(args)?;
    let hf = if options.prebuilt {
        crate::hf_path(options.release)
    } else {
        crate::build_hf(options.release)?
    };
    if !hf.is_file() {
        bail!("{} does not exist; run without --prebuilt", hf.display());
    }
    let hf = Hf::new(hf)?;
    let fixtures = root.join("fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&fixtures)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    dirs.sort();
    if !options.names.is_empty() {
        for name in &options.names {
            if !dirs.iter().any(|d| d.ends_with(name)) {
                bail!("no fixture named {name} (fixtures/{name}/meta.json)");
            }
        }
        dirs.retain(|d| options.names.iter().any(|n| d.ends_with(n)));
    }
    let (mut passed, mut failed) = (0, 0);
    for dir in &dirs {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let started = Instant::now();
        match run_fixture(&hf, dir, &options) {
            Ok(line) => {
                passed += 1;
                println!(
                    "ok    {name:28} {line} ({:.1} s)",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(error) => {
                failed += 1;
                println!(
                    "FAIL  {name:28} {error:#} ({:.1} s)",
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} regression fixture(s) failed");
    }
    Ok(())
}

/// CDN URLs the fixtures name, served from the vendored GSAP so regress runs offline.
const GSAP_URLS: &[&str] = &["https://cdn.jsdelivr.net/npm/gsap@3.15.0/dist/gsap.min.js"];

/// The `hf` binary under test, and the asset cache every run of it uses.
struct Hf {
    binary: PathBuf,
    /// `target/regress-asset-cache`, seeded once with [`GSAP_URLS`].
    cache: PathBuf,
}

impl Hf {
    /// `binary`, with its asset cache seeded by `hf cache import`.
    fn new(binary: PathBuf) -> Result<Self> {
        let root = crate::workspace_root();
        let cache = root.join("target").join("regress-asset-cache");
        let gsap = root.join("fixtures/gsap-move/src/gsap.min.js");
        let hf = Hf { binary, cache };
        for url in GSAP_URLS {
            let args = [
                "cache".into(),
                "import".into(),
                url.to_string(),
                path_arg(&gsap),
            ];
            hf.run(&args, &format!("hf cache import {url}"))?;
        }
        Ok(hf)
    }

    /// Run `hf` with `args` on the seeded asset cache; its stdout, or an error with its stderr.
    fn run(&self, args: &[String], what: &str) -> Result<String> {
        let ran = Command::new(&self.binary)
            .args(args)
            .env("HF_CACHE_DIR", &self.cache)
            .output()
            .context("cannot run hf")?;
        if !ran.status.success() {
            bail!(
                "{what} failed: {}",
                String::from_utf8_lossy(&ran.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&ran.stdout).into_owned())
    }
}

/// A path as a command-line argument.
fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

/// `output.<ext>` for the fixture's format; `output` (a directory) for png-sequence.
fn output_name(meta: &Meta) -> String {
    match meta.render_config.format.as_deref().unwrap_or("mp4") {
        "png-sequence" => "output".to_string(),
        extension => format!("output.{extension}"),
    }
}

/// Whether two outputs (files, or directories of files) hold the same bytes.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let files = |path: &Path| -> Option<Vec<(std::ffi::OsString, Vec<u8>)>> {
        if path.is_file() {
            return Some(vec![(Default::default(), std::fs::read(path).ok()?)]);
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).ok()?.flatten() {
            files.push((entry.file_name(), std::fs::read(entry.path()).ok()?));
        }
        files.sort();
        Some(files)
    };
    matches!((files(a), files(b)), (Some(x), Some(y)) if x == y)
}

/// Copy a file, or a directory's files, replacing what is at `to`.
fn copy_output(from: &Path, to: &Path) -> Result<()> {
    if to.is_dir() {
        std::fs::remove_dir_all(to)?;
    }
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(from, to)?;
    }
    Ok(())
}

fn run_fixture(hf: &Hf, dir: &Path, options: &Options) -> Result<String> {
    let meta = load_meta(dir)?;
    let out_dir =
        std::env::temp_dir().join(format!("hf-regress-{}-{}", meta.name, std::process::id()));
    std::fs::create_dir_all(&out_dir)?;
    let output = out_dir.join(output_name(&meta));
    let result = render_and_compare(hf, dir, &meta, &output, options);
    let _ = std::fs::remove_dir_all(&out_dir);
    result
}

/// The `hf` flags that describe the fixture's render (shared by `render` and `plan`).
fn job_flags(meta: &Meta) -> Result<Vec<String>> {
    let config = &meta.render_config;
    let mut flags: Vec<String> = vec!["-q".into(), config.quality.clone().unwrap_or("high".into())];
    if let Some(format) = &config.format {
        flags.extend(["--format".into(), format.clone()]);
    }
    if let Some(text) = config.fps.as_ref().and_then(fps_argument) {
        flags.extend(["--fps".into(), text]);
    }
    if let Some(frames) = config.segment_frames {
        flags.extend(["--segment-frames".into(), frames.to_string()]);
    }
    if let Some(variables) = &config.variables {
        flags.extend(["--variables".into(), serde_json::to_string(variables)?]);
    }
    Ok(flags)
}

/// Render the fixture in `dir` to `output` as `options.mode` says; returns a note on how.
fn render_fixture(
    hf: &Hf,
    dir: &Path,
    meta: &Meta,
    output: &Path,
    options: &Options,
) -> Result<String> {
    let workers = options
        .workers
        .clone()
        .or(meta.render_config.workers.map(|w| w.to_string()));
    let worker_flags: Vec<String> = workers
        .iter()
        .flat_map(|w| ["--workers".into(), w.clone()])
        .collect();
    let src = path_arg(&dir.join("src"));
    if options.mode == Mode::Distributed {
        return render_distributed(hf, &src, meta, output, &worker_flags, options.chunks);
    }
    let args = [
        vec![
            "render".into(),
            src,
            "-o".into(),
            path_arg(output),
            "--quiet".into(),
        ],
        job_flags(meta)?,
        worker_flags,
    ]
    .concat();
    hf.run(&args, "render")?;
    Ok(String::new())
}

/// `hf plan` the project `src` into `chunks` chunks, `hf render-chunk` each (last first), then
/// `hf assemble` them into `output`; returns a note on how.
fn render_distributed(
    hf: &Hf,
    src: &str,
    meta: &Meta,
    output: &Path,
    worker_flags: &[String],
    chunks: u32,
) -> Result<String> {
    let scratch = output.with_file_name("distributed");
    let plan = path_arg(&scratch.join("plan"));
    let args = [
        vec!["plan".into(), src.into(), "-o".into(), plan.clone()],
        vec!["--chunks".into(), chunks.to_string(), "--json".into()],
        job_flags(meta)?,
    ]
    .concat();
    let planned = hf.run(&args, "plan")?;
    let count = planned
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["chunks"].as_u64())
        .context("hf plan printed no chunk count")?;
    let mut chunk_dirs = Vec::new();
    for k in (0..count).rev() {
        let chunk = path_arg(&scratch.join(format!("chunk-{k}")));
        let args = [
            vec![
                "render-chunk".into(),
                plan.clone(),
                "--chunk".into(),
                k.to_string(),
            ],
            vec!["-o".into(), chunk.clone(), "--quiet".into()],
            worker_flags.to_vec(),
        ]
        .concat();
        hf.run(&args, &format!("render-chunk {k}"))?;
        chunk_dirs.push(chunk);
    }
    let args = [
        vec!["assemble".into(), plan],
        chunk_dirs,
        vec!["-o".into(), path_arg(output), "--quiet".into()],
    ]
    .concat();
    hf.run(&args, "assemble")?;
    Ok(format!("{count} chunks; "))
}

fn render_and_compare(
    hf: &Hf,
    dir: &Path,
    meta: &Meta,
    output: &Path,
    options: &Options,
) -> Result<String> {
    let how = render_fixture(hf, dir, meta, output, options)?;
    let baseline = dir.join("baseline").join(output_name(meta));
    if options.update {
        std::fs::create_dir_all(baseline.parent().expect("has parent"))?;
        copy_output(output, &baseline)?;
        return Ok("baseline updated".into());
    }
    if !baseline.exists() {
        bail!(
            "{} is missing; create it with cargo xtask regress {} --update",
            baseline.display(),
            meta.name
        );
    }
    let comparison = compare_videos(&baseline, output, CHECKPOINTS)?;
    let failures = comparison.failures(meta.min_psnr);
    // Reported, not required: a baseline made on another machine may differ in bytes only.
    let same = if same_bytes(&baseline, output) {
        "same bytes as the baseline; "
    } else {
        ""
    };
    let mut summary = format!(
        "{how}{same}psnr min {:.1} mean {:.1} dB over {} checkpoints",
        comparison.min_psnr(),
        comparison.mean_psnr(),
        comparison.checkpoints.len()
    );
    let min_correlation = meta
        .min_audio_correlation
        .unwrap_or(DEFAULT_MIN_AUDIO_CORRELATION);
    let max_lag = meta
        .max_audio_lag_windows
        .unwrap_or(DEFAULT_MAX_AUDIO_LAG_WINDOWS);
    if let Some(audio) = compare_audio(&baseline, output, max_lag)? {
        summary.push_str(&format!(
            "; audio correlation {:.3} at lag {} windows",
            audio.correlation, audio.lag_windows
        ));
        if audio.correlation < min_correlation {
            bail!(
                "audio correlation {:.3} is under {min_correlation}; {summary}",
                audio.correlation
            );
        }
        if (audio.candidate_seconds - comparison.candidate_duration).abs() > MAX_DURATION_DIFFERENCE
        {
            bail!(
                "audio lasts {:.3} s but video {:.3} s; {summary}",
                audio.candidate_seconds,
                comparison.candidate_duration
            );
        }
    }
    if comparison.candidate_frames != comparison.reference_frames {
        bail!(
            "{} frames, the baseline has {}; {summary}",
            comparison.candidate_frames,
            comparison.reference_frames
        );
    }
    if (comparison.candidate_duration - comparison.reference_duration).abs()
        > MAX_DURATION_DIFFERENCE
    {
        bail!(
            "duration {:.3} s, the baseline's is {:.3} s",
            comparison.candidate_duration,
            comparison.reference_duration
        );
    }
    if failures.len() > meta.max_frame_failures {
        let frames: Vec<String> = failures
            .iter()
            .take(8)
            .map(|c| format!("{}:{:.1}", c.frame, c.psnr))
            .collect();
        bail!(
            "{} checkpoints under {} dB (allowed {}): frame:psnr {}; {summary}",
            failures.len(),
            meta.min_psnr,
            meta.max_frame_failures,
            frames.join(" ")
        );
    }
    Ok(summary)
}
