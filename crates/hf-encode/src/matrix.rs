//! Direct YCbCr-to-YCbCr conversion between matrices and ranges: JPEG's full-range BT.601 to
//! limited-range BT.709 for encoding captured frames, and a video's limited-range BT.601/709 to
//! JPEG's full-range BT.601 for extracted video frames.
//!
//! Both sides are linear in RGB, so the composite map is affine and needs no RGB round trip:
//! one integer pass over the planes instead of two swscale passes. Out-of-gamut inputs are not
//! clamped to RGB first; for sRGB content that only touches compression noise.

use ffmpeg_next::{format::Pixel, frame};

/// Fixed-point scale of the coefficients (Q14).
const SHIFT: u32 = 14;
const ONE: f64 = (1 << SHIFT) as f64;

/// A YCbCr encoding: luma weights and range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Colorimetry {
    kr: f64,
    kb: f64,
    full_range: bool,
}

impl Colorimetry {
    /// JPEG's (JFIF) encoding.
    pub(crate) const BT601_FULL: Self = Colorimetry {
        kr: 0.299,
        kb: 0.114,
        full_range: true,
    };
    /// SD video.
    pub(crate) const BT601_LIMITED: Self = Colorimetry {
        kr: 0.299,
        kb: 0.114,
        full_range: false,
    };
    /// HD video, and hf's output.
    pub(crate) const BT709_LIMITED: Self = Colorimetry {
        kr: 0.2126,
        kb: 0.0722,
        full_range: false,
    };

    /// `(luma offset, luma scale, chroma scale)` relative to full range.
    fn range(self) -> (i32, f64, f64) {
        if self.full_range {
            (0, 1.0, 1.0)
        } else {
            (16, 219.0 / 255.0, 224.0 / 255.0)
        }
    }
}

/// The affine map `[Y - in_offset, Cb-128, Cr-128] -> [Y', Cb', Cr']` in Q14.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct YcbcrMap {
    /// `Y' = out_offset + y[0]*(Y - in_offset) + y[1]*cb + y[2]*cr`.
    y: [i32; 3],
    /// `Cb' = 128 + cb[0]*cb + cb[1]*cr` (independent of Y).
    cb: [i32; 2],
    /// `Cr' = 128 + cr[0]*cb + cr[1]*cr`.
    cr: [i32; 2],
    in_offset: i32,
    out_offset: i32,
    out_full_range: bool,
}

/// `YCbCr -> RGB` for luma weights `(kr, kb)`, full range, chroma centred on 0.
fn ycbcr_to_rgb(kr: f64, kb: f64) -> [[f64; 3]; 3] {
    let kg = 1.0 - kr - kb;
    [
        [1.0, 0.0, 2.0 * (1.0 - kr)],
        [
            1.0,
            -2.0 * kb * (1.0 - kb) / kg,
            -2.0 * kr * (1.0 - kr) / kg,
        ],
        [1.0, 2.0 * (1.0 - kb), 0.0],
    ]
}

/// `RGB -> YCbCr` for luma weights `(kr, kb)`, full range, chroma centred on 0.
fn rgb_to_ycbcr(kr: f64, kb: f64) -> [[f64; 3]; 3] {
    let kg = 1.0 - kr - kb;
    [
        [kr, kg, kb],
        [-kr / (2.0 * (1.0 - kb)), -kg / (2.0 * (1.0 - kb)), 0.5],
        [0.5, -kg / (2.0 * (1.0 - kr)), -kb / (2.0 * (1.0 - kr))],
    ]
}

fn multiply(a: [[f64; 3]; 3], b: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

impl YcbcrMap {
    pub(crate) fn new(from: Colorimetry, to: Colorimetry) -> Self {
        let m = multiply(rgb_to_ycbcr(to.kr, to.kb), ycbcr_to_rgb(from.kr, from.kb));
        let (in_offset, in_luma, in_chroma) = from.range();
        let (out_offset, out_luma, out_chroma) = to.range();
        let q = |v: f64| (v * ONE).round() as i32;
        YcbcrMap {
            y: [
                q(out_luma / in_luma * m[0][0]),
                q(out_luma / in_chroma * m[0][1]),
                q(out_luma / in_chroma * m[0][2]),
            ],
            cb: [
                q(out_chroma / in_chroma * m[1][1]),
                q(out_chroma / in_chroma * m[1][2]),
            ],
            cr: [
                q(out_chroma / in_chroma * m[2][1]),
                q(out_chroma / in_chroma * m[2][2]),
            ],
            in_offset,
            out_offset,
            out_full_range: to.full_range,
        }
    }

    /// The pixel format of this map's output: `yuvj420p` when it is full range, else `yuv420p`.
    pub(crate) fn output_format(&self) -> Pixel {
        if self.out_full_range {
            Pixel::YUVJ420P
        } else {
            Pixel::YUV420P
        }
    }

    /// Whether `source` takes the direct route: an 8-bit 4:2:0 frame of even size (other layouts
    /// take swscale's).
    pub(crate) fn accepts(source: &frame::Video) -> bool {
        matches!(source.format(), Pixel::YUVJ420P | Pixel::YUV420P)
            && source.width().is_multiple_of(2)
            && source.height().is_multiple_of(2)
    }

    /// Convert a decoded 8-bit 4:2:0 frame into a new frame of the same size in the target
    /// encoding ([`Self::output_format`]). `None` for other layouts (they take swscale's route).
    pub(crate) fn convert(&self, source: &frame::Video) -> Option<frame::Video> {
        if !Self::accepts(source) {
            return None;
        }
        let mut out = frame::Video::new(self.output_format(), source.width(), source.height());
        self.convert_into(source, &mut out);
        Some(out)
    }

    /// [`Self::convert`] into `out`, a writable frame of the source's size in
    /// [`Self::output_format`] (reused from frame to frame: no allocation on the hot path).
    pub(crate) fn convert_into(&self, source: &frame::Video, out: &mut frame::Video) {
        debug_assert!(Self::accepts(source));
        debug_assert_eq!(
            (out.format(), out.width(), out.height()),
            (self.output_format(), source.width(), source.height())
        );
        let (width, height) = (source.width() as usize, source.height() as usize);
        let chroma_width = width / 2;
        // Borrow each input plane once: `frame::Video::data` is an FFI call.
        let strides = [source.stride(0), source.stride(1), source.stride(2)];
        let (luma_in, cb_in, cr_in) = (source.data(0), source.data(1), source.data(2));
        let chroma_rows = |cy: usize| {
            (
                &cb_in[cy * strides[1]..][..chroma_width],
                &cr_in[cy * strides[2]..][..chroma_width],
            )
        };
        let round = 1 << (SHIFT - 1);
        let luma_offset = (self.out_offset << SHIFT) + round - self.y[0] * self.in_offset;
        let chroma_offset = (128 << SHIFT) + round;
        let clamp = |v: i32| (v >> SHIFT).clamp(0, 255) as u8;

        // Luma: each pair of samples shares the chroma sample below it.
        let luma_stride = out.stride(0);
        let luma_out = out.data_mut(0);
        for row in 0..height {
            let (cb_row, cr_row) = chroma_rows(row / 2);
            let source_row = &luma_in[row * strides[0]..][..width];
            let target_row = &mut luma_out[row * luma_stride..][..width];
            for (((target, pair), &cb), &cr) in target_row
                .chunks_exact_mut(2)
                .zip(source_row.chunks_exact(2))
                .zip(cb_row)
                .zip(cr_row)
            {
                let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
                let correction = luma_offset + self.y[1] * cb + self.y[2] * cr;
                target[0] = clamp(correction + self.y[0] * i32::from(pair[0]));
                target[1] = clamp(correction + self.y[0] * i32::from(pair[1]));
            }
        }
        // Chroma: each output plane is an affine map of both input chroma planes.
        for (plane, weights) in [(1, self.cb), (2, self.cr)] {
            let stride = out.stride(plane);
            let plane_out = out.data_mut(plane);
            for cy in 0..height / 2 {
                let (cb_row, cr_row) = chroma_rows(cy);
                let target_row = &mut plane_out[cy * stride..][..chroma_width];
                for ((target, &cb), &cr) in target_row.iter_mut().zip(cb_row).zip(cr_row) {
                    let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
                    *target = clamp(chroma_offset + weights[0] * cb + weights[1] * cr);
                }
            }
        }
    }
}

/// Convert one full-range BT.601 pixel through RGB in floating point, the slow exact way.
#[cfg(test)]
pub(crate) fn reference(y: f64, cb: f64, cr: f64) -> [f64; 3] {
    let to_rgb = ycbcr_to_rgb(0.299, 0.114);
    let to_yuv = rgb_to_ycbcr(0.2126, 0.0722);
    let input = [y / 255.0, (cb - 128.0) / 255.0, (cr - 128.0) / 255.0];
    let rgb: Vec<f64> = (0..3)
        .map(|i| (0..3).map(|k| to_rgb[i][k] * input[k]).sum())
        .collect();
    let out: Vec<f64> = (0..3)
        .map(|i| (0..3).map(|k| to_yuv[i][k] * rgb[k]).sum())
        .collect();
    [
        16.0 + 219.0 * out[0],
        128.0 + 224.0 * out[1],
        128.0 + 224.0 * out[2],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rgb_round_trip_for_primaries_and_greys() {
        let m = YcbcrMap::new(Colorimetry::BT601_FULL, Colorimetry::BT709_LIMITED);
        // Full-range BT.601 encodings of black, white, grey, red, green, blue.
        for (y, cb, cr) in [
            (0, 128, 128),
            (255, 128, 128),
            (128, 128, 128),
            (76, 85, 255),
            (150, 44, 21),
            (29, 255, 107),
        ] {
            let want = reference(f64::from(y), f64::from(cb), f64::from(cr));
            let (cbc, crc) = (cb - 128, cr - 128);
            let got = [
                16.0 + f64::from((m.y[0] * y + m.y[1] * cbc + m.y[2] * crc + 8192) >> SHIFT),
                128.0 + f64::from((m.cb[0] * cbc + m.cb[1] * crc + 8192) >> SHIFT),
                128.0 + f64::from((m.cr[0] * cbc + m.cr[1] * crc + 8192) >> SHIFT),
            ];
            for c in 0..3 {
                assert!(
                    (got[c] - want[c].clamp(0.0, 255.0)).abs() <= 1.0,
                    "({y},{cb},{cr}) -> {got:?}, want {want:?}"
                );
            }
        }
        // Pure red in limited BT.709 is (63, 102, 240).
        let red = reference(76.245, 84.972, 255.5);
        assert!(
            (red[0] - 63.0).abs() < 1.0
                && (red[1] - 102.0).abs() < 1.0
                && (red[2] - 240.0).abs() < 1.0,
            "{red:?}"
        );
    }

    /// Encode an RGB colour in `c` (0..255 per level, as libav would).
    fn encode(rgb: [f64; 3], c: Colorimetry) -> [u8; 3] {
        let m = rgb_to_ycbcr(c.kr, c.kb);
        let v: Vec<f64> = (0..3)
            .map(|i| (0..3).map(|k| m[i][k] * rgb[k] / 255.0).sum())
            .collect();
        let (offset, luma, chroma) = c.range();
        [
            (f64::from(offset) + 255.0 * luma * v[0]).round() as u8,
            (128.0 + 255.0 * chroma * v[1]).round().clamp(0.0, 255.0) as u8,
            (128.0 + 255.0 * chroma * v[2]).round().clamp(0.0, 255.0) as u8,
        ]
    }

    #[test]
    fn video_encodings_map_to_jpeg_as_through_rgb() {
        for from in [Colorimetry::BT601_LIMITED, Colorimetry::BT709_LIMITED] {
            let map = YcbcrMap::new(from, Colorimetry::BT601_FULL);
            for rgb in [
                [0.0, 0.0, 0.0],
                [255.0, 255.0, 255.0],
                [255.0, 0.0, 0.0],
                [0.0, 255.0, 0.0],
                [0.0, 0.0, 255.0],
                [255.0, 128.0, 0.0],
                [40.0, 90.0, 200.0],
            ] {
                let mut source = frame::Video::new(Pixel::YUV420P, 2, 2);
                let [y, cb, cr] = encode(rgb, from);
                for (plane, value) in [(0, y), (1, cb), (2, cr)] {
                    let stride = source.stride(plane);
                    let data = source.data_mut(plane);
                    let rows = if plane == 0 { 2 } else { 1 };
                    let cols = if plane == 0 { 2 } else { 1 };
                    for r in 0..rows {
                        data[r * stride..r * stride + cols].fill(value);
                    }
                }
                let out = map.convert(&source).expect("4:2:0 converts directly");
                assert_eq!(out.format(), Pixel::YUVJ420P);
                let want = encode(rgb, Colorimetry::BT601_FULL);
                let got = [out.data(0)[0], out.data(1)[0], out.data(2)[0]];
                for c in 0..3 {
                    assert!(
                        got[c].abs_diff(want[c]) <= 2,
                        "{from:?} {rgb:?}: got {got:?}, want {want:?}"
                    );
                }
            }
        }
    }
}
