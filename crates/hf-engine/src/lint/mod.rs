//! The lint stage: static checks that predict a wrong or failed render, each a [`Finding`]
//! with a stable rule code, the file, line and element, and the fix. Rule codes follow
//! HyperFrames' `hyperframes lint` where a rule means the same thing in hf.
//!
//! It reads the entry page and every sub-composition it mounts (`scan.rs`), runs the rules
//! on each file (`structure.rs`: roots, ids, timelines, clip windows; `code.rs`: scripts and
//! CSS; `assets.rs`: local and remote files, media, fonts), then compiles the project into a
//! scratch dir so any error `hf render` would stop at is a finding too.

mod assets;
mod code;
mod scan;
mod structure;

use crate::{compile_stage, CompileInput, RenderError};
use scan::ScannedFile;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How bad a finding is: errors fail `hf lint` and `hf render --strict`; warnings fail
/// `hf lint --strict` and `hf render --strict-all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The render fails, or shows something other than what the page says.
    Error,
    /// The render is likely not what the author meant, or depends on something outside hf.
    Warning,
}

/// One problem, where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The stable rule code (`timeline_id_mismatch`).
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The file it is in.
    pub file: PathBuf,
    /// The 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The element, as `<video id="a">`, when the finding is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

impl Finding {
    /// One line: `index.html:12 timeline_id_mismatch <div id="a">: message`, the file named
    /// relative to `project_dir`.
    pub fn describe(&self, project_dir: &Path) -> String {
        let file = self.file.strip_prefix(project_dir).unwrap_or(&self.file);
        let line = self.line.map(|l| format!(":{l}")).unwrap_or_default();
        let element = self
            .element
            .as_ref()
            .map(|e| format!(" {e}"))
            .unwrap_or_default();
        format!(
            "{}{line} {}{element}: {}",
            file.display(),
            self.code,
            self.message
        )
    }
}

/// What to lint.
#[derive(Debug, Clone)]
pub struct LintInput {
    /// The project directory.
    pub project_dir: PathBuf,
    /// The entry page relative to the project (`-c`); `None`: `index.html`.
    pub composition: Option<PathBuf>,
}

/// What lint found.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    /// Findings, errors first, then by file and line.
    pub findings: Vec<Finding>,
    /// The HTML files read.
    pub files: Vec<PathBuf>,
}

impl LintReport {
    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// A finding about `element` of `file`.
fn finding(
    code: &'static str,
    severity: Severity,
    file: &ScannedFile,
    element: Option<&scan::ScannedElement>,
    message: String,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        code,
        severity,
        file: file.path.clone(),
        line: element.map(|e| e.line),
        element: element.map(|e| e.label()),
        message,
        fix: fix.into(),
    }
}

/// `finding` placed at byte `offset` of the inline script that starts on `line`.
fn at(line: usize, script: &str, offset: usize, finding: Finding) -> Finding {
    Finding {
        line: Some(line + script[..offset].matches('\n').count()),
        ..finding
    }
}

/// Lint the project. Fails only when the entry page cannot be read at all (the project or
/// the page is missing): everything else is a finding.
pub fn lint_stage(input: &LintInput) -> Result<LintReport, RenderError> {
    let _span = tracing::info_span!("lint", project = %input.project_dir.display()).entered();
    let entry = crate::compile::read_entry(&input.project_dir, input.composition.as_deref())?;
    let project = structure::Project::read(&input.project_dir, &entry.path)?;
    let mut findings = project.findings.clone();
    let provided_fonts = assets::provided_font_families(&project);
    for file in &project.files {
        let is_entry = file.path == entry.path;
        findings.extend(structure::check(file, is_entry, &project));
        findings.extend(code::check(file, is_entry, &project));
        findings.extend(assets::check(file, &input.project_dir, &provided_fonts));
    }
    findings.extend(compile_error(input, &entry.path, &findings));
    findings.sort_by(|a, b| {
        (a.severity, &a.file, a.line, a.code).cmp(&(b.severity, &b.file, b.line, b.code))
    });
    findings.dedup();
    Ok(LintReport {
        files: project.files.iter().map(|f| f.path.clone()).collect(),
        findings,
    })
}

/// `hf render --strict` / `--strict-all`: lint the job's project; its errors (and with
/// `strict_all` its warnings) stop the render, the rest come back as warnings.
pub(crate) fn gate(
    project_dir: &Path,
    composition: Option<&Path>,
    strict_all: bool,
) -> Result<Vec<String>, RenderError> {
    let report = lint_stage(&LintInput {
        project_dir: project_dir.to_path_buf(),
        composition: composition.map(Path::to_path_buf),
    })?;
    let (blocking, rest): (Vec<&Finding>, Vec<&Finding>) = report
        .findings
        .iter()
        .partition(|f| f.severity == Severity::Error || strict_all);
    let describe = |f: &&Finding| f.describe(project_dir);
    if blocking.is_empty() {
        return Ok(rest.iter().map(describe).collect());
    }
    Err(RenderError::LintFailed {
        flag: if strict_all {
            "--strict-all"
        } else {
            "--strict"
        },
        findings: blocking.iter().map(describe).collect(),
    })
}

/// The error `hf render` would stop at while compiling, unless a rule already said it.
fn compile_error(input: &LintInput, entry: &Path, findings: &[Finding]) -> Option<Finding> {
    let scratch = tempfile::Builder::new().prefix("hf-lint-").tempdir().ok()?;
    let mut compile = CompileInput::new(&input.project_dir, scratch.path());
    compile.composition = input.composition.clone();
    compile.allow_missing_assets = true;
    let error = compile_stage(&compile).err()?;
    let code = error.code();
    let rule = COMPILE_RULES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("render_would_fail", |(_, rule)| *rule);
    if findings.iter().any(|f| f.code == rule) {
        return None;
    }
    Some(Finding {
        code: rule,
        severity: Severity::Error,
        file: entry.to_path_buf(),
        line: None,
        element: None,
        message: error.to_string(),
        fix: format!("`hf render` stops here with error[{code}]; the message says what to change"),
    })
}

/// Render error codes of the compile stage and the rule codes they are reported under.
const COMPILE_RULES: [(&str, &str); 12] = [
    ("NO_COMPOSITION_ROOT", "root_missing_composition_id"),
    ("INVALID_ATTRIBUTE", "invalid_attribute"),
    ("INVALID_HTML", "invalid_html"),
    ("COMPOSITION_ZERO_DURATION", "composition_zero_duration"),
    (
        "INVALID_VARIABLES",
        "invalid_composition_variables_declaration",
    ),
    (
        "SUB_COMPOSITION_NOT_FOUND",
        "missing_or_empty_sub_composition",
    ),
    ("SUB_COMPOSITION_CYCLE", "sub_composition_cycle"),
    ("INVALID_START", "invalid_start"),
    ("MEDIA_NOT_FOUND", "missing_local_asset"),
    ("MEDIA_INVALID", "media_unreadable"),
    ("REMOTE_ASSET_UNAVAILABLE", "remote_asset"),
    ("UNSUPPORTED", "unsupported"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Lint a project made of `files`; `(code, severity, file, line)` of each finding.
    fn lint(files: &[(&str, &str)]) -> Vec<(&'static str, Severity, String, Option<usize>)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gsap.min.js"), "").unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let report = lint_stage(&LintInput {
            project_dir: dir.path().to_path_buf(),
            composition: None,
        })
        .unwrap();
        report
            .findings
            .iter()
            .map(|f| {
                let file = f
                    .file
                    .strip_prefix(dir.path())
                    .unwrap()
                    .display()
                    .to_string();
                (f.code, f.severity, file, f.line)
            })
            .collect()
    }

    const ROOT: &str = r#"<script src="gsap.min.js"></script><div id="root" data-composition-id="main" data-width="320" data-height="180" data-duration="2">"#;

    #[test]
    fn a_clean_project_has_no_findings() {
        let page = format!(
            "{ROOT}<p id=\"t\" data-start=\"0\" data-duration=\"2\">hi</p></div>\n<script>\nconst tl = gsap.timeline({{ paused: true }});\ntl.to(\"#t\", {{ x: 10 }});\nwindow.__timelines = window.__timelines || {{}};\nwindow.__timelines[\"main\"] = tl;\n</script>"
        );
        assert_eq!(lint(&[("index.html", &page)]), []);
    }

    #[test]
    fn a_library_used_but_not_loaded() {
        let page = "<div data-composition-id=\"main\" data-width=\"9\" data-height=\"9\" data-duration=\"1\"></div>\n<script>\nwindow.__timelines = { main: gsap.timeline() };\nlottie.loadAnimation({});\n</script>";
        let found = lint(&[("index.html", page)]);
        let codes: Vec<(&str, Option<usize>)> = found.iter().map(|(c, _, _, l)| (*c, *l)).collect();
        assert_eq!(
            codes,
            [
                ("missing_gsap_script", Some(3)),
                ("missing_lottie_script", Some(4))
            ]
        );
    }

    #[test]
    fn roots_ids_timelines_and_clip_windows() {
        let page = format!(
            "{}\n<p id=\"a\">1</p><p id=\"a\">2</p><p id=\"9x\">3</p>\n<span id=\"late\" data-start=\"1.5\" data-duration=\"1\">x</span>\n<video id=\"v\" src=\"v.mp4\" data-start=\"0\"/>\n</div>\n<script>\nconst tl = gsap.timeline();\ntl.to(\"#nowhere\", {{ x: 1, repeat: -1 }});\nwindow.__timelines = {{}};\nwindow.__timelines[\"intro\"] = tl;\n</script>",
            ROOT.replace(r#" data-height="180""#, "")
        );
        let found = lint(&[("index.html", &page)]);
        let codes: Vec<(&str, Severity, Option<usize>)> =
            found.iter().map(|(c, s, _, l)| (*c, *s, *l)).collect();
        use Severity::{Error, Warning};
        assert_eq!(
            codes,
            [
                ("root_missing_dimensions", Error, Some(1)),
                ("missing_local_asset", Error, Some(4)),
                ("self_closing_media_tag", Error, Some(4)),
                ("timeline_id_mismatch", Error, Some(10)),
                ("duplicate_id", Warning, Some(2)),
                ("id_requires_css_escape", Warning, Some(2)),
                ("clip_outside_parent", Warning, Some(3)),
                ("gsap_infinite_repeat", Warning, Some(8)),
                ("gsap_target_not_found", Warning, Some(8)),
            ]
        );
    }

    #[test]
    fn sub_compositions_missing_cyclic_and_their_assets() {
        let index = format!(
            "{ROOT}<div data-composition-id=\"a\" data-composition-src=\"scenes/a.html\" data-start=\"0\" data-duration=\"2\"></div><div data-composition-id=\"m\" data-composition-src=\"gone.html\"></div></div>"
        );
        let scene = "<template><div data-composition-id=\"a\" data-duration=\"2\"><img src=\"../logo.png\"><img src=\"../../../up.png\"><div data-composition-id=\"b\" data-composition-src=\"scenes/a.html\"></div><p style=\"font-family: 'Nowhere Sans', sans-serif\">x</p></div></template>";
        let found = lint(&[
            ("index.html", &index),
            ("scenes/a.html", scene),
            ("logo.png", "png"),
        ]);
        let codes: Vec<(&str, &str)> = found.iter().map(|(c, _, f, _)| (*c, f.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("missing_or_empty_sub_composition", "index.html"),
                ("font_family_without_font_face", "scenes/a.html"),
                ("sub_composition_cycle", "scenes/a.html"),
                ("missing_local_asset", "scenes/a.html"),
            ],
            "{found:?}"
        );
    }

    #[test]
    fn unseeded_randomness_unreadable_media_remote_assets_and_endless_css() {
        let page = r#"<!doctype html><html><head><script src="https://cdn.example.test/lib.js"></script>
<style>@keyframes spin { to { transform: rotate(1turn) } } .s { animation: spin 1s linear infinite; font-family: "Inter", serif }</style></head>
<body><div data-composition-id="main" data-width="320" data-height="180"><div class="s"></div><audio id="m" src="bad.mp3" data-start="0"></audio></div>
<script>const id = crypto.randomUUID(); const worker = new Worker("w.js");</script></body></html>"#;
        let found = lint(&[("index.html", page), ("bad.mp3", "<html>not found</html>")]);
        let codes: Vec<(&str, Option<usize>)> = found.iter().map(|(c, _, _, l)| (*c, *l)).collect();
        assert_eq!(
            codes,
            [
                ("media_unreadable", Some(3)),
                ("root_composition_missing_duration_source", Some(3)),
                ("non_deterministic_code", Some(4)),
                ("remote_asset", Some(1)),
                ("non_deterministic_code", Some(4)),
            ],
            "{found:?}"
        );
    }

    #[test]
    fn a_compile_error_no_rule_names_is_a_finding() {
        let page = format!("{ROOT}<p data-start=\"nope + \">x</p></div>");
        let found = lint(&[("index.html", &page)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "invalid_start");
    }
}
