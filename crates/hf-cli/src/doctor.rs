//! `hf doctor`: is this machine ready to render? Chrome (and beginFrame), libav's encoders,
//! memory, disk space in the work dir, fonts, the browser sandbox; the fix for each failure.

use crate::report::print_line;
use clap::Args;
use hf_encode::VideoCodec;
use serde::Serialize;
use std::path::Path;

/// The flags of `hf doctor`.
#[derive(Args)]
pub(crate) struct DoctorArgs {
    /// Print one JSON document (`{ok, checks}`) and exit 0 whatever it says.
    #[arg(long)]
    json: bool,
}

/// One check.
#[derive(Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

const DEBIAN_PACKAGES: &str = "run ./setup.sh, or apt-get install";
const MIN_MEMORY_MB: u64 = 2048;
const MIN_DISK_MB: u64 = 1024;

/// Run every check and print them; exit 1 (text mode) when one failed.
pub(crate) fn run(args: &DoctorArgs) -> anyhow::Result<()> {
    let mut checks = vec![chrome()];
    checks.push(Check {
        name: "libav",
        ok: true,
        detail: hf_encode::libav_versions(),
        fix: None,
    });
    checks.extend(encoders());
    checks.push(memory());
    checks.push(disk(&std::env::temp_dir()));
    checks.push(Check {
        name: "Fonts",
        ok: true,
        detail: "18 families bundled with hf (HyperFrames' set); text does not depend on the \
                 host's fonts"
            .into(),
        fix: None,
    });
    checks.push(sandbox());
    let ok = checks.iter().all(|c| c.ok);
    if args.json {
        print_line(&serde_json::json!({ "ok": ok, "checks": checks }).to_string());
        return Ok(());
    }
    for check in &checks {
        print_line(&format!(
            "{} {:<16} {}",
            if check.ok { "✓" } else { "✗" },
            check.name,
            check.detail
        ));
        if let Some(fix) = &check.fix {
            print_line(&format!("  fix: {fix}"));
        }
    }
    if ok {
        print_line("All checks passed");
        Ok(())
    } else {
        anyhow::bail!("some checks failed; see the fixes above")
    }
}

fn chrome() -> Check {
    match hf_capture::resolve_browser(None) {
        Err(error) => Check {
            name: "Chrome",
            ok: false,
            detail: error.to_string(),
            fix: Some(format!(
                "{DEBIAN_PACKAGES} chromium-headless-shell, or set HF_BROWSER_PATH"
            )),
        },
        Ok(path) => {
            let version = std::process::Command::new(&path)
                .arg("--version")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
            let headless_shell = path.to_string_lossy().contains("headless-shell");
            match version {
                None => Check {
                    name: "Chrome",
                    ok: false,
                    detail: format!("{} does not run", path.display()),
                    fix: Some(format!("{DEBIAN_PACKAGES} chromium-headless-shell")),
                },
                Some(version) => Check {
                    name: "Chrome",
                    ok: true,
                    detail: format!(
                        "{version} at {} ({})",
                        path.display(),
                        if headless_shell {
                            "headless shell: beginFrame capture"
                        } else {
                            "not the headless shell: hf falls back to screenshots if beginFrame is missing"
                        }
                    ),
                    fix: None,
                },
            }
        }
    }
}

fn encoders() -> Vec<Check> {
    [
        (VideoCodec::H264, "libavcodec-extra (libx264)"),
        (VideoCodec::H265, "libavcodec-extra (libx265)"),
        (VideoCodec::Vp9, "libavcodec-extra (libvpx)"),
        (VideoCodec::ProRes4444, "libavcodec61"),
    ]
    .into_iter()
    .map(|(codec, package)| match hf_encode::check_encoder(codec) {
        Ok(()) => Check {
            name: "Encoder",
            ok: true,
            detail: format!("{} ({codec})", codec.encoder_name()),
            fix: None,
        },
        Err(error) => Check {
            name: "Encoder",
            ok: false,
            detail: error.to_string(),
            fix: Some(format!("{DEBIAN_PACKAGES} {package}")),
        },
    })
    .collect()
}

/// `MemAvailable` of /proc/meminfo in MB.
fn available_memory_mb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

fn memory() -> Check {
    let mb = available_memory_mb();
    Check {
        name: "Memory",
        ok: mb.is_some_and(|mb| mb >= MIN_MEMORY_MB),
        detail: mb.map_or("unknown".into(), |mb| format!("{mb} MB available")),
        fix: mb
            .filter(|mb| *mb < MIN_MEMORY_MB)
            .map(|_| format!("free memory (each browser worker takes ~1.5 GB at 1080p) or render with -w 1; at least {MIN_MEMORY_MB} MB is advised")),
    }
}

/// Free space of the file system holding `dir`, in MB.
fn free_disk_mb(dir: &Path) -> Option<u64> {
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statvfs fills the struct for a NUL-terminated path.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some(stat.f_bavail as u64 * stat.f_frsize as u64 / (1024 * 1024))
}

fn disk(dir: &Path) -> Check {
    let mb = free_disk_mb(dir);
    Check {
        name: "Disk",
        ok: mb.is_some_and(|mb| mb >= MIN_DISK_MB),
        detail: mb.map_or(format!("{} cannot be read", dir.display()), |mb| {
            format!(
                "{mb} MB free in the work dir's file system ({})",
                dir.display()
            )
        }),
        fix: mb
            .filter(|mb| *mb < MIN_DISK_MB)
            .map(|_| "free space, or point TMPDIR (the work dir) at a larger disk".to_string()),
    }
}

fn sandbox() -> Check {
    let detail = |state: &str| {
        format!("{state}; a render's page reaches only hf's file server, see README \"Security\"")
    };
    match hf_capture::Sandbox::for_this_process() {
        hf_capture::Sandbox::OffAsRoot => Check {
            name: "Sandbox",
            ok: true,
            detail: detail(
                "off: hf runs as root, where Chrome's sandbox cannot start (run hf as another \
                 user to turn it on)",
            ),
            fix: None,
        },
        hf_capture::Sandbox::OffByEnvironment => Check {
            name: "Sandbox",
            ok: true,
            detail: detail("off: HF_CHROME_NO_SANDBOX is set"),
            fix: None,
        },
        hf_capture::Sandbox::On => match sandboxed_chrome_starts() {
            Ok(()) => Check {
                name: "Sandbox",
                ok: true,
                detail: detail("on: Chrome starts inside its sandbox"),
                fix: None,
            },
            Err(reason) => Check {
                name: "Sandbox",
                ok: false,
                detail: format!("Chrome does not start inside its sandbox: {reason}"),
                fix: Some(
                    "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 \
                     and user.max_user_namespaces > 0), or set HF_CHROME_NO_SANDBOX=1 to run \
                     compositions outside Chrome's sandbox"
                        .into(),
                ),
            },
        },
    }
}

/// Start the browser sandboxed once (`--dump-dom about:blank`) and wait up to 20 s.
fn sandboxed_chrome_starts() -> Result<(), String> {
    let path = hf_capture::resolve_browser(None).map_err(|e| e.to_string())?;
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(&path)
        .args(["--headless", "--disable-setuid-sandbox", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("it exited with {status}")),
            None if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("it did not finish within 20 s".into());
            }
            None => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}
