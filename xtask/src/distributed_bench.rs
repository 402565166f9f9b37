//! `cargo xtask bench --distributed 2,4,8`: the 300-frame 1080p benchmark through hf-ray on a
//! local Ray cluster (one task slot more than this machine's cores) with each chunk count,
//! against `hf render` with the same flags: plan time, each chunk's fixed cost (start to first
//! captured frame), assemble time and total wall time.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The benchmark composition and the flags both sides render it with (segments of one second,
/// so 8 chunks are possible).
const CASE: &str = "bench/gsap-title-box";
const FLAGS: [&str; 4] = ["-q", "standard", "--segment-frames", "30"];

/// A Ray head on loopback with one task slot more than the cores (as `hf render` runs one
/// browser more than the cores: capture waits on the browser about half the time), stopped
/// when dropped.
struct LocalRay {
    ray: PathBuf,
    address: String,
}

impl LocalRay {
    fn start(venv: &Path) -> Result<Self> {
        let ray = venv.join("bin/ray");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let slots = std::thread::available_parallelism().map_or(1, |n| n.get()) + 1;
        let started = Command::new(&ray)
            .args([
                "start",
                "--head",
                "--disable-usage-stats",
                "--include-dashboard=false",
            ])
            .args([
                "--node-ip-address=127.0.0.1",
                "--object-store-memory=200000000",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--num-cpus={slots}"))
            .env("RAY_USAGE_STATS_ENABLED", "0")
            .output()
            .context("cannot run ray start")?;
        if !started.status.success() {
            bail!(
                "ray start failed: {}",
                String::from_utf8_lossy(&started.stderr)
            );
        }
        Ok(LocalRay {
            ray,
            address: format!("127.0.0.1:{port}"),
        })
    }
}

impl Drop for LocalRay {
    fn drop(&mut self) {
        let _ = Command::new(&self.ray).args(["stop", "--force"]).output();
    }
}

/// Seconds `command` took; an error with its stderr when it failed. Returns its stdout too.
fn timed(command: &mut Command) -> Result<(f64, String)> {
    let started = Instant::now();
    let out = command.output().context("cannot run the renderer")?;
    if !out.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// Median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Run the distributed benchmark for each of `chunk_counts`, `runs` times each.
pub fn bench(hf: &Path, chunk_counts: &[usize], runs: usize) -> Result<()> {
    let venv = crate::workspace_root().join(".venv");
    if !venv.join("bin/hf-ray").is_file() {
        bail!("{} has no hf-ray: run ./setup.sh", venv.display());
    }
    let out = crate::workspace_root().join("target/bench");
    std::fs::create_dir_all(&out)?;
    let reference = out.join("distributed-reference.mp4");
    let mut render = Command::new(hf);
    render
        .arg("render")
        .arg(CASE)
        .arg("-o")
        .arg(&reference)
        .arg("--quiet")
        .args(FLAGS);
    let walls = (0..runs)
        .map(|_| timed(&mut render).map(|t| t.0))
        .collect::<Result<Vec<_>>>()?;
    let local = median(walls);
    println!(
        "{CASE} (300 frames 1080p, {}): hf render {local:.2} s (median of {runs})",
        FLAGS.join(" ")
    );
    println!("chunks  plan s  chunk start-to-first-frame s (median / max)  assemble s  total s  vs hf render  same bytes");
    let cluster = LocalRay::start(&venv)?;
    for &chunks in chunk_counts {
        let output = out.join(format!("distributed-{chunks}.mp4"));
        let reports = (0..runs)
            .map(|_| run_hf_ray(&venv, hf, &cluster.address, chunks, &output))
            .collect::<Result<Vec<_>>>()?;
        let report = &reports[reports.len() / 2];
        let same = std::fs::read(&output)? == std::fs::read(&reference)?;
        let first: Vec<f64> = report["chunks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["first_frame_seconds"].as_f64())
            .collect();
        let total = median(
            reports
                .iter()
                .map(|r| r["total_seconds"].as_f64().unwrap_or(0.0))
                .collect(),
        );
        println!(
            "{chunks:>6}  {:>6.2}  {:>20.2} / {:<22.2}  {:>10.2}  {total:>7.2}  {:>11.2}x  {same}",
            report["plan_seconds"].as_f64().unwrap_or(0.0),
            median(first.clone()),
            first.iter().copied().fold(0.0, f64::max),
            report["assemble_seconds"].as_f64().unwrap_or(0.0),
            total / local,
        );
    }
    Ok(())
}

/// One hf-ray render; its JSON report.
fn run_hf_ray(
    venv: &Path,
    hf: &Path,
    address: &str,
    chunks: usize,
    output: &Path,
) -> Result<serde_json::Value> {
    let mut command = Command::new(venv.join("bin/hf-ray"));
    command
        .arg("render")
        .arg(CASE)
        .arg("-o")
        .arg(output)
        .args([
            "--chunks",
            &chunks.to_string(),
            "--report",
            "--address",
            address,
        ])
        .arg("--hf")
        .arg(hf)
        .args(FLAGS)
        .env("RAY_USAGE_STATS_ENABLED", "0");
    let (_, stdout) = timed(&mut command)?;
    serde_json::from_str(stdout.trim()).context("hf-ray printed no report")
}
