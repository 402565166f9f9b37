//! Find and launch headless Chrome.
//!
//! hf launches the browser itself (not through chromiumoxide's launcher) so that it runs in its
//! own process group: dropping [`ChromeProcess`] kills the browser and every helper process it
//! started, so a failed or interrupted render leaves no Chrome behind. And so that it dies
//! with hf even when hf cannot clean up (SIGKILL, a crash): the browser gets Linux's
//! parent-death signal, from a launcher thread that lives as long as hf.

use crate::CaptureError;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A spawn request for the launcher thread, and where its result goes.
type SpawnRequest = (Command, std::sync::mpsc::Sender<std::io::Result<Child>>);

/// Spawn `command` so that it is killed (SIGKILL) when hf's process ends, however it ends.
/// Linux sends the parent-death signal when the *thread* that forked the child exits, so
/// every browser is forked by one launcher thread that never exits.
fn spawn_tied_to_hf(mut command: Command) -> std::io::Result<Child> {
    static LAUNCHER: std::sync::OnceLock<Mutex<std::sync::mpsc::Sender<SpawnRequest>>> =
        std::sync::OnceLock::new();
    let parent = std::process::id();
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // hf died between fork and prctl: the signal will never come.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other(
                    "hf exited while starting the browser",
                ));
            }
            Ok(())
        });
    }
    let launcher = LAUNCHER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("hf-browser-launcher".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("the launcher thread starts");
        Mutex::new(tx)
    });
    let (reply, result) = std::sync::mpsc::channel();
    launcher
        .lock()
        .expect("launcher lock")
        .send((command, reply))
        .map_err(|_| std::io::Error::other("the browser launcher thread is gone"))?;
    result
        .recv()
        .map_err(|_| std::io::Error::other("the browser launcher thread is gone"))?
}

/// Where hf looks for a browser, in order, after an explicit path.
const ENV_VARS: [&str; 3] = [
    "HF_BROWSER_PATH",
    "PRODUCER_HEADLESS_SHELL_PATH",
    "HYPERFRAMES_BROWSER_PATH",
];
const DEBIAN_HEADLESS_SHELL: &str = "/usr/lib/chromium/chromium-headless-shell";

/// Resolve the browser binary. An `explicit` path is used as given (and must exist); otherwise
/// `$HF_BROWSER_PATH`, `$PRODUCER_HEADLESS_SHELL_PATH`, `$HYPERFRAMES_BROWSER_PATH`, then Debian's
/// `/usr/lib/chromium/chromium-headless-shell`, first existing file wins.
pub fn resolve_browser(explicit: Option<&Path>) -> Result<PathBuf, CaptureError> {
    let mut searched = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        return Err(CaptureError::BrowserNotFound {
            searched: path.display().to_string(),
        });
    }
    for var in ENV_VARS {
        if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            candidates.push(PathBuf::from(value));
        }
    }
    candidates.push(PathBuf::from(DEBIAN_HEADLESS_SHELL));
    for candidate in candidates {
        if candidate.is_file() {
            return Ok(candidate);
        }
        searched.push(candidate.display().to_string());
    }
    Err(CaptureError::BrowserNotFound {
        searched: searched.join(", "),
    })
}

/// Whether Chrome runs inside its own sandbox, and why not when it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sandbox {
    /// Chrome's sandbox is on (hf is not root).
    On,
    /// hf runs as root, where Chrome refuses to start sandboxed: `--no-sandbox`.
    OffAsRoot,
    /// `HF_CHROME_NO_SANDBOX=1` turned it off (a machine without unprivileged user
    /// namespaces, where the sandbox cannot start).
    OffByEnvironment,
}

impl Sandbox {
    /// The sandbox state for browsers this process launches.
    pub fn for_this_process() -> Sandbox {
        let switched_off = std::env::var_os("HF_CHROME_NO_SANDBOX")
            .is_some_and(|value| !value.is_empty() && value != "0");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            Sandbox::OffAsRoot
        } else if switched_off {
            Sandbox::OffByEnvironment
        } else {
            Sandbox::On
        }
    }

    /// Whether Chrome's sandbox is on.
    pub fn is_on(self) -> bool {
        self == Sandbox::On
    }
}

/// How to launch the browser.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Browser binary.
    pub executable: PathBuf,
    /// Its own profile directory (one per browser process).
    pub user_data_dir: PathBuf,
    /// Viewport width in CSS pixels.
    pub width: u32,
    /// Viewport height in CSS pixels.
    pub height: u32,
    /// Add the flags `HeadlessExperimental.beginFrame` needs.
    pub begin_frame: bool,
    /// How long to wait for the DevTools endpoint.
    pub timeout: Duration,
    /// Chrome's sandbox (see [`Sandbox::for_this_process`]).
    pub sandbox: Sandbox,
    /// WebGPU on SwiftShader's Vulkan, with GPU compositing (a WebGPU canvas is presented
    /// only through it); otherwise compositing stays in software, which avoids SwiftShader's
    /// stale-layer defect (HyperFrames does the same).
    pub webgpu: bool,
}

/// The deterministic flag set (HyperFrames' launch flags for software GL, plus beginFrame mode).
pub fn chrome_args(options: &LaunchOptions) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless",
        "--disable-setuid-sandbox",
        "--disable-dev-shm-usage",
        "--enable-webgl",
        "--ignore-gpu-blocklist",
        "--use-gl=angle",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--font-render-hinting=none",
        "--force-color-profile=srgb",
        "--hide-scrollbars",
        "--mute-audio",
        "--disable-background-networking",
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
        "--disable-background-media-suspend",
        "--disable-breakpad",
        "--disable-component-extensions-with-background-pages",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-hang-monitor",
        "--disable-ipc-flooding-protection",
        "--disable-popup-blocking",
        "--disable-sync",
        "--disable-component-update",
        "--disable-domain-reliability",
        "--disable-print-preview",
        "--no-pings",
        "--no-first-run",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-features=AudioServiceOutOfProcess,IsolateOrigins,site-per-process,Translate,BackForwardCache,IntensiveWakeUpThrottling,MediaRouter,OptimizationHints",
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if options.webgpu {
        for flag in [
            "--enable-unsafe-webgpu",
            "--enable-features=Vulkan",
            "--use-vulkan=swiftshader",
        ] {
            args.push(flag.to_string());
        }
    } else {
        args.push("--disable-gpu-compositing".to_string());
    }
    if !options.sandbox.is_on() {
        // Chrome allows turning its zygote off only without the sandbox; hf does so to keep
        // the process tree flat (one browser, its helpers, one process group).
        args.extend(["--no-sandbox".to_string(), "--no-zygote".to_string()]);
    }
    args.push(format!(
        "--window-size={},{}",
        options.width, options.height
    ));
    args.push(format!(
        "--user-data-dir={}",
        options.user_data_dir.display()
    ));
    if options.begin_frame {
        for flag in [
            "--deterministic-mode",
            "--enable-begin-frame-control",
            "--disable-new-content-rendering-timeout",
            "--run-all-compositor-stages-before-draw",
            "--disable-threaded-animation",
            "--disable-threaded-scrolling",
            "--disable-checker-imaging",
            "--disable-image-animation-resync",
            "--enable-surface-synchronization",
            // GPU-accelerated 2D canvases are not redrawn into beginFrame screenshots
            // (a canvas animated by requestAnimationFrame kept its first frame).
            "--disable-accelerated-2d-canvas",
        ] {
            args.push(flag.to_string());
        }
    }
    args.push("about:blank".to_string());
    args
}

/// A running browser in its own process group. Dropping it kills the whole group.
pub struct ChromeProcess {
    child: Child,
    executable: PathBuf,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl ChromeProcess {
    /// Start the browser and wait for its DevTools WebSocket URL.
    pub fn launch(options: &LaunchOptions) -> Result<(Self, String), CaptureError> {
        std::fs::create_dir_all(&options.user_data_dir).map_err(|e| CaptureError::Launch {
            path: options.executable.clone(),
            reason: format!(
                "cannot create profile dir {}: {e}",
                options.user_data_dir.display()
            ),
            stderr: String::new(),
        })?;
        // Chrome's own temporary files (PulseAudio's `pulse-*` runtime dir among them) go
        // inside its profile, which the render's work dir cleanup removes: a killed or
        // interrupted render leaves nothing in the caller's TMPDIR.
        let temp_dir = options.user_data_dir.join("tmp");
        std::fs::create_dir_all(&temp_dir).map_err(|e| CaptureError::Launch {
            path: options.executable.clone(),
            reason: format!("cannot create temp dir {}: {e}", temp_dir.display()),
            stderr: String::new(),
        })?;
        let mut command = Command::new(&options.executable);
        command
            .args(chrome_args(options))
            .env("TMPDIR", &temp_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = spawn_tied_to_hf(command).map_err(|e| CaptureError::Launch {
            path: options.executable.clone(),
            reason: e.to_string(),
            stderr: String::new(),
        })?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        {
            let tail = Arc::clone(&tail);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(url) = line.strip_prefix("DevTools listening on ") {
                        let _ = tx.send(url.trim().to_string());
                    }
                    tracing::trace!(target: "chrome", "{line}");
                    let mut tail = tail.lock().expect("stderr tail lock");
                    if tail.len() == 20 {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            });
        }
        let process = ChromeProcess {
            child,
            executable: options.executable.clone(),
            stderr_tail: tail,
        };
        match rx.recv_timeout(options.timeout) {
            Ok(url) if url.starts_with("ws://127.0.0.1:") => Ok((process, url)),
            Ok(url) => Err(process.launch_error(format!(
                "its DevTools endpoint {url} is not on 127.0.0.1, where only this machine \
                 can reach it; hf does not drive such a browser"
            ))),
            Err(_) => Err(process.launch_error(format!(
                "no DevTools endpoint after {:.0} s",
                options.timeout.as_secs_f64()
            ))),
        }
    }

    /// The browser's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the browser process has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// A launch error carrying the tail of the browser's stderr.
    pub(crate) fn launch_error(&self, reason: String) -> CaptureError {
        CaptureError::Launch {
            path: self.executable.clone(),
            reason,
            stderr: self.stderr_excerpt(),
        }
    }

    /// The last lines Chrome printed, newline-prefixed, for error messages.
    pub fn stderr_excerpt(&self) -> String {
        let tail = self.stderr_tail.lock().expect("stderr tail lock");
        let useful: Vec<&String> = tail
            .iter()
            .filter(|l| !l.contains("Failed to connect to the bus") && !l.contains("drmGetDevices"))
            .collect();
        if useful.is_empty() {
            String::new()
        } else {
            let lines: Vec<&str> = useful.iter().map(|s| s.as_str()).collect();
            format!("\n  chrome stderr:\n    {}", lines.join("\n    "))
        }
    }
}

impl Drop for ChromeProcess {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: plain kill(2) of the process group this struct created.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(sandbox: Sandbox) -> LaunchOptions {
        LaunchOptions {
            executable: PathBuf::from("chrome"),
            user_data_dir: PathBuf::from("/tmp/profile"),
            width: 640,
            height: 360,
            begin_frame: true,
            timeout: Duration::from_secs(1),
            sandbox,
            webgpu: false,
        }
    }

    #[test]
    fn the_sandbox_is_on_unless_hf_is_root_or_told_otherwise() {
        let sandboxed = chrome_args(&options(Sandbox::On));
        assert!(!sandboxed.iter().any(|a| a == "--no-sandbox"));
        assert!(!sandboxed.iter().any(|a| a == "--no-zygote"));
        for off in [Sandbox::OffAsRoot, Sandbox::OffByEnvironment] {
            let args = chrome_args(&options(off));
            assert!(args.iter().any(|a| a == "--no-sandbox"), "{off:?}");
            assert!(args.iter().any(|a| a == "--no-zygote"), "{off:?}");
        }
    }

    #[test]
    fn webgpu_pages_get_vulkan_and_gpu_compositing() {
        let plain = chrome_args(&options(Sandbox::On));
        assert!(plain.contains(&"--disable-gpu-compositing".to_string()));
        assert!(!plain
            .iter()
            .any(|a| a.contains("webgpu") || a.contains("vulkan")));
        let webgpu = chrome_args(&LaunchOptions {
            webgpu: true,
            ..options(Sandbox::On)
        });
        assert!(!webgpu.contains(&"--disable-gpu-compositing".to_string()));
        for flag in [
            "--enable-unsafe-webgpu",
            "--enable-features=Vulkan",
            "--use-vulkan=swiftshader",
        ] {
            assert!(webgpu.contains(&flag.to_string()), "{flag}");
        }
    }

    #[test]
    fn devtools_listens_on_loopback_only() {
        let args = chrome_args(&options(Sandbox::On));
        assert!(args.contains(&"--remote-debugging-address=127.0.0.1".to_string()));
        assert!(args.contains(&"--remote-debugging-port=0".to_string()));
    }
}
