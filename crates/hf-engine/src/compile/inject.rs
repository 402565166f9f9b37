//! Pass 2 of the compile stage: what goes into the page (the runtime and variables first in
//! `<head>`, before any page script; fonts and scoped sub-composition styles; sub-composition
//! scripts at the end of `<body>`), and same-origin iframe pages given the runtime too.

use super::document::DocumentShape;
use super::remote::Localizer;
use super::subcomp::Inlined;
use super::{fonts, rewrite_error, variables, write_file};
use crate::RenderError;
use hf_capture::runtime_script_tag;
use hf_core::IoError;
use lol_html::html_content::ContentType;
use lol_html::{element, rewrite_str, RewriteStrSettings};
use std::path::Path;

/// The markup pass 2 adds to a page.
#[derive(Debug, Default)]
pub(super) struct Injections {
    /// First thing in `<head>`.
    head_start: String,
    /// Last thing in `<head>`.
    head_end: String,
    /// Last thing in `<body>`.
    body_end: String,
    /// The bundled font families served (their slugs).
    pub(super) fonts: Vec<&'static str>,
}

impl Injections {
    /// The injections for `html` with its inlined sub-compositions and the root's variable
    /// values; the fonts the page names are written into `work_dir`.
    pub(super) fn build(
        html: &str,
        overrides: Option<&serde_json::Map<String, serde_json::Value>>,
        inlined: &Inlined,
        root_values: &variables::VariableValues,
        page_scripts: &[String],
        work_dir: &Path,
    ) -> Result<Self, RenderError> {
        let mut head_start = runtime_script_tag();
        head_start.push_str(&variable_globals(overrides, inlined));
        head_start.push_str(
            "<style data-hf-text-rendering>html,body,*{text-rendering:geometricPrecision}</style>",
        );
        head_start.push_str(&variable_styles(root_values, inlined));
        if html.to_ascii_lowercase().contains("<hf-audio-group") {
            // As HyperFrames' runtime: the group element never takes layout space.
            head_start.push_str(
                "<style data-hf-audio-groups>hf-audio-group{display:none!important}</style>",
            );
        }
        let scoped_styles = inlined.styles.join("\n");
        let (faces, families) = fonts::font_faces(&format!("{html}{scoped_styles}"));
        if !faces.is_empty() {
            head_start.push_str(&format!("<style data-hf-fonts>{faces}</style>"));
            fonts::install_fonts(work_dir, &families)
                .map_err(IoError::with("write fonts into", work_dir))?;
        }
        let mut head_end: String = inlined
            .links
            .iter()
            .filter(|link| !html.contains(&format!("href=\"{}\"", link.href)))
            .map(|link| link.tag())
            .collect();
        if !scoped_styles.is_empty() {
            head_end.push_str(&format!(
                "<style data-hf-scoped>{}</style>",
                scoped_styles.replace("</", "<\\/")
            ));
        }
        Ok(Injections {
            head_start,
            head_end,
            body_end: body_scripts(inlined, page_scripts),
            fonts: families,
        })
    }

    /// `html` (the page at `index`, whose shape is `shape`) with the injections in place.
    pub(super) fn apply(
        &self,
        html: &str,
        shape: &DocumentShape,
        index: &Path,
    ) -> Result<String, RenderError> {
        let head_target = if shape.has_head {
            "head"
        } else if shape.has_html {
            "html"
        } else {
            ""
        };
        let (head_start, head_end) = (&self.head_start, &self.head_end);
        let mut compiled = if head_target.is_empty() {
            format!("{head_start}{head_end}{html}")
        } else {
            rewrite_str(
                html,
                RewriteStrSettings {
                    element_content_handlers: vec![element!(head_target, |el| {
                        el.prepend(head_start, ContentType::Html);
                        if head_target == "head" {
                            el.append(head_end, ContentType::Html);
                        } else {
                            el.prepend(head_end, ContentType::Html);
                        }
                        Ok(())
                    })],
                    ..RewriteStrSettings::new()
                },
            )
            .map_err(rewrite_error(index))?
        };
        if !self.body_end.is_empty() {
            compiled = if shape.has_body {
                append_to(&compiled, "body", &self.body_end, index)?
            } else {
                format!("{compiled}{}", self.body_end)
            };
        }
        Ok(compiled)
    }
}

/// `window.__hfVariables` (the overrides) and `window.__hfVariablesByComp` (each mount's
/// values), in a script; empty when there are none.
fn variable_globals(
    overrides: Option<&serde_json::Map<String, serde_json::Value>>,
    inlined: &Inlined,
) -> String {
    let mut globals = String::new();
    if let Some(variables) = overrides {
        let json = serde_json::to_string(variables).expect("a JSON map serialises");
        globals.push_str(&format!("window.__hfVariables = {json};"));
    }
    if !inlined.variables_by_comp.is_empty() {
        let json =
            serde_json::to_string(&inlined.variables_by_comp).expect("a JSON map serialises");
        globals.push_str(&format!("window.__hfVariablesByComp = {json};"));
    }
    if globals.is_empty() {
        return globals;
    }
    // `</` cannot appear inside the script; escape it.
    format!(
        "<script data-hf-variables>{}</script>",
        globals.replace("</", "<\\/")
    )
}

/// The variables as CSS custom properties: the root's on `:root`, each mount's on its
/// composition element; empty when there are none.
fn variable_styles(root_values: &variables::VariableValues, inlined: &Inlined) -> String {
    let mut css = String::new();
    let root_properties = variables::custom_properties(root_values);
    if !root_properties.is_empty() {
        css.push_str(&format!(":root{{{root_properties}}}"));
    }
    for (runtime_id, values) in &inlined.variables_by_comp {
        if let serde_json::Value::Object(values) = values {
            let properties = variables::custom_properties(values);
            if !properties.is_empty() {
                css.push_str(&format!(
                    "[data-composition-id=\"{runtime_id}\"]{{{properties}}}"
                ));
            }
        }
    }
    if css.is_empty() {
        return css;
    }
    format!("<style data-hf-composition-variables>{css}</style>")
}

/// The sub-compositions' scripts: external ones the page does not load itself, then the
/// scoped inline ones.
fn body_scripts(inlined: &Inlined, page_scripts: &[String]) -> String {
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
    body_end
}

/// `html` with `markup` appended inside its `selector` element.
fn append_to(html: &str, selector: &str, markup: &str, path: &Path) -> Result<String, RenderError> {
    rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![element!(selector, |el| {
                el.append(markup, ContentType::Html);
                Ok(())
            })],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(rewrite_error(path))
}

/// Same-origin iframe pages get the runtime too, so they follow the same virtual time: each
/// local `src` is localised, given the runtime first in its `<head>` and written into the
/// work dir at the same relative path.
pub(super) fn inject_iframes(
    iframes: &[String],
    project_dir: &Path,
    work_dir: &Path,
    localizer: &Localizer<'_>,
) -> Result<(), RenderError> {
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
        let page = project_dir.join(relative);
        let Ok(text) = std::fs::read_to_string(&page) else {
            continue;
        };
        let text = localizer.html(&text, &page)?;
        let runtime = runtime_script_tag();
        let injected = if text.to_ascii_lowercase().contains("<head") {
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
        write_file(&work_dir.join(relative), &injected)?;
    }
    Ok(())
}
