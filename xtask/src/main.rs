//! `cargo xtask <task>`: the project's own commands.
//!
//! - `test`: formatting, clippy (`-D warnings`) and the whole test suite: what CI runs.
//! - `bench [--runs N]`: render the benchmark compositions with a release `hf` and report median
//!   frames/s, realtime factor, CPU seconds per frame and peak RSS (hf plus its Chrome).
//! - `regress [NAME...] [--update] [--workers N] [--release]`: render `fixtures/` and compare
//!   each with its PSNR baseline (see `regress.rs`).

mod regress;

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
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
        Some("regress") => regress::regress(&root, &args[1..]),
        _ => {
            eprintln!("usage: cargo xtask test | bench [--runs N] [--workers 1,2,3,auto] | regress [NAME...] [--update] [--workers N] [--release]");
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
    run(tests, "cargo test")?;
    eprintln!("xtask: regress");
    regress::regress(&workspace_root(), &["--prebuilt".to_string()])
}

/// Build `hf` (debug, or release) and return the binary's path.
fn build_hf(release: bool) -> Result<PathBuf> {
    let mut build = cargo();
    build.args(["build", "-p", "hf-cli"]);
    if release {
        build.arg("--release");
    }
    run(build, "cargo build -p hf-cli")?;
    Ok(hf_path(release))
}

/// Where cargo puts the `hf` binary of the debug or release profile.
fn hf_path(release: bool) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target
        .join(if release { "release" } else { "debug" })
        .join("hf")
}

/// One benchmark composition.
struct Case {
    name: &'static str,
    dir: &'static str,
}

const CASES: [Case; 4] = [
    Case {
        name: "gsap-title-box 1080p 10s",
        dir: "bench/gsap-title-box",
    },
    Case {
        name: "css-heavy 1080p 10s",
        dir: "bench/css-heavy",
    },
    Case {
        name: "three-videos 1080p 10s",
        dir: "bench/three-videos",
    },
    Case {
        name: "three-images 1080p 10s",
        dir: "bench/three-images",
    },
];

/// Sources of the three-videos benchmark (1080p30, 10 s) as lavfi inputs.
const BENCH_VIDEOS: [(&str, &str); 3] = [
    ("a", "testsrc2=s=1920x1080:r=30:d=10"),
    ("b", "testsrc2=s=1920x1080:r=30:d=10,hue=h=t*36"),
    ("c", "testsrc=s=1920x1080:r=30:d=10"),
];

/// Generate the benchmark media (once): three 1080p H.264 videos and a still of each. Made
/// with the ffmpeg CLI because it is test material, not part of a render.
fn prepare_bench_media() -> Result<()> {
    let videos = Path::new("bench/three-videos/media");
    let images = Path::new("bench/three-images/media");
    std::fs::create_dir_all(videos)?;
    std::fs::create_dir_all(images)?;
    for (name, source) in BENCH_VIDEOS {
        let video = videos.join(format!("{name}.mp4"));
        if !video.exists() {
            let partial = videos.join(format!("{name}.partial.mp4"));
            let mut command = Command::new("ffmpeg");
            command
                .args(["-v", "error", "-y", "-f", "lavfi", "-i", source])
                .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"])
                .args(["-pix_fmt", "yuv420p", "-g", "60"])
                .arg(&partial);
            run(command, "generate a benchmark video")?;
            std::fs::rename(&partial, &video)?;
        }
        let image = images.join(format!("{name}.jpg"));
        if !image.exists() {
            let mut command = Command::new("ffmpeg");
            command
                .args(["-v", "error", "-y", "-ss", "5", "-i"])
                .arg(&video)
                .args(["-frames:v", "1", "-q:v", "2"])
                .arg(&image);
            run(command, "generate a benchmark still")?;
        }
    }
    Ok(())
}

/// Measurements of one render.
struct Sample {
    frames: u64,
    /// Workers the render used.
    workers: u64,
    /// Per-stage timings reported by hf (`RenderResult::timings`).
    timings: serde_json::Value,
    video_seconds: f64,
    wall: Duration,
    cpu: Duration,
    peak_rss_bytes: u64,
}

fn bench(args: &[String]) -> Result<()> {
    let mut runs = 3usize;
    let mut worker_counts = vec!["auto".to_string()];
    let mut only: Vec<String> = Vec::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().context("flags take a value")?;
        match flag.as_str() {
            "--runs" => runs = value.parse().context("--runs takes a number")?,
            "--workers" => worker_counts = value.split(',').map(str::to_string).collect(),
            "--case" => only.push(value.clone()),
            _ => bail!("usage: cargo xtask bench [--runs N] [--workers 1,2,3,auto] [--case NAME-PREFIX]..."),
        }
    }
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| c.name.starts_with(o.as_str())))
        .collect();
    if cases.is_empty() {
        bail!("no benchmark case matches {only:?}");
    }
    let hf = build_hf(true)?;
    let hf = hf.as_path();
    let out_dir = Path::new("target/bench");
    std::fs::create_dir_all(out_dir)?;
    prepare_bench_media()?;
    let mut medians: HashMap<(String, String), f64> = HashMap::new();

    let mut report = Vec::new();
    println!(
        "{:<26} {:>7} {:>7} {:>8} {:>9} {:>9} {:>11} {:>9}  where the time goes (s, median run)",
        "composition",
        "workers",
        "frames",
        "wall s",
        "frames/s",
        "realtime",
        "cpu s/frame",
        "peak RSS"
    );
    for case in cases {
        for workers in &worker_counts {
            let mut samples = Vec::new();
            for _ in 0..runs {
                samples.push(render_once(
                    hf,
                    Path::new(case.dir),
                    &out_dir.join("bench.mp4"),
                    workers,
                )?);
            }
            samples.sort_by_key(|s| s.wall);
            let median = &samples[samples.len() / 2];
            let fps = median.frames as f64 / median.wall.as_secs_f64();
            let realtime = median.video_seconds / median.wall.as_secs_f64();
            let cpu_per_frame = median.cpu.as_secs_f64() / median.frames as f64;
            medians.insert((case.dir.to_string(), workers.clone()), fps);
            let peak = samples.iter().map(|s| s.peak_rss_bytes).max().unwrap_or(0);
            let seconds = |name: &str| {
                let t = &median.timings[name];
                t["secs"].as_f64().unwrap_or(0.0) + t["nanos"].as_f64().unwrap_or(0.0) / 1e9
            };
            let breakdown = format!(
                "probe {:.2}, extract {:.2}, capture loop {:.2} (of it encoder wait {:.2}), encoder threads: convert {:.2} + x264 {:.2}, assemble {:.2}",
                seconds("probe"),
                seconds("extract"),
                seconds("capture"),
                seconds("encoder_wait"),
                seconds("convert"),
                seconds("encode"),
                seconds("assemble")
            );
            println!(
                "{:<26} {:>7} {:>7} {:>8.2} {:>9.1} {:>8.2}x {:>11.4} {:>7.0}MB  {breakdown}",
                case.name,
                format!("{workers}={}", median.workers),
                median.frames,
                median.wall.as_secs_f64(),
                fps,
                realtime,
                cpu_per_frame,
                peak as f64 / 1e6
            );
            report.push(serde_json::json!({
                "composition": case.name,
                "workers_requested": workers,
                "workers": median.workers,
                "runs": runs,
                "frames": median.frames,
                "median_wall_seconds": median.wall.as_secs_f64(),
                "median_frames_per_second": fps,
                "realtime_factor": realtime,
                "cpu_seconds_per_frame": cpu_per_frame,
                "peak_rss_bytes": peak,
                "wall_seconds": samples.iter().map(|s| s.wall.as_secs_f64()).collect::<Vec<_>>(),
                "timings_of_median_run": median.timings,
            }));
        }
    }
    for workers in &worker_counts {
        let key = |dir: &str| (dir.to_string(), workers.clone());
        if let (Some(videos), Some(images)) = (
            medians.get(&key("bench/three-videos")),
            medians.get(&key("bench/three-images")),
        ) {
            println!(
                "three videos reach {:.0}% of the frames/s of three images (workers {workers}; goal: at least 60%)",
                100.0 * videos / images
            );
        }
    }
    let path = out_dir.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!("results written to {}", path.display());
    Ok(())
}

fn render_once(hf: &Path, dir: &Path, output: &Path, workers: &str) -> Result<Sample> {
    // Every run starts cold: video frames are extracted, not found in a cache.
    let cache = Path::new("target/bench/cache");
    if cache.exists() {
        std::fs::remove_dir_all(cache)?;
    }
    let started = Instant::now();
    let mut child = Command::new(hf)
        .env("HF_CACHE_DIR", cache)
        .arg("render")
        .arg(dir)
        .arg("-o")
        .arg(output)
        .arg("--json")
        .args(["--workers", workers])
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start hf")?;
    let pid = child.id();
    let mut peak = 0u64;
    // CPU ticks per process of the tree, as last seen: Chrome's helpers are reaped by init when
    // the browser dies, so getrusage(RUSAGE_CHILDREN) would not count them.
    let mut cpu_ticks: HashMap<u32, u64> = HashMap::new();
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        let tree = process_tree(pid);
        peak = peak.max(tree.iter().map(|p| p.rss_bytes).sum());
        for process in tree {
            cpu_ticks.insert(process.pid, process.cpu_ticks);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu = Duration::from_secs_f64(cpu_ticks.values().sum::<u64>() as f64 / ticks_per_second);
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
        workers: result["workers"].as_u64().unwrap_or(0),
        timings: result["timings"].clone(),
        video_seconds: result["duration_seconds"].as_f64().unwrap_or(0.0),
        wall,
        cpu,
        peak_rss_bytes: peak,
    })
}

/// One process of the render's tree, from /proc.
struct ProcessSample {
    pid: u32,
    rss_bytes: u64,
    cpu_ticks: u64,
}

/// `pid` and all its descendants with their resident memory and CPU time so far.
fn process_tree(pid: u32) -> Vec<ProcessSample> {
    let page = 4096u64;
    let mut all: Vec<(u32, u32, ProcessSample)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // Fields after the parenthesised command name, starting with the state (field 3).
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                continue;
            };
            let fields: Vec<u64> = after
                .split_whitespace()
                .skip(1)
                .map(|f| f.parse().unwrap_or(0))
                .collect();
            let field = |n: usize| fields.get(n - 4).copied().unwrap_or(0);
            let sample = ProcessSample {
                pid: p,
                rss_bytes: field(24) * page,
                cpu_ticks: field(14) + field(15),
            };
            all.push((p, field(4) as u32, sample));
        }
    }
    let mut members = vec![pid];
    let mut i = 0;
    while i < members.len() {
        let current = members[i];
        members.extend(
            all.iter()
                .filter(|(_, ppid, _)| *ppid == current)
                .map(|(p, _, _)| *p),
        );
        i += 1;
    }
    all.into_iter()
        .filter(|(p, _, _)| members.contains(p))
        .map(|(_, _, sample)| sample)
        .collect()
}
