//! The 16-bit canvas an HDR frame is composited on: page layers (8-bit sRGB with alpha) mapped
//! into the output's signal and blended over it, HDR pictures drawn at their placement.

use super::curves::{LinearLight, PageToSignal};
use super::source::Picture;
use hf_core::{MediaPlacement, ObjectFit};
use rayon::prelude::*;

/// RGB, 16 bits per channel, full range, in the output's signal.
pub(crate) struct Canvas {
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` values.
    pub rgb: Vec<u16>,
}

impl Canvas {
    pub(crate) fn new(width: u32, height: u32) -> Self {
        Canvas {
            width,
            height,
            rgb: vec![0; (width * height * 3) as usize],
        }
    }

    /// Back to black.
    pub(crate) fn clear(&mut self) {
        self.rgb.fill(0);
    }

    fn rows(&mut self) -> impl IndexedParallelIterator<Item = (usize, &mut [u16])> {
        let row = self.width as usize * 3;
        self.rgb.par_chunks_mut(row).enumerate()
    }

    /// Blend straight-alpha RGBA `page` (the frame's size) over the canvas, in signal space.
    pub(crate) fn blend_page(&mut self, page: &[u8], map: &PageToSignal) {
        let width = self.width as usize;
        self.rows().for_each(|(y, row)| {
            let source = &page[y * width * 4..(y + 1) * width * 4];
            for (out, px) in row.chunks_exact_mut(3).zip(source.chunks_exact(4)) {
                let alpha = px[3];
                if alpha == 0 {
                    continue;
                }
                let signal = map.map([px[0], px[1], px[2]]);
                let a = f32::from(alpha) / 255.0;
                for (o, s) in out.iter_mut().zip(signal) {
                    let value = s * 65535.0 * a + f32::from(*o) * (1.0 - a);
                    *o = value.round().clamp(0.0, 65535.0) as u16;
                }
            }
        });
    }

    /// The canvas as opaque premultiplied RGBA in linear light.
    pub(crate) fn to_light(&self, light: &LinearLight) -> Vec<[f32; 4]> {
        self.rgb
            .par_chunks_exact(3)
            .map(|p| [light.light(p[0]), light.light(p[1]), light.light(p[2]), 1.0])
            .collect()
    }

    /// Replace the canvas with `pixels` (premultiplied linear light, as [`Self::to_light`])
    /// over black.
    pub(crate) fn set_light(&mut self, pixels: &[[f32; 4]], light: &LinearLight) {
        self.rgb
            .par_chunks_exact_mut(3)
            .zip(pixels.par_iter())
            .for_each(|(out, p)| {
                for (o, c) in out.iter_mut().zip(p) {
                    *o = light.signal(*c);
                }
            });
    }

    /// Draw `picture` where `placement` puts it.
    pub(crate) fn draw(&mut self, picture: &Picture, placement: &MediaPlacement) {
        let Some(geometry) = Geometry::new(picture, placement) else {
            return;
        };
        if let Some(rect) = geometry.unscaled_rect(picture, self.width, self.height) {
            self.copy(picture, rect);
            return;
        }
        let [x0, y0, x1, y1] = geometry.frame_bounds(self.width, self.height);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        self.rows().skip(y0).take(y1 - y0).for_each(|(y, row)| {
            for x in x0..x1 {
                if let Some((rgb, alpha)) = geometry.sample(picture, x, y) {
                    let out = &mut row[x * 3..x * 3 + 3];
                    for (o, s) in out.iter_mut().zip(rgb) {
                        let value = s * alpha + f32::from(*o) * (1.0 - alpha);
                        *o = value.round().clamp(0.0, 65535.0) as u16;
                    }
                }
            }
        });
    }
}

impl Canvas {
    /// Copy the picture's pixels one to one into `rect`: frame pixels `[x0, x1) x [y0, y1)`,
    /// frame pixel `(x, y)` showing picture pixel `(x - dx, y - dy)`.
    fn copy(&mut self, picture: &Picture, rect: UnscaledRect) {
        let UnscaledRect {
            x0,
            y0,
            x1,
            y1,
            dx,
            dy,
        } = rect;
        let pw = picture.width as usize;
        self.rows().skip(y0).take(y1 - y0).for_each(|(y, row)| {
            let sy = (y as i64 - dy) as usize;
            let source = &picture.pixels[(sy * pw) * 4..(sy * pw + pw) * 4];
            for x in x0..x1 {
                let sx = (x as i64 - dx) as usize;
                row[x * 3..x * 3 + 3].copy_from_slice(&source[sx * 4..sx * 4 + 3]);
            }
        });
    }
}

/// Where an unscaled, unrotated, opaque picture lands (see [`Canvas::copy`]).
#[derive(Debug, Clone, Copy)]
struct UnscaledRect {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    dx: i64,
    dy: i64,
}

/// A placement resolved against its picture: frame pixel to picture pixel.
struct Geometry<'a> {
    placement: &'a MediaPlacement,
    /// Inverse of the placement's transform (frame to border box).
    inverse: [f64; 6],
    /// Where the picture is drawn in the border box: left, top, width, height.
    drawn: [f64; 4],
}

impl<'a> Geometry<'a> {
    fn new(picture: &Picture, placement: &'a MediaPlacement) -> Option<Self> {
        let [a, b, c, d, e, f] = placement.transform;
        let det = a * d - b * c;
        if det.abs() < 1e-12 || placement.opacity <= 0.0 || picture.width == 0 {
            return None;
        }
        let inverse = [
            d / det,
            -b / det,
            -c / det,
            a / det,
            (c * f - d * e) / det,
            (b * e - a * f) / det,
        ];
        Some(Geometry {
            placement,
            inverse,
            drawn: drawn_rect(picture, placement),
        })
    }

    /// When the picture lands one to one on whole frame pixels, opaque, with square corners:
    /// the frame pixels it covers (clipped to its content box, the clip and the frame).
    fn unscaled_rect(&self, picture: &Picture, width: u32, height: u32) -> Option<UnscaledRect> {
        let [a, b, c, d, e, f] = self.placement.transform;
        let [dl, dt, dw, dh] = self.drawn;
        let whole = |v: f64| (v - v.round()).abs() < 1e-6;
        let (ox, oy) = (e + dl, f + dt);
        let one_to_one = a == 1.0
            && d == 1.0
            && b == 0.0
            && c == 0.0
            && dw == f64::from(picture.width)
            && dh == f64::from(picture.height)
            && whole(ox)
            && whole(oy);
        let plain = self.placement.opacity >= 1.0
            && self.placement.radius.iter().all(|r| *r <= 0.0)
            && picture.opaque;
        if !one_to_one || !plain {
            return None;
        }
        let [cl, ct, cw, ch] = self.placement.content;
        let [w, h] = self.placement.size;
        let mut rect = [
            ox.max(e + cl.max(0.0)),
            oy.max(f + ct.max(0.0)),
            (ox + dw).min(e + (cl + cw).min(w)),
            (oy + dh).min(f + (ct + ch).min(h)),
        ];
        if let Some([l, t, r, bottom]) = self.placement.clip {
            rect = [
                rect[0].max(l),
                rect[1].max(t),
                rect[2].min(r),
                rect[3].min(bottom),
            ];
        }
        // A pixel is drawn when its centre is inside.
        let edge = |v: f64, max: u32| (v - 0.5).ceil().clamp(0.0, f64::from(max)) as usize;
        let (x0, x1) = (edge(rect[0], width), edge(rect[2], width));
        let (y0, y1) = (edge(rect[1], height), edge(rect[3], height));
        Some(UnscaledRect {
            x0,
            y0,
            x1: x1.max(x0),
            y1: y1.max(y0),
            dx: ox.round() as i64,
            dy: oy.round() as i64,
        })
    }

    /// Frame pixels that may be covered: left, top, right, bottom (exclusive).
    fn frame_bounds(&self, width: u32, height: u32) -> [usize; 4] {
        let [a, b, c, d, e, f] = self.placement.transform;
        let [w, h] = self.placement.size;
        let corners = [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)]
            .map(|(x, y)| (a * x + c * y + e, b * x + d * y + f));
        let mut bounds = [
            corners.iter().map(|p| p.0).fold(f64::INFINITY, f64::min),
            corners.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
            corners
                .iter()
                .map(|p| p.0)
                .fold(f64::NEG_INFINITY, f64::max),
            corners
                .iter()
                .map(|p| p.1)
                .fold(f64::NEG_INFINITY, f64::max),
        ];
        if let Some([l, t, r, bottom]) = self.placement.clip {
            bounds = [
                bounds[0].max(l),
                bounds[1].max(t),
                bounds[2].min(r),
                bounds[3].min(bottom),
            ];
        }
        let clamp = |v: f64, max: u32| v.clamp(0.0, f64::from(max)) as usize;
        [
            clamp(bounds[0].floor(), width),
            clamp(bounds[1].floor(), height),
            clamp(bounds[2].ceil(), width),
            clamp(bounds[3].ceil(), height),
        ]
    }

    /// The picture's colour and coverage at the centre of frame pixel (x, y).
    fn sample(&self, picture: &Picture, x: usize, y: usize) -> Option<([f32; 3], f32)> {
        let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
        if let Some([l, t, r, b]) = self.placement.clip {
            if fx < l || fx >= r || fy < t || fy >= b {
                return None;
            }
        }
        let [a, b, c, d, e, f] = self.inverse;
        let (lx, ly) = (a * fx + c * fy + e, b * fx + d * fy + f);
        let [w, h] = self.placement.size;
        if lx < 0.0
            || ly < 0.0
            || lx >= w
            || ly >= h
            || !inside_radius(lx, ly, w, h, self.placement.radius)
        {
            return None;
        }
        let [cl, ct, cw, ch] = self.placement.content;
        if lx < cl || ly < ct || lx >= cl + cw || ly >= ct + ch {
            return None;
        }
        let [dl, dt, dw, dh] = self.drawn;
        let u = (lx - dl) / dw * f64::from(picture.width);
        let v = (ly - dt) / dh * f64::from(picture.height);
        if u < 0.0 || v < 0.0 || u >= f64::from(picture.width) || v >= f64::from(picture.height) {
            return None;
        }
        let rgba = bilinear(picture, u - 0.5, v - 0.5);
        let alpha = (rgba[3] / 65535.0) * self.placement.opacity as f32;
        (alpha > 0.0).then_some(([rgba[0], rgba[1], rgba[2]], alpha))
    }
}

/// Where `object-fit` and `object-position` put the picture in the border box.
fn drawn_rect(picture: &Picture, placement: &MediaPlacement) -> [f64; 4] {
    let [cl, ct, cw, ch] = placement.content;
    let (pw, ph) = (f64::from(picture.width), f64::from(picture.height));
    let (sx, sy) = match placement.fit {
        ObjectFit::Fill => (cw / pw, ch / ph),
        ObjectFit::Contain => {
            let s = (cw / pw).min(ch / ph);
            (s, s)
        }
        ObjectFit::Cover => {
            let s = (cw / pw).max(ch / ph);
            (s, s)
        }
        ObjectFit::None => (1.0, 1.0),
        ObjectFit::ScaleDown => {
            let s = (cw / pw).min(ch / ph).min(1.0);
            (s, s)
        }
    };
    let (dw, dh) = (pw * sx, ph * sy);
    let [fx, px, fy, py] = placement.position;
    [cl + fx * (cw - dw) + px, ct + fy * (ch - dh) + py, dw, dh]
}

/// Whether (x, y) in a `w` x `h` box is inside its rounded corners.
fn inside_radius(x: f64, y: f64, w: f64, h: f64, radius: [f64; 4]) -> bool {
    let corners = [
        (radius[0], radius[0], radius[0]),
        (radius[1], w - radius[1], radius[1]),
        (radius[2], w - radius[2], h - radius[2]),
        (radius[3], radius[3], h - radius[3]),
    ];
    corners.iter().enumerate().all(|(i, &(r, cx, cy))| {
        if r <= 0.0 {
            return true;
        }
        let in_corner = match i {
            0 => x < cx && y < cy,
            1 => x > cx && y < cy,
            2 => x > cx && y > cy,
            _ => x < cx && y > cy,
        };
        !in_corner || (x - cx).powi(2) + (y - cy).powi(2) <= r * r
    })
}

/// Bilinear sample at picture coordinates (pixel centres at integers), clamped to the edge.
fn bilinear(picture: &Picture, u: f64, v: f64) -> [f32; 4] {
    let (w, h) = (picture.width as usize, picture.height as usize);
    let (u, v) = (u.clamp(0.0, (w - 1) as f64), v.clamp(0.0, (h - 1) as f64));
    let (x0, y0) = (u.floor() as usize, v.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (tx, ty) = ((u - x0 as f64) as f32, (v - y0 as f64) as f32);
    let at = |x: usize, y: usize, c: usize| f32::from(picture.pixels[(y * w + x) * 4 + c]);
    let mut out = [0.0f32; 4];
    for (c, value) in out.iter_mut().enumerate() {
        if tx == 0.0 && ty == 0.0 {
            *value = at(x0, y0, c);
            continue;
        }
        let top = at(x0, y0, c) + (at(x1, y0, c) - at(x0, y0, c)) * tx;
        let bottom = at(x0, y1, c) + (at(x1, y1, c) - at(x0, y1, c)) * tx;
        *value = top + (bottom - top) * ty;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdr::HdrTransfer;

    fn picture(w: u32, h: u32, value: u16) -> Picture {
        let mut pixels = vec![value; (w * h * 4) as usize];
        pixels.chunks_exact_mut(4).for_each(|p| p[3] = 65535);
        Picture {
            width: w,
            height: h,
            pixels,
            opaque: true,
        }
    }

    fn placement(transform: [f64; 6], size: [f64; 2]) -> MediaPlacement {
        MediaPlacement {
            source: 0,
            time: 0.0,
            transform,
            size,
            content: [0.0, 0.0, size[0], size[1]],
            fit: ObjectFit::Fill,
            position: [0.5, 0.0, 0.5, 0.0],
            opacity: 1.0,
            radius: [0.0; 4],
            clip: None,
        }
    }

    fn at(canvas: &Canvas, x: usize, y: usize) -> u16 {
        canvas.rgb[(y * canvas.width as usize + x) * 3]
    }

    #[test]
    fn an_unscaled_picture_lands_exactly() {
        let mut canvas = Canvas::new(8, 8);
        let mut pic = picture(4, 4, 1000);
        pic.pixels[0] = 2000;
        canvas.draw(&pic, &placement([1.0, 0.0, 0.0, 1.0, 2.0, 3.0], [4.0, 4.0]));
        assert_eq!(at(&canvas, 2, 3), 2000);
        assert_eq!(at(&canvas, 3, 3), 1000);
        assert_eq!(at(&canvas, 5, 6), 1000);
        assert_eq!(at(&canvas, 6, 6), 0);
        assert_eq!(at(&canvas, 1, 3), 0);
    }

    #[test]
    fn the_one_to_one_copy_matches_the_sampled_draw() {
        let mut pic = picture(6, 5, 0);
        for (i, p) in pic.pixels.chunks_exact_mut(4).enumerate() {
            p[..3].copy_from_slice(&[i as u16 * 100, 7, 9]);
        }
        let mut place = placement([1.0, 0.0, 0.0, 1.0, 3.0, 2.0], [6.0, 5.0]);
        place.content = [1.0, 0.0, 5.0, 4.0];
        place.fit = ObjectFit::None;
        place.clip = Some([0.0, 0.0, 7.5, 10.0]);
        let mut fast = Canvas::new(12, 9);
        fast.draw(&pic, &place);
        pic.opaque = false;
        let mut sampled = Canvas::new(12, 9);
        sampled.draw(&pic, &place);
        assert_eq!(fast.rgb, sampled.rgb);
        assert_ne!(at(&fast, 4, 3), 0);
    }

    #[test]
    fn opacity_radius_and_clip_apply() {
        let mut canvas = Canvas::new(10, 10);
        let mut place = placement([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [10.0, 10.0]);
        place.opacity = 0.5;
        place.radius = [4.0, 0.0, 0.0, 0.0];
        place.clip = Some([0.0, 0.0, 8.0, 10.0]);
        canvas.draw(&picture(2, 2, 60000), &place);
        assert_eq!(at(&canvas, 5, 5), 30000);
        assert_eq!(at(&canvas, 0, 0), 0, "outside the rounded corner");
        assert_eq!(at(&canvas, 9, 5), 0, "clipped");
    }

    #[test]
    fn cover_fills_the_box_and_contain_letterboxes() {
        let mut canvas = Canvas::new(10, 10);
        let mut place = placement([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [10.0, 10.0]);
        place.fit = ObjectFit::Contain;
        canvas.draw(&picture(20, 10, 500), &place);
        assert_eq!(at(&canvas, 5, 1), 0);
        assert_eq!(at(&canvas, 5, 5), 500);
        place.fit = ObjectFit::Cover;
        canvas.draw(&picture(20, 10, 700), &place);
        assert_eq!(at(&canvas, 5, 1), 700);
    }

    #[test]
    fn rotation_follows_the_transform() {
        // A 4x2 box turned a quarter clockwise about the frame origin, then moved right by 4.
        let mut canvas = Canvas::new(8, 8);
        canvas.draw(
            &picture(4, 2, 900),
            &placement([0.0, 1.0, -1.0, 0.0, 4.0, 0.0], [4.0, 2.0]),
        );
        assert_eq!(at(&canvas, 3, 3), 900);
        assert_eq!(at(&canvas, 2, 3), 900);
        assert_eq!(at(&canvas, 1, 3), 0);
        assert_eq!(at(&canvas, 3, 5), 0);
    }

    #[test]
    fn page_pixels_blend_in_signal_space() {
        let map = PageToSignal::new(HdrTransfer::Pq);
        let mut canvas = Canvas::new(2, 1);
        canvas.rgb.fill(40000);
        canvas.blend_page(&[255, 255, 255, 255, 0, 0, 0, 0], &map);
        let white = (map.map([255, 255, 255])[0] * 65535.0).round() as u16;
        assert_eq!(at(&canvas, 0, 0), white);
        assert_eq!(at(&canvas, 1, 0), 40000);
    }
}
