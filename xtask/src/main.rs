//! `cargo xtask <task>`: the project's own commands.
//!
//! - `test`: formatting, clippy (`-D warnings`), library docs (`-D warnings`), the whole test
//!   suite and the regression fixtures: what CI runs.
//! - `bench [--runs N] [--workers ...] [--case ...] [--vs-hyperframes]`: render the benchmark
//!   compositions with a release `hf` (and upstream HyperFrames) and report throughput, CPU and
//!   memory (see `bench.rs`).
//! - `regress [NAME...] [--update] [--workers N] [--release] [--mode in-process|distributed]
//!   [--chunks K]`: render `fixtures/` (in-process, or through plan / render-chunk / assemble)
//!   and compare each with its PSNR baseline (see `regress.rs`).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a developer tool prints its report

mod bench;
mod conformance;
mod distributed_bench;
mod regress;
mod soak;
mod transition_parity;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("bench") => bench::bench(&args[1..]),
        Some("regress") => regress::regress(&root, &args[1..]),
        Some("conformance") => conformance::conformance(&args[1..]),
        Some("soak") => soak::soak(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask test | bench [--runs N] [--workers 1,2,3,auto] [--case NAME] [--vs-hyperframes] [--capture-only] [--no-skip] [--baseline-hf PATH] [--distributed 2,4,8] [--transition-parity] [--upstream-layered] | regress [NAME...] [--update] [--workers N] [--release] [--mode in-process|distributed] [--chunks K] | conformance --fixtures DIR [--only a,b] [--fresh] | soak [--renders N]");
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
    // Library docs: broken or private intra-doc links and invalid HTML fail.
    let mut doc = cargo();
    doc.args(["doc", "--no-deps", "--workspace", "--lib"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run(doc, "cargo doc")?;
    let mut tests = cargo();
    tests.args(["test", "--workspace"]);
    run(tests, "cargo test")?;
    eprintln!("xtask: regress");
    regress::regress(&workspace_root(), &["--prebuilt".to_string()])?;
    eprintln!("xtask: regress --mode distributed");
    let distributed = ["--prebuilt", "--mode", "distributed"].map(String::from);
    regress::regress(&workspace_root(), &distributed)
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
