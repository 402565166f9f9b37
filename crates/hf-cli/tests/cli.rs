//! `hf render` as a user runs it: exit codes, messages, nothing half-written, no Chrome left.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[test]
fn missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("out.mp4");
    let out = hf(
        tmp.path(),
        &["render", "no-such-dir", "-o", output.to_str().unwrap()],
    );
    assert_failed(
        &out,
        tmp.path(),
        &output,
        "PROJECT_NOT_FOUND",
        "project directory no-such-dir does not exist",
    );
}

#[test]
fn missing_index_html() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let output = tmp.path().join("out.mp4");
    let out = hf(
        tmp.path(),
        &["render", "empty", "-o", output.to_str().unwrap()],
    );
    assert_failed(
        &out,
        tmp.path(),
        &output,
        "INDEX_HTML_NOT_FOUND",
        "empty/index.html not found",
    );
}

#[test]
fn no_composition_root() {
    assert_project_fails(
        "<html><body><p>no root</p></body></html>",
        "NO_COMPOSITION_ROOT",
        "has no composition root",
    );
}

#[test]
fn zero_duration_with_nothing_to_infer_it_from() {
    assert_project_fails(
        r#"<html><body><div data-composition-id="still" data-width="64" data-height="64" data-no-timeline></div></body></html>"#,
        "COMPOSITION_ZERO_DURATION",
        "composition \"still\" in ",
    );
}

#[test]
fn browser_not_found_says_how_to_install_it() {
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("out.mp4");
    let fixture = workspace().join("fixtures/clip-windows/src");
    let out = hf(
        tmp.path(),
        &[
            "render",
            fixture.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--browser",
            "/nonexistent/chrome",
        ],
    );
    assert_failed(
        &out,
        tmp.path(),
        &output,
        "BROWSER_NOT_FOUND",
        "sudo apt-get install chromium-headless-shell",
    );
}

#[test]
fn unwritable_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = workspace().join("fixtures/clip-windows/src");
    // Even root cannot create directories under /proc.
    let output = Path::new("/proc/hf-test/out.mp4");
    let out = render_to(tmp.path(), &fixture, output);
    assert_failed(
        &out,
        tmp.path(),
        output,
        "OUTPUT_NOT_WRITABLE",
        "cannot write the output /proc/hf-test/out.mp4",
    );
}

#[test]
fn a_script_error_while_loading_is_quoted() {
    assert_project_fails(
        r#"<html><body><div data-composition-id="boom" data-width="64" data-height="64" data-duration="1"></div>
<script>throw new Error("kaboom while loading");</script></body></html>"#,
        "PAGE_SCRIPT_ERROR",
        "Error: kaboom while loading",
    );
}

#[test]
fn dialogs_popups_and_closing_at_load_fail_naming_the_call() {
    for (call, said) in [
        (
            r#"alert("hi")"#,
            r#"window.alert("hi") was called; a composition cannot show dialogs while it renders: remove the call"#,
        ),
        ("print()", "window.print() was called"),
        (
            r#"window.open("https://example.com")"#,
            "a composition cannot open windows",
        ),
        ("window.close()", "a composition cannot close its window"),
    ] {
        let page = format!(
            r#"<html><body><div data-composition-id="d" data-width="64" data-height="64" data-duration="1"></div><script>{call};</script></body></html>"#
        );
        assert_project_fails(&page, "PAGE_SCRIPT_ERROR", said);
    }
}

#[test]
fn navigating_away_or_looping_forever_at_load_is_named_quickly() {
    let started = std::time::Instant::now();
    assert_project_fails(
        r#"<html><body><div data-composition-id="d" data-width="64" data-height="64" data-duration="1"></div><script>location.href = "about:blank";</script></body></html>"#,
        "PAGE_NAVIGATED_AWAY",
        "navigated away to about:blank while loading",
    );
    assert!(started.elapsed().as_secs() < 15, "{:?}", started.elapsed());
    let started = std::time::Instant::now();
    assert_project_fails_with(
        r#"<html><body><div data-composition-id="d" data-width="64" data-height="64" data-duration="1"></div><script>while (true) {}</script></body></html>"#,
        &["--load-timeout", "3"],
        "PAGE_NOT_READY",
        "a script is most likely stuck at load (a loop such as while (true) {})",
    );
    assert!(started.elapsed().as_secs() < 15, "{:?}", started.elapsed());
}

#[test]
fn a_composition_longer_than_the_cap_is_refused_at_once() {
    let started = std::time::Instant::now();
    assert_project_fails(
        r#"<div data-composition-id="long" data-width="64" data-height="64" data-duration="172800"></div>"#,
        "COMPOSITION_TOO_LONG",
        "lasts 172800 s, above the 14400 s hf renders without being asked; check its data-duration, or pass --max-duration 172800 to render it anyway",
    );
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    // A duration only the page knows (a 3 s WAAPI animation here) is
    // checked once the page reports it.
    assert_project_fails_with(
        r#"<div data-composition-id="wa" data-width="64" data-height="64"><i id="x"></i></div>
<script>document.getElementById("x").animate([{opacity: 0}, {opacity: 1}], {duration: 3000});</script>"#,
        &["--max-duration", "2"],
        "COMPOSITION_TOO_LONG",
        "lasts 3 s, above the 2 s",
    );
}

#[test]
fn unknown_format_and_bad_variables_are_rejected_before_rendering() {
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("out.avi");
    let out = hf(
        tmp.path(),
        &[
            "render",
            ".",
            "--format",
            "avi",
            "-o",
            output.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("unknown format `avi`: use mp4, mov, webm, gif, png-sequence or hls"));

    let out = hf(tmp.path(), &["render", ".", "--codec", "av1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("unknown codec `av1`: use h264 or h265 (mp4), vp9 (webm) or prores (mov)"));

    let out = hf(
        tmp.path(),
        &["render", ".", "--crf", "20", "--video-bitrate", "5M"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));

    // A codec the container cannot hold: refused before the project is even read.
    let output = tmp.path().join("out.webm");
    let out = hf(
        tmp.path(),
        &[
            "render",
            ".",
            "--format",
            "webm",
            "--codec",
            "h264",
            "-o",
            output.to_str().unwrap(),
        ],
    );
    assert_failed(
        &out,
        tmp.path(),
        &output,
        "INVALID_OUTPUT_OPTIONS",
        "codec h264 is not valid for webm: webm takes vp9; use --format mp4 for h264",
    );

    let output = tmp.path().join("out.mp4");
    let out = hf(
        tmp.path(),
        &[
            "render",
            ".",
            "--variables",
            "[1,2]",
            "-o",
            output.to_str().unwrap(),
        ],
    );
    assert_failed(
        &out,
        tmp.path(),
        &output,
        "INVALID_VARIABLES",
        "--variables must be a JSON object",
    );
}

#[test]
fn a_successful_render_prints_one_summary_line() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = workspace().join("fixtures/clip-windows/src");
    let output = tmp.path().join("clips.mp4");
    let out = hf(
        tmp.path(),
        &[
            "render",
            fixture.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "-q",
            "draft",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("rendered 60 frames (2.00 s at 30 fps) in "),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("-> {}", output.display())),
        "{stdout}"
    );
    assert!(output.is_file());
    assert_no_process_mentions(tmp.path());
}

#[test]
fn a_seek_that_throws_mid_render_names_the_frame_and_time() {
    assert_project_fails(
        r#"<html><body><div data-composition-id="x" data-width="64" data-height="64" data-duration="1"></div>
<script>
window.__timelines = { x: { duration: () => 1, pause() {}, totalTime(t) { if (t >= 0.6) throw new Error("seek exploded"); } } };
</script></body></html>"#,
        "CAPTURE_FAILED",
        "seeking to frame 18 (t = 0.6000 s) failed: Error: seek exploded",
    );
}

#[test]
fn a_frame_stuck_in_a_busy_loop_hits_the_frame_timeout() {
    assert_project_fails_with(
        r#"<html><body><div data-composition-id="x" data-width="64" data-height="64" data-duration="1"></div>
<script>
window.__timelines = { x: { duration: () => 1, pause() {}, totalTime(t) { if (t >= 0.5) { for (;;) {} } } } };
</script></body></html>"#,
        &["--frame-timeout", "2"],
        "FRAME_TIMEOUT",
        "frame 15 (t = 0.5000 s) did not finish within 2.0 s",
    );
}

#[test]
fn hyperframes_protocol_timeout_in_milliseconds_is_the_frame_timeout() {
    assert_project_fails_with(
        r#"<html><body><div data-composition-id="x" data-width="64" data-height="64" data-duration="1"></div>
<script>
window.__timelines = { x: { duration: () => 1, pause() {}, totalTime(t) { if (t >= 0.5) { for (;;) {} } } } };
</script></body></html>"#,
        &[
            "--protocol-timeout",
            "1500",
            "--browser-timeout",
            "20",
            "--vp9-cpu-used",
            "-2",
        ],
        "FRAME_TIMEOUT",
        "frame 15 (t = 0.5000 s) did not finish within 1.5 s",
    );
}

/// Start a render, wait for its first frame event, send `signal`, and check the clean exit.
fn interrupt_render(signal: i32, expected_code: i32) {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let fixture = workspace().join("fixtures/gsap-move/src");
    let output = tmp.path().join("out.mp4");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hf"))
        .args([
            "render",
            fixture.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--json",
            "-f",
            "120",
        ])
        .env("TMPDIR", tmp.path())
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let saw_frame = lines
        .by_ref()
        .any(|line| line.unwrap().contains(r#""event":"frame""#));
    assert!(saw_frame, "the render never reported a frame");
    // SAFETY: kill(2) of the child this test started.
    unsafe { libc::kill(child.id() as i32, signal) };
    // Keep reading so the child never writes into a closed pipe.
    let drain = std::thread::spawn(move || lines.count());
    let out = child.wait_with_output().unwrap();
    drain.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(expected_code), "stderr: {stderr}");
    assert!(stderr.contains("error[CANCELLED]"), "stderr: {stderr}");
    assert!(!output.exists());
    assert_no_process_mentions(tmp.path());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[test]
fn sigkill_takes_chrome_down_with_hf_and_the_next_run_sweeps_the_work_dir() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let fixture = workspace().join("fixtures/gsap-move/src");
    let output = tmp.path().join("out.mp4");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hf"))
        .args([
            "render",
            fixture.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ])
        .args(["--json", "-f", "120", "-w", "2"])
        .env("TMPDIR", tmp.path())
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let saw_frame = lines
        .by_ref()
        .any(|line| line.unwrap().contains(r#""event":"frame""#));
    assert!(saw_frame, "the render never reported a frame");
    child.kill().unwrap();
    child.wait().unwrap();
    // The browsers get the parent-death signal; their helpers follow the browser.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::panic::catch_unwind(|| assert_no_process_mentions(tmp.path())).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "Chrome outlived hf by 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!output.exists());
    let stale = |tmp: &Path| {
        std::fs::read_dir(tmp)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("hf-render-"))
            .count()
    };
    assert_eq!(stale(tmp.path()), 1, "the killed render's work dir is left");
    // The next render in the same TMPDIR removes it (its owner is gone).
    let project = project(
        tmp.path(),
        r#"<div data-composition-id="r" data-width="64" data-height="64" data-duration="0.1"></div>"#,
    );
    let out = render_to(tmp.path(), &project, &tmp.path().join("next.mp4"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stale(tmp.path()), 0);
}

#[test]
fn sigint_stops_the_render_cleanly_with_exit_130() {
    interrupt_render(libc::SIGINT, 130);
}

#[test]
fn sigterm_stops_the_render_cleanly_with_exit_143() {
    interrupt_render(libc::SIGTERM, 143);
}

#[test]
fn cache_import_lets_a_page_that_names_a_cdn_render_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let url = "https://cdn.example.invalid/libs/gsap.min.js";
    let index = format!(
        r##"<script src="{url}"></script>
<div id="r" data-composition-id="r" data-width="64" data-height="36"><div id="b"></div></div>
<script>window.__timelines = {{ r: gsap.timeline({{ paused: true }}).to("#b", {{ x: 10, duration: 0.5 }}) }};</script>"##
    );
    let dir = project(tmp.path(), &index);
    let output = tmp.path().join("out.mp4");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hf"))
            .args(args)
            .env("TMPDIR", tmp.path())
            .env("HF_CACHE_DIR", &cache)
            .current_dir(tmp.path())
            .output()
            .expect("hf runs")
    };
    let render_args = [
        "render",
        dir.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "-q",
        "draft",
    ];
    let out = run(&render_args);
    assert_failed(
        &out,
        tmp.path(),
        &output,
        "REMOTE_ASSET_UNAVAILABLE",
        &format!("<script src> in index.html needs {url}"),
    );

    let gsap = vendored_gsap();
    let out = run(&["cache", "import", url, gsap.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with(&format!("cached {url} (72927 bytes) in ")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = run(&render_args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("rendered 15 frames (0.50 s at 30 fps)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_no_process_mentions(tmp.path());
}

/// `hf` with an extra environment variable.
fn hf_env(tmp: &Path, args: &[&str], var: (&str, &str)) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hf"))
        .args(args)
        .env("TMPDIR", tmp)
        .env_remove("HF_BROWSER_PATH")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .env(var.0, var.1)
        .current_dir(tmp)
        .output()
        .expect("hf runs")
}

#[track_caller]
fn assert_succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plan_render_chunk_and_assemble_write_what_render_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = workspace().join("fixtures/gsap-move/src");
    let fixture = fixture.to_str().unwrap();
    let grid = ["--segment-frames", "20", "-q", "draft"];
    let render = hf(
        tmp.path(),
        &[&["render", fixture, "-o", "render.mp4"], &grid[..]].concat(),
    );
    assert_succeeded(&render);
    let plan = hf(
        tmp.path(),
        &[&["plan", fixture, "-o", "plan", "--chunks", "2"], &grid[..]].concat(),
    );
    assert_succeeded(&plan);
    assert!(String::from_utf8_lossy(&plan.stdout).starts_with("planned 60 frames in 2 chunks"));
    // Chunk 0 from a Kubernetes Indexed Job's index, chunk 1 from the flag (which wins).
    let first = hf_env(
        tmp.path(),
        &["render-chunk", "plan", "-o", "c0", "--json"],
        ("JOB_COMPLETION_INDEX", "0"),
    );
    assert_succeeded(&first);
    let summary: serde_json::Value = String::from_utf8_lossy(&first.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "chunk-rendered")
        .expect("a chunk-rendered line");
    assert_eq!(summary["chunk"]["frames"]["count"], 20);
    let second = hf_env(
        tmp.path(),
        &["render-chunk", "plan", "--chunk", "1", "-o", "c1"],
        ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
    );
    assert_succeeded(&second);
    assert_succeeded(&hf(
        tmp.path(),
        &["assemble", "plan", "c1", "c0", "-o", "out.mp4"],
    ));
    assert_eq!(
        std::fs::read(tmp.path().join("out.mp4")).unwrap(),
        std::fs::read(tmp.path().join("render.mp4")).unwrap()
    );

    let missing = tmp.path().join("c9");
    let out = hf(tmp.path(), &["render-chunk", "plan", "-o", "c9"]);
    assert_failed(
        &out,
        tmp.path(),
        &missing,
        "CHUNK_INDEX_MISSING",
        "pass --chunk K",
    );
    let out = hf(
        tmp.path(),
        &["render-chunk", "plan", "--chunk", "2", "-o", "c9"],
    );
    assert_failed(
        &out,
        tmp.path(),
        &missing,
        "CHUNK_INDEX_OUT_OF_RANGE",
        "chunk 2 is out of range: the plan has chunks 0 to 1",
    );
    let out = hf(tmp.path(), &["assemble", "plan", "c0", "-o", "short.mp4"]);
    assert_failed(
        &out,
        tmp.path(),
        &tmp.path().join("short.mp4"),
        "CHUNK_MISSING",
        "chunk 1 (frames 20 to 59) is missing",
    );
}

/// A project whose background is the variable `bg`, and a batch of three rows: red, a number
/// where a colour is declared (that row fails), blue.
fn batch_project(tmp: &Path) -> (PathBuf, PathBuf) {
    let dir = project(
        tmp,
        r##"<!doctype html><html data-composition-variables='[{"id":"bg","type":"color","default":"#000000"}]'>
<head><style>body{margin:0}</style></head><body>
<div id="root" data-composition-id="main" data-width="160" data-height="90" data-duration="0.5" data-no-timeline></div>
<script>document.getElementById("root").style.background = window.__hfVariables.bg;</script>
</body></html>"##,
    );
    let rows = tmp.join("rows.json");
    std::fs::write(
        &rows,
        r##"{"rows":[{"bg":"#ff0000","name":"red"},{"bg":5,"name":"bad"},{"bg":"#0000ff","name":"blue"}]}"##,
    )
    .unwrap();
    (dir, rows)
}

fn centre_pixel(video: &Path) -> [u8; 3] {
    let frames = hf_encode::inspect::decode_rgb_frames(video, &[0]).unwrap();
    frames[0].pixel(80, 45)
}

#[test]
fn a_batch_renders_every_row_and_reports_the_failed_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rows) = batch_project(tmp.path());
    let template = tmp.path().join("out/{index}-{name}.mp4");
    let out = hf(
        tmp.path(),
        &[
            "render",
            dir.to_str().unwrap(),
            "--batch",
            rows.to_str().unwrap(),
            "-o",
            template.to_str().unwrap(),
            "-q",
            "draft",
            "--json",
            "--batch-concurrency",
            "2",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("error[BATCH_FAILED]: 1 of 3 rows failed"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one result document: {stdout}");
    let done: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(done["type"], "batch-complete");
    assert_eq!(
        (
            done["completed"].as_u64(),
            done["failed"].as_u64(),
            done["skipped"].as_u64()
        ),
        (Some(2), Some(1), Some(0))
    );
    assert_eq!(done["rows"][1]["status"], "failed");
    assert_eq!(done["rows"][1]["errorCode"], "INVALID_VARIABLES");
    assert_eq!(done["rows"][2]["status"], "completed");
    let out_dir = tmp.path().join("out");
    assert_eq!(
        done["manifestPath"],
        out_dir.join("manifest.json").to_str().unwrap()
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["rows"], done["rows"]);
    let red = centre_pixel(&out_dir.join("0-red.mp4"));
    let blue = centre_pixel(&out_dir.join("2-blue.mp4"));
    assert!(red[0] > 230 && red[2] < 25, "row 0 is red: {red:?}");
    assert!(blue[2] > 230 && blue[0] < 25, "row 2 is blue: {blue:?}");
    assert!(!out_dir.join("1-bad.mp4").exists());
    assert_no_process_mentions(tmp.path());
}

#[test]
fn a_fail_fast_batch_skips_rows_after_the_failure_and_collisions_render_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, rows) = batch_project(tmp.path());
    let template = tmp.path().join("ff/{index}.mp4");
    let out = hf(
        tmp.path(),
        &[
            "render",
            dir.to_str().unwrap(),
            "--batch",
            rows.to_str().unwrap(),
            "-o",
            template.to_str().unwrap(),
            "-q",
            "draft",
            "--batch-fail-fast",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    assert!(
        stdout.contains("batch: 1 completed, 1 failed, 1 skipped"),
        "{stdout}"
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("ff/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["rows"][2]["status"], "skipped");
    assert_eq!(
        manifest["rows"][2]["error"],
        "Skipped after --batch-fail-fast."
    );
    assert!(tmp.path().join("ff/0.mp4").is_file());
    assert!(!tmp.path().join("ff/2.mp4").exists());

    let same = tmp.path().join("same.mp4");
    let out = hf(
        tmp.path(),
        &[
            "render",
            dir.to_str().unwrap(),
            "--batch",
            rows.to_str().unwrap(),
            "-o",
            same.to_str().unwrap(),
        ],
    );
    assert_failed(
        &out,
        tmp.path(),
        &same,
        "INVALID_BATCH",
        "rows 0 and 1 both resolve to",
    );
}

#[test]
fn info_and_compositions_describe_a_project_without_a_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(
        tmp.path(),
        r##"<!doctype html><html data-composition-variables='[{"id":"title","type":"string","default":"Hi"}]'><head><style>h1{font-family:"Space Mono"}</style></head><body>
<div id="main" data-composition-id="main" data-width="320" data-height="180" data-duration="3" data-fps="24">
  <h1 id="t" data-start="0" data-duration="1" data-track-index="1">x</h1>
  <p id="u" data-start="t + 0.5" data-duration="1" data-track-index="2">y</p>
  <div id="intro" data-composition-src="intro.html" data-start="1" data-duration="2"></div>
</div></body></html>"##,
    );
    std::fs::write(
        dir.join("intro.html"),
        r#"<template><div data-composition-id="intro" data-width="320" data-height="180"><b data-start="0" data-duration="2">z</b></div></template>"#,
    )
    .unwrap();
    let out = hf(tmp.path(), &["info", dir.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(320), Some(180))
    );
    assert_eq!(
        (
            info["fps"].as_str(),
            info["duration"].as_f64(),
            info["frames"].as_u64()
        ),
        (Some("24"), Some(3.0), Some(72))
    );
    assert_eq!(info["tracks"], serde_json::json!({"0": 2, "1": 1, "2": 1}));
    assert_eq!(info["clips"][1]["start"], 1.5, "t + 0.5 resolved");
    assert_eq!(info["fonts"], serde_json::json!(["space-mono"]));
    assert_eq!(info["variables"][0]["id"], "title");
    assert_eq!(info["variables"][0]["default"], "Hi");
    assert_eq!(info["files"], 2);
    let out = hf(tmp.path(), &["compositions", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("◇  project — 2 composition(s)\n"),
        "{text}"
    );
    assert!(
        text.contains("intro") && text.contains("2.00 s") && text.contains("at 1 <- intro.html"),
        "{text}"
    );
    assert_no_process_mentions(tmp.path());
}

#[test]
fn doctor_checks_chrome_encoders_memory_disk_and_says_so_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let out = hf(tmp.path(), &["doctor", "--json"]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = report["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for name in [
        "Chrome", "libav", "Encoder", "Memory", "Disk", "Fonts", "Sandbox",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    let chrome = &checks[0];
    assert!(
        chrome["detail"].as_str().unwrap().starts_with("Chromium "),
        "{chrome}"
    );
    let encoders: Vec<&str> = checks
        .iter()
        .filter(|c| c["name"] == "Encoder")
        .map(|c| c["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        encoders,
        [
            "libx264 (h264)",
            "libx265 (h265)",
            "libvpx-vp9 (vp9)",
            "prores_ks (prores)"
        ]
    );
    assert_eq!(report["ok"], checks.iter().all(|c| c["ok"] == true));
    let text = hf(tmp.path(), &["doctor"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("✓ Disk")), "{stdout}");
}
