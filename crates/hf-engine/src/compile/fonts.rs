//! Deterministic fonts: generic and system font families resolve to Inter, shipped inside hf,
//! so the output does not depend on the fonts installed on the host.

use regex::{Captures, Regex};
use std::path::Path;
use std::sync::LazyLock;

/// Inter (from the `@fontsource/inter` 5.x npm package, latin subset, SIL OFL 1.1): file name,
/// weight, bytes. The same three upright faces HyperFrames bundles (byte for byte), and no
/// others: a weight in between resolves as CSS font matching does with these three (800 -> 900,
/// 500 -> 400, 600 -> 700) and italics are synthesised, as in HyperFrames' renders.
const INTER: &[(&str, u16, &[u8])] = &[
    (
        "inter-latin-400-normal.woff2",
        400,
        include_bytes!("../../fonts/inter/inter-latin-400-normal.woff2"),
    ),
    (
        "inter-latin-700-normal.woff2",
        700,
        include_bytes!("../../fonts/inter/inter-latin-700-normal.woff2"),
    ),
    (
        "inter-latin-900-normal.woff2",
        900,
        include_bytes!("../../fonts/inter/inter-latin-900-normal.woff2"),
    ),
];

/// The code points the bundled latin subset covers (the `unicode-range` of its faces).
const LATIN_UNICODE_RANGE: &str = "U+0000-00FF, U+0131, U+0152-0153, U+02BB-02BC, U+02C6, U+02DA, U+02DC, U+0304, U+0308, U+0329, U+2000-206F, U+2074, U+20AC, U+2122, U+2191, U+2193, U+2212, U+2215, U+FEFF, U+FFFD";

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

/// Named families hf serves with Inter when the page has no `@font-face` of its own for them:
/// Inter itself and the sans-serif system fonts of macOS, Windows and Linux.
const INTER_ALIASES: &[&str] = &[
    "Inter",
    "Arial",
    "Helvetica",
    "Helvetica Neue",
    "Helvetica Bold",
    "SF Pro",
    "SF Pro Display",
    "SF Pro Text",
    "SF Pro Rounded",
    "Avenir",
    "Avenir Next",
    "Lucida Grande",
    "Geneva",
    "Optima",
    "Verdana",
    "Tahoma",
    "Trebuchet MS",
    "Calibri",
    "Candara",
    "Corbel",
    "Lucida Sans",
    "Lucida Sans Unicode",
    "Noto Sans",
    "DejaVu Sans",
    "Liberation Sans",
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
        for (file, weight, _) in INTER {
            css.push_str(&format!(
                "@font-face{{font-family:\"{family}\";src:url(/{FONT_DIR}/{file}) format(\"woff2\");font-style:normal;font-weight:{weight};font-display:block;unicode-range:{LATIN_UNICODE_RANGE}}}\n"
            ));
        }
    }
    css
}

/// Write the font files into `work_dir/__hf_fonts/`.
pub fn install_fonts(work_dir: &Path) -> std::io::Result<()> {
    let dir = work_dir.join(FONT_DIR);
    std::fs::create_dir_all(&dir)?;
    for (file, _, bytes) in INTER {
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
        // Three upright faces per family, as HyperFrames bundles.
        assert_eq!(css.matches("font-family:\"Arial\"").count(), 3, "{css}");
        assert!(!css.contains("italic") && !css.contains("800"), "{css}");
    }
}
