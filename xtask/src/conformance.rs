//! `cargo xtask conformance --fixtures DIR [--only a,b] [--fresh]`: upstream HyperFrames' own
//! regression fixtures (`packages/producer/tests` of heygen-com/hyperframes, checked out by the
//! caller: they are upstream's code and stay out of hf's tree), rendered by hf and by upstream
//! HyperFrames 0.8.170 on this machine, compared frame by frame.
//!
//! Only self-contained fixtures are run: their only URLs are CDN libraries (and Google Fonts,
//! unreachable for both renderers here), no Git LFS media. Upstream renders offline with the
//! CDN libraries replaced by their npm copies; hf renders the page as written (its asset
//! cache falls back to npm the same way). A fixture is at parity when the frame counts match
//! and at least 95% of 100 checkpoints reach the fixture's `minPsnr`. Upstream's renders are
//! kept in `target/bench/conformance/` and reused unless `--fresh`.

use crate::bench::Upstream;
use anyhow::{bail, Context, Result};
use hf_encode::compare::compare_videos;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Checkpoints compared per fixture, and the share that must reach `minPsnr`.
const CHECKPOINTS: usize = 100;
const PASS_SHARE: f64 = 0.95;

/// A fixture's `meta.json`, the fields the comparison needs.
struct Fixture {
    name: String,
    src: PathBuf,
    min_psnr: f64,
    fps: String,
    workers: u32,
    format: String,
    variables: Option<String>,
}

/// One fixture's outcome.
struct Outcome {
    name: String,
    frames: String,
    min_psnr: f64,
    mean_psnr: f64,
    passing: f64,
    threshold: f64,
    status: String,
}

pub fn conformance(args: &[String]) -> Result<()> {
    let mut fixtures_dir = None;
    let mut only: Vec<String> = Vec::new();
    let mut fresh = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--fixtures" => fixtures_dir = it.next().map(PathBuf::from),
            "--only" => {
                only = it
                    .next()
                    .map_or(vec![], |v| v.split(',').map(String::from).collect())
            }
            "--fresh" => fresh = true,
            other => bail!("unknown flag {other}: use --fixtures DIR [--only a,b] [--fresh]"),
        }
    }
    let dir =
        fixtures_dir.context("--fixtures DIR (upstream's packages/producer/tests) is required")?;
    let out = Path::new("target/bench/conformance");
    std::fs::create_dir_all(out)?;
    let hf = crate::build_hf(true)?;
    let upstream = Upstream::install(Path::new("target/bench/upstream"))?;
    let mut outcomes = Vec::new();
    for fixture in self_contained(&dir)? {
        if !only.is_empty() && !only.contains(&fixture.name) {
            continue;
        }
        eprintln!("conformance: {}", fixture.name);
        outcomes.push(run_fixture(&fixture, &hf, &upstream, out, fresh));
    }
    print_table(&outcomes);
    Ok(())
}

/// Every fixture with a `meta.json` and a self-contained `src/`.
fn self_contained(dir: &Path) -> Result<Vec<Fixture>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").is_file() && p.join("src/index.html").is_file())
        .collect();
    names.sort();
    let mut fixtures = Vec::new();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(reason) = not_self_contained(&path.join("src"))? {
            eprintln!("conformance: {name} left out: {reason}");
            continue;
        }
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path.join("meta.json"))?)?;
        let config = &meta["renderConfig"];
        if config["hdr"] == true {
            eprintln!("conformance: {name} left out: HDR fixture");
            continue;
        }
        fixtures.push(Fixture {
            name,
            src: path.join("src"),
            min_psnr: meta["minPsnr"].as_f64().unwrap_or(30.0),
            fps: match &config["fps"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.as_u64().unwrap_or(30).to_string(),
            },
            workers: config["workers"].as_u64().unwrap_or(1) as u32,
            format: config["format"].as_str().unwrap_or("mp4").to_string(),
            variables: config.get("variables").map(|v| v.to_string()),
        });
    }
    Ok(fixtures)
}

/// Why `src` is not self-contained: a URL other than a CDN library or Google Fonts, or a
/// Git LFS pointer where media should be.
fn not_self_contained(src: &Path) -> Result<Option<String>> {
    let url = regex::Regex::new(r#"https?://[^\s"'<>)]+"#)?;
    for file in files_under(src)? {
        let bytes = std::fs::read(&file)?;
        if bytes.starts_with(b"version https://git-lfs") {
            return Ok(Some(format!("{} is a Git LFS pointer", file.display())));
        }
        let text_file = ["html", "css", "js", "json"]
            .iter()
            .any(|e| file.extension().is_some_and(|x| x == *e));
        if !text_file {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for found in url.find_iter(&text) {
            let u = found.as_str();
            let allowed = u.contains("www.w3.org")
                || is_cdn(u)
                || u.starts_with("https://fonts.googleapis.com")
                || u.starts_with("https://fonts.gstatic.com");
            if !allowed {
                return Ok(Some(format!("{u} in {}", file.display())));
            }
        }
    }
    Ok(None)
}

fn is_cdn(url: &str) -> bool {
    [
        "https://cdn.jsdelivr.net/",
        "https://unpkg.com/",
        "https://cdnjs.cloudflare.com/",
    ]
    .iter()
    .any(|p| url.starts_with(p))
}

fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files_under(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

fn run_fixture(
    fixture: &Fixture,
    hf: &Path,
    upstream: &Upstream,
    out: &Path,
    fresh: bool,
) -> Outcome {
    let ext = if fixture.format == "webm" {
        "webm"
    } else {
        "mp4"
    };
    let theirs = out.join(format!("{}-hyperframes.{ext}", fixture.name));
    let ours = out.join(format!("{}-hf.{ext}", fixture.name));
    let failed = |status: String| Outcome {
        name: fixture.name.clone(),
        frames: "-".into(),
        min_psnr: 0.0,
        mean_psnr: 0.0,
        passing: 0.0,
        threshold: fixture.min_psnr,
        status,
    };
    if fresh || !theirs.is_file() {
        if let Err(e) = render_upstream(fixture, upstream, out, &theirs) {
            return failed(format!("upstream failed: {}", one_line(&e.to_string())));
        }
    }
    if let Err(e) = render_hf(fixture, hf, &ours) {
        return failed(format!("hf failed: {}", one_line(&e.to_string())));
    }
    match compare_videos(&theirs, &ours, CHECKPOINTS) {
        Err(e) => failed(format!("not comparable: {e}")),
        Ok(c) => {
            let passing = c
                .checkpoints
                .iter()
                .filter(|p| p.psnr >= fixture.min_psnr)
                .count() as f64
                / c.checkpoints.len().max(1) as f64;
            let same_count = c.reference_frames == c.candidate_frames;
            let status = match (same_count, passing >= PASS_SHARE) {
                (true, true) => "parity".to_string(),
                (false, _) => "frame count differs".to_string(),
                (true, false) => "below minPsnr".to_string(),
            };
            Outcome {
                name: fixture.name.clone(),
                frames: format!("{}/{}", c.candidate_frames, c.reference_frames),
                min_psnr: c.min_psnr(),
                mean_psnr: c.mean_psnr(),
                passing,
                threshold: fixture.min_psnr,
                status,
            }
        }
    }
}

/// Upstream's render of a copy of the fixture whose CDN URLs point at local npm copies.
fn render_upstream(
    fixture: &Fixture,
    upstream: &Upstream,
    out: &Path,
    output: &Path,
) -> Result<()> {
    let local = out.join(format!("{}-upstream-src", fixture.name));
    if local.exists() {
        std::fs::remove_dir_all(&local)?;
    }
    copy_tree(&fixture.src, &local)?;
    localize_cdn(&local)?;
    let mut flags = vec![
        "--fps".to_string(),
        fixture.fps.clone(),
        "--format".to_string(),
        fixture.format.clone(),
    ];
    if let Some(vars) = &fixture.variables {
        flags.extend(["--variables".to_string(), vars.clone()]);
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let scratch = out.join(format!("{}-upstream-run", fixture.name));
    let result = upstream.render(
        &local,
        &scratch,
        output,
        &fixture.workers.to_string(),
        &flags,
    );
    let _ = std::fs::remove_dir_all(&scratch);
    let _ = std::fs::remove_dir_all(&local);
    result.map(drop)
}

/// Replace every CDN URL in the HTML and CSS under `dir` by a file fetched into `dir/__cdn/`
/// (through hf's asset cache, which falls back to the npm registry).
fn localize_cdn(dir: &Path) -> Result<()> {
    let url = regex::Regex::new(
        r#"https://(cdn\.jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com)/[^\s"'<>)]+"#,
    )?;
    let cache = hf_engine::AssetCache::at(hf_engine::AssetCache::default_dir());
    std::fs::create_dir_all(dir.join("__cdn"))?;
    for file in files_under(dir)? {
        if !file.extension().is_some_and(|e| e == "html" || e == "css") {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        let mut replaced = text.clone();
        for found in url.find_iter(&text) {
            let u = found.as_str();
            let bytes = cache.fetch(u).map_err(|e| anyhow::anyhow!("{u}: {e}"))?;
            let name = format!(
                "{:016x}-{}",
                {
                    use std::hash::{Hash, Hasher};
                    let mut hasher = std::collections::hash_map::DefaultHasher::new();
                    u.hash(&mut hasher);
                    hasher.finish()
                },
                u.rsplit('/').next().unwrap_or("lib.js")
            );
            std::fs::write(dir.join("__cdn").join(&name), bytes)?;
            replaced = replaced.replace(u, &format!("__cdn/{name}"));
        }
        std::fs::write(&file, replaced)?;
    }
    Ok(())
}

fn render_hf(fixture: &Fixture, hf: &Path, output: &Path) -> Result<()> {
    let mut command = Command::new(hf);
    command
        .arg("render")
        .arg(&fixture.src)
        .arg("-o")
        .arg(output)
        .args([
            "-q",
            "standard",
            "--quiet",
            "-f",
            &fixture.fps,
            "--format",
            &fixture.format,
        ])
        .args(["--workers", &fixture.workers.to_string()]);
    if let Some(vars) = &fixture.variables {
        command.args(["--variables", vars]);
    }
    let run = command.output()?;
    if !run.status.success() {
        bail!("{}", String::from_utf8_lossy(&run.stderr).trim());
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn one_line(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    line.chars().take(160).collect()
}

fn print_table(outcomes: &[Outcome]) {
    println!(
        "| fixture | frames hf/upstream | PSNR min / mean dB | checkpoints >= minPsnr | status |"
    );
    println!("|---|---|---|---|---|");
    for o in outcomes {
        println!(
            "| {} | {} | {:.1} / {:.1} | {:.0}% of >= {} dB | {} |",
            o.name,
            o.frames,
            o.min_psnr,
            o.mean_psnr,
            o.passing * 100.0,
            o.threshold,
            o.status
        );
    }
    let parity = outcomes.iter().filter(|o| o.status == "parity").count();
    println!("\n{parity} of {} fixtures at parity", outcomes.len());
}
