//! Bad input and faults, as a user meets them: each ends with a clear `error[CODE]` (or a
//! warning where the render can go on), in bounded time, with nothing half-written and no
//! Chrome left.

mod common;

use common::*;

use std::time::{Duration, Instant};

const ROOT: &str = r#"<div id="a" data-composition-id="a" data-width="64" data-height="64" data-duration="0.2" data-no-timeline>"#;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_index_that_is_not_text_is_invalid_html() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        [0x89u8, b'P', b'N', b'G', 0xff, 0xfe, 0],
    )
    .unwrap();
    let output = tmp.path().join("out.mp4");
    let out = render_to(tmp.path(), &dir, &output);
    assert_failed(
        &out,
        tmp.path(),
        &output,
        "INVALID_HTML",
        "index.html could not be parsed: it is not UTF-8 text",
    );
}

#[test]
fn a_negative_or_nan_duration_names_the_attribute_and_rates_above_240_are_refused() {
    for bad in ["-1", "NaN", "soon"] {
        assert_project_fails(
            &format!(
                r#"<div data-composition-id="a" data-width="64" data-height="64" data-duration="{bad}"></div>"#
            ),
            "INVALID_ATTRIBUTE",
            &format!(
                "element \"a\" has data-duration=\"{bad}\"; expected a number of seconds above 0"
            ),
        );
    }
    let (out, _tmp) = render_project(&format!("{ROOT}</div>"), &[], &["-f", "1000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid frame rate `1000`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn two_root_compositions_render_the_first_with_a_warning() {
    let (out, _tmp) = render_project(
        &format!(
            r#"{ROOT}</div><div data-composition-id="b" data-width="64" data-height="64" data-duration="1"></div>"#
        ),
        &[],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(r#"has 2 root compositions (a, b); rendering "a""#),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rejections_and_runaway_memory_fail_with_their_cause() {
    assert_project_fails(
        &format!(r#"{ROOT}</div><script>Promise.reject(new Error("never handled"));</script>"#),
        "PAGE_SCRIPT_ERROR",
        "never handled",
    );
    // The crash is reported when it happens, not after the (here long) load timeout.
    assert_project_fails_with(
        &format!("{ROOT}</div><script>const a = []; while (true) a.push(new Array(1e6).fill(1.5));</script>"),
        &["--load-timeout", "120"],
        "PAGE_CRASHED",
        "the page's renderer crashed (Chrome ran out of memory",
    );
}

#[test]
fn a_huge_canvas_renders() {
    let (out, _tmp) = render_project(
        &format!(
            r#"{ROOT}<canvas id="c" width="20000" height="20000"></canvas></div>
<script>const x = document.getElementById("c").getContext("2d"); x.fillStyle = "red"; x.fillRect(0, 0, 20000, 20000);</script>"#
        ),
        &[],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn missing_images_and_fonts_warn_and_strict_refuses_them() {
    let page = format!(
        r#"<style>@font-face{{font-family:Mine;src:url(fonts/mine.woff2)}} p{{font-family:Mine}}</style>{ROOT}<p>hi</p><img src="missing.png"></div>"#
    );
    let (out, _tmp) = render_project(&page, &[], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("warning: <img src> in ")
            && text.contains("missing.png not found; the page renders without it"),
        "{text}"
    );
    assert!(
        text.contains("@font-face url()") && text.contains("fonts/mine.woff2 not found"),
        "{text}"
    );
    assert_project_fails_with(
        &page,
        &["--strict"],
        "STRICT",
        "not found; the page renders without it",
    );
}

#[test]
fn paths_above_the_project_are_refused_for_media_and_symlinks_inside_are_followed() {
    assert_project_fails(
        &format!(r#"{ROOT}<video src="../../etc/passwd"></video></div>"#),
        "INVALID_ATTRIBUTE",
        "has src=\"../../etc/passwd\"; expected a path inside the project folder (no ../ above it)",
    );
    let (out, _tmp) = render_project(&format!(r#"{ROOT}<img src="../up.png"></div>"#), &[], &[]);
    assert!(
        stderr(&out).contains("../up.png climbs above the project folder"),
        "{}",
        stderr(&out)
    );
    // A symlink inside the project to a file outside it is served (upstream's
    // render-symlinked-assets fixture relies on it).
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(
        tmp.path(),
        &format!(
            r#"{ROOT}</div><script src="lib.js"></script><script>if (!window.gsap) throw new Error("no gsap");</script>"#
        ),
    );
    std::os::unix::fs::symlink(vendored_gsap(), dir.join("lib.js")).unwrap();
    let output = tmp.path().join("out.mp4");
    let out = render_to(tmp.path(), &dir, &output);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_output_that_is_an_input_or_a_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let index = format!("{ROOT}</div>");
    let dir = project(tmp.path(), &index);
    let target = dir.join("index.html");
    let out = render_to(tmp.path(), &dir, &target);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error[OUTPUT_NOT_WRITABLE]")
            && stderr(&out).contains("it is a file of the project the render reads"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        index,
        "index.html is untouched"
    );
    let out = render_to(tmp.path(), &dir, tmp.path());
    assert!(
        stderr(&out).contains("it is a directory; choose another path with -o/--output"),
        "{}",
        stderr(&out)
    );
    assert_no_process_mentions(tmp.path());
}

#[test]
fn two_renders_to_one_output_leave_a_whole_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(
        tmp.path(),
        r#"<div data-composition-id="a" data-width="64" data-height="64" data-duration="1" data-no-timeline style="background:#f00"></div>"#,
    );
    let output = tmp.path().join("same.mp4");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_hf"))
            .args([
                "render",
                dir.to_str().unwrap(),
                "-o",
                output.to_str().unwrap(),
                "--quiet",
            ])
            .env("TMPDIR", tmp.path())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let info = hf_encode::inspect::probe_video(&output).unwrap();
    assert_eq!(info.frames, 30);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial") || n.starts_with("hf-render-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_stopped_browser_hits_the_frame_timeout() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let fixture = workspace().join("fixtures/gsap-move/src");
    let output = tmp.path().join("out.mp4");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hf"))
        .args([
            "render",
            fixture.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ])
        .args(["--json", "-f", "120", "-w", "1", "--frame-timeout", "2"])
        .env("TMPDIR", tmp.path())
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines
        .by_ref()
        .any(|l| l.unwrap().contains(r#""event":"frame""#)));
    // SIGSTOP every Chrome process of this render (not hf itself).
    let needle = tmp.path().to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if cmdline.contains(&needle) && cmdline.contains("--user-data-dir") {
            if let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() {
                // SAFETY: kill(2) of a process this test's render started.
                unsafe { libc::kill(pid, libc::SIGSTOP) };
            }
        }
    }
    let drain = std::thread::spawn(move || lines.count());
    let out = child.wait_with_output().unwrap();
    drain.join().unwrap();
    assert_failed(
        &out,
        tmp.path(),
        &output,
        "FRAME_TIMEOUT",
        "did not finish within 2.0 s",
    );
}

#[test]
fn a_huge_project_size_is_refused_before_anything_runs() {
    assert_project_fails(
        r#"<div data-composition-id="a" data-width="100000" data-height="64" data-duration="1"></div>"#,
        "INVALID_ATTRIBUTE",
        "data-width=\"100000\"; expected a whole number of pixels between 1 and 16384",
    );
}

/// Start a render of a page that never registers its timeline (hf waits `--timeline-timeout
/// 60` in the planning stage), send `signals` one second in, and return the exit code and the
/// time from the first signal to the exit.
fn signal_while_planning(signals: &[i32]) -> (Option<i32>, Duration, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(
        tmp.path(),
        r#"<div data-composition-id="waits" data-width="64" data-height="64" data-duration="1"></div>"#,
    );
    let output = tmp.path().join("out.mp4");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hf"))
        .args([
            "render",
            dir.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ])
        .args(["--timeline-timeout", "60"])
        .env("TMPDIR", tmp.path())
        .current_dir(tmp.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let sent = Instant::now();
    for signal in signals {
        // SAFETY: kill(2) of the child this test started.
        unsafe { libc::kill(child.id() as i32, *signal) };
    }
    let status = child.wait().unwrap();
    assert!(!output.exists());
    (status.code(), sent.elapsed(), tmp)
}

#[test]
fn sigterm_while_planning_stops_within_two_seconds() {
    let (code, took, tmp) = signal_while_planning(&[libc::SIGTERM]);
    assert_eq!(code, Some(143));
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_no_process_mentions(tmp.path());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "only the project is left: {left:?}");
}

#[test]
fn a_second_sigint_exits_at_once() {
    let (code, took, tmp) = signal_while_planning(&[libc::SIGINT, libc::SIGINT]);
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(2), "{took:?}");
    // The browser goes with hf (parent-death signal), whatever cleanup was skipped.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::panic::catch_unwind(|| assert_no_process_mentions(tmp.path())).is_err() {
        assert!(Instant::now() < deadline, "Chrome outlived hf");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_empty_audio_file_and_a_video_without_frames_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let zero = tmp.path().join("zero.mp4");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=red:s=64x64:d=1",
            "-frames:v",
            "0",
            "-c:v",
            "libx264",
        ],
        &zero,
    );
    let zero_bytes = std::fs::read(&zero).unwrap();
    let (out, _tmp) = render_project(
        &format!(r#"{ROOT}<audio src="empty.mp3" data-start="0"></audio></div>"#),
        &[("empty.mp3", b"")],
        &[],
    );
    assert!(
        stderr(&out).contains("error[MEDIA_INVALID]")
            && stderr(&out).contains("empty.mp3 cannot be read as media: the file is empty"),
        "{}",
        stderr(&out)
    );
    let (out, _tmp) = render_project(
        &format!(r#"{ROOT}<video src="zero.mp4" data-start="0"></video></div>"#),
        &[("zero.mp4", &zero_bytes)],
        &[],
    );
    assert!(
        stderr(&out).contains("error[MEDIA_INVALID]")
            && stderr(&out).contains("zero.mp4 has no audio or video stream"),
        "{}",
        stderr(&out)
    );
}

/// `ffmpeg` made `args` into `path`.
fn ffmpeg(args: &[&str], path: &std::path::Path) {
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "ffmpeg made {}", path.display());
}

/// The duration of each stream of `path`, as ffprobe prints them (`video=1.000000`).
fn stream_durations(path: &std::path::Path) -> Vec<String> {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type,duration"])
        .args(["-of", "compact=p=0:nk=1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.replace('|', "="))
        .collect()
}

#[test]
fn a_ten_hour_audio_file_is_read_only_where_a_short_composition_plays_it() {
    let tmp = tempfile::tempdir().unwrap();
    let long = tmp.path().join("long.flac");
    // Ten hours of 8 kHz silence: 7 MB, 288 million samples (1.7 billion at 48 kHz, ~14 GB
    // as float stereo: a render that decoded all of it would not finish in the bound below).
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=8000:cl=mono",
            "-t",
            "36000",
        ],
        &long,
    );
    let long_bytes = std::fs::read(&long).unwrap();
    for media_start in ["0", "35990"] {
        let started = Instant::now();
        let (out, dir) = render_project(
            &format!(
                r#"<div id="a" data-composition-id="a" data-width="64" data-height="64" data-duration="1" data-no-timeline><audio src="long.flac" data-start="0" data-media-start="{media_start}"></audio></div>"#
            ),
            &[("long.flac", &long_bytes)],
            &["-q", "draft"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(started.elapsed() < Duration::from_secs(60), "{media_start}");
        assert_eq!(
            stream_durations(&dir.path().join("out.mp4")),
            ["video=1.000000", "audio=1.000000"],
            "from {media_start} s"
        );
    }
}

/// A tmpfs of `size` mounted at `dir` until dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(mounted.success(), "mount a tmpfs at {}", dir.display());
        SmallDisk(dir.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_full_disk_at_the_output_or_in_the_work_dir_is_disk_full_with_nothing_left() {
    if !is_root() {
        return; // Mounting a small tmpfs needs root (as in CI).
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = project(
        tmp.path(),
        r#"<div id="a" data-composition-id="a" data-width="320" data-height="180" data-duration="1" data-no-timeline><canvas id="c" width="320" height="180"></canvas></div>
<script>
  // Noise: a frame that does not compress below the small disk's size.
  const context = document.getElementById("c").getContext("2d");
  const image = context.createImageData(320, 180);
  for (let i = 0; i < image.data.length; i++) image.data[i] = i % 4 == 3 ? 255 : (i * 7919) % 251;
  context.putImageData(image, 0, 0);
</script>"#,
    );
    let full_out = SmallDisk::mount(&tmp.path().join("out"), "8k");
    let output = full_out.0.join("out.mp4");
    let out = render_to(tmp.path(), &dir, &output);
    assert_failed(
        &out,
        tmp.path(),
        &output,
        "DISK_FULL",
        "No space left on device",
    );
    // Named: the encoder's write of the output (its temporary file beside it).
    assert!(stderr(&out).contains("/out/.out.mp4."), "{}", stderr(&out));
    assert!(stderr(&out).contains("fix: free space"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&full_out.0).unwrap().count(), 0);

    let full_work = SmallDisk::mount(&tmp.path().join("work"), "16k");
    let output = tmp.path().join("out.mp4");
    let out = render_to(&full_work.0, &dir, &output);
    assert_failed(
        &out,
        &full_work.0,
        &output,
        "DISK_FULL",
        "No space left on device",
    );
    assert_eq!(std::fs::read_dir(&full_work.0).unwrap().count(), 0);
}

#[test]
fn as_another_user_chrome_runs_in_its_sandbox_and_renders_the_same_bytes() {
    if !is_root() {
        let out = hf(std::path::Path::new("/tmp"), &["doctor", "--json"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("\"detail\":\"on: Chrome starts inside its sandbox"),
            "{stdout}"
        );
        return;
    }
    // A world-readable copy of hf and of the project, and a dir `nobody` may write.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let binary = tmp.path().join("hf");
    std::fs::copy(env!("CARGO_BIN_EXE_hf"), &binary).unwrap();
    let dir = project(
        tmp.path(),
        r##"<div id="a" data-composition-id="a" data-width="160" data-height="90" data-duration="0.5" data-no-timeline style="background:#36c"><p>sandboxed</p></div>"##,
    );
    let as_nobody = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary)
            .args(args)
            .env("TMPDIR", tmp.path())
            .env("HOME", tmp.path())
            .env_remove("HF_BROWSER_PATH")
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let doctor = as_nobody(&["doctor", "--json"]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains("\"detail\":\"on: Chrome starts inside its sandbox"),
        "{report}"
    );
    let sandboxed = tmp.path().join("sandboxed.mp4");
    let out = as_nobody(&[
        "render",
        dir.to_str().unwrap(),
        "-o",
        sandboxed.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let unsandboxed = tmp.path().join("root.mp4");
    let out = render_to(tmp.path(), &dir, &unsandboxed);
    assert!(out.status.success(), "{}", stderr(&out));
    let report =
        String::from_utf8_lossy(&hf(tmp.path(), &["doctor", "--json"]).stdout).into_owned();
    assert!(
        report.contains("\"detail\":\"off: hf runs as root"),
        "{report}"
    );
    assert_eq!(
        std::fs::read(&sandboxed).unwrap(),
        std::fs::read(&unsandboxed).unwrap()
    );
    assert_no_process_mentions(tmp.path());
}
