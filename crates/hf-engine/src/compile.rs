//! The compile stage: read a HyperFrames project, find its root composition, and write a
//! self-contained page into the render's work dir with the hf runtime injected first.

use crate::RenderError;
use hf_encode::Fps;
use lol_html::html_content::ContentType;
use lol_html::{element, rewrite_str, RewriteStrSettings};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The in-page runtime, served as `/__hf_runtime.js` from the work dir.
pub const RUNTIME_JS: &str = include_str!("runtime/hf-runtime.js");
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

fn rewrite_error(path: &Path) -> impl Fn(lol_html::errors::RewritingError) -> RenderError + '_ {
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

    // Pass 1: learn the document's shape.
    let mut compositions: Vec<CompositionElement> = Vec::new();
    let (mut has_head, mut has_html) = (false, false);
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
                    Ok(())
                }),
                element!("head", |_| {
                    has_head = true;
                    Ok(())
                }),
                element!("html", |_| {
                    has_html = true;
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

    let dimension = |value: &Option<String>,
                     name: &str,
                     default: u32|
     -> Result<u32, RenderError> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some(text) => match text.parse::<f64>() {
                Ok(v) if (2.0..=16384.0).contains(&v) && v % 2.0 == 0.0 => Ok(v as u32),
                _ => Err(RenderError::InvalidAttribute {
                    path: index.clone(),
                    element: root.id.clone(),
                    attribute: name.to_string(),
                    value: text.to_string(),
                    expected: "an even whole number of pixels between 2 and 16384 (4:2:0 video needs even sizes)",
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

    // Pass 2: inject the runtime (and variable overrides) before any page script runs.
    let mut injected = format!("<script src=\"/{RUNTIME_FILE}\" data-hf-runtime></script>");
    if let Some(variables) = &input.variables {
        let json = serde_json::to_string(variables).expect("a JSON map serialises");
        // `</` cannot appear inside the script; escape it.
        injected.push_str(&format!(
            "<script data-hf-variables>window.__hfVariables = {};</script>",
            json.replace("</", "<\\/")
        ));
    }
    let target = if has_head {
        "head"
    } else if has_html {
        "html"
    } else {
        ""
    };
    let compiled = if target.is_empty() {
        format!("{injected}{html}")
    } else {
        rewrite_str(
            &html,
            RewriteStrSettings {
                element_content_handlers: vec![element!(target, |el| {
                    el.prepend(&injected, ContentType::Html);
                    Ok(())
                })],
                ..RewriteStrSettings::new()
            },
        )
        .map_err(rewrite_error(&index))?
    };

    std::fs::create_dir_all(&input.work_dir).map_err(|source| RenderError::Io {
        action: "create",
        path: input.work_dir.clone(),
        source,
    })?;
    let html_path = input.work_dir.join("index.html");
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).map_err(|source| RenderError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
    };
    write(&html_path, &compiled)?;
    write(&input.work_dir.join(RUNTIME_FILE), RUNTIME_JS)?;
    Ok(CompiledComposition {
        project_dir: input.project_dir.clone(),
        html_path,
        root_id: root.id,
        width,
        height,
        static_duration,
        fps_hint,
    })
}
