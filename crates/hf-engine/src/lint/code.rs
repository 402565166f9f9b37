//! Rules on a file's scripts and CSS: timelines that are never registered, tweens of
//! elements that are not there, infinite repeats, randomness hf's runtime does not seed, and
//! a duration that only an infinite CSS animation could give.

use super::scan::ScannedFile;
use super::structure::Project;
use super::{at, finding, Finding, Severity};
use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// The code rules for one file.
pub(super) fn check(file: &ScannedFile, is_entry: bool, project: &Project) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(missing_libraries(file, project));
    findings.extend(unregistered_timeline(file));
    findings.extend(missing_tween_targets(file));
    findings.extend(infinite_repeats(file, is_entry));
    findings.extend(unseeded_randomness(file));
    if is_entry {
        findings.extend(duration_source(file));
    }
    findings
}

/// The libraries whose use a script can show, the rule for each, and how its scripts are
/// named (a `<script src>` containing the name loads it).
const LIBRARIES: [(&str, &str, &str); 3] = [
    (
        r"\bgsap\.(?:timeline|to|from|fromTo|set|registerPlugin)\s*\(",
        "missing_gsap_script",
        "gsap",
    ),
    (
        r"\blottie\.loadAnimation\s*\(",
        "missing_lottie_script",
        "lottie",
    ),
    (r"\bnew\s+THREE\.", "missing_three_script", "three"),
];

/// A library used by the file's scripts that no `<script src>` of the project loads (and no
/// inline script defines): the page throws at load.
fn missing_libraries(file: &ScannedFile, project: &Project) -> Vec<Finding> {
    static USES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
        LIBRARIES
            .iter()
            .map(|(pattern, _, _)| Regex::new(pattern).expect("valid regex"))
            .collect()
    });
    let sources: Vec<String> = project
        .files
        .iter()
        .flat_map(|f| f.elements.iter())
        .filter(|e| e.tag == "script")
        .filter_map(|e| e.attribute("src"))
        .map(str::to_ascii_lowercase)
        .collect();
    let mut findings = Vec::new();
    for ((_, code, name), uses) in LIBRARIES.iter().zip(USES.iter()) {
        let defined = project.files.iter().any(|f| {
            let scripts = f.all_scripts();
            scripts.contains(&format!("window.{name} ="))
                || scripts.contains(&format!("var {name} ="))
        });
        if defined || sources.iter().any(|src| src.contains(name)) {
            continue;
        }
        let Some((line, script, found)) = file
            .scripts
            .iter()
            .find_map(|(line, script)| uses.find(script).map(|m| (*line, script, m.start())))
        else {
            continue;
        };
        let message =
            format!("the page uses {name} but no <script src> loads it: it throws at load");
        let fix =
            format!("add <script src=\"...{name}...js\"></script> before the scripts that use it");
        findings.push(at(
            line,
            script,
            found,
            finding(code, Severity::Error, file, None, message, fix),
        ));
    }
    findings
}

/// `gsap.timeline()` in a file that never assigns `window.__timelines[...]`.
fn unregistered_timeline(file: &ScannedFile) -> Vec<Finding> {
    let code = file.all_scripts();
    if !code.contains("gsap.timeline(") || code.contains("__timelines") {
        return Vec::new();
    }
    let (line, script) = file
        .scripts
        .iter()
        .find(|(_, s)| s.contains("gsap.timeline("))
        .expect("a script holds it");
    let offset = script.find("gsap.timeline(").unwrap_or(0);
    vec![at(
        *line,
        script,
        offset,
        finding(
            "gsap_timeline_not_registered",
            Severity::Error,
            file,
            None,
            "a GSAP timeline is created but never registered in window.__timelines, so the \
             render cannot seek it: the animation does not play"
                .into(),
            "add window.__timelines = window.__timelines || {}; window.__timelines[\"<composition \
             id>\"] = tl;",
        ),
    )]
}

static TWEEN_TARGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\.(?:to|from|fromTo|set)\(\s*(["'])([^"'\n]+)["']"#).expect("valid regex")
});
static SIMPLE_SELECTOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([#.])([A-Za-z_][\w-]*)$").expect("valid regex"));

/// GSAP tweens whose selector (`"#title"`, `".card, .logo"`) matches nothing in the file.
fn missing_tween_targets(file: &ScannedFile) -> Vec<Finding> {
    let ids: BTreeSet<&str> = file.elements.iter().filter_map(|e| e.id()).collect();
    let classes: BTreeSet<&str> = file
        .elements
        .iter()
        .filter_map(|e| e.attribute("class"))
        .flat_map(str::split_whitespace)
        .collect();
    let mut findings = Vec::new();
    for (line, script) in &file.scripts {
        for captures in TWEEN_TARGET.captures_iter(script) {
            for part in captures[2].split(',') {
                let Some(simple) = SIMPLE_SELECTOR.captures(part.trim()) else {
                    continue;
                };
                let found = match &simple[1] {
                    "#" => ids.contains(&simple[2]),
                    _ => classes.contains(&simple[2]),
                };
                if found {
                    continue;
                }
                let offset = captures.get(0).map_or(0, |m| m.start());
                let message = format!(
                    "a GSAP tween targets \"{}\", which matches no element of this file: it \
                     animates nothing",
                    part.trim()
                );
                let fix = "fix the selector, or add the element it names";
                let found = finding(
                    "gsap_target_not_found",
                    Severity::Warning,
                    file,
                    None,
                    message,
                    fix,
                );
                findings.push(at(*line, script, offset, found));
            }
        }
    }
    findings
}

static INFINITE_REPEAT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"repeat\s*:\s*-1\b").expect("valid regex"));

/// `repeat: -1`: an endless timeline gives no duration; fine only when the composition
/// states one.
fn infinite_repeats(file: &ScannedFile, is_entry: bool) -> Vec<Finding> {
    let stated = !is_entry
        || file
            .root()
            .and_then(|r| r.seconds("data-duration"))
            .is_some();
    let mut findings = Vec::new();
    for (line, script) in &file.scripts {
        if let Some(found) = INFINITE_REPEAT.find(script) {
            let (severity, message) = if stated {
                (
                    Severity::Warning,
                    "a tween repeats forever (repeat: -1); the render stops at the composition's \
                     data-duration, which may cut the loop mid-cycle",
                )
            } else {
                (
                    Severity::Error,
                    "a tween repeats forever (repeat: -1) and the root has no data-duration: the \
                     composition has no end",
                )
            };
            let fix = "use a finite repeat count, or give the root a data-duration";
            let repeat = finding(
                "gsap_infinite_repeat",
                severity,
                file,
                None,
                message.into(),
                fix,
            );
            findings.push(at(*line, script, found.start(), repeat));
        }
    }
    findings
}

static UNSEEDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"crypto\.randomUUID\s*\(|new\s+(?:Shared)?Worker\s*\(").expect("valid regex")
});

/// Randomness and clocks outside hf's seeded runtime. In the page hf seeds `Math.random`
/// and `crypto.getRandomValues` and puts `Date`, `performance.now` and
/// `requestAnimationFrame` on the frame's clock; `crypto.randomUUID` is not seeded (an
/// error) and workers do not get the runtime (a warning: they may compute nothing random).
fn unseeded_randomness(file: &ScannedFile) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (line, script) in &file.scripts {
        for found in UNSEEDED.find_iter(script) {
            let (severity, message) = if found.as_str().starts_with("crypto") {
                (
                    Severity::Error,
                    "crypto.randomUUID() is not seeded by hf's runtime: frames differ from run \
                     to run",
                )
            } else {
                (
                    Severity::Warning,
                    "a Web Worker runs outside hf's seeded runtime: whatever it computes from \
                     Math.random, Date or timers differs from run to run",
                )
            };
            let fix = "compute in the page with Math.random (seeded per render) or fixed values";
            let unseeded = finding(
                "non_deterministic_code",
                severity,
                file,
                None,
                message.into(),
                fix,
            );
            findings.push(at(*line, script, found.start(), unseeded));
        }
    }
    findings
}

static INFINITE_CSS_ANIMATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)animation(?:-iteration-count)?\s*:[^;}]*\binfinite\b").expect("valid regex")
});

/// The root states no data-duration, registers no timeline and has no timed clip, while a CSS
/// animation runs forever: nothing gives the composition an end.
fn duration_source(file: &ScannedFile) -> Vec<Finding> {
    let Some(root) = file.root() else {
        return Vec::new();
    };
    let stated = root.seconds("data-duration").is_some();
    let timeline = file.all_scripts().contains("__timelines");
    let clips = file
        .elements
        .iter()
        .any(|e| e.seconds("data-duration").is_some());
    if stated || timeline || clips || !INFINITE_CSS_ANIMATION.is_match(&file.all_styles()) {
        return Vec::new();
    }
    vec![finding(
        "root_composition_missing_duration_source",
        Severity::Error,
        file,
        Some(root),
        "the only animation is an infinite CSS animation and the root has no data-duration: \
         the composition has no end"
            .into(),
        "give the root a data-duration in seconds",
    )]
}
