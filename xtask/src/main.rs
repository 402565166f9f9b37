//! `cargo xtask <task>`: the project's own commands.
//!
//! - `test`: formatting, clippy (`-D warnings`) and the whole test suite: what CI runs.
//! - `bench [--runs N]`: render the benchmark compositions with a release `hf` and report median
//!   frames/s, realtime factor, CPU seconds per frame and peak RSS (hf plus its Chrome).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask test | bench [--runs N]");
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(mut command: Command, what: &str) -> Result<()> {
    eprintln!("xtask: {what}");
    let status = command
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn test() -> Result<()> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run(fmt, "cargo fmt --check")?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy, "cargo clippy")?;
    let mut tests = cargo();
    tests.args(["test", "--workspace"]);
    run(tests, "cargo test")
}

/// One benchmark composition.
struct Case {
    name: &'static str,
    dir: &'static str,
}

const CASES: [Case; 1] = [Case {
    name: "gsap-title-box 1080p 10s",
    dir: "bench/gsap-title-box",
}];

/// Measurements of one render.
struct Sample {
    frames: u64,
    video_seconds: f64,
    wall: Duration,
    cpu: Duration,
    peak_rss_bytes: u64,
}

fn bench(args: &[String]) -> Result<()> {
    let runs: usize = match args {
        [flag, n] if flag == "--runs" => n.parse().context("--runs takes a number")?,
        [] => 3,
        _ => bail!("usage: cargo xtask bench [--runs N]"),
    };
    let mut build = cargo();
    build.args(["build", "--release", "-p", "hf-cli"]);
    run(build, "cargo build --release -p hf-cli")?;
    let hf = Path::new("target/release/hf");
    let out_dir = Path::new("target/bench");
    std::fs::create_dir_all(out_dir)?;

    let mut report = Vec::new();
    println!(
        "{:<28} {:>7} {:>9} {:>9} {:>9} {:>11} {:>10}",
        "composition", "frames", "wall s", "frames/s", "realtime", "cpu s/frame", "peak RSS"
    );
    for case in &CASES {
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(render_once(
                hf,
                Path::new(case.dir),
                &out_dir.join("bench.mp4"),
            )?);
        }
        samples.sort_by_key(|s| s.wall);
        let median = &samples[samples.len() / 2];
        let fps = median.frames as f64 / median.wall.as_secs_f64();
        let realtime = median.video_seconds / median.wall.as_secs_f64();
        let cpu_per_frame = median.cpu.as_secs_f64() / median.frames as f64;
        let peak = samples.iter().map(|s| s.peak_rss_bytes).max().unwrap_or(0);
        println!(
            "{:<28} {:>7} {:>9.2} {:>9.1} {:>8.2}x {:>11.4} {:>8.0}MB",
            case.name,
            median.frames,
            median.wall.as_secs_f64(),
            fps,
            realtime,
            cpu_per_frame,
            peak as f64 / 1e6
        );
        report.push(serde_json::json!({
            "composition": case.name,
            "runs": runs,
            "frames": median.frames,
            "median_wall_seconds": median.wall.as_secs_f64(),
            "median_frames_per_second": fps,
            "realtime_factor": realtime,
            "cpu_seconds_per_frame": cpu_per_frame,
            "peak_rss_bytes": peak,
            "wall_seconds": samples.iter().map(|s| s.wall.as_secs_f64()).collect::<Vec<_>>(),
        }));
    }
    let path = out_dir.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("results written to {}", path.display());
    Ok(())
}

fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn render_once(hf: &Path, dir: &Path, output: &Path) -> Result<Sample> {
    let cpu_before = children_cpu();
    let started = Instant::now();
    let mut child = Command::new(hf)
        .arg("render")
        .arg(dir)
        .arg("-o")
        .arg(output)
        .arg("--json")
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start hf")?;
    let pid = child.id();
    let mut peak = 0u64;
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        peak = peak.max(tree_rss_bytes(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output()?;
    let wall = started.elapsed();
    if !output.status.success() {
        bail!("hf render {} failed", dir.display());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let finished: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "finished")
        .context("hf printed no finished event")?;
    let result = &finished["result"];
    Ok(Sample {
        frames: result["frames"].as_u64().unwrap_or(0),
        video_seconds: result["duration_seconds"].as_f64().unwrap_or(0.0),
        wall,
        cpu: children_cpu() - cpu_before,
        peak_rss_bytes: peak,
    })
}

/// Resident memory of `pid` and all its descendants, from /proc.
fn tree_rss_bytes(pid: u32) -> u64 {
    let mut parents: Vec<(u32, u32, u64)> = Vec::new();
    let page = 4096u64;
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                continue;
            };
            let fields: Vec<&str> = after.split_whitespace().collect();
            let ppid = fields.get(1).and_then(|f| f.parse().ok()).unwrap_or(0);
            let rss = fields
                .get(21)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
                * page;
            parents.push((p, ppid, rss));
        }
    }
    let mut tree = vec![pid];
    let mut total = 0;
    let mut i = 0;
    while i < tree.len() {
        let current = tree[i];
        for &(p, ppid, rss) in &parents {
            if p == current {
                total += rss;
            }
            if ppid == current {
                tree.push(p);
            }
        }
        i += 1;
    }
    total
}
