//! Composition variables: `data-composition-variables` declarations, render-time overrides and
//! the CSS custom properties they become.

use crate::RenderError;
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

/// Variable values by id.
pub type VariableValues = serde_json::Map<String, Value>;

/// The types a declaration may have.
pub const VARIABLE_TYPES: &[&str] = &[
    "string", "number", "color", "boolean", "enum", "font", "image",
];

/// One entry of a `data-composition-variables` array.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct Declaration {
    /// Variable id (the key of `getVariables()` and of overrides).
    pub id: String,
    /// One of string, number, color, boolean, enum, font, image.
    #[serde(rename = "type")]
    pub kind: String,
    /// Default value.
    #[serde(default)]
    pub default: Value,
    /// Allowed values of an `enum`.
    #[serde(default)]
    pub options: Vec<Value>,
}

/// Parse a `data-composition-variables` attribute of `path`.
pub fn parse_declarations(raw: &str, path: &Path) -> Result<Vec<Declaration>, RenderError> {
    let declarations: Vec<Declaration> = serde_json::from_str(raw).map_err(|e| {
        RenderError::VariableDeclaration(format!(
            "{}: data-composition-variables is not a JSON array of {{\"id\",\"type\",\"default\"}} objects: {e}",
            path.display()
        ))
    })?;
    for declaration in &declarations {
        if !VARIABLE_TYPES.contains(&declaration.kind.as_str()) {
            return Err(RenderError::VariableDeclaration(format!(
                "{}: variable \"{}\" has unknown type \"{}\"; use one of {}",
                path.display(),
                declaration.id,
                declaration.kind,
                VARIABLE_TYPES.join(", ")
            )));
        }
    }
    Ok(declarations)
}

/// The declared defaults of a `data-composition-variables` attribute.
pub fn declared_defaults(raw: &str, path: &Path) -> Result<VariableValues, RenderError> {
    Ok(parse_declarations(raw, path)?
        .into_iter()
        .map(|d| (d.id, d.default))
        .collect())
}

/// Why `value` does not fit `declaration`, if it does not.
pub fn type_mismatch(declaration: &Declaration, value: &Value) -> Option<String> {
    let fits = match declaration.kind.as_str() {
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "enum" => declaration.options.is_empty() || declaration.options.contains(value),
        _ => value.is_string(),
    };
    if fits {
        return None;
    }
    Some(match declaration.kind.as_str() {
        "enum" => format!(
            "variable \"{}\" is an enum of {}; got {value}",
            declaration.id,
            serde_json::to_string(&declaration.options).unwrap_or_default()
        ),
        "number" => format!("variable \"{}\" is a number; got {value}", declaration.id),
        "boolean" => format!(
            "variable \"{}\" is a boolean (true or false); got {value}",
            declaration.id
        ),
        kind => format!(
            "variable \"{}\" is a {kind} and needs a JSON string; got {value}",
            declaration.id
        ),
    })
}

/// Check render-time `overrides` against the declarations: a type mismatch is an error, and so
/// is an undeclared id when `strict`.
pub fn check_overrides(
    declarations: &[Declaration],
    overrides: &VariableValues,
    strict: bool,
) -> Result<(), RenderError> {
    for (id, value) in overrides {
        match declarations.iter().find(|d| &d.id == id) {
            Some(declaration) => {
                if let Some(reason) = type_mismatch(declaration, value) {
                    return Err(RenderError::VariableDeclaration(format!(
                        "--variables: {reason}"
                    )));
                }
            }
            None if strict => {
                let known: Vec<&str> = declarations.iter().map(|d| d.id.as_str()).collect();
                return Err(RenderError::VariableDeclaration(format!(
                    "--variables: \"{id}\" is not declared in data-composition-variables (declared: {}); remove it or drop --strict-variables",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )));
            }
            None => {}
        }
    }
    Ok(())
}

/// `bgColor` -> `bg-color`, `Title Text` -> `title-text`: the CSS custom property name of an id.
pub fn slug(id: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower && !out.ends_with('-') {
                out.push('-');
            }
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else if c == '_' || c == '-' || c.is_whitespace() {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            previous_lower = false;
        }
    }
    out.trim_end_matches('-').to_string()
}

/// CSS declarations for the scalar variables: `--<slug>: value;` (and `--<id>` when the id is a
/// different valid name), so `var(--title)` resolves before any script runs.
pub fn custom_properties(values: &VariableValues) -> String {
    let mut css = String::new();
    for (id, value) in values {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        // A value cannot close the block or the style element.
        let text: String = text
            .chars()
            .filter(|c| !matches!(c, ';' | '{' | '}' | '<' | '>' | '\n' | '\r'))
            .collect();
        let slugged = slug(id);
        if slugged.is_empty() {
            continue;
        }
        css.push_str(&format!("--{slugged}: {text};"));
        let raw_valid = id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if raw_valid && *id != slugged {
            css.push_str(&format!("--{id}: {text};"));
        }
    }
    css
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn decl(kind: &str) -> Declaration {
        Declaration {
            id: "v".into(),
            kind: kind.into(),
            default: Value::Null,
            options: vec![json!("a"), json!("b")],
        }
    }

    #[test]
    fn unknown_type_is_named() {
        let error = parse_declarations(r#"[{"id":"x","type":"colour"}]"#, Path::new("index.html"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "index.html: variable \"x\" has unknown type \"colour\"; use one of string, number, color, boolean, enum, font, image"
        );
    }

    #[test]
    fn strict_rejects_undeclared_ids() {
        let declarations = vec![decl("string")];
        let overrides: VariableValues = serde_json::from_str(r#"{"other":"x"}"#).unwrap();
        assert!(check_overrides(&declarations, &overrides, false).is_ok());
        assert_eq!(
            check_overrides(&declarations, &overrides, true).unwrap_err().to_string(),
            "--variables: \"other\" is not declared in data-composition-variables (declared: v); remove it or drop --strict-variables"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("bgColor"), "bg-color");
        assert_eq!(slug("title"), "title");
        assert_eq!(slug("Title Text"), "title-text");
        assert_eq!(slug("accent_2"), "accent-2");
        assert_eq!(
            custom_properties(
                &serde_json::from_str(r##"{"bgColor":"#0a3d62","size":12,"on":true,"list":[1]}"##)
                    .unwrap()
            ),
            "--bg-color: #0a3d62;--bgColor: #0a3d62;--on: true;--size: 12;"
        );
    }

    proptest! {
        #[test]
        fn declared_defaults_round_trip(id in "[a-zA-Z][a-zA-Z0-9_]{0,12}", text in ".{0,20}", n in -1_000_000i64..1_000_000) {
            let raw = serde_json::to_string(&json!([
                {"id": id.clone(), "type": "string", "default": text.clone()},
                {"id": format!("{id}_n"), "type": "number", "default": n},
            ])).unwrap();
            let values = declared_defaults(&raw, Path::new("x.html")).unwrap();
            prop_assert_eq!(&values[&id], &json!(text));
            prop_assert_eq!(&values[&format!("{id}_n")], &json!(n));
        }

        #[test]
        fn type_check_accepts_exactly_the_matching_json_kind(kind in prop::sample::select(VARIABLE_TYPES), value in prop_oneof![
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            "[a-c]{1}".prop_map(Value::from),
        ]) {
            let d = decl(kind);
            let ok = type_mismatch(&d, &value).is_none();
            let expected = match kind {
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "enum" => value == json!("a") || value == json!("b"),
                _ => value.is_string(),
            };
            prop_assert_eq!(ok, expected);
        }

        #[test]
        fn custom_properties_never_break_out_of_the_block(text in ".{0,40}") {
            let mut values = VariableValues::new();
            values.insert("t".into(), Value::String(text));
            let css = custom_properties(&values);
            prop_assert!(!css.contains('}') && !css.contains('<'), "{}", css);
            prop_assert_eq!(css.matches(';').count(), 1);
        }
    }
}
