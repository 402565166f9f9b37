//! Blending two layers: one kernel per output pixel, rows in parallel on rayon's pool.

use crate::fields::fields;
use crate::kernels::{self, Frame, GlitchFrame, Pixel};
use crate::rows::for_each_row;
use crate::texture::Texture;
use crate::{Accents, Layer, Shader};

/// One transition frame to blend.
#[derive(Debug, Clone, Copy)]
pub struct BlendInput<'a> {
    /// Which transition.
    pub shader: Shader,
    /// The scene the transition leaves.
    pub from: &'a Layer,
    /// The scene it arrives at (same size as `from`).
    pub to: &'a Layer,
    /// Progress in `[0, 1]` (clamped).
    pub progress: f32,
    /// Accent colours.
    pub accents: &'a Accents,
}

/// The frame `input` describes. Rows run in parallel on rayon's pool, unless this is called
/// on a pool thread (a blend spawned on the pool): then on that thread alone.
///
/// # Panics
/// When the two layers differ in size.
pub fn blend(input: BlendInput<'_>) -> Layer {
    let (width, height) = (input.from.width(), input.from.height());
    assert_eq!(
        (width, height),
        (input.to.width(), input.to.height()),
        "both layers of a transition have the frame's size"
    );
    let fields = fields(input.shader, width, height);
    let p = input.progress.clamp(0.0, 1.0);
    let [from_pixels, to_pixels] = TEXTURES.take();
    let from = Texture::reusing(input.from, from_pixels);
    let to = Texture::reusing(input.to, to_pixels);
    let frame = Frame {
        from: &from,
        to: &to,
        p,
        accents: input.accents,
        fields: fields.as_deref(),
        width,
        height,
        glitch: (input.shader == Shader::Glitch).then(|| GlitchFrame::new(p)),
    };
    let pixels = match input.shader {
        Shader::Crossfade => run(&frame, kernels::crossfade),
        Shader::FlashThroughWhite => run(&frame, kernels::flash_through_white),
        Shader::ChromaticSplit => run(&frame, kernels::chromatic_split),
        Shader::SdfIris => run(&frame, kernels::sdf_iris),
        Shader::Glitch => run(&frame, kernels::glitch),
        Shader::LightLeak => run(&frame, kernels::light_leak),
        Shader::CrossWarpMorph => run(&frame, kernels::cross_warp_morph),
        Shader::WhipPan => run(&frame, kernels::whip_pan),
        Shader::CinematicZoom => run(&frame, kernels::cinematic_zoom),
        Shader::GravitationalLens => run(&frame, kernels::gravitational_lens),
        Shader::RippleWaves => run(&frame, kernels::ripple_waves),
        Shader::SwirlVortex => run(&frame, kernels::swirl_vortex),
        Shader::ThermalDistortion => run(&frame, kernels::thermal_distortion),
        Shader::DomainWarp => run(&frame, kernels::domain_warp),
        Shader::RidgedBurn => run(&frame, kernels::ridged_burn),
    };
    TEXTURES.set([from.into_pixels(), to.into_pixels()]);
    Layer::from_premultiplied(width, height, pixels)
}

/// One transition frame of two pictures given as premultiplied RGBA `f32` (linear light in an
/// HDR render: values above 1 are brighter than SDR white and are kept), `width * height`
/// pixels each, row by row. The same kernels as [`blend`]; the result is premultiplied, only
/// clamped below at 0 and alpha to `[0, 1]`.
///
/// # Panics
/// When a picture does not hold `width * height` pixels.
pub fn blend_linear(
    shader: Shader,
    [from, to]: [Vec<[f32; 4]>; 2],
    (width, height): (usize, usize),
    progress: f32,
    accents: &Accents,
) -> Vec<[f32; 4]> {
    let fields = fields(shader, width, height);
    let p = progress.clamp(0.0, 1.0);
    let from = Texture::from_pixels(width, height, from);
    let to = Texture::from_pixels(width, height, to);
    let frame = Frame {
        from: &from,
        to: &to,
        p,
        accents,
        fields: fields.as_deref(),
        width,
        height,
        glitch: (shader == Shader::Glitch).then(|| GlitchFrame::new(p)),
    };
    let kernel = kernel_of(shader);
    let mut pixels = vec![[0.0f32; 4]; width * height];
    for_each_row(&mut pixels, width, |y, row| {
        let v = (y as f32 + 0.5) / height as f32;
        for (x, out) in row.iter_mut().enumerate() {
            let u = (x as f32 + 0.5) / width as f32;
            let [r, g, b, a] = kernel(&frame, Pixel { x, y, u, v });
            *out = [r.max(0.0), g.max(0.0), b.max(0.0), a.clamp(0.0, 1.0)];
        }
    });
    pixels
}

/// A kernel, called through a pointer (the 8-bit path keeps each one inlined).
type Kernel = fn(&Frame<'_>, Pixel) -> [f32; 4];

fn kernel_of(shader: Shader) -> Kernel {
    match shader {
        Shader::Crossfade => kernels::crossfade,
        Shader::FlashThroughWhite => kernels::flash_through_white,
        Shader::ChromaticSplit => kernels::chromatic_split,
        Shader::SdfIris => kernels::sdf_iris,
        Shader::Glitch => kernels::glitch,
        Shader::LightLeak => kernels::light_leak,
        Shader::CrossWarpMorph => kernels::cross_warp_morph,
        Shader::WhipPan => kernels::whip_pan,
        Shader::CinematicZoom => kernels::cinematic_zoom,
        Shader::GravitationalLens => kernels::gravitational_lens,
        Shader::RippleWaves => kernels::ripple_waves,
        Shader::SwirlVortex => kernels::swirl_vortex,
        Shader::ThermalDistortion => kernels::thermal_distortion,
        Shader::DomainWarp => kernels::domain_warp,
        Shader::RidgedBurn => kernels::ridged_burn,
    }
}

thread_local! {
    /// The last blend's texture allocations on this thread, reused by the next.
    static TEXTURES: std::cell::Cell<[Vec<[f32; 4]>; 2]> = const { std::cell::Cell::new([Vec::new(), Vec::new()]) };
}

/// Every pixel of `frame` through `kernel`, as premultiplied RGBA8.
fn run<K>(frame: &Frame<'_>, kernel: K) -> Vec<u8>
where
    K: Fn(&Frame<'_>, Pixel) -> [f32; 4] + Sync,
{
    let (width, height) = (frame.width, frame.height);
    let mut pixels = vec![0u8; width * height * 4];
    for_each_row(&mut pixels, width * 4, |y, row| {
        let v = (y as f32 + 0.5) / height as f32;
        for (x, out) in row.chunks_exact_mut(4).enumerate() {
            let u = (x as f32 + 0.5) / width as f32;
            let rgba = kernel(frame, Pixel { x, y, u, v });
            store(rgba, out);
        }
    });
    pixels
}

/// A premultiplied pixel in `[0, 1]`, clamped (colour never above alpha), as bytes.
#[inline]
fn store(rgba: [f32; 4], out: &mut [u8]) {
    let alpha = rgba[3].clamp(0.0, 1.0);
    for c in 0..3 {
        out[c] = byte(rgba[c].clamp(0.0, alpha));
    }
    out[3] = byte(alpha);
}

#[inline]
fn byte(unit: f32) -> u8 {
    (unit * 255.0 + 0.5) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: usize = 64;
    const H: usize = 36;

    fn flat(rgba: [u8; 4]) -> Layer {
        Layer::from_straight_rgba(W, H, rgba.repeat(W * H))
    }

    fn at(layer: &Layer, x: usize, y: usize) -> [u8; 4] {
        let i = (y * W + x) * 4;
        layer.bytes()[i..i + 4].try_into().unwrap()
    }

    fn blend_flat(shader: Shader, progress: f32) -> Layer {
        blend(BlendInput {
            shader,
            from: &flat([200, 40, 40, 255]),
            to: &flat([40, 40, 200, 255]),
            progress,
            accents: &Accents::default(),
        })
    }

    #[test]
    fn linear_blends_agree_with_byte_blends_and_keep_highlights() {
        let unit = |c: u8| f32::from(c) / 255.0;
        let flat_f32 = |rgba: [u8; 4]| vec![rgba.map(unit); W * H];
        for shader in Shader::ALL {
            let linear = blend_linear(
                shader,
                [flat_f32([200, 40, 40, 255]), flat_f32([40, 40, 200, 255])],
                (W, H),
                0.5,
                &Accents::default(),
            );
            let bytes = blend_flat(shader, 0.5);
            for (x, y) in [(5, 5), (32, 18), (60, 30)] {
                let got = linear[y * W + x].map(|c| (c.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
                let want = at(&bytes, x, y);
                let close = got.iter().zip(want).all(|(a, b)| a.abs_diff(b) <= 1);
                assert!(close, "{shader:?} at ({x}, {y}): {got:?} vs {want:?}");
            }
        }
        // Above SDR white stays above it.
        let bright = vec![[4.0, 4.0, 4.0, 1.0]; W * H];
        let out = blend_linear(
            Shader::Crossfade,
            [bright.clone(), bright],
            (W, H),
            0.3,
            &Accents::default(),
        );
        assert_eq!(out[0], [4.0, 4.0, 4.0, 1.0]);
    }

    #[test]
    fn every_shader_starts_on_scene_a_and_ends_on_scene_b() {
        for shader in Shader::ALL {
            let start = blend_flat(shader, 0.0);
            let end = blend_flat(shader, 1.0);
            // The centre at 0 (iris and lens: a corner, whose centres are special).
            let (x, y) = match shader {
                Shader::SdfIris => (0, 0),
                _ => (W / 2, H / 2),
            };
            // Within one level: glitch posterises to 256 levels even at rest.
            let near =
                |got: [u8; 4], want: [u8; 4]| got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 1);
            // Light-leak tone-maps scene A (ACES) even before any light arrives, as upstream.
            let a = match shader {
                Shader::LightLeak => [191, 58, 58, 255],
                _ => [200, 40, 40, 255],
            };
            assert!(
                near(at(&start, x, y), a),
                "{shader} at 0: {:?}",
                at(&start, x, y)
            );
            assert!(
                near(at(&end, W / 2, H / 2), [40, 40, 200, 255]),
                "{shader} at 1: {:?}",
                at(&end, W / 2, H / 2)
            );
            let mid = blend_flat(shader, 0.5);
            assert_eq!(mid, blend_flat(shader, 0.5), "{shader} is deterministic");
            assert_ne!(mid, start, "{shader} moves by the midpoint");
        }
    }

    #[test]
    fn known_colours_at_known_points() {
        // Crossfade midpoint: the mean.
        assert_eq!(
            at(&blend_flat(Shader::Crossfade, 0.5), 3, 3),
            [120, 40, 120, 255]
        );
        // Flash-through-white: white at the peak (both sides fully washed out at 0.45-0.5).
        let peak = blend_flat(Shader::FlashThroughWhite, 0.5);
        assert_eq!(at(&peak, 10, 10), [255, 255, 255, 255]);
        // Iris at 0.5: radius 0.6 in height units; the centre shows B, a corner (0.51 away
        // horizontally at 16:9... 1.02 from the centre) still A.
        let iris = blend_flat(Shader::SdfIris, 0.5);
        assert_eq!(at(&iris, W / 2, H / 2), [40, 40, 200, 255]);
        assert_eq!(at(&iris, 0, 0), [200, 40, 40, 255]);
    }

    #[test]
    fn transparency_survives_a_blend() {
        // Shaders that add no light of their own (those that do light up clear areas).
        let clear = Layer::from_straight_rgba(W, H, vec![0; W * H * 4]);
        for shader in [Shader::Crossfade, Shader::WhipPan, Shader::SwirlVortex] {
            let out = blend(BlendInput {
                shader,
                from: &clear,
                to: &clear,
                progress: 0.3,
                accents: &Accents::default(),
            });
            assert_eq!(at(&out, 1, 1)[3], 0, "{shader} keeps a clear pixel clear");
        }
    }
}
