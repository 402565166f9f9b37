//! Rules on the project's shape: which files it has (sub-compositions found, missing or in a
//! cycle), its root and size, ids, timeline registrations and clip windows.

use super::scan::{ScannedElement, ScannedFile};
use super::{at, finding, Finding, Severity};
use crate::RenderError;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The files of a project: the entry page and every sub-composition it mounts.
pub(super) struct Project {
    /// Entry first, then sub-compositions in the order they are first mounted.
    pub(super) files: Vec<ScannedFile>,
    /// Problems met while following the mounts.
    pub(super) findings: Vec<Finding>,
}

impl Project {
    /// Read `entry` and follow its `data-composition-src` mounts (project-relative).
    pub(super) fn read(project_dir: &Path, entry: &Path) -> Result<Project, RenderError> {
        let mut project = Project {
            files: vec![ScannedFile::read(entry)?],
            findings: Vec::new(),
        };
        project.follow(project_dir, 0, &mut vec![canonical(entry)]);
        Ok(project)
    }

    /// Scan the files file `index` mounts, depth first; `chain` holds the files above.
    fn follow(&mut self, project_dir: &Path, index: usize, chain: &mut Vec<PathBuf>) {
        let hosts: Vec<ScannedElement> = self.files[index]
            .elements
            .iter()
            .filter(|e| e.attribute("data-composition-src").is_some())
            .cloned()
            .collect();
        for host in hosts {
            let src = host.attribute("data-composition-src").unwrap_or_default();
            let path = project_dir.join(src.trim_start_matches("./").trim_start_matches('/'));
            let problem = |code, message: String, fix: &str| {
                finding(
                    code,
                    Severity::Error,
                    &self.files[index],
                    Some(&host),
                    message,
                    fix,
                )
            };
            if !path.is_file() {
                let message = format!("mounts {src}, which does not exist");
                let fix = "create the file, or fix data-composition-src (project-relative)";
                self.findings
                    .push(problem("missing_or_empty_sub_composition", message, fix));
                continue;
            }
            let key = canonical(&path);
            if chain.contains(&key) {
                let message = format!("mounts {src}, which is already above it: a cycle");
                let fix = "remove one data-composition-src from the cycle";
                self.findings
                    .push(problem("sub_composition_cycle", message, fix));
                continue;
            }
            if self.files.iter().any(|f| canonical(&f.path) == key) {
                continue;
            }
            match ScannedFile::read(&path) {
                Ok(file) => self.files.push(ScannedFile {
                    mounted_as: Some(src.to_string()),
                    ..file
                }),
                Err(error) => {
                    let fix = "save the sub-composition as UTF-8 HTML";
                    let message = format!("mounts {src}: {error}");
                    self.findings
                        .push(problem("missing_or_empty_sub_composition", message, fix));
                    continue;
                }
            }
            chain.push(key);
            self.follow(project_dir, self.files.len() - 1, chain);
            chain.pop();
        }
    }

    /// Every `data-composition-id` of every file.
    pub(super) fn composition_ids(&self) -> BTreeSet<&str> {
        self.files
            .iter()
            .flat_map(|f| f.elements.iter())
            .filter_map(|e| e.attribute("data-composition-id"))
            .collect()
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// The structure rules for one file.
pub(super) fn check(file: &ScannedFile, is_entry: bool, project: &Project) -> Vec<Finding> {
    let mut findings = Vec::new();
    if is_entry {
        findings.extend(root(file));
    }
    findings.extend(duplicate_ids(file));
    findings.extend(timeline_ids(file, project));
    findings.extend(clip_windows(file));
    findings.extend(self_closing_media(file));
    findings
}

static SELF_CLOSING_MEDIA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)<(video|audio)\b[^>]*/>").expect("valid regex"));

/// `<video ... />`: HTML has no self-closing media tags, so everything after it becomes the
/// element's fallback content and is never shown.
fn self_closing_media(file: &ScannedFile) -> Vec<Finding> {
    SELF_CLOSING_MEDIA
        .captures_iter(&file.source)
        .map(|captures| {
            let tag = captures[1].to_ascii_lowercase();
            Finding {
                line: Some(file.line_at(captures.get(0).map_or(0, |m| m.start()))),
                ..finding(
                    "self_closing_media_tag",
                    Severity::Error,
                    file,
                    None,
                    format!(
                        "<{tag} ... /> does not close in HTML: the markup after it until \
                         </{tag}> becomes its fallback content and never shows"
                    ),
                    format!("write <{tag} ...></{tag}>"),
                )
            }
        })
        .collect()
}

/// The entry page has a root composition with a size.
fn root(file: &ScannedFile) -> Vec<Finding> {
    let Some(root) = file.root() else {
        return vec![finding(
            "root_missing_composition_id",
            Severity::Error,
            file,
            None,
            "no element has data-composition-id, so there is no composition to render".into(),
            "put the page's content in <div data-composition-id=\"main\" data-width=\"1920\" \
             data-height=\"1080\" data-duration=\"5\">",
        )];
    };
    let missing: Vec<&str> = ["data-width", "data-height"]
        .into_iter()
        .filter(|name| root.attribute(name).is_none())
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    vec![finding(
        "root_missing_dimensions",
        Severity::Error,
        file,
        Some(root),
        format!(
            "the root composition has no {}: the frame size falls back to 1920x1080",
            missing.join(" or ")
        ),
        "give the root data-width and data-height in pixels",
    )]
}

/// Ids used twice (media ids are errors: hf and HyperFrames find media by id), ids that
/// `#id` selectors cannot name, and compositions declared twice.
fn duplicate_ids(file: &ScannedFile) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut compositions: BTreeMap<&str, usize> = BTreeMap::new();
    for element in &file.elements {
        if let Some(id) = element.id() {
            if *seen.entry(id).and_modify(|n| *n += 1).or_insert(1) == 2 {
                let media = matches!(element.tag.as_str(), "video" | "audio");
                let (code, severity) = if media {
                    ("duplicate_media_id", Severity::Error)
                } else {
                    ("duplicate_id", Severity::Warning)
                };
                let message = format!("id \"{id}\" is used more than once in this file");
                let fix = "give each element its own id";
                findings.push(finding(code, severity, file, Some(element), message, fix));
            }
            if id.starts_with(|c: char| c.is_ascii_digit()) {
                let message =
                    format!("id \"{id}\" starts with a digit: `#{id}` is not a valid selector");
                let fix = "start the id with a letter";
                findings.push(finding(
                    "id_requires_css_escape",
                    Severity::Warning,
                    file,
                    Some(element),
                    message,
                    fix,
                ));
            }
        }
        let declared = element
            .attribute("data-composition-id")
            .filter(|_| element.attribute("data-composition-src").is_none());
        if let Some(id) = declared {
            if *compositions.entry(id).and_modify(|n| *n += 1).or_insert(1) == 2 {
                let message = format!("composition \"{id}\" is declared more than once");
                let fix = "give each composition its own data-composition-id";
                findings.push(finding(
                    "duplicate_composition_id",
                    Severity::Error,
                    file,
                    Some(element),
                    message,
                    fix,
                ));
            }
        }
    }
    findings
}

static TIMELINE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"__timelines\s*\[\s*["'`]([^"'`]+)["'`]\s*\]\s*="#).expect("valid regex")
});

/// `window.__timelines["x"] = tl` where no composition is called `x`: that timeline never
/// drives anything.
fn timeline_ids(file: &ScannedFile, project: &Project) -> Vec<Finding> {
    let ids = project.composition_ids();
    let mut findings = Vec::new();
    for (line, script) in &file.scripts {
        for captures in TIMELINE_KEY.captures_iter(script) {
            let key = &captures[1];
            if ids.contains(key) {
                continue;
            }
            let offset = captures.get(0).map_or(0, |m| m.start());
            let known: Vec<&str> = ids.iter().copied().collect();
            let message = format!(
                "a timeline is registered as \"{key}\", but no composition has that \
                 data-composition-id (the project has: {}); it never plays",
                known.join(", ")
            );
            let fix = "register the timeline under its composition's data-composition-id";
            let mismatch = finding(
                "timeline_id_mismatch",
                Severity::Error,
                file,
                None,
                message,
                fix,
            );
            findings.push(at(*line, script, offset, mismatch));
        }
    }
    findings
}

/// Clips whose window runs past the end of the composition they sit in.
fn clip_windows(file: &ScannedFile) -> Vec<Finding> {
    let mut findings = Vec::new();
    for element in &file.elements {
        let Some(parent) = element.composition.map(|i| &file.elements[i]) else {
            continue;
        };
        let (Some(start), Some(end)) = (
            element.seconds("data-start"),
            parent.seconds("data-duration"),
        ) else {
            continue;
        };
        let own = element.seconds("data-duration").unwrap_or(0.0);
        if start + own <= end + 1e-6 {
            continue;
        }
        let parent_id = parent.attribute("data-composition-id").unwrap_or_default();
        let message = if start >= end {
            format!("starts at {start} s, after composition \"{parent_id}\" ends ({end} s): it is never shown")
        } else {
            format!(
                "runs from {start} s to {} s, past the end of composition \"{parent_id}\" ({end} s): it is cut off",
                start + own
            )
        };
        let fix = "shorten the clip, move its data-start, or lengthen the composition";
        findings.push(finding(
            "clip_outside_parent",
            Severity::Warning,
            file,
            Some(element),
            message,
            fix,
        ));
    }
    findings
}
