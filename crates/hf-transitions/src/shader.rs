//! The transition names.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the 15 transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shader {
    /// A straight mix of the two scenes.
    Crossfade,
    /// Scene A washes out to white, scene B comes back out of it.
    FlashThroughWhite,
    /// Red and blue pulled apart from the centre while the scenes mix.
    ChromaticSplit,
    /// A circle opening from the centre onto scene B, with glowing rings.
    SdfIris,
    /// Jittered lines and blocks, split colour, scanlines, posterised.
    Glitch,
    /// Warm light from the top right over-exposing scene A.
    LightLeak,
    /// Both scenes warped by noise, mixed along a noisy front.
    CrossWarpMorph,
    /// A fast horizontal pan with motion blur.
    WhipPan,
    /// A radial zoom blur with split colour.
    CinematicZoom,
    /// Scene A pulled into a black hole in the centre.
    GravitationalLens,
    /// Circular ripples from the centre.
    RippleWaves,
    /// A noisy twist about the centre.
    SwirlVortex,
    /// Heat shimmer, strongest at the top.
    ThermalDistortion,
    /// Noise-warped scenes with an accent-lit seam.
    DomainWarp,
    /// Scene A burns away along ridged noise, with embers and sparks.
    RidgedBurn,
}

impl Shader {
    /// Every transition, in the order of their names in [`Shader::name`].
    pub const ALL: [Shader; 15] = [
        Shader::Crossfade,
        Shader::FlashThroughWhite,
        Shader::ChromaticSplit,
        Shader::SdfIris,
        Shader::Glitch,
        Shader::LightLeak,
        Shader::CrossWarpMorph,
        Shader::WhipPan,
        Shader::CinematicZoom,
        Shader::GravitationalLens,
        Shader::RippleWaves,
        Shader::SwirlVortex,
        Shader::ThermalDistortion,
        Shader::DomainWarp,
        Shader::RidgedBurn,
    ];

    /// The name compositions use (`shader: "sdf-iris"`).
    pub fn name(self) -> &'static str {
        match self {
            Shader::Crossfade => "crossfade",
            Shader::FlashThroughWhite => "flash-through-white",
            Shader::ChromaticSplit => "chromatic-split",
            Shader::SdfIris => "sdf-iris",
            Shader::Glitch => "glitch",
            Shader::LightLeak => "light-leak",
            Shader::CrossWarpMorph => "cross-warp-morph",
            Shader::WhipPan => "whip-pan",
            Shader::CinematicZoom => "cinematic-zoom",
            Shader::GravitationalLens => "gravitational-lens",
            Shader::RippleWaves => "ripple-waves",
            Shader::SwirlVortex => "swirl-vortex",
            Shader::ThermalDistortion => "thermal-distortion",
            Shader::DomainWarp => "domain-warp",
            Shader::RidgedBurn => "ridged-burn",
        }
    }

    /// Every name, comma separated (for error messages).
    pub fn known_names() -> String {
        Shader::ALL.map(Shader::name).join(", ")
    }
}

impl fmt::Display for Shader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A shader name that is not one of the 15.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown shader \"{name}\"; the known shaders are {}",
    Shader::known_names()
)]
pub struct UnknownShader {
    /// The name asked for.
    pub name: String,
}

impl FromStr for Shader {
    type Err = UnknownShader;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Shader::ALL
            .into_iter()
            .find(|shader| shader.name() == name)
            .ok_or_else(|| UnknownShader { name: name.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for shader in Shader::ALL {
            assert_eq!(shader.name().parse::<Shader>(), Ok(shader));
        }
        let error = "swirl".parse::<Shader>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown shader \"swirl\"; the known shaders are crossfade, flash-through-white, \
             chromatic-split, sdf-iris, glitch, light-leak, cross-warp-morph, whip-pan, \
             cinematic-zoom, gravitational-lens, ripple-waves, swirl-vortex, \
             thermal-distortion, domain-warp, ridged-burn"
        );
    }
}
