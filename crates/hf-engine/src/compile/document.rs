//! Pass 1 of the compile stage: the document's shape (compositions, head/body, timed clips,
//! iframes, scripts, variable declarations), the root composition and its facts.

use super::{rewrite_error, timing, DEFAULT_SIZE};
use crate::RenderError;
use hf_core::Fps;
use lol_html::{element, rewrite_str, RewriteStrSettings};
use std::cell::RefCell;
use std::path::Path;

/// An element with `data-composition-id`, as written.
#[derive(Debug, Clone, Default)]
pub(super) struct CompositionElement {
    pub(super) id: String,
    explicit_root: bool,
    width: Option<String>,
    height: Option<String>,
    duration: Option<String>,
    legacy_duration: Option<String>,
    fps: Option<String>,
    /// The file an inlined host mounts (`data-composition-file`).
    file: Option<String>,
    /// `data-start` as written.
    start: Option<String>,
    /// An inlined sub-composition's own root (the host carries its facts).
    inner_root: bool,
}

/// What pass 1 learns about a document.
#[derive(Debug, Default)]
pub(super) struct DocumentShape {
    pub(super) compositions: Vec<CompositionElement>,
    pub(super) has_head: bool,
    pub(super) has_html: bool,
    pub(super) has_body: bool,
    /// `data-composition-variables` of the page (not of inlined sub-compositions).
    pub(super) declarations: Vec<String>,
    pub(super) iframes: Vec<String>,
    pub(super) page_scripts: Vec<String>,
    pub(super) timed: Vec<timing::TimedClip>,
    /// Ids of the `[data-composition-id]` children of `<body>`.
    pub(super) top_level: Vec<String>,
}

/// The root composition's facts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RootFacts {
    pub(super) id: String,
    pub(super) width: u32,
    pub(super) height: u32,
    /// `data-duration` when it is a finite number above 0.
    pub(super) static_duration: Option<f64>,
    pub(super) fps_hint: Option<Fps>,
}

impl DocumentShape {
    /// Scan `html` (the page at `index`).
    pub(super) fn scan(html: &str, index: &Path) -> Result<Self, RenderError> {
        let mut shape = DocumentShape::default();
        let mut compositions = Vec::new();
        let declarations = RefCell::new(Vec::new());
        let (mut has_head, mut has_html, mut has_body) = (false, false, false);
        let (mut iframes, mut page_scripts, mut timed) = (Vec::new(), Vec::new(), Vec::new());
        let mut top_level = Vec::new();
        rewrite_str(
            html,
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
                            file: el.get_attribute("data-composition-file"),
                            start: el.get_attribute("data-start"),
                            inner_root: el.has_attribute("data-hf-inner-root"),
                        });
                        // Inlined sub-compositions' declarations are per mount
                        // (__hfVariablesByComp).
                        if !el.has_attribute("data-hf-inner-root") {
                            declarations
                                .borrow_mut()
                                .extend(el.get_attribute("data-composition-variables"));
                        }
                        Ok(())
                    }),
                    element!("body > [data-composition-id]", |el| {
                        top_level.push(el.get_attribute("data-composition-id").unwrap_or_default());
                        Ok(())
                    }),
                    element!("head", |_| {
                        has_head = true;
                        Ok(())
                    }),
                    element!("body", |_| {
                        has_body = true;
                        Ok(())
                    }),
                    element!("html", |el| {
                        has_html = true;
                        declarations
                            .borrow_mut()
                            .extend(el.get_attribute("data-composition-variables"));
                        Ok(())
                    }),
                    element!("[data-start]", |el| {
                        timed.push(timed_clip(el));
                        Ok(())
                    }),
                    element!("iframe[src]", |el| {
                        iframes.extend(el.get_attribute("src"));
                        Ok(())
                    }),
                    element!("script[src]", |el| {
                        page_scripts.extend(el.get_attribute("src"));
                        Ok(())
                    }),
                ],
                ..RewriteStrSettings::new()
            },
        )
        .map_err(rewrite_error(index))?;
        shape.compositions = compositions;
        shape.declarations = declarations.into_inner();
        (shape.has_head, shape.has_html, shape.has_body) = (has_head, has_html, has_body);
        (shape.iframes, shape.page_scripts, shape.timed) = (iframes, page_scripts, timed);
        shape.top_level = top_level;
        Ok(shape)
    }

    /// The explicit root, else the first composition in document order (which has no
    /// composition ancestor, since ancestors open before their descendants), with its facts.
    pub(super) fn root(&self, index: &Path) -> Result<RootFacts, RenderError> {
        let root = self
            .compositions
            .iter()
            .find(|c| c.explicit_root)
            .or_else(|| self.compositions.first())
            .ok_or_else(|| RenderError::NoComposition {
                path: index.to_path_buf(),
            })?;
        let invalid =
            |attribute: &str, value: &str, expected: &'static str| RenderError::InvalidAttribute {
                path: index.to_path_buf(),
                element: root.id.clone(),
                attribute: attribute.to_string(),
                value: value.to_string(),
                expected,
            };
        let dimension = |value: &Option<String>, name: &str, default: u32| {
            match value.as_deref().map(str::trim) {
                None | Some("") => Ok(default),
                Some(text) => match text.parse::<f64>() {
                    // Odd sizes are fine: 4:2:0 codecs pad the output by one pixel.
                    Ok(v) if (1.0..=16384.0).contains(&v) && v.fract() == 0.0 => Ok(v as u32),
                    _ => Err(invalid(
                        name,
                        text,
                        "a whole number of pixels between 1 and 16384",
                    )),
                },
            }
        };
        let fps_hint = match root.fps.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(text.parse::<Fps>().map_err(|_| {
                invalid(
                    "data-fps",
                    text,
                    "an integer such as 30 or a rational such as 30000/1001",
                )
            })?),
        };
        Ok(RootFacts {
            id: root.id.clone(),
            width: dimension(&root.width, "data-width", DEFAULT_SIZE.0)?,
            height: dimension(&root.height, "data-height", DEFAULT_SIZE.1)?,
            static_duration: match root
                .duration
                .as_deref()
                .or(root.legacy_duration.as_deref())
                .map(str::trim)
                .filter(|d| !d.is_empty())
            {
                None => None,
                // As the browser's parseFloat: "5s" is 5; 0 leaves it to the timeline.
                Some(text) => {
                    match parse_float_prefix(text) {
                        Some(seconds) if seconds > 0.0 => Some(seconds),
                        Some(0.0) => None,
                        _ => return Err(invalid(
                            "data-duration",
                            text,
                            "a number of seconds above 0, e.g. 5 (or no data-duration, to take \
                             the timeline's)",
                        )),
                    }
                }
            },
            fps_hint,
        })
    }

    /// Body-level compositions (ids) when the page has more than one and none says
    /// `data-root="true"`: the first is rendered.
    pub(super) fn extra_roots(&self) -> Option<Vec<String>> {
        let explicit = self.compositions.iter().any(|c| c.explicit_root);
        (!explicit && self.top_level.len() > 1).then(|| self.top_level.clone())
    }

    /// Every composition of the page (the root, then the sub-composition mounts), as
    /// [`crate::CompositionSummary`]s.
    pub(super) fn composition_summaries(&self) -> Vec<crate::CompositionSummary> {
        let number = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<f64>().ok());
        self.compositions
            .iter()
            .filter(|c| !c.inner_root)
            .map(|c| crate::CompositionSummary {
                id: c.id.clone(),
                file: c.file.clone(),
                start: c.start.clone(),
                duration: number(&c.duration).or(number(&c.legacy_duration)),
                width: number(&c.width).map(|w| w as u32),
                height: number(&c.height).map(|h| h as u32),
            })
            .collect()
    }

    /// Every timed clip with its resolved start (unresolvable starts count as 0).
    pub(super) fn clip_summaries(&self) -> Vec<crate::ClipSummary> {
        let starts = timing::resolve_starts(&self.timed).unwrap_or_default();
        self.timed
            .iter()
            .enumerate()
            .map(|(i, clip)| crate::ClipSummary {
                id: clip.id.clone(),
                tag: clip.tag.clone(),
                start: starts.get(i).copied().unwrap_or(0.0),
                duration: clip.duration,
                track: clip.track,
            })
            .collect()
    }

    /// Relative starts must name a clip and must not form a cycle.
    pub(super) fn check_starts(&self, index: &Path) -> Result<(), RenderError> {
        let Err(error) = timing::resolve_starts(&self.timed) else {
            return Ok(());
        };
        let (clip, reason) = match error {
            timing::StartError::Invalid { clip } => (
                clip,
                "expected seconds (\"1.5\") or a clip reference (\"intro\", \"intro + 0.5\")"
                    .to_string(),
            ),
            timing::StartError::UnknownReference { clip, reference } => (
                clip,
                format!(
                    "no element has id=\"{reference}\"; name the id of the clip this one follows"
                ),
            ),
            timing::StartError::Cycle { clip, chain } => (
                clip,
                format!(
                    "relative starts form a cycle ({}); give one of them a number of seconds",
                    chain.join(" -> ")
                ),
            ),
        };
        Err(RenderError::InvalidStart {
            path: index.to_path_buf(),
            element: self.timed[clip]
                .id
                .clone()
                .unwrap_or_else(|| "(no id)".into()),
            value: self.timed[clip].start.clone(),
            reason,
        })
    }
}

/// The number at the start of `text`, as JavaScript's `parseFloat` reads it (`None`: NaN).
fn parse_float_prefix(text: &str) -> Option<f64> {
    let text = text.trim_start();
    let end = text
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_digit()
                || *c == '.'
                || ((*c == '-' || *c == '+') && *i == 0)
                || *c == 'e'
                || *c == 'E'
        })
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    (1..=end)
        .rev()
        .find_map(|n| text[..n].parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// A `[data-start]` element's start and duration (from `data-duration`, else `data-end`).
fn timed_clip(el: &lol_html::html_content::Element<'_, '_>) -> timing::TimedClip {
    let number = |name: &str| {
        el.get_attribute(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let start = el.get_attribute("data-start").unwrap_or_default();
    let duration = number("data-duration").or_else(|| {
        let end = number("data-end")?;
        Some(end - start.trim().parse::<f64>().ok()?)
    });
    timing::TimedClip {
        id: el.get_attribute("id").filter(|id| !id.is_empty()),
        start,
        duration,
        tag: el.tag_name(),
        track: number("data-track-index").map_or(0, |t| t as i64),
    }
}
