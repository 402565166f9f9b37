//! `cargo xtask soak [--renders N]`: hf under repetition and load, with its numbers reported
//! (not part of the test run).
//!
//! 1. N sequential renders of a small composition in this process through the embedding API:
//!    resident memory, open file descriptors and threads after the first and the last, and
//!    after each render no Chrome process and no work dir left.
//! 2. N sequential `hf render` runs of it: the same leftovers checks.
//! 3. Four different compositions rendered at once: each byte-identical to its solo render.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Small compositions (640x360, 1 s): a GSAP move, a CSS animation, a canvas, a clip window.
fn compositions() -> [(&'static str, String); 4] {
    let page = |body: &str| {
        format!(
            r#"<!doctype html><html><head><style>body{{margin:0}} .b{{position:absolute;width:80px;height:80px;background:#e63946}}</style></head><body>
<div id="root" data-composition-id="main" data-width="640" data-height="360" data-duration="1" data-no-timeline style="background:#1d3557">{body}</div></body></html>"#
        )
    };
    [
        (
            "css",
            page(
                r##"<style>@keyframes m{to{transform:translateX(500px)}}</style><div class="b" style="animation:m 1s linear"></div>"##,
            ),
        ),
        (
            "waapi",
            page(
                r#"<div id="w" class="b"></div><script>document.getElementById("w").animate([{transform:"none"},{transform:"translateY(250px)"}],{duration:1000});</script>"#,
            ),
        ),
        (
            "clips",
            page(
                r#"<div class="b" data-start="0" data-duration="0.5"></div><div class="b" style="left:300px" data-start="0.5" data-duration="0.5"></div>"#,
            ),
        ),
        (
            "canvas",
            page(
                r##"<canvas id="c" width="640" height="360"></canvas><script>const x=document.getElementById("c").getContext("2d");function draw(t){x.clearRect(0,0,640,360);x.fillStyle="#f1faee";x.fillRect(t*0.5,100,60,60);requestAnimationFrame(draw);}requestAnimationFrame(draw);</script>"##,
            ),
        ),
    ]
}

/// `(VmRSS in kB, open fds, threads)` of this process.
fn process_stats() -> (u64, usize, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    (field("VmRSS:"), fds, field("Threads:"))
}

/// Chrome processes whose command line mentions `dir`.
fn chrome_processes(dir: &Path) -> usize {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                    let cmdline = String::from_utf8_lossy(&cmdline);
                    cmdline.contains(&needle) && cmdline.contains("--user-data-dir")
                })
                .count()
        })
        .unwrap_or(0)
}

/// Fail if a Chrome or a work dir of `scratch` is left.
fn check_leftovers(scratch: &Path, run: usize) -> Result<()> {
    let chrome = chrome_processes(scratch);
    let dirs: Vec<_> = std::fs::read_dir(scratch)?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("hf-render-"))
        .collect();
    if chrome > 0 || !dirs.is_empty() {
        bail!(
            "after render {run}: {chrome} Chrome process(es) and {} work dir(s) left",
            dirs.len()
        );
    }
    Ok(())
}

pub fn soak(args: &[String]) -> Result<()> {
    let renders: usize = match args {
        [flag, n] if flag == "--renders" => n.parse().context("--renders N")?,
        [] => 100,
        _ => bail!("usage: cargo xtask soak [--renders N]"),
    };
    let root = std::path::absolute("target/soak")?;
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let scratch = root.join("tmp");
    std::fs::create_dir_all(&scratch)?;
    let mut projects = Vec::new();
    for (name, html) in compositions() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("index.html"), html)?;
        projects.push((name, dir));
    }
    in_process(&projects[0].1, &scratch, renders)?;
    let hf = crate::build_hf(true)?;
    cli(&hf, &projects[0].1, &scratch, renders)?;
    concurrent(&hf, &projects, &scratch)?;
    std::fs::remove_dir_all(&root)?;
    Ok(())
}

fn in_process(project: &Path, scratch: &Path, renders: usize) -> Result<()> {
    let mut first = None;
    let started = Instant::now();
    for run in 1..=renders {
        let mut job = hf_engine::RenderJob::new(project).output(scratch.join("api.mp4"));
        job.work_dir_parent = Some(scratch.to_path_buf());
        hf_engine::render(job, |_| {})?;
        check_leftovers(scratch, run)?;
        if run == 1 {
            first = Some(process_stats());
        }
    }
    let (rss0, fds0, threads0) = first.unwrap_or_default();
    let (rss, fds, threads) = process_stats();
    println!(
        "soak api: {renders} renders in {:.1} s; after the first: RSS {} MB, {fds0} fds, {threads0} threads; after the last: RSS {} MB, {fds} fds, {threads} threads; no Chrome or work dir left after any",
        started.elapsed().as_secs_f64(),
        rss0 / 1024,
        rss / 1024
    );
    if fds > fds0 + 8 || threads > threads0 + 8 {
        bail!("file descriptors or threads grew: {fds0} -> {fds} fds, {threads0} -> {threads} threads");
    }
    Ok(())
}

fn cli(hf: &Path, project: &Path, scratch: &Path, renders: usize) -> Result<()> {
    let started = Instant::now();
    for run in 1..=renders {
        let status = Command::new(hf)
            .arg("render")
            .arg(project)
            .arg("-o")
            .arg(scratch.join("cli.mp4"))
            .arg("--quiet")
            .env("TMPDIR", scratch)
            .status()?;
        if !status.success() {
            bail!("hf render {run} failed");
        }
        check_leftovers(scratch, run)?;
    }
    println!(
        "soak cli: {renders} `hf render` runs in {:.1} s; no Chrome or work dir left after any",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn concurrent(hf: &Path, projects: &[(&str, PathBuf)], scratch: &Path) -> Result<()> {
    let render = |dir: &Path, output: &Path| {
        Command::new(hf)
            .arg("render")
            .arg(dir)
            .arg("-o")
            .arg(output)
            .arg("--quiet")
            .env("TMPDIR", scratch)
            .spawn()
    };
    for (name, dir) in projects {
        if !render(dir, &scratch.join(format!("{name}-solo.mp4")))?
            .wait()?
            .success()
        {
            bail!("solo render of {name} failed");
        }
    }
    let started = Instant::now();
    let children: Vec<_> = projects
        .iter()
        .map(|(name, dir)| render(dir, &scratch.join(format!("{name}-together.mp4"))))
        .collect::<std::io::Result<_>>()?;
    for (child, (name, _)) in children.into_iter().zip(projects) {
        if !child.wait_with_output()?.status.success() {
            bail!("{name} failed when rendered with the others");
        }
    }
    for (name, _) in projects {
        let solo = std::fs::read(scratch.join(format!("{name}-solo.mp4")))?;
        let together = std::fs::read(scratch.join(format!("{name}-together.mp4")))?;
        if solo != together {
            bail!("{name} differs when rendered alongside the others");
        }
    }
    check_leftovers(scratch, 0)?;
    println!(
        "soak concurrent: {} compositions at once in {:.1} s, each byte-identical to its solo render",
        projects.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
