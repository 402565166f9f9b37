//! The three accent colours some transitions light with.

use serde::{Deserialize, Serialize};

/// Accent, dark and bright colours in `[0, 1]` RGB, derived from a composition's
/// `accentColor` as the transitions library derives them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Accents {
    /// The accent itself.
    pub accent: [f32; 3],
    /// `0.35 x accent`.
    pub dark: [f32; 3],
    /// `min(1, 1.5 x accent + 0.2)`.
    pub bright: [f32; 3],
}

impl Default for Accents {
    /// The library's colours when a composition gives no `accentColor`.
    fn default() -> Self {
        Accents {
            accent: [1.0, 0.6, 0.2],
            dark: [0.4, 0.15, 0.0],
            bright: [1.0, 0.85, 0.5],
        }
    }
}

impl Accents {
    /// The accents of `accentColor` (`None`: the defaults). As the library reads it: `#` is
    /// dropped and the first six hex digits are read; anything shorter or not hex is grey.
    pub fn from_accent_color(color: Option<&str>) -> Self {
        let Some(color) = color else {
            return Accents::default();
        };
        let rgb = parse_hex(color).unwrap_or([0.5; 3]);
        Accents {
            accent: rgb,
            dark: rgb.map(|c| 0.35 * c),
            bright: rgb.map(|c| (1.5 * c + 0.2).min(1.0)),
        }
    }
}

/// `#rrggbb` (more digits ignored) as `[0, 1]` RGB.
pub(crate) fn parse_hex(color: &str) -> Option<[f32; 3]> {
    let digits = color.trim().trim_start_matches('#');
    let digits = digits.get(..6)?;
    let channel = |i: usize| {
        u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
            .ok()
            .map(|v| f32::from(v) / 255.0)
    };
    Some([channel(0)?, channel(1)?, channel(2)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_derive_from_the_colour_like_the_library() {
        let accents = Accents::from_accent_color(Some("#7dd3fc"));
        let rgb = [125.0 / 255.0, 211.0 / 255.0, 252.0 / 255.0];
        assert_eq!(accents.accent, rgb);
        assert_eq!(accents.dark, rgb.map(|c| 0.35 * c));
        assert_eq!(accents.bright, [rgb[0] * 1.5 + 0.2, 1.0, 1.0]);
        // Short or broken colours are grey; no colour is the library's orange.
        assert_eq!(Accents::from_accent_color(Some("#fff")).accent, [0.5; 3]);
        assert_eq!(Accents::from_accent_color(Some("#zzzzzz")).accent, [0.5; 3]);
        assert_eq!(Accents::from_accent_color(None), Accents::default());
    }
}
