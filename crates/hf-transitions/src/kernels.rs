//! One function per transition: the colour of one output pixel, premultiplied RGBA in
//! `[0, 1]` (before clamping). The maths follows the library's GLSL; names follow its
//! variables.

use crate::fields::Fields;
use crate::noise::{floor, fract};
use crate::texture::Texture;
use crate::Accents;

/// What every pixel of one blended frame shares.
pub(crate) struct Frame<'a> {
    pub(crate) from: &'a Texture,
    pub(crate) to: &'a Texture,
    pub(crate) p: f32,
    pub(crate) accents: &'a Accents,
    pub(crate) fields: Option<&'a Fields>,
    pub(crate) width: usize,
    pub(crate) height: usize,
    /// Glitch's per-frame randomness (line and block offsets), when blending glitch.
    pub(crate) glitch: Option<GlitchFrame>,
}

/// One output pixel: its column and row, and its centre in texture coordinates.
#[derive(Clone, Copy)]
pub(crate) struct Pixel {
    pub(crate) x: usize,
    pub(crate) y: usize,
    pub(crate) u: f32,
    pub(crate) v: f32,
}

impl Frame<'_> {
    fn field(&self, plane: usize, px: Pixel) -> f32 {
        let fields = self.fields.expect("this shader's fields were computed");
        fields.planes[plane][px.y * self.width + px.x]
    }
}

type Rgba = [f32; 4];

// Written out lane by lane: `array::map` is not always inlined, and these run per pixel.
#[inline(always)]
fn mix(a: Rgba, b: Rgba, t: f32) -> Rgba {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
        a[3] + (b[3] - a[3]) * t,
    ]
}

#[inline(always)]
fn mix3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// GLSL `smoothstep` (also with `edge0 > edge1`, as the shaders use it).
pub(crate) fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn step(edge: f32, x: f32) -> f32 {
    if x < edge {
        0.0
    } else {
        1.0
    }
}

/// Add light `rgb` to a premultiplied pixel; the pixel becomes at least as opaque as the
/// light is bright, so light over a transparent area shows.
fn add_light(mut px: Rgba, rgb: [f32; 3]) -> Rgba {
    for i in 0..3 {
        px[i] += rgb[i];
    }
    px[3] = px[3].max(px[0]).max(px[1]).max(px[2]).min(1.0);
    px
}

#[inline(always)]
fn scale3(rgb: [f32; 3], k: f32) -> [f32; 3] {
    [rgb[0] * k, rgb[1] * k, rgb[2] * k]
}

fn clamp01(t: f32) -> f32 {
    t.clamp(0.0, 1.0)
}

pub(crate) fn crossfade(f: &Frame<'_>, px: Pixel) -> Rgba {
    mix(f.from.texel(px.x, px.y), f.to.texel(px.x, px.y), f.p)
}

pub(crate) fn flash_through_white(f: &Frame<'_>, px: Pixel) -> Rgba {
    let white = [1.0; 4];
    let from = mix(f.from.texel(px.x, px.y), white, smoothstep(0.0, 0.45, f.p));
    let to = mix(
        f.to.texel(px.x, px.y),
        white,
        1.0 - smoothstep(0.5, 1.0, f.p),
    );
    mix(from, to, smoothstep(0.35, 0.65, f.p))
}

pub(crate) fn chromatic_split(f: &Frame<'_>, px: Pixel) -> Rgba {
    let (cx, cy) = (px.u - 0.5, px.v - 0.5);
    let split = |layer: &Texture, shift: f32| {
        let mut centre = layer.texel(px.x, px.y);
        centre[0] = layer.sample_channel(clamp01(px.u + cx * shift), clamp01(px.v + cy * shift), 0);
        centre[2] = layer.sample_channel(clamp01(px.u - cx * shift), clamp01(px.v - cy * shift), 2);
        centre
    };
    let from = split(f.from, 0.06 * f.p);
    let to = split(f.to, -0.06 * (1.0 - f.p));
    mix(from, to, f.p)
}

pub(crate) fn sdf_iris(f: &Frame<'_>, px: Pixel) -> Rgba {
    let aspect = f.width as f32 / f.height as f32;
    let (qx, qy) = ((px.u - 0.5) * aspect, px.v - 0.5);
    let d = (qx * qx + qy * qy).sqrt();
    let radius = f.p * 1.2;
    let edge = smoothstep(radius + 0.003, radius - 0.003, d);
    let ring1 = libm::expf(-(d - radius).abs() * 25.0);
    let ring2 = libm::expf(-(d - radius + 0.04).abs() * 20.0) * 0.5;
    let ring3 = libm::expf(-(d - radius + 0.08).abs() * 15.0) * 0.25;
    let glow = (ring1 + ring2 + ring3) * f.p * (1.0 - f.p) * 4.0;
    let base = mix(f.from.texel(px.x, px.y), f.to.texel(px.x, px.y), edge);
    add_light(base, scale3(f.accents.bright, glow * 0.6))
}

/// Glitch's random offsets for one frame: a horizontal shift per band of rows, a shift per
/// block, and the flicker gain.
pub(crate) struct GlitchFrame {
    intensity: f32,
    line_shift: [f32; 60],
    block_shift: Vec<[f32; 2]>,
    flicker: f32,
}

impl GlitchFrame {
    pub(crate) fn new(p: f32) -> Self {
        use crate::noise::rand;
        let intensity = p * (1.0 - p) * 4.0;
        let line_seed = f64::from((p * 17.0).floor());
        let line_shift = std::array::from_fn(|band| {
            let line_y = f64::from(band as f32 / 60.0);
            ((rand(line_y, line_seed) as f32) - 0.5) * 0.18 * intensity
        });
        let block_seed = (p * 11.0).floor();
        let mut block_shift = Vec::with_capacity(96);
        for by in 0..8 {
            for bx in 0..12 {
                let (x, y) = (bx as f32, by as f32);
                let chance = rand(f64::from(x + block_seed), f64::from(y + block_seed)) as f32;
                let active = step(0.83, chance) * intensity;
                let dx =
                    (rand(f64::from(x * 2.1), f64::from(y * 2.1)) as f32 - 0.5) * 0.35 * active;
                let dy =
                    (rand(f64::from(x * 3.7), f64::from(y * 3.7)) as f32 - 0.5) * 0.35 * active;
                block_shift.push([dx, dy]);
            }
        }
        let flicker_seed = f64::from((p * 23.0).floor());
        let flicker = 1.0 + (rand(flicker_seed, flicker_seed) as f32 - 0.5) * 0.3 * intensity;
        GlitchFrame {
            intensity,
            line_shift,
            block_shift,
            flicker,
        }
    }
}

pub(crate) fn glitch(f: &Frame<'_>, px: Pixel) -> Rgba {
    let g = f.glitch.as_ref().expect("glitch frame prepared");
    let band = (floor(px.v * 60.0) as usize).min(59);
    let block = (floor(px.v * 8.0) as usize).min(7) * 12 + (floor(px.u * 12.0) as usize).min(11);
    let [bx, by] = g.block_shift[block];
    let gu = clamp01(px.u + g.line_shift[band] + bx);
    let gv = clamp01(px.v + by);
    let shift = g.intensity * 0.035;
    let mut col = f.from.sample(gu, gv);
    col[0] = f.from.sample_channel(gu + shift, gv, 0);
    col[2] = f.from.sample_channel(gu - shift, gv, 2);
    let scanline = step(0.5, fract(px.v * f.height as f32 * 0.5)) * 0.05 * g.intensity;
    let levels = 256.0 + (8.0 - 256.0) * g.intensity * 0.5;
    for c in &mut col[..3] {
        *c = floor(((*c - scanline) * g.flicker) * levels) / levels;
    }
    mix(col, f.to.texel(px.x, px.y), f.p)
}

fn aces(x: f32) -> f32 {
    ((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14)).clamp(0.0, 1.0)
}

pub(crate) fn light_leak(f: &Frame<'_>, px: Pixel) -> Rgba {
    let a = &f.accents;
    let (dx, dy) = (px.u - 1.3, px.v + 0.2);
    let dist = (dx * dx + dy * dy).sqrt();
    let leak = clamp01(libm::expf(-dist * 1.8) * f.p * 4.0);
    let warm = mix3(a.accent, a.bright, dist * 0.7);
    let flare = libm::expf(-(px.v - (-0.2 + px.u * 0.3)).abs() * 15.0) * leak * 0.3;
    let light = [
        warm[0] * leak * 3.0 + a.bright[0] * flare,
        warm[1] * leak * 3.0 + a.bright[1] * flare,
        warm[2] * leak * 3.0 + a.bright[2] * flare,
    ];
    let mut over = add_light(f.from.texel(px.x, px.y), light);
    for c in &mut over[..3] {
        *c = aces(*c);
    }
    mix(over, f.to.texel(px.x, px.y), smoothstep(0.15, 0.85, f.p))
}

pub(crate) fn cross_warp_morph(f: &Frame<'_>, px: Pixel) -> Rgba {
    let (dx, dy) = (f.field(0, px), f.field(1, px));
    let a = f.from.sample(
        clamp01(px.u + dx * f.p * 0.5),
        clamp01(px.v + dy * f.p * 0.5),
    );
    let b = f.to.sample(
        clamp01(px.u - dx * (1.0 - f.p) * 0.5),
        clamp01(px.v - dy * (1.0 - f.p) * 0.5),
    );
    let n = f.field(2, px);
    mix(a, b, smoothstep(0.4, 0.6, n + f.p * 1.2 - 0.6))
}

pub(crate) fn whip_pan(f: &Frame<'_>, px: Pixel) -> Rgba {
    let blur = |layer: &Texture, offset: f32, spread: f32| {
        let mut sum = [0.0; 4];
        for i in 0..10 {
            let tap = layer.sample_row(clamp01(px.u + offset + spread * i as f32 / 10.0), px.y);
            for c in 0..4 {
                sum[c] += tap[c];
            }
        }
        [sum[0] / 10.0, sum[1] / 10.0, sum[2] / 10.0, sum[3] / 10.0]
    };
    let from = blur(f.from, f.p * 1.5, f.p * 0.08);
    let to = blur(f.to, -(1.0 - f.p) * 1.5, -(1.0 - f.p) * 0.08);
    mix(from, to, f.p)
}

pub(crate) fn cinematic_zoom(f: &Frame<'_>, px: Pixel) -> Rgba {
    let (dx, dy) = (px.u - 0.5, px.v - 0.5);
    let blur = |layer: &Texture, strength: f32| {
        let mut sum = [0.0; 4];
        for i in 0..12 {
            let k = strength * i as f32 / 12.0;
            let at = |scale: f32| (px.u + dx * k * scale, px.v + dy * k * scale);
            let (ru, rv) = at(1.06);
            let (bu, bv) = at(0.94);
            let (gu, gv) = at(1.0);
            let centre = layer.sample(gu, gv);
            sum[0] += layer.sample_channel(ru, rv, 0);
            sum[1] += centre[1];
            sum[2] += layer.sample_channel(bu, bv, 2);
            sum[3] += centre[3];
        }
        [sum[0] / 12.0, sum[1] / 12.0, sum[2] / 12.0, sum[3] / 12.0]
    };
    let from = blur(f.from, -f.p * 0.08);
    let to = blur(f.to, (1.0 - f.p) * 0.06);
    mix(from, to, f.p)
}

pub(crate) fn gravitational_lens(f: &Frame<'_>, px: Pixel) -> Rgba {
    let (cx, cy) = (px.u - 0.5, px.v - 0.5);
    let dist = (cx * cx + cy * cy).sqrt();
    let pull = f.p * 2.0;
    let warp = pull * 0.3 / (dist + 0.1);
    let shift = pull * 0.02 / (dist + 0.2);
    let at = |k: f32| (clamp01(px.u - cx * k), clamp01(px.v - cy * k));
    let (gu, gv) = at(warp);
    let (ru, rv) = at(warp + shift);
    let (bu, bv) = at(warp - shift);
    let mut lensed = f.from.sample(gu, gv);
    lensed[0] = f.from.sample_channel(ru, rv, 0);
    lensed[2] = f.from.sample_channel(bu, bv, 2);
    // The library's current form: the black centre fades in with progress.
    let horizon = smoothstep(0.0, 0.3, dist / (1.0 - f.p * 0.85 + 0.001));
    let darken = 1.0 + (horizon - 1.0) * smoothstep(0.0, 0.3, f.p);
    for c in &mut lensed[..3] {
        *c *= darken;
    }
    mix(lensed, f.to.texel(px.x, px.y), smoothstep(0.3, 0.9, f.p))
}

pub(crate) fn ripple_waves(f: &Frame<'_>, px: Pixel) -> Rgba {
    let (cx, cy) = (px.u - 0.5, px.v - 0.5);
    let dist = (cx * cx + cy * cy).sqrt();
    let (nx, ny) = (cx + 0.001, cy + 0.001);
    let norm = (nx * nx + ny * ny).sqrt();
    let (dir_x, dir_y) = (nx / norm, ny / norm);
    let wave = |k: f32, phase: f32| libm::expf(libm::sinf(dist * k + phase) - 1.0);
    let fw1 = wave(25.0, -f.p * 12.0);
    let fw2 = wave(50.0, -f.p * 18.0) * 0.5;
    let from_amp = (fw1 + fw2) * f.p * 0.04;
    let a = f.from.sample(
        clamp01(px.u + dir_x * from_amp),
        clamp01(px.v + dir_y * from_amp),
    );
    let tw1 = wave(25.0, f.p * 12.0);
    let tw2 = wave(50.0, f.p * 18.0) * 0.5;
    let to_amp = (tw1 + tw2) * (1.0 - f.p) * 0.04;
    let b = f.to.sample(
        clamp01(px.u - dir_x * to_amp),
        clamp01(px.v - dir_y * to_amp),
    );
    let tinted = add_light(a, scale3(f.accents.bright, fw1 * f.p * 0.1));
    mix(tinted, b, f.p)
}

pub(crate) fn swirl_vortex(f: &Frame<'_>, px: Pixel) -> Rgba {
    let (cx, cy) = (px.u - 0.5, px.v - 0.5);
    let dist = (cx * cx + cy * cy).sqrt();
    let warp = f.field(0, px);
    let turned = |layer: &Texture, angle: f32| {
        let (s, c) = (libm::sinf(angle), libm::cosf(angle));
        layer.sample(
            clamp01(cx * c - cy * s + 0.5),
            clamp01(cx * s + cy * c + 0.5),
        )
    };
    let from_angle = f.p * (1.0 - dist) * 10.0 + warp * f.p * 3.0;
    let to_angle = -(1.0 - f.p) * (1.0 - dist) * 10.0 - warp * (1.0 - f.p) * 3.0;
    mix(turned(f.from, from_angle), turned(f.to, to_angle), f.p)
}

/// Thermal-distortion's scrolling noise: plane `plane` (extended below the frame) read
/// `2p/3` of the frame height further down, between two rows.
fn scrolled(f: &Frame<'_>, plane: usize, px: Pixel) -> f32 {
    let fields = f.fields.expect("thermal fields were computed");
    let offset = f.p * 2.0 / 3.0 * f.height as f32;
    let row = px.y + floor(offset) as usize;
    let t = fract(offset);
    let values = &fields.planes[plane];
    let at = |r: usize| values[r * f.width + px.x];
    at(row) + (at(row + 1) - at(row)) * t
}

pub(crate) fn thermal_distortion(f: &Frame<'_>, px: Pixel) -> Rgba {
    let heat = f.p * 1.5;
    let fade = smoothstep(1.0, 0.0, px.v);
    let shimmer = libm::sinf(px.v * 40.0 + f.field(0, px) * 8.0) * scrolled(f, 2, px);
    let a = f
        .from
        .sample_row(clamp01(px.u + shimmer * heat * 0.03 * fade), px.y);
    let shimmer_to = libm::sinf(px.v * 40.0 + f.field(1, px) * 8.0) * scrolled(f, 3, px);
    let b =
        f.to.sample_row(clamp01(px.u + shimmer_to * (1.0 - f.p) * 0.03 * fade), px.y);
    let haze = heat * fade * 0.15 * (1.0 - f.p);
    add_light(mix(a, b, f.p), scale3(f.accents.bright, haze))
}

pub(crate) fn domain_warp(f: &Frame<'_>, px: Pixel) -> Rgba {
    let (wx, wy) = ((f.field(0, px) - 0.5) * 0.4, (f.field(1, px) - 0.5) * 0.4);
    let n = f.field(2, px);
    let a = f
        .from
        .sample(clamp01(px.u + wx * f.p), clamp01(px.v + wy * f.p));
    let b = f.to.sample(
        clamp01(px.u - wx * (1.0 - f.p)),
        clamp01(px.v - wy * (1.0 - f.p)),
    );
    let e = smoothstep(f.p - 0.08, f.p + 0.08, n);
    let distance = (n - f.p).abs();
    let seam = smoothstep(0.1, 0.0, distance) * (1.0 - step(1.0, f.p));
    let colour = mix3(
        f.accents.dark,
        f.accents.bright,
        smoothstep(0.0, 0.1, distance),
    );
    add_light(mix(b, a, e), scale3(colour, seam * 2.0))
}

pub(crate) fn ridged_burn(f: &Frame<'_>, px: Pixel) -> Rgba {
    let acc = f.accents;
    let n = f.field(0, px);
    let e = smoothstep(f.p - 0.04, f.p + 0.04, n);
    let heat = smoothstep(0.12, 0.0, (n - f.p).abs()) * (1.0 - step(1.0, f.p));
    let mut burn = mix3(acc.dark, acc.accent, smoothstep(0.0, 0.25, heat));
    burn = mix3(burn, acc.bright, smoothstep(0.25, 0.5, heat));
    burn = mix3(burn, [1.0; 3], smoothstep(0.5, 1.0, heat));
    let sparks = f.field(1, px) * heat * 3.0;
    let base = mix(f.to.texel(px.x, px.y), f.from.texel(px.x, px.y), e);
    let light = [
        burn[0] * heat * 3.5 + acc.bright[0] * sparks,
        burn[1] * heat * 3.5 + acc.bright[1] * sparks,
        burn[2] * heat * 3.5 + acc.bright[2] * sparks,
    ];
    add_light(base, light)
}
