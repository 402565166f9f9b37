//! Media elements: every `<video>` and `<audio>` gets an id, a document-unique render id
//! (`data-hf-render-id`), a start and, from its probed source, a duration. Each source is checked
//! here, so a missing or broken file fails the render before anything is captured.

use crate::RenderError;
use hf_core::playback_rate;
use hf_encode::{probe_media, MediaError, MediaInfo};
use lol_html::{element, rewrite_str, RewriteStrSettings};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Whether a media element is a `<video>` or an `<audio>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediaKind {
    /// `<video>`: frames shown through an image, sound mixed when it has audio.
    Video,
    /// `<audio>`: sound only.
    Audio,
    /// An animated GIF `<img>`: its frames follow the timeline, looping.
    AnimatedImage,
    /// A PNG `<img>` whose `cICP` says PQ or HLG: drawn by hf in HDR renders, left to the
    /// browser otherwise.
    HdrImage,
}

/// One media element of the compiled page and its checked source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaSource {
    /// `data-hf-render-id`: unique in the document.
    pub render_id: String,
    /// The element's id (given, or `hf-video-N` / `hf-audio-N`).
    pub element_id: String,
    /// Video or audio.
    pub kind: MediaKind,
    /// The `src` as written in the page.
    pub src: String,
    /// The file it resolves to.
    pub path: PathBuf,
    /// What the source holds.
    pub info: MediaInfo,
    /// The element may sound: an `<audio>`, or a `<video>` that is not `muted` and not
    /// `data-has-audio="false"`.
    pub sounds: bool,
}

/// `src` without query and fragment, percent-decoded, relative to the project.
pub(crate) fn local_path(src: &str) -> Option<String> {
    let src = src.trim();
    let lower = src.to_ascii_lowercase();
    if src.is_empty()
        || lower.starts_with("data:")
        || lower.starts_with("blob:")
        || lower.starts_with("http:")
        || lower.starts_with("https:")
        || lower.starts_with("//")
    {
        return None;
    }
    let end = src.find(['?', '#']).unwrap_or(src.len());
    let decoded = percent_encoding::percent_decode_str(&src[..end])
        .decode_utf8_lossy()
        .into_owned();
    let relative = decoded.trim_start_matches("./").trim_start_matches('/');
    Some(relative.to_string())
}

fn number(value: Option<String>) -> Option<f64> {
    value
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// Seconds rounded for an attribute value.
fn seconds_attribute(value: f64) -> String {
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Normalise the media elements of `html` (the page at `page`) and check their sources, which
/// are looked up in `roots` in order (the compiled dir, then the project dir).
pub(crate) fn normalize(
    html: &str,
    page: &Path,
    roots: &[&Path],
) -> Result<(String, Vec<MediaSource>), RenderError> {
    let lower = html.to_ascii_lowercase();
    if !lower.contains("<video")
        && !lower.contains("<audio")
        && !lower.contains(".gif")
        && !lower.contains(".png")
    {
        return Ok((html.to_string(), Vec::new()));
    }
    // Pass 1: each media element's source (its own src, else its first <source src>).
    let sources = RefCell::new(Vec::<Option<String>>::new());
    let ids = RefCell::new(HashSet::<String>::new());
    rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!("video, audio", |el| {
                    sources.borrow_mut().push(el.get_attribute("src"));
                    Ok(())
                }),
                element!("video > source[src], audio > source[src]", |el| {
                    if let Some(last) = sources.borrow_mut().last_mut() {
                        if last.is_none() {
                            *last = el.get_attribute("src");
                        }
                    }
                    Ok(())
                }),
                element!("[id]", |el| {
                    ids.borrow_mut().extend(el.get_attribute("id"));
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(super::rewrite_error(page))?;
    let sources = sources.into_inner();
    let taken_ids = ids.into_inner();

    // Pass 2: ids, render ids, start, duration, audio flag.
    let state = RefCell::new(Pass {
        page,
        roots,
        sources,
        taken_ids,
        next_source: 0,
        counters: HashMap::new(),
        render_ids: HashMap::new(),
        probes: HashMap::new(),
        found: Vec::new(),
        failure: None,
    });
    let html = rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!("img[src]", |el| {
                    state.borrow_mut().image(el)?;
                    Ok(())
                }),
                element!("video, audio", |el| {
                    state.borrow_mut().media(el)?;
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(super::rewrite_error(page))?;
    let state = state.into_inner();
    if let Some(error) = state.failure {
        return Err(error);
    }
    Ok((html, state.found))
}

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// State of the rewriting pass.
struct Pass<'a> {
    page: &'a Path,
    roots: &'a [&'a Path],
    /// Each media element's source, in document order (from the first pass).
    sources: Vec<Option<String>>,
    /// Ids in use in the document.
    taken_ids: HashSet<String>,
    next_source: usize,
    /// Generated ids so far, per prefix.
    counters: HashMap<&'static str, u32>,
    /// Render ids handed out per element id.
    render_ids: HashMap<String, u32>,
    probes: HashMap<PathBuf, Result<MediaInfo, MediaError>>,
    found: Vec<MediaSource>,
    failure: Option<RenderError>,
}

impl Pass<'_> {
    /// The element's id, or a fresh `<prefix>-N` set on it.
    fn element_id(
        &mut self,
        el: &mut lol_html::html_content::Element<'_, '_>,
        prefix: &'static str,
    ) -> Result<String, lol_html::errors::AttributeNameError> {
        if let Some(id) = el.get_attribute("id").filter(|id| !id.is_empty()) {
            return Ok(id);
        }
        let counter = self.counters.entry(prefix).or_insert(0);
        let mut id = format!("{prefix}-{counter}");
        while self.taken_ids.contains(&id) {
            *counter += 1;
            id = format!("{prefix}-{counter}");
        }
        *counter += 1;
        self.taken_ids.insert(id.clone());
        el.set_attribute("id", &id)?;
        Ok(id)
    }

    /// A document-unique render id for `element_id`, set as `data-hf-render-id`.
    fn render_id(
        &mut self,
        el: &mut lol_html::html_content::Element<'_, '_>,
        element_id: &str,
    ) -> Result<String, lol_html::errors::AttributeNameError> {
        let seen = self.render_ids.entry(element_id.to_string()).or_insert(0);
        *seen += 1;
        let render_id = if *seen == 1 {
            element_id.to_string()
        } else {
            format!("{element_id}__hf{seen}")
        };
        el.set_attribute("data-hf-render-id", &render_id)?;
        Ok(render_id)
    }

    /// The local file `relative` names: the first root holding it (else under the last root).
    fn resolve(&self, relative: &str) -> PathBuf {
        self.roots
            .iter()
            .map(|root| root.join(relative))
            .find(|p| p.is_file())
            .unwrap_or_else(|| self.roots.last().expect("a root").join(relative))
    }

    fn probe(&mut self, path: &Path) -> Result<MediaInfo, MediaError> {
        self.probes
            .entry(path.to_path_buf())
            .or_insert_with(|| probe_media(path))
            .clone()
    }

    /// An animated GIF `<img>` becomes a frame source that follows the timeline.
    fn image(&mut self, el: &mut lol_html::html_content::Element<'_, '_>) -> HandlerResult {
        let src = el.get_attribute("src").unwrap_or_default();
        let Some(relative) = local_path(&src) else {
            return Ok(());
        };
        let lower = relative.to_ascii_lowercase();
        if lower.ends_with(".png") {
            return self.hdr_image(el, src, &relative);
        }
        if !lower.ends_with(".gif") {
            return Ok(());
        }
        let path = self.resolve(&relative);
        // A GIF libav cannot read is left to the browser, as any other image.
        let Ok(info) = self.probe(&path) else {
            return Ok(());
        };
        if info.video.as_ref().is_none_or(|v| v.frames < 2) {
            return Ok(());
        }
        self.image_source(el, "hf-gif", MediaKind::AnimatedImage, (src, path, info))
    }

    /// Give the `<img>` an id and a render id, and record it as a silent source of `kind`.
    fn image_source(
        &mut self,
        el: &mut lol_html::html_content::Element<'_, '_>,
        prefix: &'static str,
        kind: MediaKind,
        (src, path, info): (String, PathBuf, MediaInfo),
    ) -> HandlerResult {
        let element_id = self.element_id(el, prefix)?;
        let render_id = self.render_id(el, &element_id)?;
        self.found.push(MediaSource {
            render_id,
            element_id,
            kind,
            src,
            path,
            info,
            sounds: false,
        });
        Ok(())
    }

    /// A PNG tagged PQ or HLG becomes an HDR source (any other PNG is the browser's).
    fn hdr_image(
        &mut self,
        el: &mut lol_html::html_content::Element<'_, '_>,
        src: String,
        relative: &str,
    ) -> HandlerResult {
        let path = self.resolve(relative);
        let Some(transfer) = hf_encode::png_transfer(&path) else {
            return Ok(());
        };
        let Ok(mut info) = self.probe(&path) else {
            return Ok(());
        };
        if let Some(video) = info.video.as_mut() {
            video.transfer = Some(transfer);
        }
        self.image_source(el, "hf-hdr-image", MediaKind::HdrImage, (src, path, info))
    }

    fn media(&mut self, el: &mut lol_html::html_content::Element<'_, '_>) -> HandlerResult {
        let (kind, prefix) = if el.tag_name() == "video" {
            (MediaKind::Video, "hf-video")
        } else {
            (MediaKind::Audio, "hf-audio")
        };
        let src = self.sources.get(self.next_source).cloned().flatten();
        self.next_source += 1;
        let element_id = self.element_id(el, prefix)?;
        let render_id = self.render_id(el, &element_id)?;
        if !el.has_attribute("data-start") {
            el.set_attribute("data-start", "0")?;
            el.set_attribute("data-hf-auto-start", "")?;
        }
        el.remove_attribute("crossorigin");
        if el.get_attribute("preload").as_deref() == Some("none") {
            el.remove_attribute("preload");
        }
        let sounds = match kind {
            MediaKind::Video => {
                let muted = el.has_attribute("muted");
                let declared = el.get_attribute("data-has-audio");
                if declared.is_none() {
                    el.set_attribute("data-has-audio", if muted { "false" } else { "true" })?;
                }
                !muted && declared.as_deref() != Some("false")
            }
            _ => true,
        };
        let Some(src) = src else { return Ok(()) };
        let Some(relative) = local_path(&src) else {
            return Ok(());
        };
        let path = self.resolve(&relative);
        let info = match self.probe(&path) {
            Ok(info) => info,
            Err(reason) => {
                self.failure.get_or_insert(RenderError::BadMedia {
                    path: self.page.to_path_buf(),
                    element: format!("<{} id=\"{element_id}\" src=\"{src}\">", el.tag_name()),
                    file: path,
                    reason: Box::new(reason),
                });
                return Ok(());
            }
        };
        let media_start = number(el.get_attribute("data-playback-start"))
            .or_else(|| number(el.get_attribute("data-media-start")))
            .unwrap_or(0.0)
            .max(0.0);
        let rate = number(el.get_attribute("data-playback-rate")).map_or(1.0, playback_rate);
        let playable = (info.duration_seconds - media_start).max(0.0) / rate;
        let looped = el.has_attribute("loop");
        match number(el.get_attribute("data-duration")) {
            None if !el.has_attribute("data-end") => {
                el.set_attribute("data-duration", &seconds_attribute(playable))?;
            }
            // Audio slots never outlast their source (videos hold their last frame).
            Some(d) if kind == MediaKind::Audio && !looped && d > playable + 0.05 => {
                el.set_attribute("data-duration", &seconds_attribute(playable))?;
            }
            _ => {}
        }
        self.found.push(MediaSource {
            render_id,
            element_id,
            kind,
            src,
            path,
            info,
            sounds,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_resolve_relative_to_the_project_without_query() {
        assert_eq!(
            local_path("./media/a%20b.mp4?v=2#t=1").as_deref(),
            Some("media/a b.mp4")
        );
        assert_eq!(local_path("/clip.webm").as_deref(), Some("clip.webm"));
        assert_eq!(local_path("data:video/mp4;base64,AAAA"), None);
        assert_eq!(local_path("https://cdn.example/a.mp4"), None);
    }

    #[test]
    fn elements_get_ids_render_ids_starts_and_errors_name_them() {
        let dir = tempfile::tempdir().unwrap();
        let html = r#"<div id="hf-video-0"></div><video src="missing.mp4"></video>"#;
        let error = normalize(html, &dir.path().join("index.html"), &[dir.path()]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(r#"<video id="hf-video-1" src="missing.mp4">"#)
                && message.contains("missing.mp4 does not exist; put the file at that path"),
            "{message}"
        );
        assert_eq!(error.code(), "MEDIA_NOT_FOUND");

        let html = r#"<video id="v" muted src="data:video/mp4;base64,AA"></video><video id="v" src="data:,"></video><audio></audio>"#;
        let (out, found) = normalize(html, &dir.path().join("index.html"), &[dir.path()]).unwrap();
        assert!(found.is_empty());
        assert!(out.contains(r#"data-hf-render-id="v" data-start="0" data-hf-auto-start="" data-has-audio="false""#), "{out}");
        assert!(out.contains(r#"data-hf-render-id="v__hf2""#), "{out}");
        assert!(
            out.contains(r#"<audio id="hf-audio-0" data-hf-render-id="hf-audio-0""#),
            "{out}"
        );
    }
}
