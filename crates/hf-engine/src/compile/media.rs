//! Media elements: every `<video>` and `<audio>` gets an id, a document-unique render id
//! (`data-hf-render-id`), a start and, from its probed source, a duration. Each source is checked
//! here, so a missing or broken file fails the render before anything is captured.

use crate::RenderError;
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
fn local_path(src: &str) -> Option<String> {
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
    if !html.contains("<video") && !html.contains("<audio") {
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
    let mut taken_ids = ids.into_inner();

    // Pass 2: ids, render ids, start, duration, audio flag.
    let found = RefCell::new(Vec::<MediaSource>::new());
    let failure = RefCell::new(None::<RenderError>);
    let mut probes: HashMap<PathBuf, Result<MediaInfo, MediaError>> = HashMap::new();
    let mut render_ids: HashMap<String, u32> = HashMap::new();
    let (mut index, mut videos, mut audios) = (0usize, 0u32, 0u32);
    let html = rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![element!("video, audio", |el| {
                let kind = if el.tag_name() == "video" {
                    videos += 1;
                    MediaKind::Video
                } else {
                    audios += 1;
                    MediaKind::Audio
                };
                let src = sources.get(index).cloned().flatten();
                index += 1;
                let element_id = match el.get_attribute("id").filter(|id| !id.is_empty()) {
                    Some(id) => id,
                    None => {
                        let (prefix, mut n) = match kind {
                            MediaKind::Video => ("hf-video", videos - 1),
                            MediaKind::Audio => ("hf-audio", audios - 1),
                        };
                        while taken_ids.contains(&format!("{prefix}-{n}")) {
                            n += 1;
                        }
                        let id = format!("{prefix}-{n}");
                        taken_ids.insert(id.clone());
                        el.set_attribute("id", &id)?;
                        id
                    }
                };
                let seen = render_ids.entry(element_id.clone()).or_insert(0);
                *seen += 1;
                let render_id = if *seen == 1 {
                    element_id.clone()
                } else {
                    format!("{element_id}__hf{seen}")
                };
                el.set_attribute("data-hf-render-id", &render_id)?;
                if !el.has_attribute("data-start") {
                    el.set_attribute("data-start", "0")?;
                    el.set_attribute("data-hf-auto-start", "")?;
                }
                el.remove_attribute("crossorigin");
                if el.get_attribute("preload").as_deref() == Some("none") {
                    el.remove_attribute("preload");
                }
                let sounds = match kind {
                    MediaKind::Audio => true,
                    MediaKind::Video => {
                        let muted = el.has_attribute("muted");
                        let declared = el.get_attribute("data-has-audio");
                        if declared.is_none() {
                            el.set_attribute(
                                "data-has-audio",
                                if muted { "false" } else { "true" },
                            )?;
                        }
                        !muted && declared.as_deref() != Some("false")
                    }
                };
                let Some(src) = src else { return Ok(()) };
                let Some(relative) = local_path(&src) else {
                    return Ok(());
                };
                let path = roots
                    .iter()
                    .map(|root| root.join(&relative))
                    .find(|p| p.is_file())
                    .unwrap_or_else(|| roots.last().expect("a root").join(&relative));
                let probed = probes
                    .entry(path.clone())
                    .or_insert_with(|| probe_media(&path))
                    .clone();
                let info = match probed {
                    Ok(info) => info,
                    Err(reason) => {
                        failure.borrow_mut().get_or_insert(RenderError::BadMedia {
                            path: page.to_path_buf(),
                            element: format!(
                                "<{} id=\"{element_id}\" src=\"{src}\">",
                                el.tag_name()
                            ),
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
                let rate = number(el.get_attribute("data-playback-rate"))
                    .map_or(1.0, |r| r.clamp(0.1, 5.0));
                let playable = (info.duration_seconds - media_start).max(0.0) / rate;
                let looped = el.has_attribute("loop");
                let declared = number(el.get_attribute("data-duration"));
                match declared {
                    None if !el.has_attribute("data-end") => {
                        el.set_attribute("data-duration", &seconds_attribute(playable))?;
                    }
                    // Audio slots never outlast their source (videos hold their last frame).
                    Some(d) if kind == MediaKind::Audio && !looped && d > playable + 0.05 => {
                        el.set_attribute("data-duration", &seconds_attribute(playable))?;
                    }
                    _ => {}
                }
                found.borrow_mut().push(MediaSource {
                    render_id,
                    element_id,
                    kind,
                    src,
                    path,
                    info,
                    sounds,
                });
                Ok(())
            })],
            ..RewriteStrSettings::new()
        },
    )
    .map_err(super::rewrite_error(page))?;
    if let Some(error) = failure.into_inner() {
        return Err(error);
    }
    Ok((html, found.into_inner()))
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
