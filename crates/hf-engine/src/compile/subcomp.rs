//! Sub-composition inlining: every `data-composition-src` host gets the contents of the file it
//! names (its `<template>`, else its `<body>`), recursively to a fixed point. Each mount gets a
//! unique runtime id; its styles are scoped to it and its scripts run scoped to it.

use super::css_scope::scope_css;
use super::rebase::rebase_sub_composition;
use super::rewrite_error;
use super::variables::{declared_defaults, VariableValues};
use crate::RenderError;
use lol_html::html_content::ContentType;
use lol_html::{element, rewrite_str, text, RewriteStrSettings};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What inlining collected besides the rewritten HTML.
#[derive(Debug, Default)]
pub struct Inlined {
    /// Scoped CSS of every mount, in mount order.
    pub styles: Vec<String>,
    /// External `<script src>` of the mounted files, de-duplicated, in first-seen order.
    pub external_scripts: Vec<String>,
    /// `<link rel="stylesheet">` and `<link rel="preconnect">` tags of the mounted files'
    /// `<head>`s (hoisted into the page's head, as HyperFrames does), de-duplicated by href.
    pub links: Vec<HeadLink>,
    /// Inline scripts of every mount, already wrapped to run scoped to their mount.
    pub scripts: Vec<String>,
    /// Variable values of each mount, keyed by runtime id.
    pub variables_by_comp: serde_json::Map<String, serde_json::Value>,
    /// Files that were inlined (for cache keys and diagnostics).
    pub files: Vec<PathBuf>,
}

/// A `<link>` of a sub-composition's `<head>`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadLink {
    /// `stylesheet` or `preconnect`.
    pub rel: String,
    /// Its href, rebased onto the project root.
    pub href: String,
    /// Its `crossorigin` attribute, if any.
    pub crossorigin: Option<String>,
}

impl HeadLink {
    /// The tag.
    pub fn tag(&self) -> String {
        let crossorigin = self
            .crossorigin
            .as_ref()
            .map(|c| format!(" crossorigin=\"{}\"", c.replace('"', "&quot;")))
            .unwrap_or_default();
        format!(
            "<link rel=\"{}\" href=\"{}\"{crossorigin}>",
            self.rel.replace('"', "&quot;"),
            self.href.replace('"', "&quot;")
        )
    }
}

/// The parts of a sub-composition file that get transported.
struct FileParts {
    content: String,
    links: Vec<HeadLink>,
    styles: Vec<String>,
    external_scripts: Vec<String>,
    scripts: Vec<String>,
    defaults: VariableValues,
}

/// Inlines the sub-compositions of one document.
pub struct Inliner<'a> {
    project_dir: &'a Path,
    mounts: HashMap<String, usize>,
    /// Hook applied to every file's HTML before it is parsed (remote asset localisation).
    prepare: &'a dyn Fn(&str, &Path) -> Result<String, RenderError>,
    out: Inlined,
}

impl<'a> Inliner<'a> {
    /// An inliner for files under `project_dir`.
    pub fn new(
        project_dir: &'a Path,
        prepare: &'a dyn Fn(&str, &Path) -> Result<String, RenderError>,
    ) -> Self {
        Inliner {
            project_dir,
            mounts: HashMap::new(),
            prepare,
            out: Inlined::default(),
        }
    }

    /// Inline every host in `html` (the entry page at `path`).
    pub fn run(mut self, html: &str, path: &Path) -> Result<(String, Inlined), RenderError> {
        let chain = vec![path.to_path_buf()];
        let html = self.inline_hosts(html, path, &chain)?;
        Ok((html, self.out))
    }

    fn runtime_id(&mut self, authored: &str) -> String {
        let count = self.mounts.entry(authored.to_string()).or_insert(0);
        let id = if *count == 0 {
            authored.to_string()
        } else {
            format!("{authored}__hf{count}")
        };
        *count += 1;
        id
    }

    fn inline_hosts(
        &mut self,
        html: &str,
        file: &Path,
        chain: &[PathBuf],
    ) -> Result<String, RenderError> {
        if !html.contains("data-composition-src") {
            return Ok(html.to_string());
        }
        let failure: RefCell<Option<RenderError>> = RefCell::new(None);
        let this = RefCell::new(self);
        let rewritten = rewrite_str(
            html,
            RewriteStrSettings {
                element_content_handlers: vec![element!("[data-composition-src]", |el| {
                    if failure.borrow().is_some() {
                        return Ok(());
                    }
                    let src = el.get_attribute("data-composition-src").unwrap_or_default();
                    let host = HostAttributes {
                        id: el.get_attribute("data-composition-id"),
                        width: el.get_attribute("data-width"),
                        height: el.get_attribute("data-height"),
                        values: el.get_attribute("data-variable-values"),
                    };
                    match this.borrow_mut().mount(&src, &host, file, chain) {
                        Ok(mount) => {
                            el.remove_attribute("data-composition-src");
                            el.set_attribute("data-composition-file", &src)?;
                            el.set_attribute("data-composition-id", &mount.runtime_id)?;
                            if mount.runtime_id != mount.authored_id {
                                el.set_attribute(
                                    "data-hf-original-composition-id",
                                    &mount.authored_id,
                                )?;
                            }
                            let mut style = el.get_attribute("style").unwrap_or_default();
                            if !style.is_empty() && !style.trim_end().ends_with(';') {
                                style.push(';');
                            }
                            style.push_str(&mount.size_style);
                            el.set_attribute("style", &style)?;
                            el.append(&mount.content, ContentType::Html);
                        }
                        Err(error) => *failure.borrow_mut() = Some(error),
                    }
                    Ok(())
                })],
                ..RewriteStrSettings::new()
            },
        )
        .map_err(rewrite_error(file))?;
        match failure.into_inner() {
            Some(error) => Err(error),
            None => Ok(rewritten),
        }
    }

    fn mount(
        &mut self,
        src: &str,
        host: &HostAttributes,
        from: &Path,
        chain: &[PathBuf],
    ) -> Result<Mount, RenderError> {
        let host_name = host.id.clone().unwrap_or_else(|| "(no id)".into());
        let relative = src.trim_start_matches("./").trim_start_matches('/');
        let path = self.project_dir.join(relative);
        let missing = |reason: String| RenderError::SubCompositionMissing {
            from: from.to_path_buf(),
            host: host_name.clone(),
            src: src.to_string(),
            path: path.clone(),
            reason,
        };
        let canonical = path
            .canonicalize()
            .map_err(|_| missing("does not exist".into()))?;
        if chain.contains(&canonical) {
            let mut names: Vec<String> = chain.iter().map(|p| self.display(p)).collect();
            names.push(self.display(&canonical));
            return Err(RenderError::SubCompositionCycle {
                chain: names.join(" -> "),
            });
        }
        let source = std::fs::read_to_string(&canonical)
            .map_err(|e| missing(format!("cannot be read ({e})")))?;
        let source = (self.prepare)(&source, &canonical)?;
        let source = rebase_sub_composition(&source, &canonical, src, self.project_dir)?;
        let parts = extract_parts(&source, &canonical)?;
        self.out.files.push(canonical.clone());

        let root = read_inner_root(&parts.content, &canonical)?;
        let authored_id = host
            .id
            .clone()
            .or_else(|| root.composition_id.clone())
            .unwrap_or_else(|| file_stem(&canonical));
        let runtime_id = self.runtime_id(&authored_id);
        let authored_root_id = root
            .element_id
            .clone()
            .or_else(|| root.composition_id.clone());

        // Variables of this mount: the file's declared defaults, then the host's values.
        let mut values = parts.defaults.clone();
        if let Some(raw) = host.values.as_deref().filter(|v| !v.trim().is_empty()) {
            let overrides: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw)
                .map_err(|e| {
                    RenderError::VariableDeclaration(format!(
                        "{}: host \"{host_name}\" has data-variable-values that is not a JSON object ({e}); write it as data-variable-values='{{\"title\":\"Hello\"}}'",
                        from.display()
                    ))
                })?;
            values.extend(overrides);
        }

        let mut nested_chain = chain.to_vec();
        nested_chain.push(canonical.clone());
        let content = rewrite_inner_root(
            &parts.content,
            &canonical,
            &runtime_id,
            authored_root_id.as_deref(),
        )?;

        for css in &parts.styles {
            let scoped = scope_css(css, &runtime_id, &authored_id, authored_root_id.as_deref())
                .map_err(|reason| RenderError::InvalidHtml {
                    path: canonical.clone(),
                    reason: format!("a <style> block could not be parsed: {reason}"),
                })?;
            self.out.styles.push(scoped);
        }
        for link in parts.links {
            if !self.out.links.iter().any(|l| l.href == link.href) {
                self.out.links.push(link);
            }
        }
        for script in parts.external_scripts {
            if !self.out.external_scripts.contains(&script) {
                self.out.external_scripts.push(script);
            }
        }
        for script in &parts.scripts {
            self.out.scripts.push(wrap_script(
                script,
                &runtime_id,
                &authored_id,
                authored_root_id.as_deref(),
            ));
        }
        self.out
            .variables_by_comp
            .insert(runtime_id.clone(), serde_json::Value::Object(values));
        // Nested mounts after this one: their styles come later and win ties, their
        // scripts run after this composition's.
        let content = self.inline_hosts(&content, &canonical, &nested_chain)?;

        let size_style = format!(
            "width:{};height:{};",
            css_size(host.width.as_deref().or(root.width.as_deref())),
            css_size(host.height.as_deref().or(root.height.as_deref()))
        );
        Ok(Mount {
            runtime_id,
            authored_id,
            content,
            size_style,
        })
    }

    fn display(&self, path: &Path) -> String {
        let base = self
            .project_dir
            .canonicalize()
            .unwrap_or_else(|_| self.project_dir.to_path_buf());
        path.strip_prefix(&base)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

struct HostAttributes {
    id: Option<String>,
    width: Option<String>,
    height: Option<String>,
    values: Option<String>,
}

struct Mount {
    runtime_id: String,
    authored_id: String,
    content: String,
    size_style: String,
}

#[derive(Default)]
struct InnerRoot {
    composition_id: Option<String>,
    element_id: Option<String>,
    width: Option<String>,
    height: Option<String>,
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "composition".into())
}

/// `data-width`/`data-height` as a CSS length: whole pixels when positive, else `100%`.
fn css_size(value: Option<&str>) -> String {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .map(|v| format!("{v}px"))
        .unwrap_or_else(|| "100%".into())
}

const START_MARK: &str = "<!--hf-transported-start-->";
const END_MARK: &str = "<!--hf-transported-end-->";

fn is_javascript(el: &lol_html::html_content::Element<'_, '_>) -> bool {
    match el.get_attribute("type") {
        None => true,
        Some(t) => {
            let t = t.trim().to_ascii_lowercase();
            t.is_empty() || t == "module" || t.contains("javascript") || t.contains("ecmascript")
        }
    }
}

/// Split a sub-composition file into its transported content (inside `<template>`, else
/// `<body>`), its styles, its scripts and its variable declarations.
fn extract_parts(source: &str, path: &Path) -> Result<FileParts, RenderError> {
    let container = if source.to_ascii_lowercase().contains("<template") {
        "template"
    } else if source.to_ascii_lowercase().contains("<body") {
        "body"
    } else {
        ""
    };
    let wrapped;
    let (source, container) = if container.is_empty() {
        wrapped = format!("<body>{source}</body>");
        (wrapped.as_str(), "body")
    } else {
        (source, container)
    };
    let styles = RefCell::new(Vec::<String>::new());
    let scripts = RefCell::new(Vec::<String>::new());
    let external = RefCell::new(Vec::<String>::new());
    let declarations = RefCell::new(Vec::<String>::new());
    let links = RefCell::new(Vec::<HeadLink>::new());
    let seen_container = RefCell::new(false);
    // A `<template>` transports only its own contents; a full document (no template) brings
    // its `<head>` styles and scripts along with its `<body>`.
    let (script_selector, style_selector) = if container == "template" {
        ("template script".to_string(), "template style".to_string())
    } else {
        ("script".to_string(), "style".to_string())
    };
    let in_script = RefCell::new(false);
    let rewritten = rewrite_str(
        source,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!(container, |el| {
                    if !*seen_container.borrow() {
                        *seen_container.borrow_mut() = true;
                        el.prepend(START_MARK, ContentType::Html);
                        el.append(END_MARK, ContentType::Html);
                    }
                    Ok(())
                }),
                element!(
                    r#"head link[rel="stylesheet"], head link[rel="preconnect"]"#,
                    |el| {
                        if let Some(href) =
                            el.get_attribute("href").filter(|h| !h.trim().is_empty())
                        {
                            links.borrow_mut().push(HeadLink {
                                rel: el.get_attribute("rel").unwrap_or_default(),
                                href: href.trim().to_string(),
                                crossorigin: el.get_attribute("crossorigin"),
                            });
                        }
                        Ok(())
                    }
                ),
                element!("html[data-composition-variables]", |el| {
                    declarations
                        .borrow_mut()
                        .extend(el.get_attribute("data-composition-variables"));
                    Ok(())
                }),
                element!("[data-composition-id][data-composition-variables]", |el| {
                    declarations
                        .borrow_mut()
                        .extend(el.get_attribute("data-composition-variables"));
                    Ok(())
                }),
                element!(style_selector, |el| {
                    styles.borrow_mut().push(String::new());
                    el.remove();
                    Ok(())
                }),
                text!(style_selector, |t| {
                    if let Some(last) = styles.borrow_mut().last_mut() {
                        last.push_str(t.as_str());
                    }
                    Ok(())
                }),
                element!(script_selector, |el| {
                    if !is_javascript(el) {
                        *in_script.borrow_mut() = false;
                        return Ok(());
                    }
                    match el.get_attribute("src") {
                        Some(src) => {
                            external.borrow_mut().push(src);
                            *in_script.borrow_mut() = false;
                        }
                        None => {
                            scripts.borrow_mut().push(String::new());
                            *in_script.borrow_mut() = true;
                        }
                    }
                    el.remove();
                    Ok(())
                }),
                text!(script_selector, |t| {
                    if *in_script.borrow() {
                        if let Some(last) = scripts.borrow_mut().last_mut() {
                            last.push_str(t.as_str());
                        }
                    }
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(rewrite_error(path))?;
    let content = match (rewritten.find(START_MARK), rewritten.rfind(END_MARK)) {
        (Some(start), Some(end)) if end >= start => {
            rewritten[start + START_MARK.len()..end].to_string()
        }
        _ => String::new(),
    };
    let mut defaults = VariableValues::new();
    for raw in declarations.into_inner() {
        defaults.extend(declared_defaults(&raw, path)?);
    }
    Ok(FileParts {
        content,
        links: links.into_inner(),
        styles: styles.into_inner(),
        external_scripts: external.into_inner(),
        scripts: scripts
            .into_inner()
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .collect(),
        defaults,
    })
}

/// The first `[data-composition-id]` of transported content: the composition's own root.
fn read_inner_root(content: &str, path: &Path) -> Result<InnerRoot, RenderError> {
    let root = RefCell::new(None::<InnerRoot>);
    rewrite_str(
        content,
        RewriteStrSettings {
            element_content_handlers: vec![element!("[data-composition-id]", |el| {
                if root.borrow().is_none() {
                    *root.borrow_mut() = Some(InnerRoot {
                        composition_id: el.get_attribute("data-composition-id"),
                        element_id: el.get_attribute("id").filter(|id| !id.is_empty()),
                        width: el.get_attribute("data-width"),
                        height: el.get_attribute("data-height"),
                    });
                }
                Ok(())
            })],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(rewrite_error(path))?;
    Ok(root.into_inner().unwrap_or_default())
}

/// Turn the inner root into a `data-hf-inner-root` wrapper: it loses its `id` and its timing
/// (the host carries them), takes the mount's runtime `data-composition-id` (the composition's
/// own `[data-composition-id="x"]` rules are renamed to match it) and records the authored `id`
/// for scoped `#id` rules.
fn rewrite_inner_root(
    content: &str,
    path: &Path,
    runtime_id: &str,
    authored_root_id: Option<&str>,
) -> Result<String, RenderError> {
    let done = RefCell::new(false);
    let rewritten = rewrite_str(
        content,
        RewriteStrSettings {
            element_content_handlers: vec![element!("[data-composition-id]", |el| {
                if *done.borrow() {
                    return Ok(());
                }
                *done.borrow_mut() = true;
                let mut style = format!(
                    "position:relative;width:{};height:{};",
                    css_size(el.get_attribute("data-width").as_deref()),
                    css_size(el.get_attribute("data-height").as_deref())
                );
                if let Some(existing) = el.get_attribute("style") {
                    style.push_str(&existing);
                }
                el.set_attribute("style", &style)?;
                for attribute in ["id", "data-start", "data-duration", "data-end", "data-root"] {
                    el.remove_attribute(attribute);
                }
                el.set_attribute("data-composition-id", runtime_id)?;
                el.set_attribute("data-hf-inner-root", "")?;
                if let Some(id) = authored_root_id {
                    el.set_attribute("data-hf-authored-id", id)?;
                }
                Ok(())
            })],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(rewrite_error(path));
    rewritten
}

/// Wrap a sub-composition's inline script so its selectors, `getVariables()` and
/// `window.__timelines` writes stay inside its mount (see `__hfEnterScope` in the runtime).
fn wrap_script(
    code: &str,
    runtime_id: &str,
    authored_id: &str,
    authored_root_id: Option<&str>,
) -> String {
    let args = serde_json::to_string(&(runtime_id, authored_id, authored_root_id))
        .expect("strings serialise")
        .replace("</", "<\\/");
    format!(
        "(function(){{var __hfScope=window.__hfEnterScope.apply(null,{args});try{{\n{code}\n}}finally{{__hfScope.exit();}}}})();"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_prepare(html: &str, _: &Path) -> Result<String, RenderError> {
        Ok(html.to_string())
    }

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    const CARD: &str = r#"<html><head><style>.ignored{}</style></head><body><template id="t">
<div id="card-root" data-composition-id="card" data-width="320" data-height="180" data-start="0" data-duration="2"
     data-composition-variables='[{"id":"label","type":"string","default":"Card"}]'>
  <p class="label">x</p>
</div>
<style>#card-root .label { color: red }</style>
<script src="https://cdn.example/gsap.min.js"></script>
<script>window.__timelines["card"] = gsap.timeline({paused:true});</script>
</template></body></html>"#;

    #[test]
    fn inlines_template_scopes_css_and_wraps_scripts() {
        let dir = project(&[("card.html", CARD)]);
        let index = r#"<div data-composition-id="main"><div data-composition-id="card" data-composition-src="card.html" data-start="1" data-duration="2"></div><div data-composition-src="card.html" data-composition-id="card" data-variable-values='{"label":"Two"}'></div></div>"#;
        let (html, out) = Inliner::new(dir.path(), &no_prepare)
            .run(index, &dir.path().join("index.html"))
            .unwrap();
        assert!(
            html.contains(r#"data-composition-file="card.html""#),
            "{html}"
        );
        assert!(!html.contains("data-composition-src"), "{html}");
        assert!(
            html.contains(r#"data-composition-id="card__hf1""#),
            "{html}"
        );
        assert!(
            html.contains(r#"data-hf-original-composition-id="card""#),
            "{html}"
        );
        assert!(
            html.contains(r#"data-hf-authored-id="card-root""#),
            "{html}"
        );
        assert!(html.contains("width:320px;height:180px;"), "{html}");
        assert!(
            !html.contains(".ignored"),
            "head styles are not transported: {html}"
        );
        assert_eq!(out.styles.len(), 2);
        assert!(
            out.styles[1].contains(
                r#"[data-composition-id="card__hf1"] [data-hf-authored-id="card-root"] .label"#
            ),
            "{}",
            out.styles[1]
        );
        assert_eq!(
            out.external_scripts,
            vec!["https://cdn.example/gsap.min.js"]
        );
        assert_eq!(out.scripts.len(), 2);
        assert!(
            out.scripts[1].contains(r#"["card__hf1","card","card-root"]"#),
            "{}",
            out.scripts[1]
        );
        assert_eq!(out.variables_by_comp["card"]["label"], "Card");
        assert_eq!(out.variables_by_comp["card__hf1"]["label"], "Two");
    }

    #[test]
    fn a_full_document_brings_its_head_styles() {
        let dir = project(&[(
            "scene.html",
            r#"<!doctype html><html><head><style>#text .g { color: red } html, body { margin: 0 }</style></head><body><div id="text" data-composition-id="g"><p class="g">x</p></div></body></html>"#,
        )]);
        let index = r#"<div data-composition-id="main"><div data-composition-id="g" data-composition-src="scene.html"></div></div>"#;
        let (html, out) = Inliner::new(dir.path(), &no_prepare)
            .run(index, &dir.path().join("index.html"))
            .unwrap();
        assert!(html.contains(r#"<p class="g">x</p>"#), "{html}");
        assert!(!html.contains("<head>"), "{html}");
        assert_eq!(out.styles.len(), 1);
        assert!(
            out.styles[0].contains(r#"[data-composition-id="g"] [data-hf-authored-id="text"] .g"#),
            "{}",
            out.styles[0]
        );
    }

    #[test]
    fn nests_to_a_fixed_point() {
        let dir = project(&[
            (
                "a.html",
                r#"<template><div data-composition-id="a"><div data-composition-id="b" data-composition-src="b.html"></div></div></template>"#,
            ),
            (
                "b.html",
                r#"<template><div data-composition-id="b"><span class="deep">deep</span></div></template>"#,
            ),
        ]);
        let index = r#"<div data-composition-id="main"><div data-composition-id="a" data-composition-src="a.html"></div></div>"#;
        let (html, _) = Inliner::new(dir.path(), &no_prepare)
            .run(index, &dir.path().join("index.html"))
            .unwrap();
        assert!(html.contains(r#"<span class="deep">deep</span>"#), "{html}");
        assert!(html.contains(r#"data-composition-file="b.html""#), "{html}");
    }

    #[test]
    fn a_cycle_is_an_error_naming_the_chain() {
        let dir = project(&[
            (
                "a.html",
                r#"<template><div data-composition-id="a"><div data-composition-id="b" data-composition-src="b.html"></div></div></template>"#,
            ),
            (
                "b.html",
                r#"<template><div data-composition-id="b"><div data-composition-id="a" data-composition-src="a.html"></div></div></template>"#,
            ),
        ]);
        std::fs::write(dir.path().join("index.html"), "").unwrap();
        let index = r#"<div data-composition-id="main"><div data-composition-id="a" data-composition-src="a.html"></div></div>"#;
        let error = Inliner::new(dir.path(), &no_prepare)
            .run(
                index,
                &dir.path().join("index.html").canonicalize().unwrap(),
            )
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "sub-compositions include each other: index.html -> a.html -> b.html -> a.html; remove one data-composition-src from the cycle"
        );
    }

    #[test]
    fn a_missing_file_names_the_host() {
        let dir = project(&[]);
        let index = r#"<div data-composition-id="main"><div data-composition-id="intro" data-composition-src="scenes/intro.html"></div></div>"#;
        let error = Inliner::new(dir.path(), &no_prepare)
            .run(index, Path::new("index.html"))
            .unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("index.html: sub-composition host \"intro\" has data-composition-src=\"scenes/intro.html\", but "), "{text}");
        assert!(text.contains("intro.html does not exist"), "{text}");
        assert_eq!(error.code(), "SUB_COMPOSITION_NOT_FOUND");
    }
}
