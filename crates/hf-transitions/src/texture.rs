//! A layer as kernels read it: premultiplied RGBA in `[0, 1]` as `f32`, four lanes per pixel,
//! so a bilinear tap is four loads and three lerps of whole pixels.

use crate::rows::for_each_row;
use crate::Layer;

/// An 8-bit channel scaled to `[0, 1]`.
const UNIT: f32 = 1.0 / 255.0;

pub(crate) struct Texture {
    width: usize,
    height: usize,
    pixels: Vec<[f32; 4]>,
}

impl Texture {
    /// The texture of `layer` in the allocation of `pixels` (a texture's
    /// [`into_pixels`](Self::into_pixels)): a blend a frame at 1080p would otherwise map and
    /// zero 33 MB per texture afresh.
    pub(crate) fn reusing(layer: &Layer, mut pixels: Vec<[f32; 4]>) -> Self {
        let (width, height) = (layer.width(), layer.height());
        // Every element is written below; the fill only runs when the size changes.
        pixels.resize(width * height, [0.0; 4]);
        let bytes = layer.bytes();
        for_each_row(&mut pixels, width, |y, row| {
            let source = &bytes[y * width * 4..(y + 1) * width * 4];
            for (pixel, rgba) in row.iter_mut().zip(source.chunks_exact(4)) {
                *pixel = [
                    f32::from(rgba[0]) * UNIT,
                    f32::from(rgba[1]) * UNIT,
                    f32::from(rgba[2]) * UNIT,
                    f32::from(rgba[3]) * UNIT,
                ];
            }
        });
        Texture {
            width,
            height,
            pixels,
        }
    }

    /// A texture of premultiplied `pixels` (`width * height` of them) as they are.
    pub(crate) fn from_pixels(width: usize, height: usize, pixels: Vec<[f32; 4]>) -> Self {
        assert_eq!(
            pixels.len(),
            width * height,
            "a picture of the frame's size"
        );
        Texture {
            width,
            height,
            pixels,
        }
    }

    /// The allocation, for [`Self::reusing`].
    pub(crate) fn into_pixels(self) -> Vec<[f32; 4]> {
        self.pixels
    }

    /// The pixel at `(x, y)`.
    #[inline(always)]
    pub(crate) fn texel(&self, x: usize, y: usize) -> [f32; 4] {
        self.pixels[y * self.width + x]
    }

    /// Pixel number `i`, where `i` comes from [`axis`] (so it is in range).
    #[inline(always)]
    fn at(&self, i: usize) -> [f32; 4] {
        debug_assert!(i < self.pixels.len());
        // SAFETY: every caller builds `i` as `row * width + column` from `axis`, which keeps
        // columns below `width` and rows below `height` (NaN coordinates become 0).
        unsafe { *self.pixels.get_unchecked(i) }
    }

    /// WebGL's `texture2D` with linear filtering and clamp-to-edge at `(u, v)` (`v = 0` is
    /// the top row): texel centres sit at `(k + 0.5) / size`.
    #[inline(always)]
    pub(crate) fn sample(&self, u: f32, v: f32) -> [f32; 4] {
        let (x0, x1, fx) = axis(u, self.width);
        let (y0, y1, fy) = axis(v, self.height);
        let (row0, row1) = (y0 * self.width, y1 * self.width);
        let top = lerp(self.at(row0 + x0), self.at(row0 + x1), fx);
        let bottom = lerp(self.at(row1 + x0), self.at(row1 + x1), fx);
        lerp(top, bottom, fy)
    }

    /// One channel of [`Self::sample`].
    #[inline(always)]
    pub(crate) fn sample_channel(&self, u: f32, v: f32, channel: usize) -> f32 {
        let (x0, x1, fx) = axis(u, self.width);
        let (y0, y1, fy) = axis(v, self.height);
        let p = |x: usize, y: usize| self.at(y * self.width + x)[channel];
        let top = p(x0, y0) + (p(x1, y0) - p(x0, y0)) * fx;
        let bottom = p(x0, y1) + (p(x1, y1) - p(x0, y1)) * fx;
        top + (bottom - top) * fy
    }

    /// [`Self::sample`] on row `y` (a `v` at that row's centre: no vertical filtering), which
    /// must be a row of the texture.
    #[inline(always)]
    pub(crate) fn sample_row(&self, u: f32, y: usize) -> [f32; 4] {
        assert!(y < self.height, "row {y} of a {}-row texture", self.height);
        let (x0, x1, fx) = axis(u, self.width);
        let row = y * self.width;
        lerp(self.at(row + x0), self.at(row + x1), fx)
    }
}

#[inline(always)]
fn lerp(a: [f32; 4], b: [f32; 4], t: f32) -> [f32; 4] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
        a[3] + (b[3] - a[3]) * t,
    ]
}

/// The two texels around texture coordinate `t` on an axis of `size` texels, clamped to the
/// edge, and the weight of the second.
#[inline(always)]
fn axis(t: f32, size: usize) -> (usize, usize, f32) {
    let position = (t * size as f32 - 0.5).clamp(0.0, (size - 1) as f32);
    let first = position as usize;
    let second = (first + 1).min(size - 1);
    (first, second, position - first as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_hits_texel_centres_and_clamps() {
        let straight = vec![
            200, 100, 50, 255, 200, 100, 50, 128, 0, 0, 0, 0, 10, 20, 30, 255,
        ];
        let texture = Texture::reusing(&Layer::from_straight_rgba(2, 2, straight), Vec::new());
        assert_eq!(texture.sample(0.25, 0.25), texture.texel(0, 0));
        assert_eq!(texture.sample(0.75, 0.75), texture.texel(1, 1));
        assert_eq!(texture.sample(-3.0, 9.0), texture.texel(0, 1));
        let mid = texture.sample(0.5, 0.25);
        let want = (texture.texel(0, 0)[3] + texture.texel(1, 0)[3]) / 2.0;
        assert!((mid[3] - want).abs() < 1e-6);
        assert_eq!(texture.sample_channel(0.5, 0.25, 3), mid[3]);
        assert_eq!(texture.sample_row(0.5, 0), mid);
    }
}
