//! The compile stage: read a HyperFrames project, find its root composition, and write a
//! self-contained page into the render's work dir with the hf runtime injected first.

mod css_scope;
mod document;
mod entry;
mod fonts;
mod inject;
mod local_refs;
pub(crate) mod media;
mod rebase;
mod remote;
mod subcomp;
mod timing;
mod variables;

pub(crate) use entry::read_entry;
pub(crate) use fonts::{declared_families, is_bundled, used_families};
pub(crate) use local_refs::climbs_out;
pub(crate) use media::local_path;
pub use media::{MediaKind, MediaSource};
pub(crate) use rebase::rebase_asset_path;
pub(crate) use remote::google_font_families;
pub use variables::Declaration as VariableDeclaration;

use crate::assets::AssetCache;
use crate::RenderError;
use document::DocumentShape;
use hf_capture::{RUNTIME_FILE, RUNTIME_JS};
use hf_core::{Fps, IoError};
use inject::{inject_iframes, Injections};
use remote::{HYPER_SHADER_FILE, HYPER_SHADER_JS};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
/// Frame size the compiler assumes when the root has no `data-width`/`data-height`.
pub(crate) const DEFAULT_SIZE: (u32, u32) = (1080, 1920);

/// Input of [`compile_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompileInput {
    /// The project directory (holds `index.html` and its assets).
    pub project_dir: PathBuf,
    /// The page to render, relative to the project (`-c`). Default: `index.html`.
    #[serde(default)]
    pub composition: Option<PathBuf>,
    /// Where the compiled page is written (created if missing).
    pub work_dir: PathBuf,
    /// Render-time variable overrides (`--variables`), exposed as `window.__hfVariables`.
    pub variables: Option<serde_json::Map<String, serde_json::Value>>,
    /// Reject overrides that no `data-composition-variables` declares.
    #[serde(default)]
    pub strict_variables: bool,
    /// Warn instead of failing when a remote asset cannot be had.
    #[serde(default)]
    pub allow_missing_assets: bool,
    /// Fail on a font that cannot be had instead of warning (`--strict`).
    #[serde(default)]
    pub strict: bool,
    /// Fetch remote assets from loopback, private and link-local addresses too.
    #[serde(default)]
    pub allow_private_network: bool,
    /// The remote asset cache directory (`None`: [`AssetCache::default_dir`]).
    #[serde(default)]
    pub asset_cache: Option<PathBuf>,
}

impl CompileInput {
    /// Compile `project_dir` into `work_dir` with default settings.
    pub fn new(project_dir: impl Into<PathBuf>, work_dir: impl Into<PathBuf>) -> Self {
        CompileInput {
            project_dir: project_dir.into(),
            composition: None,
            work_dir: work_dir.into(),
            variables: None,
            strict_variables: false,
            allow_missing_assets: false,
            strict: false,
            allow_private_network: false,
            asset_cache: None,
        }
    }

    /// Set the variable overrides.
    pub fn variables(mut self, variables: serde_json::Map<String, serde_json::Value>) -> Self {
        self.variables = Some(variables);
        self
    }

    /// Set the remote asset cache directory.
    pub fn asset_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.asset_cache = Some(dir.into());
        self
    }
}

/// Result of [`compile_stage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompiledComposition {
    /// The project directory (served after the work dir, for assets).
    pub project_dir: PathBuf,
    /// The page the render started from (`index.html`, or the `-c` file).
    pub entry: PathBuf,
    /// The compiled entry page inside the work dir.
    pub html_path: PathBuf,
    /// The root composition's `data-composition-id`.
    pub root_id: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// The root's static `data-duration` in seconds, when it is a finite number above 0.
    pub static_duration: Option<f64>,
    /// The root's `data-fps` hint.
    pub fps_hint: Option<Fps>,
    /// Sub-composition files inlined into the page.
    pub inlined_files: Vec<PathBuf>,
    /// Warnings worth showing the user (assets skipped with `--allow-missing-assets`).
    pub warnings: Vec<String>,
    /// Every `<video>`/`<audio>` with a local source, checked.
    pub media: Vec<media::MediaSource>,
    /// Every composition of the page: the root, then each sub-composition mount.
    #[serde(default)]
    pub compositions: Vec<CompositionSummary>,
    /// Every timed clip (`[data-start]`), sub-compositions' included.
    #[serde(default)]
    pub clips: Vec<ClipSummary>,
    /// The root's variable declarations.
    #[serde(default)]
    pub variables: Vec<VariableDeclaration>,
    /// Bundled font families served to the page.
    #[serde(default)]
    pub fonts: Vec<String>,
    /// A composition declares `data-requires-webgpu`: the browser gets WebGPU (SwiftShader's
    /// Vulkan) and GPU compositing, which presents WebGPU canvases.
    #[serde(default)]
    pub requires_webgpu: bool,
}

/// A composition of the page, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompositionSummary {
    /// Its `data-composition-id` (mounts of one file repeated get `x__hf1`...).
    pub id: String,
    /// The file a sub-composition host mounts.
    pub file: Option<String>,
    /// `data-start` as written (the root has none).
    pub start: Option<String>,
    /// `data-duration`, if a number.
    pub duration: Option<f64>,
    /// `data-width`, if given.
    pub width: Option<u32>,
    /// `data-height`, if given.
    pub height: Option<u32>,
}

/// A timed clip of the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipSummary {
    /// Its `id`, if any.
    pub id: Option<String>,
    /// Its tag name.
    pub tag: String,
    /// Its start in seconds (relative to its composition's host; references resolved).
    pub start: f64,
    /// Its duration in seconds, if written.
    pub duration: Option<f64>,
    /// Its `data-track-index` (0 when absent).
    pub track: i64,
}

/// Whether `html` is a fragment (no `<html>` element and no doctype).
fn is_fragment(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    !lower.contains("<html") && !lower.contains("<!doctype")
}

/// Wrap a fragment into a full document with HyperFrames' reset styles.
fn wrap_fragment(html: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<style>*{{margin:0;padding:0;box-sizing:border-box}}\
         body{{overflow:hidden;background:#000;font-family:\"Inter\",sans-serif}}</style>\n</head>\n<body>\n{html}\n</body>\n</html>\n"
    )
}

/// Map an HTML rewriting error of the file at `path` to [`RenderError::InvalidHtml`].
pub(crate) fn rewrite_error<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> RenderError + '_ {
    move |e| RenderError::InvalidHtml {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Read `input.project_dir/index.html`, find the root composition, inject the runtime and write
/// the compiled page (plus the runtime file) into `input.work_dir`.
pub fn compile_stage(input: &CompileInput) -> Result<CompiledComposition, RenderError> {
    let _span = tracing::info_span!("compile", project = %input.project_dir.display()).entered();
    let entry::Entry { path: index, html } =
        entry::read_entry(&input.project_dir, input.composition.as_deref())?;
    std::fs::create_dir_all(&input.work_dir).map_err(IoError::with("create", &input.work_dir))?;

    // Remote assets become local files; sub-compositions are inlined (their files localised
    // the same way).
    let cache = AssetCache::at(
        input
            .asset_cache
            .clone()
            .unwrap_or_else(AssetCache::default_dir),
    )
    .allow_private_network(input.allow_private_network);
    let localizer = remote::Localizer::new(
        &cache,
        &input.work_dir,
        &input.project_dir,
        input.allow_missing_assets,
    )
    .strict(input.strict);
    let html = localizer.html(&html, &index)?;
    let prepare = |text: &str, path: &Path| localizer.html(text, path);
    let (html, inlined) = subcomp::Inliner::new(&input.project_dir, &prepare).run(&html, &index)?;
    let roots = [input.work_dir.as_path(), input.project_dir.as_path()];
    let missing = local_refs::check(&html, &index, &roots)?;
    if let (true, Some(first)) = (input.strict, missing.first()) {
        return Err(RenderError::Strict {
            message: first.clone(),
        });
    }
    localizer.warnings.borrow_mut().extend(missing);
    let (html, media) = media::normalize(&html, &index, &roots)?;

    let shape = DocumentShape::scan(&html, &index)?;
    let root = shape.root(&index)?;
    if let Some(ids) = shape.extra_roots() {
        localizer.warnings.borrow_mut().push(format!(
            "{} has {} root compositions ({}); rendering \"{}\": nest the others inside it as \
             sub-compositions, or mark the one to render data-root=\"true\"",
            index.display(),
            ids.len(),
            ids.join(", "),
            root.id
        ));
    }
    shape.check_starts(&index)?;
    let (declared, root_values) = root_variables(&shape.declarations, input, &index)?;
    let injections = Injections::build(
        &html,
        input.variables.as_ref(),
        &inlined,
        &root_values,
        &shape.page_scripts,
        &input.work_dir,
    )?;
    let compiled = injections.apply(&html, &shape, &index)?;
    let html_path = input.work_dir.join("index.html");
    write_file(&html_path, &compiled)?;
    write_file(&input.work_dir.join(RUNTIME_FILE), RUNTIME_JS)?;
    write_file(&input.work_dir.join(HYPER_SHADER_FILE), HYPER_SHADER_JS)?;
    inject_iframes(
        &shape.iframes,
        &input.project_dir,
        &input.work_dir,
        &localizer,
    )?;

    Ok(CompiledComposition {
        project_dir: input.project_dir.clone(),
        entry: index,
        html_path,
        root_id: root.id,
        width: root.width,
        height: root.height,
        static_duration: root.static_duration,
        fps_hint: root.fps_hint,
        inlined_files: inlined.files,
        warnings: localizer.warnings.into_inner(),
        media,
        compositions: shape.composition_summaries(),
        clips: shape.clip_summaries(),
        variables: declared,
        fonts: injections.fonts.iter().map(|f| f.to_string()).collect(),
        requires_webgpu: requires_webgpu(&compiled),
    })
}

/// Whether a composition root of `html` declares `data-requires-webgpu` (HyperFrames'
/// `compositionRequiresWebGpu`: any element with `data-composition-id` or an inlined root).
fn requires_webgpu(html: &str) -> bool {
    static ROOT_TAG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)<[a-z][^>]*\b(?:data-composition-id|data-hf-inner-root)\b[^>]*>")
            .expect("valid regex")
    });
    static FLAG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\sdata-requires-webgpu(?:[\s=/>]|$)").expect("valid regex")
    });
    ROOT_TAG
        .find_iter(html)
        .any(|tag| FLAG.is_match(tag.as_str()))
}

/// The root's variable values: declared defaults, then the overrides (checked against the
/// declarations).
fn root_variables(
    declarations: &[String],
    input: &CompileInput,
    index: &Path,
) -> Result<(Vec<VariableDeclaration>, variables::VariableValues), RenderError> {
    let mut declared = Vec::new();
    for raw in declarations {
        declared.extend(variables::parse_declarations(raw, index)?);
    }
    let overrides = input.variables.clone().unwrap_or_default();
    variables::check_overrides(&declared, &overrides, input.strict_variables)?;
    let mut values = variables::VariableValues::new();
    for declaration in &declared {
        values
            .entry(declaration.id.clone())
            .or_insert(declaration.default.clone());
    }
    values.extend(overrides);
    Ok((declared, values))
}

/// Write `text` to `path`, creating its directory.
fn write_file(path: &Path, text: &str) -> Result<(), RenderError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(IoError::with("create", parent))?;
    }
    std::fs::write(path, text).map_err(IoError::with("write", path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webgpu_is_required_by_a_composition_root_that_says_so() {
        assert!(requires_webgpu(
            r#"<div data-composition-id="a" data-requires-webgpu data-width="9">"#
        ));
        assert!(requires_webgpu(
            r#"<div id="x"></div><section data-hf-inner-root data-requires-webgpu="true">"#
        ));
        assert!(!requires_webgpu(
            r#"<div data-composition-id="a"><canvas data-requires-webgpu>"#
        ));
        assert!(!requires_webgpu(
            r#"<div data-composition-id="a" data-requires-webgpu-later>"#
        ));
    }
}
