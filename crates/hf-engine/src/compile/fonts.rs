//! Deterministic fonts: generic and system font families resolve to Inter, shipped inside hf,
//! so the output does not depend on the fonts installed on the host.

use regex::{Captures, Regex};
use std::path::Path;
use std::sync::LazyLock;

/// Inter (from the `@fontsource/inter` npm package, latin subset, SIL OFL 1.1): file name,
/// weight, style, bytes.
const INTER: &[(&str, u16, &str, &[u8])] = &[
    (
        "inter-latin-300-normal.woff2",
        300,
        "normal",
        include_bytes!("../../fonts/inter/inter-latin-300-normal.woff2"),
    ),
    (
        "inter-latin-400-normal.woff2",
        400,
        "normal",
        include_bytes!("../../fonts/inter/inter-latin-400-normal.woff2"),
    ),
    (
        "inter-latin-500-normal.woff2",
        500,
        "normal",
        include_bytes!("../../fonts/inter/inter-latin-500-normal.woff2"),
    ),
    (
        "inter-latin-600-normal.woff2",
        600,
        "normal",
        include_bytes!("../../fonts/inter/inter-latin-600-normal.woff2"),
    ),
    (
        "inter-latin-700-normal.woff2",
        700,
        "normal",
        include_bytes!("../../fonts/inter/inter-latin-700-normal.woff2"),
    ),
    (
        "inter-latin-800-normal.woff2",
        800,
        "normal",
        include_bytes!("../../fonts/inter/inter-latin-800-normal.woff2"),
    ),
    (
        "inter-latin-900-normal.woff2",
        900,
        "normal",
        include_bytes!("../../fonts/inter/inter-latin-900-normal.woff2"),
    ),
    (
        "inter-latin-400-italic.woff2",
        400,
        "italic",
        include_bytes!("../../fonts/inter/inter-latin-400-italic.woff2"),
    ),
    (
        "inter-latin-700-italic.woff2",
        700,
        "italic",
        include_bytes!("../../fonts/inter/inter-latin-700-italic.woff2"),
    ),
];

/// Folder (inside the work dir) the font files are written to.
pub const FONT_DIR: &str = "__hf_fonts";

/// Families that get Inter put in front of them when they come first in a `font-family` list:
/// they name "whatever the system has", which differs between machines.
const SYSTEM_FAMILIES: &[&str] = &[
    "sans-serif",
    "system-ui",
    "ui-sans-serif",
    "-apple-system",
    "blinkmacsystemfont",
];

/// Named families hf serves with Inter when the page has no `@font-face` of its own for them.
const INTER_ALIASES: &[&str] = &[
    "Inter",
    "Arial",
    "Helvetica",
    "Helvetica Neue",
    "SF Pro",
    "SF Pro Display",
    "SF Pro Text",
    "Segoe UI",
    "Verdana",
    "Noto Sans",
    "-apple-system",
    "BlinkMacSystemFont",
];

static FONT_FAMILY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(font-family\s*:\s*)([^;{}]+)").expect("valid regex"));
static FONT_FACE_FAMILY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)@font-face\s*\{[^}]*?font-family\s*:\s*["']?([^;"'}]+)"#)
        .expect("valid regex")
});

fn primary_family(list: &str) -> String {
    list.split(',')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_lowercase()
}

/// Put `Inter` in front of every `font-family` list whose first family is a system family.
pub fn normalize_font_families(css: &str) -> String {
    if !css.to_ascii_lowercase().contains("font-family") {
        return css.to_string();
    }
    FONT_FAMILY
        .replace_all(css, |caps: &Captures| {
            let list = &caps[2];
            if SYSTEM_FAMILIES.contains(&primary_family(list).as_str()) {
                format!("{}Inter, {}", &caps[1], list)
            } else {
                caps[0].to_string()
            }
        })
        .into_owned()
}

/// `@font-face` rules serving Inter for Inter and its aliases that `page` mentions and does not
/// define itself. Empty when the page needs none.
pub fn font_faces(page: &str) -> String {
    let lower = page.to_ascii_lowercase();
    let defined: Vec<String> = FONT_FACE_FAMILY
        .captures_iter(page)
        .map(|c| c[1].trim().to_ascii_lowercase())
        .collect();
    let mut css = String::new();
    for family in INTER_ALIASES {
        let name = family.to_ascii_lowercase();
        if !lower.contains(&name) || defined.contains(&name) {
            continue;
        }
        for (file, weight, style, _) in INTER {
            css.push_str(&format!(
                "@font-face{{font-family:\"{family}\";font-style:{style};font-weight:{weight};font-display:block;src:url(/{FONT_DIR}/{file}) format(\"woff2\")}}\n"
            ));
        }
    }
    css
}

/// Write the font files into `work_dir/__hf_fonts/`.
pub fn install_fonts(work_dir: &Path) -> std::io::Result<()> {
    let dir = work_dir.join(FONT_DIR);
    std::fs::create_dir_all(&dir)?;
    for (file, _, _, bytes) in INTER {
        std::fs::write(dir.join(file), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_families_get_inter_first() {
        assert_eq!(
            normalize_font_families(
                "h1{font-family: -apple-system, BlinkMacSystemFont, sans-serif; color:red}"
            ),
            "h1{font-family: Inter, -apple-system, BlinkMacSystemFont, sans-serif; color:red}"
        );
        assert_eq!(
            normalize_font_families("p{font-family:'Playfair Display', serif}"),
            "p{font-family:'Playfair Display', serif}"
        );
        assert_eq!(
            normalize_font_families("font-family: system-ui"),
            "font-family: Inter, system-ui"
        );
    }

    #[test]
    fn faces_only_for_mentioned_undefined_aliases() {
        let css = font_faces("body{font-family:Arial}");
        assert!(css.contains("font-family:\"Arial\""), "{css}");
        assert!(!css.contains("\"Verdana\""), "{css}");
        assert!(
            css.contains("/__hf_fonts/inter-latin-700-normal.woff2"),
            "{css}"
        );
        let own =
            font_faces("@font-face{font-family:'Arial';src:url(a.woff2)} body{font-family:Arial}");
        assert!(!own.contains("\"Arial\""), "{own}");
        assert_eq!(font_faces("body{font-family:Georgia}"), "");
    }
}
