//! `hf lint` and `hf render --strict / --strict-all` as a user runs them: rule codes, files,
//! lines and fixes, exit codes, and a render that stops before anything is written.

mod common;

use common::*;

const ROOT: &str = r#"<script src="gsap.min.js"></script><div id="root" data-composition-id="main" data-width="160" data-height="90" data-duration="0.5" style="background:#208040">"#;

/// A project whose only problem is a warning (a tween of an element that is not there).
fn warning_only() -> String {
    format!(
        "{ROOT}<p id=\"t\">x</p></div>\n<script>\nconst tl = gsap.timeline({{ paused: true }});\ntl.set(\"#missing\", {{ x: 1 }});\nwindow.__timelines = {{ main: tl }};\n</script>"
    )
}

/// A project with an error (a timeline registered under the wrong id) and the warning.
fn with_error() -> String {
    warning_only().replace("{ main: tl }", "{}; window.__timelines[\"intro\"] = tl")
}

/// `hf render` of `index` (with GSAP) into `out.mp4` beside it, with `extra` flags.
fn render_with_gsap(index: &str, extra: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let gsap = std::fs::read(vendored_gsap()).unwrap();
    render_project(index, &[("gsap.min.js", &gsap)], extra)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn lint_prints_each_finding_with_its_fix_and_fails_on_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = project_with_gsap(tmp.path(), &with_error());
    let out = hf(tmp.path(), &["lint", dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "✗ index.html:5 timeline_id_mismatch: a timeline is registered as \"intro\", but no \
         composition has that data-composition-id (the project has: main); it never plays"
    );
    assert_eq!(
        lines[1],
        "    fix: register the timeline under its composition's data-composition-id"
    );
    assert!(
        lines[2]
            .starts_with("⚠ index.html:4 gsap_target_not_found: a GSAP tween targets \"#missing\""),
        "{text}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("1 error(s), 1 warning(s) in 1 file(s)")
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("error[LINT_FAILED]: 1 error(s) and 1 warning(s)"));

    let json = hf(tmp.path(), &["lint", dir.to_str().unwrap(), "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["errorCount"], 1);
    assert_eq!(report["warningCount"], 1);
    assert_eq!(report["findings"][0]["code"], "timeline_id_mismatch");
    assert_eq!(report["findings"][0]["severity"], "error");
    assert_eq!(report["findings"][0]["line"], 5);
    assert_eq!(report["findings"][1]["severity"], "warning");
}

#[test]
fn lint_passes_warnings_unless_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = project_with_gsap(tmp.path(), &warning_only());
    let out = hf(tmp.path(), &["lint", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).ends_with("0 error(s), 1 warning(s) in 1 file(s)\n"));
    let strict = hf(tmp.path(), &["lint", dir.to_str().unwrap(), "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr)
        .contains("0 error(s) and 1 warning(s) (--strict fails on warnings)"));
}

#[test]
fn render_strict_stops_on_lint_errors_and_strict_all_on_warnings() {
    let (out, tmp) = render_with_gsap(&with_error(), &["--strict"]);
    assert_failed(
        &out,
        tmp.path(),
        &tmp.path().join("out.mp4"),
        "STRICT",
        "lint found 1 problem(s) that --strict makes fatal (run `hf lint` for the fixes):\n  \
         index.html:5 timeline_id_mismatch: a timeline is registered as \"intro\"",
    );

    let (out, tmp) = render_with_gsap(&warning_only(), &["--strict-all"]);
    assert_failed(
        &out,
        tmp.path(),
        &tmp.path().join("out.mp4"),
        "STRICT",
        "that --strict-all makes fatal (run `hf lint` for the fixes):\n  index.html:4 \
         gsap_target_not_found",
    );

    // --strict lets the warning through (said on stderr) and renders.
    let (out, tmp) = render_with_gsap(&warning_only(), &["--strict", "-q", "draft"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("index.html:4 gsap_target_not_found"),
        "{stderr}"
    );
    assert!(tmp.path().join("out.mp4").is_file());
}
