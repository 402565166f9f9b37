//! The compile stage: read a HyperFrames project, find its root composition, and write a
//! self-contained page into the render's work dir with the hf runtime injected first.

use crate::RenderError;
use hf_encode::Fps;
use lol_html::html_content::ContentType;
use lol_html::{element, rewrite_str, RewriteStrSettings};

mod css_scope;
mod fonts;
pub mod media;
mod remote;
mod subcomp;
pub mod timing;
pub mod variables;

use crate::assets::AssetCache;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// The in-page runtime, served as `/__hf_runtime.js` from the work dir.
pub const RUNTIME_JS: &str = include_str!("../runtime/hf-runtime.js");
/// Name of the runtime file inside the work dir.
pub const RUNTIME_FILE: &str = "__hf_runtime.js";
/// Frame size the compiler assumes when the root has no `data-width`/`data-height`.
pub const DEFAULT_SIZE: (u32, u32) = (1080, 1920);

/// Input of [`compile_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompileInput {
    /// The project directory (holds `index.html` and its assets).
    pub project_dir: PathBuf,
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
    /// The remote asset cache directory (`None`: [`AssetCache::default_dir`]).
    #[serde(default)]
    pub asset_cache: Option<PathBuf>,
}

impl CompileInput {
    /// Compile `project_dir` into `work_dir` with default settings.
    pub fn new(project_dir: impl Into<PathBuf>, work_dir: impl Into<PathBuf>) -> Self {
        CompileInput {
            project_dir: project_dir.into(),
            work_dir: work_dir.into(),
            variables: None,
            strict_variables: false,
            allow_missing_assets: false,
            asset_cache: None,
        }
    }
}

/// Result of [`compile_stage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompiledComposition {
    /// The project directory (served after the work dir, for assets).
    pub project_dir: PathBuf,
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
}

#[derive(Debug, Clone, Default)]
struct CompositionElement {
    id: String,
    explicit_root: bool,
    width: Option<String>,
    height: Option<String>,
    duration: Option<String>,
    legacy_duration: Option<String>,
    fps: Option<String>,
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
fn rewrite_error<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> RenderError + '_ {
    move |e| RenderError::InvalidHtml {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Read `input.project_dir/index.html`, find the root composition, inject the runtime and write
/// the compiled page (plus the runtime file) into `input.work_dir`.
pub fn compile_stage(input: &CompileInput) -> Result<CompiledComposition, RenderError> {
    let _span = tracing::info_span!("compile", project = %input.project_dir.display()).entered();
    if !input.project_dir.is_dir() {
        return Err(RenderError::ProjectNotFound {
            path: input.project_dir.clone(),
        });
    }
    let index = input.project_dir.join("index.html");
    let source = std::fs::read_to_string(&index).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            RenderError::IndexNotFound {
                path: index.clone(),
            }
        } else {
            RenderError::Io {
                action: "read",
                path: index.clone(),
                source,
            }
        }
    })?;
    let html = if is_fragment(&source) {
        wrap_fragment(&source)
    } else {
        source
    };
    std::fs::create_dir_all(&input.work_dir).map_err(|source| RenderError::Io {
        action: "create",
        path: input.work_dir.clone(),
        source,
    })?;

    // Remote assets become local files; sub-compositions are inlined (their files localised
    // the same way).
    let cache = AssetCache::at(
        input
            .asset_cache
            .clone()
            .unwrap_or_else(AssetCache::default_dir),
    );
    let localizer = remote::Localizer::new(
        &cache,
        &input.work_dir,
        &input.project_dir,
        input.allow_missing_assets,
    );
    let html = localizer.html(&html, &index)?;
    let prepare = |text: &str, path: &Path| localizer.html(text, path);
    let (html, inlined) = subcomp::Inliner::new(&input.project_dir, &prepare).run(&html, &index)?;
    let (html, media) = media::normalize(&html, &index, &[&input.work_dir, &input.project_dir])?;

    // Pass 1: learn the document's shape.
    let mut compositions: Vec<CompositionElement> = Vec::new();
    let (mut has_head, mut has_html, mut has_body) = (false, false, false);
    let declarations = RefCell::new(Vec::<String>::new());
    let mut iframes: Vec<String> = Vec::new();
    let mut page_scripts: Vec<String> = Vec::new();
    let mut timed: Vec<timing::TimedClip> = Vec::new();
    rewrite_str(
        &html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!("[data-composition-id]", |el| {
                    compositions.push(CompositionElement {
                        id: el.get_attribute("data-composition-id").unwrap_or_default(),
                        explicit_root: el.get_attribute("data-root").as_deref() == Some("true"),
                        width: el.get_attribute("data-width"),
                        height: el.get_attribute("data-height"),
                        duration: el.get_attribute("data-duration"),
                        legacy_duration: el.get_attribute("data-composition-duration"),
                        fps: el.get_attribute("data-fps"),
                    });
                    // Inlined sub-compositions' declarations are per mount (__hfVariablesByComp).
                    if !el.has_attribute("data-hf-inner-root") {
                        declarations
                            .borrow_mut()
                            .extend(el.get_attribute("data-composition-variables"));
                    }
                    Ok(())
                }),
                element!("head", |_| {
                    has_head = true;
                    Ok(())
                }),
                element!("body", |_| {
                    has_body = true;
                    Ok(())
                }),
                element!("html", |el| {
                    has_html = true;
                    declarations
                        .borrow_mut()
                        .extend(el.get_attribute("data-composition-variables"));
                    Ok(())
                }),
                element!("[data-start]", |el| {
                    let number = |name: &str| {
                        el.get_attribute(name)
                            .and_then(|v| v.trim().parse::<f64>().ok())
                    };
                    let start = el.get_attribute("data-start").unwrap_or_default();
                    let duration = number("data-duration").or_else(|| {
                        let end = number("data-end")?;
                        Some(end - start.trim().parse::<f64>().ok()?)
                    });
                    timed.push(timing::TimedClip {
                        id: el.get_attribute("id").filter(|id| !id.is_empty()),
                        start,
                        duration,
                    });
                    Ok(())
                }),
                element!("iframe[src]", |el| {
                    iframes.extend(el.get_attribute("src"));
                    Ok(())
                }),
                element!("script[src]", |el| {
                    page_scripts.extend(el.get_attribute("src"));
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(rewrite_error(&index))?;

    // The explicit root, else the first composition in document order (which has no
    // composition ancestor, since ancestors open before their descendants).
    let root = compositions
        .iter()
        .find(|c| c.explicit_root)
        .or_else(|| compositions.first())
        .cloned()
        .ok_or_else(|| RenderError::NoComposition {
            path: index.clone(),
        })?;

    let dimension =
        |value: &Option<String>, name: &str, default: u32| -> Result<u32, RenderError> {
            match value.as_deref().map(str::trim) {
                None | Some("") => Ok(default),
                Some(text) => match text.parse::<f64>() {
                    // Odd sizes are fine: 4:2:0 codecs pad the output by one pixel.
                    Ok(v) if (1.0..=16384.0).contains(&v) && v.fract() == 0.0 => Ok(v as u32),
                    _ => Err(RenderError::InvalidAttribute {
                        path: index.clone(),
                        element: root.id.clone(),
                        attribute: name.to_string(),
                        value: text.to_string(),
                        expected: "a whole number of pixels between 1 and 16384",
                    }),
                },
            }
        };
    let width = dimension(&root.width, "data-width", DEFAULT_SIZE.0)?;
    let height = dimension(&root.height, "data-height", DEFAULT_SIZE.1)?;
    let static_duration = root
        .duration
        .as_deref()
        .or(root.legacy_duration.as_deref())
        .and_then(|d| d.trim().parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0);
    let fps_hint = match root.fps.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(
            text.parse::<Fps>()
                .map_err(|_| RenderError::InvalidAttribute {
                    path: index.clone(),
                    element: root.id.clone(),
                    attribute: "data-fps".into(),
                    value: text.to_string(),
                    expected: "an integer such as 30 or a rational such as 30000/1001",
                })?,
        ),
    };

    // Relative starts must name a clip and must not form a cycle.
    if let Err(error) = timing::resolve_starts(&timed) {
        let (clip, reason) = match error {
            timing::StartError::Invalid { clip } => (
                clip,
                "expected seconds (\"1.5\") or a clip reference (\"intro\", \"intro + 0.5\")"
                    .to_string(),
            ),
            timing::StartError::UnknownReference { clip, reference } => (
                clip,
                format!(
                    "no element has id=\"{reference}\"; name the id of the clip this one follows"
                ),
            ),
            timing::StartError::Cycle { clip, chain } => (
                clip,
                format!(
                    "relative starts form a cycle ({}); give one of them a number of seconds",
                    chain.join(" -> ")
                ),
            ),
        };
        return Err(RenderError::InvalidStart {
            path: index.clone(),
            element: timed[clip].id.clone().unwrap_or_else(|| "(no id)".into()),
            value: timed[clip].start.clone(),
            reason,
        });
    }

    // Variables: declared defaults, overrides checked against the declarations.
    let mut declared = Vec::new();
    for raw in declarations.into_inner() {
        declared.extend(variables::parse_declarations(&raw, &index)?);
    }
    let overrides = input.variables.clone().unwrap_or_default();
    variables::check_overrides(&declared, &overrides, input.strict_variables)?;
    let mut root_values = variables::VariableValues::new();
    for declaration in &declared {
        root_values
            .entry(declaration.id.clone())
            .or_insert(declaration.default.clone());
    }
    root_values.extend(overrides);

    // Pass 2: the runtime and variables first in <head> (before any page script), then fonts
    // and scoped sub-composition styles; sub-composition scripts at the end of <body>.
    let mut head_start = format!("<script src=\"/{RUNTIME_FILE}\" data-hf-runtime></script>");
    let mut globals = String::new();
    if let Some(variables) = &input.variables {
        let json = serde_json::to_string(variables).expect("a JSON map serialises");
        globals.push_str(&format!("window.__hfVariables = {json};"));
    }
    if !inlined.variables_by_comp.is_empty() {
        let json =
            serde_json::to_string(&inlined.variables_by_comp).expect("a JSON map serialises");
        globals.push_str(&format!("window.__hfVariablesByComp = {json};"));
    }
    if !globals.is_empty() {
        // `</` cannot appear inside the script; escape it.
        head_start.push_str(&format!(
            "<script data-hf-variables>{}</script>",
            globals.replace("</", "<\\/")
        ));
    }
    head_start.push_str(
        "<style data-hf-text-rendering>html,body,*{text-rendering:geometricPrecision}</style>",
    );
    let mut variable_css = String::new();
    let root_properties = variables::custom_properties(&root_values);
    if !root_properties.is_empty() {
        variable_css.push_str(&format!(":root{{{root_properties}}}"));
    }
    for (runtime_id, values) in &inlined.variables_by_comp {
        if let serde_json::Value::Object(values) = values {
            let properties = variables::custom_properties(values);
            if !properties.is_empty() {
                variable_css.push_str(&format!(
                    "[data-composition-id=\"{runtime_id}\"]{{{properties}}}"
                ));
            }
        }
    }
    if !variable_css.is_empty() {
        head_start.push_str(&format!(
            "<style data-hf-composition-variables>{variable_css}</style>"
        ));
    }
    let scoped_styles = inlined.styles.join("\n");
    let (faces, families) = fonts::font_faces(&format!("{html}{scoped_styles}"));
    if !faces.is_empty() {
        head_start.push_str(&format!("<style data-hf-fonts>{faces}</style>"));
        fonts::install_fonts(&input.work_dir, &families).map_err(|source| RenderError::Io {
            action: "write fonts into",
            path: input.work_dir.clone(),
            source,
        })?;
    }
    let head_end = if scoped_styles.is_empty() {
        String::new()
    } else {
        format!(
            "<style data-hf-scoped>{}</style>",
            scoped_styles.replace("</", "<\\/")
        )
    };
    let mut body_end = String::new();
    for src in &inlined.external_scripts {
        if !page_scripts.contains(src) {
            body_end.push_str(&format!(
                "<script src=\"{}\"></script>",
                src.replace('"', "&quot;")
            ));
        }
    }
    for script in &inlined.scripts {
        body_end.push_str(&format!(
            "<script data-hf-scoped>{}</script>",
            script.replace("</script", "<\\/script")
        ));
    }

    let head_target = if has_head {
        "head"
    } else if has_html {
        "html"
    } else {
        ""
    };
    let mut compiled = if head_target.is_empty() {
        format!("{head_start}{head_end}{html}")
    } else {
        rewrite_str(
            &html,
            RewriteStrSettings {
                element_content_handlers: vec![element!(head_target, |el| {
                    el.prepend(&head_start, ContentType::Html);
                    if head_target == "head" {
                        el.append(&head_end, ContentType::Html);
                    } else {
                        el.prepend(&head_end, ContentType::Html);
                    }
                    Ok(())
                })],
                ..RewriteStrSettings::new()
            },
        )
        .map_err(rewrite_error(&index))?
    };
    if !body_end.is_empty() {
        compiled = if has_body {
            rewrite_str(
                &compiled,
                RewriteStrSettings {
                    element_content_handlers: vec![element!("body", |el| {
                        el.append(&body_end, ContentType::Html);
                        Ok(())
                    })],
                    ..RewriteStrSettings::new()
                },
            )
            .map_err(rewrite_error(&index))?
        } else {
            format!("{compiled}{body_end}")
        };
    }

    let html_path = input.work_dir.join("index.html");
    let write = |path: &Path, text: &str| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| RenderError::Io {
                action: "create",
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(path, text).map_err(|source| RenderError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
    };
    write(&html_path, &compiled)?;
    write(&input.work_dir.join(RUNTIME_FILE), RUNTIME_JS)?;

    // Same-origin iframe pages get the runtime too, so they follow the same virtual time.
    for src in iframes {
        let relative = src
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .trim_start_matches("./");
        if relative.is_empty()
            || relative.contains("://")
            || relative.starts_with("//")
            || relative.contains("..")
        {
            continue;
        }
        let relative = relative.trim_start_matches('/');
        let page = input.project_dir.join(relative);
        let Ok(text) = std::fs::read_to_string(&page) else {
            continue;
        };
        let text = localizer.html(&text, &page)?;
        let runtime = format!("<script src=\"/{RUNTIME_FILE}\" data-hf-runtime></script>");
        let lower = text.to_ascii_lowercase();
        let injected = if lower.contains("<head") {
            rewrite_str(
                &text,
                RewriteStrSettings {
                    element_content_handlers: vec![element!("head", |el| {
                        el.prepend(&runtime, ContentType::Html);
                        Ok(())
                    })],
                    ..RewriteStrSettings::new()
                },
            )
            .map_err(rewrite_error(&page))?
        } else {
            format!("{runtime}{text}")
        };
        write(&input.work_dir.join(relative), &injected)?;
    }

    Ok(CompiledComposition {
        project_dir: input.project_dir.clone(),
        html_path,
        root_id: root.id,
        width,
        height,
        static_duration,
        fps_hint,
        inlined_files: inlined.files,
        warnings: localizer.warnings.into_inner(),
        media,
    })
}
