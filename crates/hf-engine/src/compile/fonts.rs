//! Deterministic fonts: hf ships the font families HyperFrames bundles, serves them for the
//! families a page names (and for the system fonts they stand in for), and puts Inter first
//! where a page asks for a generic family, so the output does not depend on the fonts
//! installed on the host.

use regex::{Captures, Regex};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

/// One upright face of a bundled family: weight and woff2 bytes.
type Face = (u16, &'static [u8]);

/// A bundled face, read from `fonts/<slug>/<slug>-latin-<weight>-normal.woff2`.
macro_rules! face {
    ($slug:literal, $weight:literal) => {
        (
            $weight,
            include_bytes!(concat!(
                "../../fonts/",
                $slug,
                "/",
                $slug,
                "-latin-",
                stringify!($weight),
                "-normal.woff2"
            )) as &[u8],
        )
    };
}

/// The families hf ships (each from the `@fontsource/<slug>` npm package, latin subset, SIL
/// OFL 1.1): slug and faces. The same upright faces HyperFrames bundles, byte for byte, and no
/// others: a weight in between resolves as CSS font matching does with these (800 -> 900,
/// 500 -> 400) and italics are synthesised, as in HyperFrames' renders.
const FAMILIES: &[(&str, &[Face])] = &[
    (
        "inter",
        &[
            face!("inter", 400),
            face!("inter", 700),
            face!("inter", 900),
        ],
    ),
    (
        "montserrat",
        &[
            face!("montserrat", 400),
            face!("montserrat", 700),
            face!("montserrat", 900),
        ],
    ),
    (
        "outfit",
        &[
            face!("outfit", 400),
            face!("outfit", 700),
            face!("outfit", 900),
        ],
    ),
    (
        "nunito",
        &[
            face!("nunito", 400),
            face!("nunito", 700),
            face!("nunito", 900),
        ],
    ),
    ("oswald", &[face!("oswald", 400), face!("oswald", 700)]),
    ("league-gothic", &[face!("league-gothic", 400)]),
    ("archivo-black", &[face!("archivo-black", 400)]),
    (
        "space-mono",
        &[face!("space-mono", 400), face!("space-mono", 700)],
    ),
    (
        "ibm-plex-mono",
        &[face!("ibm-plex-mono", 400), face!("ibm-plex-mono", 700)],
    ),
    (
        "jetbrains-mono",
        &[face!("jetbrains-mono", 400), face!("jetbrains-mono", 700)],
    ),
    (
        "eb-garamond",
        &[face!("eb-garamond", 400), face!("eb-garamond", 700)],
    ),
    (
        "playfair-display",
        &[
            face!("playfair-display", 400),
            face!("playfair-display", 700),
            face!("playfair-display", 900),
        ],
    ),
    (
        "source-code-pro",
        &[face!("source-code-pro", 400), face!("source-code-pro", 700)],
    ),
    (
        "noto-sans-jp",
        &[face!("noto-sans-jp", 400), face!("noto-sans-jp", 700)],
    ),
    (
        "roboto",
        &[
            face!("roboto", 400),
            face!("roboto", 700),
            face!("roboto", 900),
        ],
    ),
    (
        "open-sans",
        &[face!("open-sans", 400), face!("open-sans", 700)],
    ),
    (
        "lato",
        &[face!("lato", 400), face!("lato", 700), face!("lato", 900)],
    ),
    (
        "poppins",
        &[
            face!("poppins", 400),
            face!("poppins", 700),
            face!("poppins", 900),
        ],
    ),
];

/// Family names (lower case) hf serves with a bundled family when the page has no
/// `@font-face` of its own for them: each bundled family under its own name, and the system
/// and commercial fonts of macOS, Windows and Linux under the nearest bundled one (the table
/// HyperFrames uses).
const ALIASES: &[(&str, &str)] = &[
    ("inter", "inter"),
    ("montserrat", "montserrat"),
    ("outfit", "outfit"),
    ("nunito", "nunito"),
    ("oswald", "oswald"),
    ("league gothic", "league-gothic"),
    ("archivo black", "archivo-black"),
    ("space mono", "space-mono"),
    ("ibm plex mono", "ibm-plex-mono"),
    ("jetbrains mono", "jetbrains-mono"),
    ("eb garamond", "eb-garamond"),
    ("playfair display", "playfair-display"),
    ("source code pro", "source-code-pro"),
    ("noto sans jp", "noto-sans-jp"),
    ("roboto", "roboto"),
    ("open sans", "open-sans"),
    ("lato", "lato"),
    ("poppins", "poppins"),
    // Common stand-ins.
    ("helvetica neue", "inter"),
    ("helvetica", "inter"),
    ("arial", "inter"),
    ("helvetica bold", "inter"),
    ("futura", "montserrat"),
    ("din alternate", "montserrat"),
    ("arial black", "montserrat"),
    ("bebas neue", "league-gothic"),
    ("courier new", "jetbrains-mono"),
    ("courier", "jetbrains-mono"),
    ("garamond", "eb-garamond"),
    ("noto sans japanese", "noto-sans-jp"),
    ("segoe ui", "roboto"),
    // macOS sans-serif system fonts.
    ("sf pro", "inter"),
    ("sf pro display", "inter"),
    ("sf pro text", "inter"),
    ("sf pro rounded", "inter"),
    ("avenir", "inter"),
    ("avenir next", "inter"),
    ("lucida grande", "inter"),
    ("geneva", "inter"),
    ("optima", "inter"),
    // Windows sans-serif system fonts.
    ("verdana", "inter"),
    ("tahoma", "inter"),
    ("trebuchet ms", "inter"),
    ("calibri", "inter"),
    ("candara", "inter"),
    ("corbel", "inter"),
    ("lucida sans", "inter"),
    ("lucida sans unicode", "inter"),
    // Linux sans-serif system fonts.
    ("noto sans", "inter"),
    ("dejavu sans", "inter"),
    ("liberation sans", "inter"),
    // Monospace system fonts.
    ("sf mono", "jetbrains-mono"),
    ("menlo", "jetbrains-mono"),
    ("monaco", "jetbrains-mono"),
    ("consolas", "jetbrains-mono"),
    ("lucida console", "jetbrains-mono"),
    ("lucida sans typewriter", "jetbrains-mono"),
    ("andale mono", "jetbrains-mono"),
    ("dejavu sans mono", "jetbrains-mono"),
    ("liberation mono", "jetbrains-mono"),
    // Serif system fonts.
    ("georgia", "eb-garamond"),
    ("palatino", "eb-garamond"),
    ("palatino linotype", "eb-garamond"),
    ("book antiqua", "eb-garamond"),
    ("cambria", "eb-garamond"),
    ("times", "eb-garamond"),
    ("times new roman", "eb-garamond"),
    ("dejavu serif", "eb-garamond"),
    ("liberation serif", "eb-garamond"),
];

/// The code points the bundled latin subsets cover (the `unicode-range` of their faces).
const LATIN_UNICODE_RANGE: &str = "U+0000-00FF, U+0131, U+0152-0153, U+02BB-02BC, U+02C6, U+02DA, U+02DC, U+0304, U+0308, U+0329, U+2000-206F, U+2074, U+20AC, U+2122, U+2191, U+2193, U+2212, U+2215, U+FEFF, U+FFFD";

/// Folder (inside the work dir) the font files are written to.
pub const FONT_DIR: &str = "__hf_fonts";

/// Generic families (lower case): they name "whatever the system has", which differs between
/// machines, so a `font-family` list that starts with one gets Inter put in front of it.
const GENERIC_FAMILIES: &[&str] = &[
    "sans-serif",
    "serif",
    "monospace",
    "cursive",
    "fantasy",
    "system-ui",
    "ui-sans-serif",
    "ui-serif",
    "ui-monospace",
    "emoji",
    "math",
    "fangsong",
    "-apple-system",
    "blinkmacsystemfont",
];

/// A `font-family` declaration or a custom property (which may hold a font list for a later
/// `var()`), with its value.
static FAMILY_DECLARATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)((?:font-family|--[a-z0-9_-]+)\s*:\s*)([^;{}]+)").expect("valid regex")
});
static FONT_FACE_FAMILY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)@font-face\s*\{[^}]*?font-family\s*:\s*["']?([^;"'}]+)"#)
        .expect("valid regex")
});
static DATA_FONT_FAMILY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)data-font-family\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("valid regex")
});

/// The families of a `font-family` value, in order, unquoted.
fn families(list: &str) -> impl Iterator<Item = &str> {
    list.split(',')
        .map(|family| family.trim().trim_matches(|c| c == '"' || c == '\'').trim())
        .filter(|family| !family.is_empty())
}

/// The families `css` names in `font-family` declarations, unquoted, as written, each once.
/// Generic families, CSS-wide keywords and `var()` references are left out.
pub(crate) fn used_families(css: &str) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    for caps in FAMILY_DECLARATION.captures_iter(css) {
        if !caps[1]
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("font-family")
        {
            continue;
        }
        for family in families(&caps[2]) {
            let lower = family.to_ascii_lowercase();
            let keyword =
                ["inherit", "initial", "unset", "revert", "revert-layer"].contains(&lower.as_str());
            let named = !keyword
                && !GENERIC_FAMILIES.contains(&lower.as_str())
                && !family.contains("var(")
                && !family.contains('!');
            if named && !used.iter().any(|u| u.eq_ignore_ascii_case(family)) {
                used.push(family.to_string());
            }
        }
    }
    used
}

/// The families `css` declares with `@font-face`, lower case.
pub(crate) fn declared_families(css: &str) -> BTreeSet<String> {
    FONT_FACE_FAMILY
        .captures_iter(css)
        .map(|caps| caps[1].trim().to_ascii_lowercase())
        .collect()
}

/// Put `Inter` in front of every `font-family` list (and custom property holding one) whose
/// first family is a generic family.
pub fn normalize_font_families(css: &str) -> String {
    let lower = css.to_ascii_lowercase();
    if !lower.contains("font-family") && !lower.contains("--") {
        return css.to_string();
    }
    FAMILY_DECLARATION
        .replace_all(css, |caps: &Captures<'_>| {
            let list = &caps[2];
            let generic = families(list).next().is_some_and(|first| {
                GENERIC_FAMILIES.contains(&first.to_ascii_lowercase().as_str())
            });
            if generic {
                format!("{}Inter, {}", &caps[1], list)
            } else {
                caps[0].to_string()
            }
        })
        .into_owned()
}

/// The bundled family (slug and faces) `family` (lower case) is served with, if any.
fn bundled_family(family: &str) -> Option<(&'static str, &'static [Face])> {
    let slug = ALIASES.iter().find(|(name, _)| *name == family)?.1;
    FAMILIES.iter().copied().find(|(s, _)| *s == slug)
}

/// Whether hf bundles `family` (any case) or serves it with a bundled stand-in.
pub fn is_bundled(family: &str) -> bool {
    bundled_family(&family.trim().to_ascii_lowercase()).is_some()
}

/// The file name a bundled face is served under.
fn face_file(slug: &str, weight: u16) -> String {
    format!("{slug}-latin-{weight}-normal.woff2")
}

/// `@font-face` rules serving a bundled family for each family `page` names (in `font-family`
/// values, custom properties and `data-font-family` attributes) that it has a bundled family
/// for and does not define itself, and the bundled families those rules use. Empty when the
/// page needs none.
pub fn font_faces(page: &str) -> (String, Vec<&'static str>) {
    let defined: BTreeSet<String> = FONT_FACE_FAMILY
        .captures_iter(page)
        .map(|c| c[1].trim().to_ascii_lowercase())
        .collect();
    // Lower-case name -> the name as the page first spells it (what the rules are for).
    let mut requested: BTreeMap<String, String> = BTreeMap::new();
    let values = FAMILY_DECLARATION
        .captures_iter(page)
        .map(|caps| caps.get(2))
        .chain(
            DATA_FONT_FAMILY
                .captures_iter(page)
                .map(|caps| caps.get(1).or(caps.get(2))),
        )
        .flatten();
    for value in values {
        for family in families(value.as_str()) {
            requested
                .entry(family.to_ascii_lowercase())
                .or_insert_with(|| family.to_string());
        }
    }
    let mut css = String::new();
    let mut used = Vec::new();
    for (name, family) in requested
        .iter()
        .filter(|(name, _)| !defined.contains(*name))
    {
        let Some((slug, faces)) = bundled_family(name) else {
            continue;
        };
        for (weight, _) in faces {
            css.push_str(&format!(
                "@font-face{{font-family:\"{family}\";src:url(/{FONT_DIR}/{file}) format(\"woff2\");font-style:normal;font-weight:{weight};font-display:block;unicode-range:{LATIN_UNICODE_RANGE}}}\n",
                file = face_file(slug, *weight),
            ));
        }
        if !used.contains(&slug) {
            used.push(slug);
        }
    }
    (css, used)
}

/// Write the font files of the bundled families `slugs` into `work_dir/__hf_fonts/`.
pub fn install_fonts(work_dir: &Path, slugs: &[&str]) -> std::io::Result<()> {
    let dir = work_dir.join(FONT_DIR);
    std::fs::create_dir_all(&dir)?;
    for (slug, faces) in FAMILIES.iter().filter(|(s, _)| slugs.contains(s)) {
        for (weight, bytes) in *faces {
            std::fs::write(dir.join(face_file(slug, *weight)), bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_families_get_inter_first() {
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
        // Every generic family counts, also in a custom property a `var()` reads later.
        assert_eq!(
            normalize_font_families("code{font-family:monospace}"),
            "code{font-family:Inter, monospace}"
        );
        assert_eq!(
            normalize_font_families(":root{--body: serif; --gap: 4px}"),
            ":root{--body: Inter, serif; --gap: 4px}"
        );
    }

    #[test]
    fn faces_only_for_named_families_the_page_does_not_define() {
        let (css, used) = font_faces("body{font-family:Arial}");
        assert!(css.contains("font-family:\"Arial\""), "{css}");
        assert!(!css.contains("\"Verdana\""), "{css}");
        assert!(
            css.contains("/__hf_fonts/inter-latin-700-normal.woff2"),
            "{css}"
        );
        assert_eq!(used, vec!["inter"]);
        // Three upright faces for Inter, as HyperFrames bundles.
        assert_eq!(css.matches("font-family:\"Arial\"").count(), 3, "{css}");
        assert!(!css.contains("italic") && !css.contains("800"), "{css}");
        let (own, _) =
            font_faces("@font-face{font-family:'Arial';src:url(a.woff2)} body{font-family:Arial}");
        assert!(!own.contains("\"Arial\""), "{own}");
        // A word that only appears in text is not a request.
        assert_eq!(font_faces("<p>Times change</p>").0, "");
        // Generic families are never served as faces.
        assert_eq!(font_faces("p{font-family:-apple-system, sans-serif}").0, "");
    }

    #[test]
    fn bundled_families_and_their_stand_ins_are_served() {
        let (css, used) = font_faces(
            ":root{--mono:'Space Mono', monospace} h1{font-family:Georgia, serif} \
             <div data-font-family=\"Poppins\"></div>",
        );
        for (family, file) in [
            ("Space Mono", "space-mono-latin-700-normal.woff2"),
            ("Georgia", "eb-garamond-latin-400-normal.woff2"),
            ("Poppins", "poppins-latin-900-normal.woff2"),
        ] {
            assert!(
                css.contains(&format!(
                    "font-family:\"{family}\";src:url(/__hf_fonts/{file})"
                )),
                "{family}: {css}"
            );
        }
        assert_eq!(used, vec!["eb-garamond", "poppins", "space-mono"]);
        let dir = tempfile::tempdir().unwrap();
        install_fonts(dir.path(), &used).unwrap();
        let mut files: Vec<String> = std::fs::read_dir(dir.path().join(FONT_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files.len(), 7, "{files:?}");
        assert_eq!(files[0], "eb-garamond-latin-400-normal.woff2");
    }

    #[test]
    fn every_alias_names_a_bundled_family() {
        for (name, slug) in ALIASES {
            assert!(
                FAMILIES.iter().any(|(s, _)| s == slug),
                "{name} -> {slug} is not bundled"
            );
        }
        // The faces are the woff2 files themselves.
        for (slug, faces) in FAMILIES {
            for (weight, bytes) in *faces {
                assert!(bytes.starts_with(b"wOF2"), "{slug} {weight}");
            }
        }
    }
}
