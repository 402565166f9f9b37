//! Asset paths of a sub-composition, rebased onto the project root. A file at
//! `compositions/scene.html` that names `../logo.png` means the project's `logo.png`, and one
//! that names `shared.css` beside it means `compositions/shared.css`; once its content is
//! inlined into the root page those paths must say so (HyperFrames' `rewriteAssetPath`).
//! A plain relative path is rebased only when that sibling file exists: otherwise it is taken
//! as already project-relative (as registry blocks installed in a folder write them).

use super::rewrite_error;
use crate::RenderError;
use lol_html::{element, rewrite_str, text, RewriteStrSettings};
use regex::{Captures, Regex};
use std::cell::RefCell;
use std::path::Path;
use std::sync::LazyLock;

/// `path` with `.` and `..` resolved, clamped at the root (as a URL path is).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Whether `url` names something other than a relative path (a scheme, `//`, `/`, `#`).
fn is_special(url: &str) -> bool {
    static SCHEME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*:").expect("valid regex"));
    url.is_empty() || url.starts_with('/') || url.starts_with('#') || SCHEME.is_match(url)
}

/// The folder of the sub-composition mounted as `comp_src`, relative to the project (empty
/// for a file at the top).
fn folder_of(comp_src: &str) -> String {
    let folder = comp_src
        .trim_start_matches("./")
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir);
    normalize(folder)
}

/// `url`, written in the sub-composition mounted as `comp_src`, relative to the project root;
/// `None` when it stays as written. `exists` says whether a project-relative path exists.
pub(crate) fn rebase_asset_path(
    comp_src: &str,
    url: &str,
    exists: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let url = url.trim();
    let comp_dir = folder_of(comp_src);
    if is_special(url) || comp_dir.is_empty() {
        return None;
    }
    if url == ".." || url.starts_with("../") {
        return Some(normalize(&format!("{comp_dir}/{url}")));
    }
    let split = url.find(['?', '#']).unwrap_or(url.len());
    let (file, suffix) = url.split_at(split);
    let sibling = normalize(&format!("{comp_dir}/{file}"));
    (!file.is_empty() && exists(&sibling)).then(|| format!("{sibling}{suffix}"))
}

static CSS_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\burl\(\s*(["']?)([^)"'\s](?:[^)"']*[^)"'\s])?)["']?\s*\)"#).expect("valid regex")
});

/// `css` with its `url(...)` references rebased.
fn rebase_css(css: &str, comp_src: &str, exists: &dyn Fn(&str) -> bool) -> String {
    CSS_URL
        .replace_all(css, |caps: &Captures<'_>| {
            match rebase_asset_path(comp_src, &caps[2], exists) {
                Some(rebased) => format!("url({q}{rebased}{q})", q = &caps[1]),
                None => caps[0].to_string(),
            }
        })
        .into_owned()
}

/// The sub-composition `html` (at `path`, mounted as `comp_src` in `project_dir`) with the
/// `src` and `href` of every element and the `url()`s of its `<style>` blocks rebased.
pub(crate) fn rebase_sub_composition(
    html: &str,
    path: &Path,
    comp_src: &str,
    project_dir: &Path,
) -> Result<String, RenderError> {
    let exists = |relative: &str| project_dir.join(relative).exists();
    if folder_of(comp_src).is_empty() {
        return Ok(html.to_string());
    }
    let style = RefCell::new(String::new());
    let rebased = rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!("[src], [href]", |el| {
                    for name in ["src", "href"] {
                        let rebased = el
                            .get_attribute(name)
                            .and_then(|value| rebase_asset_path(comp_src, &value, &exists));
                        if let Some(rebased) = rebased {
                            el.set_attribute(name, &rebased)?;
                        }
                    }
                    Ok(())
                }),
                text!("style", |chunk| {
                    style.borrow_mut().push_str(chunk.as_str());
                    if chunk.last_in_text_node() {
                        let css = std::mem::take(&mut *style.borrow_mut());
                        chunk.replace(
                            &rebase_css(&css, comp_src, &exists),
                            lol_html::html_content::ContentType::Html,
                        );
                    } else {
                        chunk.remove();
                    }
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(rewrite_error(path))?;
    Ok(rebased)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_climbing_out_of_the_folder_and_existing_siblings_are_rebased() {
        let exists = |p: &str| p == "compositions/shared.css";
        let rebase = |src: &str, url: &str| rebase_asset_path(src, url, &exists);
        assert_eq!(
            rebase("compositions/a.html", "../logo.png").as_deref(),
            Some("logo.png")
        );
        assert_eq!(
            rebase("compositions/a.html", "../../../media/v.mp4").as_deref(),
            Some("media/v.mp4")
        );
        assert_eq!(
            rebase("./compositions/a.html", "shared.css?v=2").as_deref(),
            Some("compositions/shared.css?v=2")
        );
        assert_eq!(rebase("compositions/a.html", "assets/logo.png"), None);
        for kept in [
            "https://x.test/a.png",
            "data:image/png;base64,AA",
            "/abs.png",
            "#frag",
        ] {
            assert_eq!(rebase("compositions/a.html", kept), None, "{kept}");
        }
        assert_eq!(rebase("a.html", "../logo.png"), None);
    }

    #[test]
    fn attributes_and_style_urls_are_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let html = r##"<template><div><img src="../logo.png"><a href="#top">t</a><style>.a { background: url("../bg.png") } .b { background: url(https://x.test/b.png) }</style></div></template>"##;
        let out =
            rebase_sub_composition(html, Path::new("c.html"), "compositions/c.html", dir.path())
                .unwrap();
        assert!(out.contains(r#"<img src="logo.png">"#), "{out}");
        assert!(out.contains(r##"href="#top""##), "{out}");
        assert!(out.contains(r#"url("bg.png")"#), "{out}");
        assert!(out.contains("url(https://x.test/b.png)"), "{out}");
    }
}
