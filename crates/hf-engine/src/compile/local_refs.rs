//! Local files the page names (`<img>`, `<video>`, `<audio>`, `<source>`, `<script src>`,
//! `<link href>`, `@font-face` `url()`), checked before anything reads them: a path that
//! climbs above the project with `../` is refused for media (hf would read it from disk) and
//! warned about otherwise (the browser can never load it); a file that is not there is a
//! warning (the page renders without it, as HyperFrames' best-effort render does).

use super::rewrite_error;
use crate::RenderError;
use lol_html::{element, rewrite_str, RewriteStrSettings};
use std::cell::RefCell;
use std::path::{Component, Path};

/// One reference to a local file.
struct Reference {
    /// How the page names it, for messages (`<img src>`).
    element: String,
    /// The URL as written.
    url: String,
    /// Whether hf reads it from disk (video, audio).
    media: bool,
}

/// Check every local reference of `html` (the page at `page`) against `roots` (the work dir,
/// then the project); returns the warnings.
pub(super) fn check(html: &str, page: &Path, roots: &[&Path]) -> Result<Vec<String>, RenderError> {
    let mut warnings = Vec::new();
    for reference in references(html, page)? {
        let Some(relative) = local_path(&reference.url) else {
            continue;
        };
        if climbs_out(&relative) {
            let message = format!(
                "{} in {}: {} climbs above the project folder with ../; keep the file inside \
                 the project and name it from there",
                reference.element,
                page.display(),
                reference.url
            );
            if reference.media {
                return Err(RenderError::InvalidAttribute {
                    path: page.to_path_buf(),
                    element: reference.element,
                    attribute: "src".into(),
                    value: reference.url,
                    expected: "a path inside the project folder (no ../ above it)",
                });
            }
            warnings.push(message);
            continue;
        }
        if reference.media || roots.iter().any(|root| root.join(&relative).exists()) {
            continue; // missing media are the media check's errors
        }
        warnings.push(format!(
            "{} in {}: {} not found; the page renders without it (put the file at that path, \
             relative to the project folder)",
            reference.element,
            page.display(),
            reference.url
        ));
    }
    Ok(warnings)
}

fn references(html: &str, page: &Path) -> Result<Vec<Reference>, RenderError> {
    let found = RefCell::new(Vec::new());
    let push = |tag: &str, attribute: &str, url: Option<String>, media: bool| {
        if let Some(url) = url {
            found.borrow_mut().push(Reference {
                element: format!("<{tag} {attribute}>"),
                url,
                media,
            });
        }
    };
    rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!("img[src]", |el| {
                    push("img", "src", el.get_attribute("src"), false);
                    Ok(())
                }),
                element!(
                    "video[src], audio[src], video > source[src], audio > source[src]",
                    |el| {
                        push(&el.tag_name(), "src", el.get_attribute("src"), true);
                        Ok(())
                    }
                ),
                element!("script[src]", |el| {
                    push("script", "src", el.get_attribute("src"), false);
                    Ok(())
                }),
                element!("link[href][rel~=stylesheet]", |el| {
                    push("link", "href", el.get_attribute("href"), false);
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(rewrite_error(page))?;
    let mut found = found.into_inner();
    let font_face = regex::Regex::new(r"(?is)@font-face\s*\{[^}]*\}").expect("valid pattern");
    let url = regex::Regex::new(r#"(?i)url\(\s*['"]?([^'")]+)['"]?\s*\)"#).expect("valid pattern");
    for block in font_face.find_iter(html) {
        for captures in url.captures_iter(block.as_str()) {
            found.push(Reference {
                element: "@font-face url()".into(),
                url: captures[1].to_string(),
                media: false,
            });
        }
    }
    Ok(found)
}

/// The project-relative path a URL names (the media check's reading), `None` for remote and
/// inline URLs, in-page anchors, and hf's own `/__hf_*` files (written by the compile stage).
fn local_path(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let inline = ["#", "about:", "javascript:"];
    if inline.iter().any(|p| lower.starts_with(p)) || url.starts_with("/__hf_") {
        return None;
    }
    super::media::local_path(url)
}

/// Whether `relative` climbs above where it starts.
pub(crate) fn climbs_out(relative: &str) -> bool {
    let mut depth = 0i32;
    for component in Path::new(relative).components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused_for_media_and_missing_files_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("here.png"), b"x").unwrap();
        let page = dir.path().join("index.html");
        let html = r#"<img src="here.png"><img src="gone.png"><img src="https://x/y.png">
<style>@font-face{font-family:Mine;src:url('fonts/mine.woff2') format("woff2")}</style>
<img src="a/../../up.png"><script src="lib.js"></script>"#;
        let warnings = check(html, &page, &[dir.path()]).unwrap();
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].starts_with("<img src> in "), "{}", warnings[0]);
        assert!(warnings[0].contains("gone.png not found; the page renders without it"));
        assert!(warnings[1].contains("a/../../up.png climbs above the project folder"));
        assert!(warnings[2].contains("<script src>") && warnings[2].contains("lib.js not found"));
        assert!(
            warnings[3].contains("@font-face url()")
                && warnings[3].contains("fonts/mine.woff2 not found")
        );
        let error = check(
            r#"<video src="../../etc/passwd"></video>"#,
            &page,
            &[dir.path()],
        )
        .unwrap_err();
        assert_eq!(error.code(), "INVALID_ATTRIBUTE");
        assert!(error.to_string().ends_with(
            "element \"<video src>\" has src=\"../../etc/passwd\"; expected a path inside the project folder (no ../ above it)"
        ), "{error}");
    }
}
