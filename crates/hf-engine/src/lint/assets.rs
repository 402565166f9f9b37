//! Rules on the files a page names: paths that climb out of the project, local files that
//! are missing or are not media hf can read, remote files the compile stage would fetch,
//! and font families nothing provides.

use super::scan::{ScannedElement, ScannedFile};
use super::structure::Project;
use super::{finding, Finding, Severity};
use crate::compile::{
    climbs_out, declared_families, google_font_families, is_bundled, local_path, rebase_asset_path,
    used_families,
};
use regex::Regex;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;

/// The attributes that name a file the page loads, per tag.
const FILE_ATTRIBUTES: [(&str, &str); 10] = [
    ("img", "src"),
    ("video", "src"),
    ("video", "poster"),
    ("audio", "src"),
    ("source", "src"),
    ("track", "src"),
    ("script", "src"),
    ("iframe", "src"),
    ("link", "href"),
    ("image", "href"),
];

/// Whether `element` is media hf decodes itself (a failure stops the render).
fn is_media(element: &ScannedElement) -> bool {
    matches!(element.tag.as_str(), "video" | "audio" | "source")
}

/// The asset rules for one file; `provided_fonts` is [`provided_font_families`] of its project.
pub(super) fn check(
    file: &ScannedFile,
    project_dir: &Path,
    provided_fonts: &BTreeSet<String>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for element in &file.elements {
        for (tag, name) in FILE_ATTRIBUTES {
            if element.tag != tag {
                continue;
            }
            let Some(url) = element.attribute(name) else {
                continue;
            };
            let media = is_media(element) && name == "src";
            findings.extend(file_reference(file, element, url, media, project_dir));
        }
    }
    findings.extend(css_urls(file));
    findings.extend(fonts(file, provided_fonts));
    findings
}

/// One file reference of `element`.
fn file_reference(
    file: &ScannedFile,
    element: &ScannedElement,
    url: &str,
    media: bool,
    project_dir: &Path,
) -> Option<Finding> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//") {
        return remote(file, Some(element), url);
    }
    let exists = |relative: &str| project_dir.join(relative).exists();
    let rebased = file
        .mounted_as
        .as_deref()
        .and_then(|src| rebase_asset_path(src, url, &exists));
    let relative = local_path(rebased.as_deref().unwrap_or(url))
        .filter(|r| !r.is_empty() && !r.starts_with("__hf"))?;
    if element.tag == "link" && !is_loaded_link(element) {
        return None;
    }
    if climbs_out(&relative) {
        let message =
            format!("{url} climbs above the project folder with ../: the page cannot load it");
        let fix = "keep the file inside the project and name it from there";
        return Some(finding(
            "invalid_parent_traversal_in_asset_path",
            Severity::Error,
            file,
            Some(element),
            message,
            fix,
        ));
    }
    let path = project_dir.join(&relative);
    if !path.exists() {
        let (severity, consequence) = if media {
            (Severity::Error, "the render stops (MEDIA_NOT_FOUND)")
        } else {
            (Severity::Warning, "the page renders without it")
        };
        let message = format!("{url} does not exist in the project: {consequence}");
        let fix = "add the file, or fix the path (relative to the project folder)";
        return Some(finding(
            "missing_local_asset",
            severity,
            file,
            Some(element),
            message,
            fix,
        ));
    }
    if !media {
        return None;
    }
    let error = hf_encode::probe_media(&path).err()?;
    let message = format!("{url} {error}");
    let fix = "re-encode it (ffmpeg -i in -c:v libx264 -c:a aac out.mp4), or replace it";
    Some(finding(
        "media_unreadable",
        Severity::Error,
        file,
        Some(element),
        message,
        fix,
    ))
}

/// `<link>` kinds the browser fetches (not `preconnect`, `dns-prefetch`, `canonical`...).
fn is_loaded_link(element: &ScannedElement) -> bool {
    let rel = element
        .attribute("rel")
        .unwrap_or_default()
        .to_ascii_lowercase();
    rel.split_whitespace()
        .any(|r| matches!(r, "stylesheet" | "preload" | "icon" | "modulepreload"))
}

/// A remote file the compile stage fetches. Google Fonts stylesheets are left to the font
/// rule (bundled families are served offline).
fn remote(file: &ScannedFile, element: Option<&ScannedElement>, url: &str) -> Option<Finding> {
    let absolute = if url.starts_with("//") {
        format!("https:{url}")
    } else {
        url.to_string()
    };
    if google_font_families(&absolute).is_some() || absolute.contains("fonts.gstatic.com") {
        return None;
    }
    if element.is_some_and(|e| e.tag == "link" && !is_loaded_link(e)) {
        return None;
    }
    let message = format!(
        "{url} is fetched over the network when the project is compiled (then kept in the \
         asset cache): a first render needs the network"
    );
    let fix = "download the file into the project and name it by its local path";
    Some(finding(
        "remote_asset",
        Severity::Warning,
        file,
        element,
        message,
        fix,
    ))
}

static CSS_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:url\(\s*["']?|@import\s+["'])((?:https?:)?//[^"')\s]+)"#)
        .expect("valid regex")
});

/// Remote `url(...)` and `@import` in the file's CSS.
fn css_urls(file: &ScannedFile) -> Vec<Finding> {
    let styles = file.all_styles();
    let urls: BTreeSet<&str> = CSS_URL
        .captures_iter(&styles)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    urls.into_iter()
        .filter_map(|url| remote(file, None, url))
        .collect()
}

/// Font families the file's CSS uses that hf does not bundle, no `@font-face` of the project
/// declares and no Google Fonts stylesheet of the project asks for.
fn fonts(file: &ScannedFile, provided: &BTreeSet<String>) -> Vec<Finding> {
    used_families(&file.all_styles())
        .into_iter()
        .filter(|family| !is_bundled(family) && !provided.contains(&family.to_ascii_lowercase()))
        .map(|family| {
            let message = format!(
                "font-family \"{family}\" is not bundled with hf, and no @font-face or Google \
                 Fonts stylesheet of the project provides it: its text falls back to another font"
            );
            let fix = "add an @font-face with a font file in the project, or use a family hf \
                       bundles (Inter, Roboto, Montserrat, Poppins...: README, Fonts)";
            finding(
                "font_family_without_font_face",
                Severity::Error,
                file,
                None,
                message,
                fix,
            )
        })
        .collect()
}

/// The families (lower case) that an `@font-face` or a Google Fonts stylesheet of any file
/// of `project` provides.
pub(super) fn provided_font_families(project: &Project) -> BTreeSet<String> {
    let mut provided = BTreeSet::new();
    for file in &project.files {
        provided.extend(declared_families(&file.all_styles()));
        provided.extend(project_google_families(file));
    }
    provided
}

/// Families the file's Google Fonts `<link>`s and `@import`s ask for, lower case.
fn project_google_families(file: &ScannedFile) -> Vec<String> {
    let links = file
        .elements
        .iter()
        .filter(|e| e.tag == "link")
        .filter_map(|e| e.attribute("href"))
        .map(str::to_string);
    let styles = file.all_styles();
    let imports = CSS_URL
        .captures_iter(&styles)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_string()));
    links
        .chain(imports)
        .filter_map(|url| google_font_families(&url.replace("&amp;", "&")))
        .flatten()
        .map(|family| family.replace('+', " ").to_ascii_lowercase())
        .collect()
}
