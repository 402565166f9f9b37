//! The page a render starts from: the project's `index.html`, or another HTML file of the
//! project (`-c/--composition`). A `<template>` sub-composition rendered on its own is cut out
//! of `index.html`: its head, its body scripts, the root and the one host that mounts it.
//!
//! As in HyperFrames, an entry's URLs are read relative to the project directory (as every
//! inlined sub-composition's are), wherever the file sits.

use super::rewrite_error;
use crate::RenderError;
use hf_core::IoError;
use lol_html::html_content::ContentType;
use lol_html::{element, rewrite_str, RewriteStrSettings};
use std::cell::RefCell;
use std::path::{Component, Path, PathBuf};

/// The entry page read from the project.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The file the HTML comes from (`index.html` unless `-c`; `index.html` again for a
    /// `<template>` entry): errors name it, sub-composition chains start from it.
    pub(crate) path: PathBuf,
    /// Its HTML, or the standalone page cut out of `index.html` for a `<template>` file.
    pub(super) html: String,
}

/// Read the entry `composition` (relative to `project_dir`; `None`: `index.html`).
pub(crate) fn read_entry(
    project_dir: &Path,
    composition: Option<&Path>,
) -> Result<Entry, RenderError> {
    if !project_dir.is_dir() {
        return Err(RenderError::ProjectNotFound {
            path: project_dir.to_path_buf(),
        });
    }
    let relative = match composition.map(normalize) {
        None => return read_index(project_dir),
        Some(Err(reason)) => return Err(not_found(composition.unwrap_or(project_dir), reason)),
        Some(Ok(relative)) if relative == Path::new("index.html") => {
            return read_index(project_dir)
        }
        Some(Ok(relative)) => relative,
    };
    let path = project_dir.join(&relative);
    if !path.is_file() {
        let reason = if path.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        return Err(not_found(&path, reason.into()));
    }
    let html = read_text(&path)?;
    if !html.trim_start().starts_with("<template") {
        return Ok(Entry { path, html });
    }
    let index = read_index(project_dir).map_err(|_| {
        not_found(
            &path,
            "is a <template> sub-composition, which renders alone only when the project's \
             index.html mounts it, and the project has no index.html"
                .into(),
        )
    })?;
    let src = relative.to_string_lossy().replace('\\', "/");
    match standalone_page(&index.html, &src, &html).map_err(rewrite_error(&index.path))? {
        Some(html) => Ok(Entry {
            path: index.path,
            html,
        }),
        None => Err(not_found(
            &path,
            format!(
                "is a <template> sub-composition that index.html does not mount; add a host \
                 with data-composition-src=\"{src}\" inside index.html's root, or render a full page"
            ),
        )),
    }
}

fn not_found(path: &Path, reason: String) -> RenderError {
    RenderError::CompositionNotFound {
        path: path.to_path_buf(),
        reason,
    }
}

/// `index.html` (a fragment wrapped into a full document).
fn read_index(project_dir: &Path) -> Result<Entry, RenderError> {
    let path = project_dir.join("index.html");
    if !path.is_file() {
        return Err(RenderError::IndexNotFound { path });
    }
    let source = read_text(&path)?;
    let html = if super::is_fragment(&source) {
        super::wrap_fragment(&source)
    } else {
        source
    };
    Ok(Entry { path, html })
}

/// The text of the page at `path`; a file that is not UTF-8 text is `INVALID_HTML`.
fn read_text(path: &Path) -> Result<String, RenderError> {
    let bytes = std::fs::read(path).map_err(IoError::with("read", path))?;
    String::from_utf8(bytes).map_err(|e| RenderError::InvalidHtml {
        path: path.to_path_buf(),
        reason: format!(
            "it is not UTF-8 text (invalid byte at {}); an HTML page is expected: save it as \
             UTF-8",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// `composition` as a path inside the project: relative, no `..` above the project.
fn normalize(composition: &Path) -> Result<PathBuf, String> {
    let mut parts = PathBuf::new();
    for component in composition.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part),
            Component::ParentDir if parts.pop() => {}
            _ => {
                return Err(
                    "is outside the project; name a file inside the project directory, \
                     relative to it (e.g. -c compositions/intro.html)"
                        .into(),
                )
            }
        }
    }
    if parts.as_os_str().is_empty() {
        parts.push("index.html");
    }
    Ok(parts)
}

/// `src` of a `data-composition-src` as the project-relative path it names.
fn composition_src(src: &str) -> String {
    let mut src = src.trim();
    while let Some(rest) = src.strip_prefix("./") {
        src = rest;
    }
    src.trim_start_matches('/').to_string()
}

const HOST_START: &str = "<!--hf-standalone-host-->";
const HOST_END: &str = "<!--/hf-standalone-host-->";

/// The page that renders the sub-composition `src` alone (HyperFrames' standalone entry):
/// `index.html` with its head, its body-level `<script src>` tags, and a shallow copy of its
/// root holding only the host that mounts `src`, starting at 0. The root lasts as long as the
/// scene file's own root says (else the host's `data-duration`; else what the scene gives).
/// `None` when no host mounts `src` or the page has no root.
fn standalone_page(
    index: &str,
    src: &str,
    scene: &str,
) -> Result<Option<String>, lol_html::errors::RewritingError> {
    let Some((host, host_duration, root_is_host)) = mounting_host(index, src)? else {
        return Ok(None);
    };
    let duration = scene_duration(scene)?.or(host_duration);
    let root_seen = RefCell::new(false);
    let page = rewrite_str(
        index,
        RewriteStrSettings {
            element_content_handlers: vec![element!("body > *", |el| {
                let is_root = el.has_attribute("data-composition-id") && !*root_seen.borrow();
                if is_root {
                    *root_seen.borrow_mut() = true;
                    if root_is_host {
                        el.replace(&host, ContentType::Html);
                        return Ok(());
                    }
                    match &duration {
                        Some(seconds) => el.set_attribute("data-duration", seconds)?,
                        None => el.remove_attribute("data-duration"),
                    }
                    el.set_inner_content(&host, ContentType::Html);
                } else if !(el.tag_name() == "script" && el.has_attribute("src")) {
                    el.remove();
                }
                Ok(())
            })],
            ..RewriteStrSettings::new()
        },
    )?;
    Ok(root_seen.into_inner().then_some(page))
}

/// The host of `src` in `index` as HTML with `data-start="0"`, its `data-duration`, and
/// whether it is the root itself.
fn mounting_host(
    index: &str,
    src: &str,
) -> Result<Option<(String, Option<String>, bool)>, lol_html::errors::RewritingError> {
    let found = RefCell::new(None::<Option<String>>);
    let root_src = RefCell::new(None::<String>);
    let marked = rewrite_str(
        index,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!("body > [data-composition-id]", |el| {
                    if root_src.borrow().is_none() {
                        let source = el.get_attribute("data-composition-src").unwrap_or_default();
                        *root_src.borrow_mut() = Some(composition_src(&source));
                    }
                    Ok(())
                }),
                element!("[data-composition-src]", |el| {
                    let source = el.get_attribute("data-composition-src").unwrap_or_default();
                    if found.borrow().is_some() || composition_src(&source) != src {
                        return Ok(());
                    }
                    *found.borrow_mut() = Some(el.get_attribute("data-duration"));
                    el.set_attribute("data-start", "0")?;
                    el.before(HOST_START, ContentType::Html);
                    el.after(HOST_END, ContentType::Html);
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    )?;
    let Some(duration) = found.into_inner() else {
        return Ok(None);
    };
    let is_root = root_src.into_inner().as_deref() == Some(src);
    let start = marked.find(HOST_START).map(|i| i + HOST_START.len());
    let end = marked.find(HOST_END);
    Ok(start
        .zip(end)
        .map(|(start, end)| (marked[start..end].to_string(), duration, is_root)))
}

/// `data-duration` of the scene file's own root (the first `[data-composition-id]`).
fn scene_duration(scene: &str) -> Result<Option<String>, lol_html::errors::RewritingError> {
    let duration = RefCell::new(None::<Option<String>>);
    rewrite_str(
        scene,
        RewriteStrSettings {
            element_content_handlers: vec![element!("[data-composition-id]", |el| {
                if duration.borrow().is_none() {
                    *duration.borrow_mut() = Some(el.get_attribute("data-duration"));
                }
                Ok(())
            })],
            ..RewriteStrSettings::new()
        },
    )?;
    Ok(duration.into_inner().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"<html><head><style>body{margin:0}</style></head><body>
<div id="main" data-composition-id="main" data-width="640" data-height="360" data-duration="9">
  <div class="wrap"><div id="intro" data-composition-src="./compositions/intro.html" data-start="0" data-duration="3"></div></div>
  <div id="outro" data-composition-src="compositions/outro.html" data-start="3" data-duration="6"><i>kept</i></div>
  <p>title</p>
</div>
<script src="gsap.min.js"></script>
<script>window.__timelines = {};</script>
</body></html>"#;

    #[test]
    fn a_template_entry_is_its_host_alone_from_zero() {
        let scene =
            r#"<template><div data-composition-id="outro" data-duration="2.5"></div></template>"#;
        let page = standalone_page(INDEX, "compositions/outro.html", scene)
            .unwrap()
            .unwrap();
        assert!(page.contains("<style>body{margin:0}</style>"), "{page}");
        assert!(page.contains(r#"data-duration="2.5""#), "{page}");
        assert!(page.contains(
            r#"<div id="outro" data-composition-src="compositions/outro.html" data-start="0" data-duration="6"><i>kept</i></div>"#
        ), "{page}");
        assert!(page.contains(r#"<script src="gsap.min.js"></script>"#));
        for gone in ["intro", "title", "__timelines", "data-duration=\"9\""] {
            assert!(!page.contains(gone), "{gone} in {page}");
        }
    }

    #[test]
    fn a_nested_host_without_a_scene_duration_takes_the_hosts() {
        let page = standalone_page(
            INDEX,
            "compositions/intro.html",
            "<template><div data-composition-id=\"i\"></div></template>",
        )
        .unwrap()
        .unwrap();
        assert!(page.contains(r#"data-composition-id="main" data-width="640" data-height="360" data-duration="3"><div id="intro""#), "{page}");
        assert!(!page.contains("wrap"), "{page}");
        assert_eq!(
            standalone_page(INDEX, "compositions/none.html", "").unwrap(),
            None
        );
    }

    #[test]
    fn entry_paths_stay_inside_the_project() {
        assert_eq!(
            normalize(Path::new("./a/../b.html")).unwrap(),
            Path::new("b.html")
        );
        assert_eq!(normalize(Path::new(".")).unwrap(), Path::new("index.html"));
        assert!(normalize(Path::new("../x.html")).is_err());
        assert!(normalize(Path::new("/etc/x.html")).is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
        std::fs::create_dir(dir.path().join("compositions")).unwrap();
        std::fs::write(
            dir.path().join("compositions/lone.html"),
            "<template><div data-composition-id=\"x\"></div></template>",
        )
        .unwrap();
        let error = read_entry(dir.path(), Some(Path::new("../x.html"))).unwrap_err();
        assert_eq!(error.code(), "COMPOSITION_NOT_FOUND");
        assert_eq!(
            error.to_string(),
            "composition ../x.html is outside the project; name a file inside the project directory, relative to it (e.g. -c compositions/intro.html)"
        );
        let error = read_entry(dir.path(), Some(Path::new("missing.html"))).unwrap_err();
        assert!(
            error.to_string().ends_with("missing.html does not exist"),
            "{error}"
        );
        let error = read_entry(dir.path(), Some(Path::new("compositions/lone.html"))).unwrap_err();
        assert!(error.to_string().ends_with("is a <template> sub-composition that index.html does not mount; add a host with data-composition-src=\"compositions/lone.html\" inside index.html's root, or render a full page"), "{error}");
        let entry = read_entry(dir.path(), Some(Path::new("./index.html"))).unwrap();
        assert_eq!(entry.path, dir.path().join("index.html"));
    }
}
