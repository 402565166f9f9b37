//! One HTML file of a project, read for lint: its elements (with the composition each sits
//! in and its line), its inline scripts and its styles.

use crate::compile::rewrite_error;
use crate::RenderError;
use lol_html::{element, rewrite_str, text, RewriteStrSettings};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// An element as written.
#[derive(Debug, Clone)]
pub(super) struct ScannedElement {
    /// Lower-case tag name.
    pub(super) tag: String,
    /// Attributes in source order (names lower case).
    pub(super) attributes: Vec<(String, String)>,
    /// The innermost `[data-composition-id]` element around it (an index into
    /// [`ScannedFile::elements`]); `None` at the top.
    pub(super) composition: Option<usize>,
    /// 1-based line of its start tag.
    pub(super) line: usize,
}

impl ScannedElement {
    /// The value of attribute `name`.
    pub(super) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Its `id`, when it has a non-empty one.
    pub(super) fn id(&self) -> Option<&str> {
        self.attribute("id").filter(|id| !id.is_empty())
    }

    /// How messages name it: `<video id="a">`, `<div data-composition-id="b">`, `<img>`.
    pub(super) fn label(&self) -> String {
        let named = ["id", "data-composition-id"]
            .iter()
            .find_map(|name| self.attribute(name).map(|value| (*name, value)));
        match named {
            Some((name, value)) => format!("<{} {name}=\"{value}\">", self.tag),
            None => format!("<{}>", self.tag),
        }
    }

    /// A number attribute (`data-start="1.5"`), when it is a finite number.
    pub(super) fn seconds(&self, name: &str) -> Option<f64> {
        self.attribute(name)?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
    }
}

/// One HTML file, scanned.
#[derive(Debug)]
pub(super) struct ScannedFile {
    /// Where it is.
    pub(super) path: PathBuf,
    /// The `data-composition-src` it was first mounted with (`None` for the entry page):
    /// its relative paths are rebased from there, as the compile stage does.
    pub(super) mounted_as: Option<String>,
    /// The text as read.
    pub(super) source: String,
    /// Every element, in document order.
    pub(super) elements: Vec<ScannedElement>,
    /// The text of each `<script>` without `src`, with its line.
    pub(super) scripts: Vec<(usize, String)>,
    /// The text of each `<style>` and each `style` attribute.
    pub(super) styles: Vec<String>,
}

impl ScannedFile {
    /// Read and scan the file at `path`.
    pub(super) fn read(path: &Path) -> Result<ScannedFile, RenderError> {
        let bytes = std::fs::read(path)
            .map_err(|e| RenderError::Io(hf_core::IoError::new("read", path, e)))?;
        let source = String::from_utf8_lossy(&bytes).into_owned();
        ScannedFile::scan(path, source)
    }

    /// Scan `source`, the text of the file at `path`.
    pub(super) fn scan(path: &Path, source: String) -> Result<ScannedFile, RenderError> {
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let line_of = |offset: usize| line_starts.partition_point(|&start| start <= offset);
        let elements = RefCell::new(Vec::<ScannedElement>::new());
        let open_compositions = Rc::new(RefCell::new(Vec::<usize>::new()));
        let scripts = RefCell::new(Vec::<(usize, String)>::new());
        let styles = RefCell::new(Vec::<String>::new());
        let in_inline_script = RefCell::new(false);
        rewrite_str(
            &source,
            RewriteStrSettings {
                element_content_handlers: vec![
                    element!("*", |el| {
                        let index = elements.borrow().len();
                        let attributes: Vec<(String, String)> = el
                            .attributes()
                            .iter()
                            .map(|a| (a.name(), a.value()))
                            .collect();
                        if let Some((_, style)) = attributes.iter().find(|(n, _)| n == "style") {
                            styles.borrow_mut().push(style.clone());
                        }
                        let is_composition =
                            attributes.iter().any(|(n, _)| n == "data-composition-id");
                        elements.borrow_mut().push(ScannedElement {
                            tag: el.tag_name(),
                            attributes,
                            composition: open_compositions.borrow().last().copied(),
                            line: line_of(el.source_location().bytes().start),
                        });
                        if is_composition {
                            if let Some(handlers) = el.end_tag_handlers() {
                                open_compositions.borrow_mut().push(index);
                                let open = Rc::clone(&open_compositions);
                                let close: lol_html::EndTagHandler<'static> = Box::new(move |_| {
                                    open.borrow_mut().pop();
                                    Ok(())
                                });
                                handlers.push(close);
                            }
                        }
                        Ok(())
                    }),
                    element!("script", |el| {
                        let inline = el.get_attribute("src").is_none();
                        *in_inline_script.borrow_mut() = inline;
                        if inline {
                            let line = line_of(el.source_location().bytes().start);
                            scripts.borrow_mut().push((line, String::new()));
                        }
                        Ok(())
                    }),
                    text!("script", |chunk| {
                        if *in_inline_script.borrow() {
                            if let Some((_, text)) = scripts.borrow_mut().last_mut() {
                                text.push_str(chunk.as_str());
                            }
                        }
                        Ok(())
                    }),
                    element!("style", |_| {
                        styles.borrow_mut().push(String::new());
                        Ok(())
                    }),
                    text!("style", |chunk| {
                        if let Some(text) = styles.borrow_mut().last_mut() {
                            text.push_str(chunk.as_str());
                        }
                        Ok(())
                    }),
                ],
                ..RewriteStrSettings::new()
            },
        )
        .map_err(rewrite_error(path))?;
        Ok(ScannedFile {
            path: path.to_path_buf(),
            mounted_as: None,
            source,
            elements: elements.into_inner(),
            scripts: scripts.into_inner(),
            styles: styles.into_inner(),
        })
    }

    /// Every inline script, joined (for rules that look at the file's code as a whole).
    pub(super) fn all_scripts(&self) -> String {
        let texts: Vec<&str> = self.scripts.iter().map(|(_, s)| s.as_str()).collect();
        texts.join("\n;\n")
    }

    /// Every style, joined.
    pub(super) fn all_styles(&self) -> String {
        self.styles.join("\n")
    }

    /// The root composition of the file: its first `[data-composition-id]` element.
    pub(super) fn root(&self) -> Option<&ScannedElement> {
        self.elements
            .iter()
            .find(|e| e.attribute("data-composition-id").is_some())
    }

    /// The 1-based line of byte `offset` of the source.
    pub(super) fn line_at(&self, offset: usize) -> usize {
        self.source[..offset.min(self.source.len())]
            .matches('\n')
            .count()
            + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_know_their_composition_and_line() {
        let html = "<div data-composition-id=\"root\">\n  <p id=\"a\">x</p>\n  <div data-composition-id=\"inner\"><img src=\"i.png\"></div>\n  <span id=\"b\"></span>\n</div>\n<script>let a = 1;</script><script src=\"x.js\"></script><style>p{}</style>";
        let file = ScannedFile::scan(Path::new("index.html"), html.to_string()).unwrap();
        let find = |tag: &str| file.elements.iter().find(|e| e.tag == tag).unwrap();
        assert_eq!(find("p").composition, Some(0));
        assert_eq!(find("p").line, 2);
        assert_eq!(find("img").composition, Some(2));
        assert_eq!(find("span").composition, Some(0));
        assert_eq!(find("script").composition, None);
        assert_eq!(file.scripts, vec![(6, "let a = 1;".to_string())]);
        assert_eq!(file.styles, vec!["p{}".to_string()]);
        assert_eq!(find("p").label(), "<p id=\"a\">");
        assert_eq!(
            file.root().unwrap().label(),
            "<div data-composition-id=\"root\">"
        );
    }
}
