//! Scope a sub-composition's CSS to its mount: every top-level selector `S` becomes
//! `[data-composition-id="<runtime id>"] S`, and `#<authored root id>` becomes
//! `[data-hf-authored-id="<authored root id>"]` so it matches the inlined inner root.

use lightningcss::rules::{CssRule, CssRuleList};
use lightningcss::selector::{Combinator, Component, Selector};
use lightningcss::stylesheet::{ParserOptions, PrinterOptions, StyleSheet};
use lightningcss::values::ident::Ident;
use lightningcss::values::string::CSSString;
use parcel_selectors::attr::{AttrSelectorOperator, ParsedCaseSensitivity};

/// Rewrite `css` for one mount of a sub-composition. `runtime_id` is the mount's
/// `data-composition-id`; `authored_root_id` the `id` of the composition's root element, if any.
/// `[data-composition-id="<authored id>"]` selectors are renamed to the runtime id, so each
/// mount's rules match only that mount.
///
/// Rules inside `@media`, `@supports`, `@layer` and `@container` blocks are scoped too; nested
/// style rules, `@keyframes` and `@font-face` are left alone. Selectors that start with `html`,
/// `body` or `:root` have that part replaced by the scope, since the mount stands in for the
/// sub-composition's document. Unparseable rules are dropped, as a browser would.
pub fn scope_css(
    css: &str,
    runtime_id: &str,
    authored_id: &str,
    authored_root_id: Option<&str>,
) -> Result<String, String> {
    let ids = Ids {
        runtime_id,
        authored_id,
        authored_root_id,
    };
    let options = ParserOptions {
        error_recovery: true,
        ..ParserOptions::default()
    };
    let mut sheet = StyleSheet::parse(css, options).map_err(|e| e.to_string())?;
    scope_rules(&mut sheet.rules, &ids);
    sheet
        .to_css(PrinterOptions::default())
        .map(|out| out.code)
        .map_err(|e| e.to_string())
}

/// The names a mount is known by.
struct Ids<'a> {
    runtime_id: &'a str,
    authored_id: &'a str,
    authored_root_id: Option<&'a str>,
}

fn scope_rules(rules: &mut CssRuleList<'_>, ids: &Ids<'_>) {
    for rule in rules.0.iter_mut() {
        match rule {
            CssRule::Style(style) => {
                for selector in style.selectors.0.iter_mut() {
                    *selector = scope_selector(selector, ids);
                }
            }
            CssRule::Media(media) => scope_rules(&mut media.rules, ids),
            CssRule::Supports(supports) => scope_rules(&mut supports.rules, ids),
            CssRule::LayerBlock(layer) => scope_rules(&mut layer.rules, ids),
            CssRule::Container(container) => scope_rules(&mut container.rules, ids),
            _ => {}
        }
    }
}

fn attribute_equals<'i>(name: &str, value: &str) -> Component<'i> {
    Component::AttributeInNoNamespace {
        local_name: Ident(name.to_string().into()),
        operator: AttrSelectorOperator::Equal,
        value: CSSString(value.to_string().into()),
        case_sensitivity: ParsedCaseSensitivity::CaseSensitive,
        never_matches: false,
    }
}

/// Whether a simple selector names the document itself (`html`, `body`, `:root`).
fn names_document(component: &Component<'_>) -> bool {
    match component {
        Component::Root => true,
        Component::LocalName(name) => {
            let lower = name.lower_name.0.to_ascii_lowercase();
            lower == "html" || lower == "body"
        }
        _ => false,
    }
}

fn scope_selector<'i>(selector: &Selector<'i>, ids: &Ids<'_>) -> Selector<'i> {
    let original: Vec<Component<'i>> = selector.iter_raw_parse_order_from(0).cloned().collect();
    // The first compound (up to the first combinator).
    let first_compound_end = original
        .iter()
        .position(|c| c.is_combinator())
        .unwrap_or(original.len());
    let replaces_document = original[..first_compound_end].iter().any(names_document);

    let mut scoped = vec![attribute_equals("data-composition-id", ids.runtime_id)];
    let rest: &[Component<'i>] = if replaces_document {
        // `body .title` -> `[scope] .title`; `body` alone -> `[scope]`.
        &original[first_compound_end..]
    } else {
        scoped.push(Component::Combinator(Combinator::Descendant));
        &original
    };
    for component in rest {
        match component {
            Component::ID(id) if Some(id.0.as_ref()) == ids.authored_root_id => {
                scoped.push(attribute_equals("data-hf-authored-id", id.0.as_ref()));
            }
            Component::AttributeInNoNamespace {
                local_name, value, ..
            } if local_name.0.as_ref() == "data-composition-id"
                && value.0.as_ref() == ids.authored_id =>
            {
                scoped.push(attribute_equals("data-composition-id", ids.runtime_id));
            }
            _ => scoped.push(component.clone()),
        }
    }
    Selector::from(scoped)
}

#[cfg(test)]
mod tests {
    use super::scope_css;

    fn scoped(css: &str) -> String {
        scope_css(css, "intro", "intro", Some("intro-root")).unwrap()
    }

    #[test]
    fn prefixes_every_top_level_selector() {
        let out = scoped(".title, h1 > span { color: red }");
        assert!(
            out.contains(
                r#"[data-composition-id="intro"] .title, [data-composition-id="intro"] h1 > span"#
            ),
            "{out}"
        );
    }

    #[test]
    fn rewrites_the_authored_root_id_in_compound_selectors() {
        let out = scoped("#intro-root.dark .title { color: red } #other { color: blue }");
        assert!(
            out.contains(
                r#"[data-composition-id="intro"] .dark[data-hf-authored-id="intro-root"] .title"#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"[data-composition-id="intro"] #other"#),
            "{out}"
        );
    }

    #[test]
    fn authored_composition_id_selectors_follow_the_mount() {
        let out = scope_css(
            r#"[data-composition-id="card"] .label { color: red }"#,
            "card__hf1",
            "card",
            None,
        )
        .unwrap();
        assert!(
            out.contains(
                r#"[data-composition-id="card__hf1"] [data-composition-id="card__hf1"] .label"#
            ),
            "{out}"
        );
    }

    #[test]
    fn document_selectors_become_the_scope() {
        let out = scoped("body { background: red } :root .x { color: red }");
        assert!(out.contains("[data-composition-id=\"intro\"] {"), "{out}");
        assert!(out.contains("[data-composition-id=\"intro\"] .x"), "{out}");
    }

    #[test]
    fn scopes_inside_media_but_not_keyframes() {
        let out = scoped(
            "@media (min-width: 10px) { .a { color: red } } @keyframes spin { from { opacity: 0 } to { opacity: 1 } }",
        );
        assert!(out.contains("[data-composition-id=\"intro\"] .a"), "{out}");
        assert!(out.contains("@keyframes spin"), "{out}");
        assert!(out.contains("from {"), "{out}");
    }

    #[test]
    fn keeps_unknown_properties_and_variables() {
        let out =
            scoped(".a { --accent: #f00; color: var(--accent); -webkit-text-stroke: 1px red }");
        assert!(out.contains("--accent: red"), "{out}");
        assert!(out.contains("var(--accent)"), "{out}");
    }
}
