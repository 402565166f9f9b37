//! The transitions' value noise: `hash`, `vnoise`, `fbm`, `ridged` and glitch's `rand`.
//!
//! `hash` at integer lattice points is all `vnoise` reads, so it is tabulated once over the
//! lattice the shaders reach (|coordinate| <= [`REACH`]) from `f64` maths with `libm`'s `sin`:
//! the same values on every machine, far cheaper than a `sin` per corner.

use std::sync::LazyLock;

/// Lattice points `-REACH..=REACH` on each axis are tabulated.
const REACH: i32 = 512;
const SIDE: usize = 2 * REACH as usize + 1;

static LATTICE: LazyLock<Vec<f32>> = LazyLock::new(|| {
    let mut table = Vec::with_capacity(SIDE * SIDE);
    for y in -REACH..=REACH {
        for x in -REACH..=REACH {
            table.push(hash(f64::from(x), f64::from(y)) as f32);
        }
    }
    table
});

fn fract64(x: f64) -> f64 {
    x - x.floor()
}

/// `x.floor()` without a call into libm (x86-64's baseline has no rounding instruction, and
/// the kernels floor per pixel). Exact for `|x| < 2^31`, which every caller stays within.
#[inline(always)]
pub(crate) fn floor(x: f32) -> f32 {
    let truncated = x as i32 as f32;
    if truncated > x {
        truncated - 1.0
    } else {
        truncated
    }
}

/// `x - floor(x)`.
#[inline(always)]
pub(crate) fn fract(x: f32) -> f32 {
    x - floor(x)
}

/// `fract(sin(127.1 x + 311.7 y) * 43758.5453)`.
pub(crate) fn hash(x: f64, y: f64) -> f64 {
    fract64(libm::sin(127.1 * x + 311.7 * y) * 43758.5453)
}

/// Glitch's `fract(sin(12.9898 x + 78.233 y) * 43758.5453)`.
pub(crate) fn rand(x: f64, y: f64) -> f64 {
    fract64(libm::sin(12.9898 * x + 78.233 * y) * 43758.5453)
}

#[inline]
fn lattice(x: i32, y: i32) -> f32 {
    if x.abs() <= REACH && y.abs() <= REACH {
        LATTICE[(y + REACH) as usize * SIDE + (x + REACH) as usize]
    } else {
        hash(f64::from(x), f64::from(y)) as f32
    }
}

/// Value noise in `[0, 1]`: `hash` at the four lattice corners, mixed with a quintic fade.
#[inline]
pub(crate) fn vnoise(x: f32, y: f32) -> f32 {
    let (ix, iy) = (floor(x), floor(y));
    let (fx, fy) = (x - ix, y - iy);
    let fade = |f: f32| f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
    let (wx, wy) = (fade(fx), fade(fy));
    let (ix, iy) = (ix as i32, iy as i32);
    let h00 = lattice(ix, iy);
    let h10 = lattice(ix + 1, iy);
    let h01 = lattice(ix, iy + 1);
    let h11 = lattice(ix + 1, iy + 1);
    let top = h00 + (h10 - h00) * wx;
    let bottom = h01 + (h11 - h01) * wx;
    top + (bottom - top) * wy
}

/// Five octaves of `octave(vnoise)`, each rotated by `(0.8, 0.6)` and scaled by 2.02.
#[inline]
fn octaves(mut x: f32, mut y: f32, octave: impl Fn(f32) -> f32) -> f32 {
    let (mut sum, mut amplitude) = (0.0, 0.5);
    for _ in 0..5 {
        sum += amplitude * octave(vnoise(x, y));
        let (rx, ry) = (0.8 * x - 0.6 * y, 0.6 * x + 0.8 * y);
        x = rx * 2.02;
        y = ry * 2.02;
        amplitude *= 0.5;
    }
    sum
}

/// Fractal noise in `[0, 0.97]`.
#[inline]
pub(crate) fn fbm(x: f32, y: f32) -> f32 {
    octaves(x, y, |n| n)
}

/// Ridged fractal noise: octaves of `|2 vnoise - 1|`.
#[inline]
pub(crate) fn ridged(x: f32, y: f32) -> f32 {
    octaves(x, y, |n| (2.0 * n - 1.0).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_stays_in_range_and_the_table_matches_the_formula() {
        assert_eq!(lattice(3, -7), hash(3.0, -7.0) as f32);
        assert_eq!(lattice(600, 2), hash(600.0, 2.0) as f32);
        // At lattice points vnoise is the hash itself.
        assert_eq!(vnoise(5.0, 9.0), lattice(5, 9));
        let mut distinct = std::collections::BTreeSet::new();
        for i in 0..400 {
            let (x, y) = (i as f32 * 0.37, i as f32 * 0.11 - 20.0);
            let n = fbm(x, y);
            assert!((0.0..=0.97).contains(&n), "fbm {n}");
            assert!((0.0..=1.0).contains(&ridged(x, y)));
            distinct.insert((n * 1000.0) as i32);
        }
        assert!(distinct.len() > 100, "fbm is not flat");
        assert!((0.0..1.0).contains(&rand(0.5, 3.0)));
        for x in [-3.5f32, -3.0, -0.25, 0.0, 0.75, 2.0, 511.99, -511.5] {
            assert_eq!(floor(x), x.floor(), "floor({x})");
        }
    }
}
