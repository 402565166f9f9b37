//! Localise a page's remote assets and normalise its fonts: every http(s) script, stylesheet,
//! `@import`, CSS `url()`, image and media source is fetched once through the [`AssetCache`],
//! written into the work dir and referenced from there, so capture never touches the network.

use super::fonts::normalize_font_families;
use super::rewrite_error;
use crate::assets::{sha256_hex, AssetCache};
use crate::RenderError;
use hf_core::IoError;
use lol_html::html_content::ContentType;
use lol_html::{element, rewrite_str, text, RewriteStrSettings};
use regex::{Captures, Regex};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Folder (inside the work dir) localised assets are written to.
pub const ASSET_DIR: &str = "__hf_assets";

/// File (beside the compiled page) holding hf's render-mode stand-in for the shader
/// transitions library, served in place of the library from a CDN.
pub const HYPER_SHADER_FILE: &str = "__hf_hyper_shader.js";

/// hf's render-mode stand-in for `@hyperframes/shader-transitions`.
pub const HYPER_SHADER_JS: &str = include_str!("hyper-shader.js");

/// Whether `url` loads the shader transitions library from a CDN (jsDelivr, unpkg, ...).
fn is_shader_transitions_library(url: &str) -> bool {
    url.contains("@hyperframes/shader-transitions")
}

/// GSAP version a missing local `gsap*.js` falls back to (as upstream does).
const GSAP_FALLBACK_VERSION: &str = "3.15.0";

static CSS_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)@import\s+(?:url\(\s*["']?([^"')]*)["']?\s*\)|"([^"]*)"|'([^']*)')([^;{}]*;)?|url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)"#)
        .expect("valid regex")
});

/// Rewrites pages so they only reference local files.
pub struct Localizer<'a> {
    cache: &'a AssetCache,
    work_dir: &'a Path,
    project_dir: &'a Path,
    allow_missing: bool,
    /// Warnings for assets skipped with `--allow-missing-assets`.
    pub warnings: RefCell<Vec<String>>,
    strict: bool,
}

fn is_remote(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")
}

fn absolute(url: &str) -> String {
    let url = url.trim();
    if url.starts_with("//") {
        format!("https:{url}")
    } else {
        url.to_string()
    }
}

/// The local file name of a fetched asset: its content hash, then the URL's own file name
/// (readable in stack traces and logs, and how the runtime recognises GSAP's own scripts).
fn asset_name(hash: &str, url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or("");
    let stem: String = last
        .rsplit_once('.')
        .map_or(last, |(stem, _)| stem)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(48)
        .collect();
    match stem.as_str() {
        "" => format!("{hash}.{}", extension(url)),
        stem => format!("{hash}-{stem}.{}", extension(url)),
    }
}

fn extension(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or("");
    match last.rsplit_once('.') {
        Some((_, ext))
            if !ext.is_empty()
                && ext.len() <= 5
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            ext.to_ascii_lowercase()
        }
        _ => "bin".into(),
    }
}

impl<'a> Localizer<'a> {
    /// A localizer writing into `work_dir/__hf_assets/`.
    pub fn new(
        cache: &'a AssetCache,
        work_dir: &'a Path,
        project_dir: &'a Path,
        allow_missing: bool,
    ) -> Self {
        Localizer {
            cache,
            work_dir,
            project_dir,
            allow_missing,
            strict: false,
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// `--strict`: a font that cannot be had fails the render instead of a warning.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Fetch `url` and return the local path that replaces it, `None` when it is missing and
    /// missing assets are allowed.
    fn localize(
        &self,
        url: &str,
        element: &str,
        is_css: bool,
    ) -> Result<Option<String>, RenderError> {
        let url = absolute(url);
        let bytes = match self.cache.fetch(&url) {
            Ok(bytes) => bytes,
            Err(reason) if google_font_families(&url).is_some() => {
                // As upstream: fonts never block a render; bundled families need no download.
                if let Some(message) = google_fonts_warning(element, &url, &reason) {
                    if self.strict {
                        return Err(RenderError::Strict { message });
                    }
                    self.warnings.borrow_mut().push(message);
                }
                return Ok(None);
            }
            Err(reason) if self.allow_missing => {
                let message = format!(
                    "{element} needs {url}, which is unavailable ({reason}); rendering without it"
                );
                self.warnings.borrow_mut().push(message);
                return Ok(None);
            }
            Err(reason) => {
                return Err(RenderError::RemoteAsset {
                    element: element.to_string(),
                    url,
                    reason,
                })
            }
        };
        let bytes = if is_css {
            let text = String::from_utf8_lossy(&bytes);
            self.css(&text, Some(&url), element)?.into_bytes()
        } else {
            bytes
        };
        let name = asset_name(&sha256_hex(&bytes)[..32], &url);
        let path = self.work_dir.join(ASSET_DIR).join(&name);
        if !path.exists() {
            std::fs::create_dir_all(path.parent().expect("has parent"))
                .and_then(|_| std::fs::write(&path, &bytes))
                .map_err(IoError::with("write", &path))?;
        }
        Ok(Some(format!("/{ASSET_DIR}/{name}")))
    }

    /// Localise `url()` and `@import` references of `css` (relative ones resolve against
    /// `base` when the CSS itself came from a URL) and normalise its font families.
    pub fn css(&self, css: &str, base: Option<&str>, element: &str) -> Result<String, RenderError> {
        let base_url = base.and_then(|b| url::Url::parse(b).ok());
        let mut failure = None;
        let replaced = CSS_URL.replace_all(css, |caps: &Captures<'_>| {
            let is_import = (1..=3).any(|i| caps.get(i).is_some());
            let raw = [1, 2, 3, 5, 6, 7]
                .into_iter()
                .find_map(|i| caps.get(i))
                .map(|m| m.as_str())
                .unwrap_or("");
            let target = if is_remote(raw) {
                Some(absolute(raw))
            } else if raw.starts_with("data:") || raw.starts_with('#') || raw.is_empty() {
                None
            } else {
                base_url
                    .as_ref()
                    .and_then(|b| b.join(raw).ok())
                    .map(|u| u.to_string())
            };
            let Some(target) = target else {
                return caps[0].to_string();
            };
            let imported_css = is_import
                || extension(&target) == "css"
                || target.contains("fonts.googleapis.com/css");
            match self.localize(&target, element, imported_css) {
                // The import's tail (media queries, `;`) stays; a dropped import takes it along,
                // or a stray `;` would swallow the rule after it.
                Ok(Some(local)) if is_import => {
                    let tail = caps.get(4).map_or("", |m| m.as_str());
                    format!("@import url(\"{local}\"){tail}")
                }
                Ok(Some(local)) => format!("url(\"{local}\")"),
                // An unavailable Google Fonts import is dropped (nothing to fetch at render).
                Ok(None) if is_import && google_font_families(&target).is_some() => String::new(),
                Ok(None) => caps[0].to_string(),
                Err(error) => {
                    failure.get_or_insert(error);
                    caps[0].to_string()
                }
            }
        });
        match failure {
            Some(error) => Err(error),
            None => Ok(normalize_font_families(&replaced)),
        }
    }

    /// Localise every remote reference in `html` (a file at `path`).
    pub fn html(&self, html: &str, path: &Path) -> Result<String, RenderError> {
        let failure: RefCell<Option<RenderError>> = RefCell::new(None);
        let file = path
            .strip_prefix(self.project_dir)
            .unwrap_or(path)
            .display()
            .to_string();
        let style_buffer = RefCell::new(String::new());
        let record = |result: Result<(), RenderError>| {
            if let Err(error) = result {
                failure.borrow_mut().get_or_insert(error);
            }
        };
        let attribute_handler = |attribute: &'static str, tag: &'static str, is_css: bool| {
            let record = &record;
            let file = &file;
            let selector = format!("{tag}[{attribute}]");
            element!(selector, move |el| {
                let value = el.get_attribute(attribute).unwrap_or_default();
                if tag == "script" && is_remote(&value) && is_shader_transitions_library(&value) {
                    el.set_attribute(attribute, &format!("/{HYPER_SHADER_FILE}"))?;
                    el.remove_attribute("integrity");
                    el.remove_attribute("crossorigin");
                    return Ok(());
                }
                let remote = if is_remote(&value) {
                    Some(value.clone())
                } else if tag == "script" && self.missing_local_gsap(&value, path) {
                    let file_name = value.rsplit('/').next().unwrap_or("gsap.min.js");
                    Some(format!(
                        "https://cdn.jsdelivr.net/npm/gsap@{GSAP_FALLBACK_VERSION}/dist/{file_name}"
                    ))
                } else {
                    None
                };
                if let Some(url) = remote {
                    if tag == "link" && !is_stylesheet_or_font(el) {
                        return Ok(());
                    }
                    let description = format!("<{tag} {attribute}> in {file}");
                    record(self.localize(&url, &description, is_css).and_then(|local| {
                        match local {
                            Some(local) => {
                                el.set_attribute(attribute, &local)
                                    .map_err(rewrite_error(path))?;
                                el.remove_attribute("integrity");
                                el.remove_attribute("crossorigin");
                            }
                            // An unavailable Google Fonts stylesheet: nothing to load at render.
                            None if google_font_families(&url).is_some() => el.remove(),
                            None => {}
                        }
                        Ok(())
                    }));
                }
                Ok(())
            })
        };
        let rewritten = rewrite_str(
            html,
            RewriteStrSettings {
                element_content_handlers: vec![
                    attribute_handler("src", "script", false),
                    attribute_handler("href", "link", true),
                    attribute_handler("src", "img", false),
                    attribute_handler("src", "video", false),
                    attribute_handler("src", "audio", false),
                    attribute_handler("src", "source", false),
                    attribute_handler("poster", "video", false),
                    element!("[style]", |el| {
                        let style = el.get_attribute("style").unwrap_or_default();
                        let description = format!("a style attribute in {file}");
                        match self.css(&style, None, &description) {
                            Ok(out) if out != style => el.set_attribute("style", &out)?,
                            Ok(_) => {}
                            Err(error) => record(Err(error)),
                        }
                        Ok(())
                    }),
                    text!("style", |t| {
                        style_buffer.borrow_mut().push_str(t.as_str());
                        if t.last_in_text_node() {
                            let css = std::mem::take(&mut *style_buffer.borrow_mut());
                            let description = format!("a <style> block in {file}");
                            match self.css(&css, None, &description) {
                                Ok(out) => t.replace(&out, ContentType::Html),
                                Err(error) => {
                                    record(Err(error));
                                    t.replace(&css, ContentType::Html);
                                }
                            }
                        } else {
                            t.remove();
                        }
                        Ok(())
                    }),
                ],
                ..RewriteStrSettings::new()
            },
        )
        .map_err(rewrite_error(path))?;
        match failure.into_inner() {
            Some(error) => Err(error),
            None => Ok(rewritten),
        }
    }

    /// A local `<script src>` naming a GSAP build that is not in the project.
    fn missing_local_gsap(&self, src: &str, page: &Path) -> bool {
        let file_name = src.rsplit('/').next().unwrap_or("");
        if !file_name.starts_with("gsap") || !file_name.ends_with(".js") || src.contains(':') {
            return false;
        }
        let relative = src.split(['?', '#']).next().unwrap_or(src);
        let candidate: PathBuf = if let Some(rooted) = relative.strip_prefix('/') {
            self.project_dir.join(rooted)
        } else {
            page.parent().unwrap_or(self.project_dir).join(relative)
        };
        !candidate.exists()
    }
}

/// The families a Google Fonts stylesheet URL (`fonts.googleapis.com/css` or `/css2`) asks
/// for; `None` for any other URL.
pub(crate) fn google_font_families(url: &str) -> Option<Vec<String>> {
    let parsed = url::Url::parse(url).ok()?;
    if parsed.host_str() != Some("fonts.googleapis.com") || !parsed.path().starts_with("/css") {
        return None;
    }
    let families = parsed
        .query_pairs()
        .filter(|(key, _)| key == "family")
        .flat_map(|(_, value)| {
            value
                .split('|')
                .map(|f| f.split(':').next().unwrap_or("").trim().to_string())
                .filter(|f| !f.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
    Some(families)
}

/// The warning for a Google Fonts stylesheet that could not be had: `None` when hf bundles
/// every family it asks for (they are served offline as they are).
fn google_fonts_warning(element: &str, url: &str, reason: &str) -> Option<String> {
    let missing: Vec<String> = google_font_families(url)?
        .into_iter()
        .filter(|family| !super::fonts::is_bundled(family))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "{element} loads Google Fonts {url}, which is unavailable ({reason}); {} is not \
         bundled with hf, so its text falls back to another font (add an @font-face with a \
         local file, or seed the cache with `hf cache import`)",
        missing.join(", ")
    ))
}

fn is_stylesheet_or_font(el: &lol_html::html_content::Element<'_, '_>) -> bool {
    let rel = el
        .get_attribute("rel")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = el
        .get_attribute("as")
        .unwrap_or_default()
        .to_ascii_lowercase();
    rel.split_whitespace().any(|r| r == "stylesheet")
        || (rel.contains("preload") && (kind == "style" || kind == "font"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_keep_the_url_file_name_after_the_hash() {
        let hash = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            asset_name(
                hash,
                "https://cdn.jsdelivr.net/npm/gsap@3/dist/gsap.min.js?v=1"
            ),
            format!("{hash}-gsap.min.js")
        );
        assert_eq!(
            asset_name(hash, "https://fonts.googleapis.com/css2?family=Inter"),
            format!("{hash}-css2.bin")
        );
        assert_eq!(
            asset_name(hash, "https://example.com/"),
            format!("{hash}.bin")
        );
        assert_eq!(
            asset_name(hash, "https://example.com/a%20b<c>.png"),
            format!("{hash}-a20bc.png")
        );
    }

    #[test]
    fn localizes_scripts_styles_and_css_urls_from_the_cache() {
        let cache_dir = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let cache = AssetCache::at(cache_dir.path());
        cache
            .put("https://cdn.example/lib.js", b"window.lib=1")
            .unwrap();
        cache
            .put(
                "https://fonts.example/css?family=X",
                b"@font-face{font-family:X;src:url(x.woff2)}",
            )
            .unwrap();
        cache.put("https://fonts.example/x.woff2", b"wOF2").unwrap();
        let localizer = Localizer::new(&cache, work.path(), work.path(), false);
        let html = r#"<head><script src="https://cdn.example/lib.js" integrity="sha-x"></script><style>@import url("https://fonts.example/css?family=X"); h1{font-family:system-ui}</style></head>"#;
        let out = localizer
            .html(html, &work.path().join("index.html"))
            .unwrap();
        assert!(!out.contains("https://"), "{out}");
        assert!(!out.contains("integrity"), "{out}");
        assert!(out.contains("font-family:Inter, system-ui"), "{out}");
        let assets: Vec<String> = std::fs::read_dir(work.path().join(ASSET_DIR))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        assert!(assets.iter().any(|a| a == "window.lib=1"));
        assert!(
            assets
                .iter()
                .any(|a| a.contains("/__hf_assets/") && a.contains("font-family:X")),
            "{assets:?}"
        );
        assert!(assets.iter().any(|a| a == "wOF2"));
    }

    #[test]
    fn an_unavailable_asset_names_url_and_element() {
        let cache_dir = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let cache = AssetCache::at(cache_dir.path());
        let localizer = Localizer::new(&cache, work.path(), work.path(), false);
        let html = r#"<script src="http://127.0.0.1:9/missing.js"></script>"#;
        let error = localizer
            .html(html, &work.path().join("index.html"))
            .unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("<script src> in index.html needs http://127.0.0.1:9/missing.js, which could not be downloaded ("), "{text}");
        assert!(text.ends_with("run `hf cache import http://127.0.0.1:9/missing.js <local file>` or pass --allow-missing-assets"), "{text}");
        let allowed = Localizer::new(&cache, work.path(), work.path(), true);
        assert_eq!(
            allowed.html(html, &work.path().join("index.html")).unwrap(),
            html
        );
        assert_eq!(allowed.warnings.borrow().len(), 1);
    }

    #[test]
    fn unavailable_google_fonts_are_dropped_and_only_unbundled_families_warn() {
        let cache_dir = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let cache = AssetCache::at(cache_dir.path());
        let localizer = Localizer::new(&cache, work.path(), work.path(), false);
        // Unreachable offline, and refused online (a weight and a family Google does not have).
        let bundled = "https://fonts.googleapis.com/css2?family=Space+Mono:wght@4000";
        let mixed = "https://fonts.googleapis.com/css2?family=Space+Mono&family=Zzz+Not+A+Font";
        let html = format!(
            r#"<link rel="stylesheet" href="{bundled}"><link rel="stylesheet" href="{mixed}"><style>@import url("{bundled}"); p {{ color: red }}</style>"#
        );
        let out = localizer
            .html(&html, &work.path().join("index.html"))
            .unwrap();
        assert!(!out.contains("fonts.googleapis.com"), "{out}");
        assert!(
            out.contains("<style> p { color: red }</style>"),
            "no stray ';': {out}"
        );
        let warnings = localizer.warnings.borrow();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("Zzz Not A Font is not bundled with hf"),
            "{}",
            warnings[0]
        );
        let strict = Localizer::new(&cache, work.path(), work.path(), false).strict(true);
        assert!(strict
            .html(
                &format!(r#"<link rel="stylesheet" href="{bundled}">"#),
                Path::new("index.html")
            )
            .is_ok());
        let error = strict.html(&html, Path::new("index.html")).unwrap_err();
        assert_eq!(error.code(), "STRICT");
        assert!(error.to_string().ends_with("Zzz Not A Font is not bundled with hf, so its text falls back to another font (add an @font-face with a local file, or seed the cache with `hf cache import`); --strict makes this an error"), "{error}");
        assert_eq!(
            google_font_families("https://fonts.googleapis.com/css?family=Inter:400|Open+Sans"),
            Some(vec!["Inter".to_string(), "Open Sans".to_string()])
        );
        assert_eq!(
            google_font_families("https://example.com/css?family=Inter"),
            None
        );
    }
}
