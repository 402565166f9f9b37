//! What `hf render` shows while it works: a progress bar on a terminal, JSON lines with
//! `--json`, warnings on stderr, and a summary line at the end.

use crate::args::PrintArgs;
use hf_engine::{ProgressEvent, RenderResult};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Print one line on stdout. Output is best-effort: a reader that went away (a closed pipe)
/// must not abort the render.
pub(crate) fn print_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// How progress is shown.
pub(crate) struct Report {
    bar: ProgressBar,
    json: bool,
    quiet: bool,
}

impl Report {
    /// A bar on stderr when it is a terminal and neither `--quiet` nor `--json` is set.
    pub(crate) fn new(print: &PrintArgs) -> Self {
        let (quiet, json) = (print.quiet, print.json);
        let bar = ProgressBar::hidden();
        if !quiet && !json && std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg:10} [{bar:40}] {pos}/{len} frames  {per_sec}  eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
        }
        Report { bar, json, quiet }
    }

    /// Show one progress event.
    pub(crate) fn event(&self, event: ProgressEvent) {
        if self.json {
            print_line(&serde_json::to_string(&event).expect("events serialise"));
            return;
        }
        match event {
            ProgressEvent::StageStarted { stage } => {
                self.bar.set_message(format!("{stage:?}").to_lowercase())
            }
            ProgressEvent::Planned { frames, .. } => self.bar.set_length(frames),
            ProgressEvent::Frame { done, .. } => self.bar.set_position(done),
            ProgressEvent::Finished { .. } => self.bar.finish_and_clear(),
            ProgressEvent::Warning { message } => {
                self.bar.suspend(|| eprintln!("warning: {message}"))
            }
        }
    }

    /// A step ended: `json` as a JSON line with `--json`, else `line()` unless `--quiet`.
    pub(crate) fn summary(&self, json: &serde_json::Value, line: impl FnOnce() -> String) {
        if self.json {
            print_line(&json.to_string());
        } else if !self.quiet {
            print_line(&line());
        }
    }

    /// The render ended: clear the bar and, unless quiet, print the summary line.
    pub(crate) fn finish(&self, result: Option<&RenderResult>) {
        self.bar.finish_and_clear();
        let Some(result) = result.filter(|_| !self.quiet && !self.json) else {
            return;
        };
        print_line(&format!(
            "rendered {} frames ({:.2} s at {} fps) in {:.2} s ({:.1} frames/s) -> {} ({:.1} MB)",
            result.frames,
            result.duration_seconds,
            result.fps,
            result.elapsed_seconds,
            result.frames as f64 / result.elapsed_seconds.max(1e-9),
            result.output.display(),
            result.bytes as f64 / 1e6,
        ));
    }
}
