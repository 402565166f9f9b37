//! Helpers shared by the CLI tests: run `hf` with a private TMPDIR, check failures end clean.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Run `hf` with a private TMPDIR so its work dir (and Chrome's profile) can be traced.
pub fn hf(tmp: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hf"))
        .args(args)
        .env("TMPDIR", tmp)
        .env_remove("HF_BROWSER_PATH")
        .current_dir(tmp)
        .output()
        .expect("hf runs")
}

/// `hf render DIR -o OUTPUT` with a private TMPDIR `tmp`.
pub fn render_to(tmp: &Path, dir: &Path, output: &Path) -> Output {
    hf(
        tmp,
        &[
            "render",
            dir.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ],
    )
}

/// No process still mentions `tmp` on its command line (Chrome's --user-data-dir lives there).
pub fn assert_no_process_mentions(tmp: &Path) {
    let needle = tmp.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(
                !cmdline.contains(&needle),
                "leaked process {:?}: {cmdline}",
                entry.file_name()
            );
        }
    }
}

/// The command failed with `code`, said `message`, wrote nothing at `output`, left no Chrome and
/// no work dir behind.
#[track_caller]
pub fn assert_failed(out: &Output, tmp: &Path, output: &Path, code: &str, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("error[{code}]")),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains(message),
        "stderr does not contain {message:?}: {stderr}"
    );
    assert!(!output.exists(), "{} was written", output.display());
    assert_no_process_mentions(tmp);
    let leftovers: Vec<_> = std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("hf-render-") || n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

/// The GSAP build vendored for the fixtures.
pub fn vendored_gsap() -> PathBuf {
    workspace().join("fixtures/gsap-move/src/gsap.min.js")
}

/// [`project`] with GSAP beside `index.html` as `gsap.min.js`.
pub fn project_with_gsap(tmp: &Path, index: &str) -> PathBuf {
    let dir = project(tmp, index);
    std::fs::copy(vendored_gsap(), dir.join("gsap.min.js")).unwrap();
    dir
}

pub fn project(tmp: &Path, index: &str) -> PathBuf {
    let dir = tmp.join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), index).unwrap();
    dir
}

/// Render a project whose index.html is `index` and assert it fails with `code` and `message`.
pub fn assert_project_fails(index: &str, code: &str, message: &str) {
    assert_project_fails_with(index, &[], code, message);
}

/// [`assert_project_fails`] with extra command-line arguments.
pub fn assert_project_fails_with(index: &str, extra: &[&str], code: &str, message: &str) {
    let (out, tmp) = render_project(index, &[], extra);
    assert_failed(&out, tmp.path(), &tmp.path().join("out.mp4"), code, message);
}

/// Render a fresh project whose `index.html` is `index` (plus `files`) into `out.mp4` beside
/// it, with `extra` flags; the command's output and the temp dir holding both.
pub fn render_project(
    index: &str,
    files: &[(&str, &[u8])],
    extra: &[&str],
) -> (Output, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(tmp.path(), index);
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let output = tmp.path().join("out.mp4");
    let mut args = vec![
        "render",
        dir.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = hf(tmp.path(), &args);
    (out, tmp)
}
