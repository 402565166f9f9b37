//! Captured frames: decode the browser's JPEG/PNG and convert to the encoder's pixel format.

use crate::matrix::{Colorimetry, YcbcrMap};
use crate::{EncodeError, VideoCodec};
use ffmpeg_next::{codec, decoder, format::Pixel, frame, software::scaling, Packet};
use hf_core::{ImageFormat, IoError};
use std::path::Path;

/// libav colour matrix ids (`SWS_CS_*` in swscale.h).
#[derive(Clone, Copy)]
pub(crate) enum Matrix {
    Bt601 = 5,
    Bt709 = 1,
    Bt2020 = 9,
}

/// Set swscale's matrices and ranges (swscale otherwise assumes BT.601 everywhere).
pub(crate) fn set_colorspace(
    ctx: &mut scaling::Context,
    src: Matrix,
    src_full_range: bool,
    dst: Matrix,
    dst_full_range: bool,
) {
    // SAFETY: the context pointer is valid for the lifetime of `ctx`; the coefficient tables are
    // static tables owned by libswscale.
    unsafe {
        let src_table = ffmpeg_next::ffi::sws_getCoefficients(src as i32);
        let dst_table = ffmpeg_next::ffi::sws_getCoefficients(dst as i32);
        ffmpeg_next::ffi::sws_setColorspaceDetails(
            ctx.as_mut_ptr(),
            src_table,
            i32::from(src_full_range),
            dst_table,
            i32::from(dst_full_range),
            0,
            1 << 16,
            1 << 16,
        );
    }
}

/// A packet holding one whole image. Marked as a keyframe: libav's PNG decoder treats a
/// packet without the flag as a delta on the previous picture (the MPNG convention) and adds
/// the two together.
pub(crate) fn image_packet(bytes: &[u8]) -> Packet {
    let mut packet = Packet::copy(bytes);
    packet.set_flags(ffmpeg_next::packet::Flags::KEY);
    packet
}

/// Read one PNG/JPEG file into a decoded frame.
pub(crate) fn decode_image(path: &Path, index: u64) -> Result<frame::Video, EncodeError> {
    let bytes = std::fs::read(path).map_err(IoError::with("read frame", path))?;
    let bad = |reason: String| EncodeError::BadFrame { index, reason };
    let codec = decoder::find(codec::Id::PNG).ok_or_else(|| bad("no PNG decoder".into()))?;
    let mut decoder = {
        let _open = crate::libav::codec_open_lock();
        codec::context::Context::new_with_codec(codec)
            .decoder()
            .video()
            .map_err(EncodeError::libav("open the PNG decoder"))?
    };
    decoder
        .send_packet(&image_packet(&bytes))
        .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let mut decoded = frame::Video::empty();
    decoder
        .receive_frame(&mut decoded)
        .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    Ok(decoded)
}

/// A swscale context cached by its input shape.
struct CachedScaler {
    key: (Pixel, u32, u32),
    context: scaling::Context,
}

/// Decodes captured frames and converts them to the encoder's pixel format: limited-range
/// BT.709 `yuv420p` for H.264/H.265, limited-range BT.601 `yuva420p` for VP9 and BT.709
/// `yuva444p10le` for ProRes 4444, keeping the image's alpha. Odd sizes of 4:2:0 formats are
/// padded by one transparent black column/row on the right/bottom.
///
/// JPEG goes through full-range RGB: JPEG's YCbCr uses the BT.601 matrix, so a plain
/// YUV-to-YUV range change would shift colours when the output is tagged BT.709.
pub(crate) struct FrameConverter {
    /// Picture size (before padding).
    width: u32,
    height: u32,
    codec: VideoCodec,
    jpeg: Option<decoder::Video>,
    png: Option<decoder::Video>,
    to_rgb: Option<CachedScaler>,
    to_target: Option<scaling::Context>,
    decoded: frame::Video,
    rgb: frame::Video,
    direct: YcbcrMap,
    /// The last converted frame, reused for the next one once the encoder let go of it.
    output: Option<frame::Video>,
}

/// A writable frame of `format` and size in `slot`: the frame already there when nothing else
/// holds its buffers (an encoder may keep a reference), else a fresh one. Converting into the
/// same buffers every frame spares a multi-megabyte allocation, its page faults and (with
/// `M_PERTURB`, see [`crate::init`]) its fill.
fn writable_frame(
    slot: &mut Option<frame::Video>,
    format: Pixel,
    width: u32,
    height: u32,
) -> &mut frame::Video {
    let reusable = slot.as_ref().is_some_and(|frame| {
        (frame.format(), frame.width(), frame.height()) == (format, width, height)
            // SAFETY: only reads the reference counts of the frame's own buffers.
            && unsafe { ffmpeg_next::ffi::av_frame_is_writable(frame.as_ptr().cast_mut()) } > 0
    });
    if !reusable {
        *slot = Some(frame::Video::new(format, width, height));
    }
    slot.as_mut().expect("the slot was just filled")
}

impl FrameConverter {
    pub(crate) fn new(width: u32, height: u32, codec: VideoCodec) -> Self {
        FrameConverter {
            width,
            height,
            codec,
            jpeg: None,
            png: None,
            to_rgb: None,
            to_target: None,
            decoded: frame::Video::empty(),
            rgb: frame::Video::empty(),
            direct: YcbcrMap::new(Colorimetry::BT601_FULL, Colorimetry::BT709_LIMITED),
            output: None,
        }
    }

    /// The frame the last [`Self::convert`] produced (what a repeated frame shows again).
    pub(crate) fn last(&mut self) -> Option<&mut frame::Video> {
        self.output.as_mut()
    }

    /// Decode `bytes` and return the frame in the encoder's format and size. The frame is the
    /// converter's own and is overwritten by the next call.
    pub(crate) fn convert(
        &mut self,
        index: u64,
        format: ImageFormat,
        bytes: &[u8],
    ) -> Result<&mut frame::Video, EncodeError> {
        let bad = |reason: String| EncodeError::BadFrame { index, reason };
        let slot = match format {
            ImageFormat::Jpeg => &mut self.jpeg,
            ImageFormat::Png => &mut self.png,
        };
        if slot.is_none() {
            let id = match format {
                ImageFormat::Jpeg => codec::Id::MJPEG,
                ImageFormat::Png => codec::Id::PNG,
            };
            let codec = decoder::find(id).ok_or_else(|| bad(format!("no {id:?} decoder")))?;
            let ctx = codec::context::Context::new_with_codec(codec);
            let _open = crate::libav::codec_open_lock();
            *slot = Some(
                ctx.decoder()
                    .video()
                    .map_err(EncodeError::libav("open image decoder"))?,
            );
        }
        let decoder = slot.as_mut().expect("decoder was just created");
        decoder
            .send_packet(&image_packet(bytes))
            .map_err(|e| bad(e.to_string()))?;
        decoder
            .receive_frame(&mut self.decoded)
            .map_err(|e| bad(e.to_string()))?;

        // JPEG at the output size: one direct pass (see `matrix`).
        let is_jpeg_420 = self.decoded.format() == Pixel::YUVJ420P;
        let target = self.codec.pixel_format();
        if is_jpeg_420
            && target == self.direct.output_format()
            && (self.decoded.width(), self.decoded.height()) == (self.width, self.height)
            && YcbcrMap::accepts(&self.decoded)
        {
            let out = writable_frame(&mut self.output, target, self.width, self.height);
            self.direct.convert_into(&self.decoded, out);
            return Ok(out);
        }
        self.convert_decoded_via_rgb()
    }

    /// The general route for the frame in `self.decoded`: swscale to full-range RGBA at the
    /// picture size, then to the target format (padded when the size is odd).
    fn convert_decoded_via_rgb(&mut self) -> Result<&mut frame::Video, EncodeError> {
        let (src_format, full_range) = match self.decoded.format() {
            Pixel::YUVJ420P => (Pixel::YUV420P, true),
            Pixel::YUVJ422P => (Pixel::YUV422P, true),
            Pixel::YUVJ444P => (Pixel::YUV444P, true),
            other => (other, true),
        };
        let key = (src_format, self.decoded.width(), self.decoded.height());
        if self.to_rgb.as_ref().map(|s| s.key) != Some(key) {
            let mut context = scaling::Context::get(
                src_format,
                key.1,
                key.2,
                Pixel::RGBA,
                self.width,
                self.height,
                scaling::Flags::BILINEAR,
            )
            .map_err(EncodeError::libav("create RGB converter"))?;
            set_colorspace(&mut context, Matrix::Bt601, full_range, Matrix::Bt601, true);
            self.to_rgb = Some(CachedScaler { key, context });
        }
        // Present JPEG's yuvj formats under their non-deprecated names: swscale warns about
        // the `j` formats, and the range is already set explicitly above.
        self.decoded.set_format(src_format);
        let scaler = &mut self
            .to_rgb
            .as_mut()
            .expect("scaler was just created")
            .context;
        scaler
            .run(&self.decoded, &mut self.rgb)
            .map_err(EncodeError::libav("convert frame to RGB"))?;
        self.rgb_to_target()
    }

    /// Convert straight RGBA `pixels` of the picture size (a frame hf made, such as a
    /// blended transition) to the encoder's format.
    pub(crate) fn convert_rgba(
        &mut self,
        index: u64,
        width: u32,
        height: u32,
        pixels: &[u8],
    ) -> Result<&mut frame::Video, EncodeError> {
        if (width, height) != (self.width, self.height)
            || pixels.len() != (width * height * 4) as usize
        {
            return Err(EncodeError::BadFrame {
                index,
                reason: format!(
                    "a {width}x{height} RGBA frame ({} bytes) in a {}x{} render",
                    pixels.len(),
                    self.width,
                    self.height
                ),
            });
        }
        if (self.rgb.format(), self.rgb.width(), self.rgb.height()) != (Pixel::RGBA, width, height)
        {
            self.rgb = frame::Video::new(Pixel::RGBA, width, height);
        }
        let stride = self.rgb.stride(0);
        let row_bytes = width as usize * 4;
        let data = self.rgb.data_mut(0);
        for (y, row) in pixels.chunks_exact(row_bytes).enumerate() {
            data[y * stride..y * stride + row_bytes].copy_from_slice(row);
        }
        self.rgb_to_target()
    }

    /// The frame in `self.rgb` (full-range RGBA at the picture size) in the target format,
    /// padded when the size is odd.
    fn rgb_to_target(&mut self) -> Result<&mut frame::Video, EncodeError> {
        let target = self.codec.pixel_format();
        if self.to_target.is_none() {
            let mut context = scaling::Context::get(
                Pixel::RGBA,
                self.width,
                self.height,
                target,
                self.width,
                self.height,
                scaling::Flags::BICUBIC,
            )
            .map_err(EncodeError::libav("create YUV converter"))?;
            let matrix = if self.codec.uses_bt709() {
                Matrix::Bt709
            } else {
                Matrix::Bt601
            };
            set_colorspace(&mut context, matrix, true, matrix, false);
            self.to_target = Some(context);
        }
        let (width, height) = self.codec.encoded_size(self.width, self.height);
        let scaler = self.to_target.as_mut().expect("converter was just created");
        if (width, height) == (self.width, self.height) {
            let out = writable_frame(&mut self.output, target, width, height);
            scaler
                .run(&self.rgb, out)
                .map_err(EncodeError::libav("convert frame to the encoder's format"))?;
            return Ok(out);
        }
        let mut converted = frame::Video::empty();
        scaler
            .run(&self.rgb, &mut converted)
            .map_err(EncodeError::libav("convert frame to the encoder's format"))?;
        Ok(self.output.insert(pad_8bit(&converted, width, height)))
    }
}

/// Copy an 8-bit planar YUV(A) 4:2:0 frame into a larger one whose extra right column and
/// bottom row are black and transparent (what ffmpeg's `pad` filter gives HyperFrames).
fn pad_8bit(source: &frame::Video, width: u32, height: u32) -> frame::Video {
    let format = source.format();
    let mut padded = frame::Video::new(format, width, height);
    let planes = padded.planes();
    for plane in 0..planes {
        // Luma and alpha are full size; chroma is already (w+1)/2 x (h+1)/2 on both sides.
        let fill = match (plane, format) {
            (1 | 2, _) => 128u8,
            (3, _) => 0,
            _ => 16,
        };
        let (src_w, src_h) = (source.plane_width(plane), source.plane_height(plane));
        let dst_stride = padded.stride(plane);
        let src_stride = source.stride(plane);
        let dst_h = padded.plane_height(plane) as usize;
        let data = padded.data_mut(plane);
        data[..dst_stride * dst_h].fill(fill);
        for row in 0..src_h as usize {
            let from = &source.data(plane)[row * src_stride..][..src_w as usize];
            data[row * dst_stride..][..src_w as usize].copy_from_slice(from);
        }
    }
    padded.set_color_range(source.color_range());
    padded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_pass_agrees_with_the_rgb_round_trip_on_a_test_pattern() {
        crate::init();
        let dir = std::env::temp_dir().join(format!("hf-bars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // testsrc2 is drawn in RGB, so its YCbCr is in gamut like a screenshot's (SMPTE bars are
        // not: the RGB route clamps those and the comparison would measure the clamp).
        let path = dir.join("pattern.jpg");
        let status = std::process::Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x180",
                "-frames:v",
                "1",
                "-q:v",
                "2",
            ])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        let mut converter = FrameConverter::new(320, 180, VideoCodec::H264);
        let direct = converter
            .convert(0, ImageFormat::Jpeg, &bytes)
            .unwrap()
            .clone();
        // A fresh slot: the direct frame above must stay as it is.
        converter.output = None;
        let via_rgb = converter.convert_decoded_via_rgb().unwrap().clone();
        // Luma against the RGB round trip (it differs only next to chroma edges).
        let (w, h) = (320usize, 180usize);
        let (mut total, mut worst) = (0u64, 0u8);
        for y in 0..h {
            let a = &direct.data(0)[y * direct.stride(0)..][..w];
            let b = &via_rgb.data(0)[y * via_rgb.stride(0)..][..w];
            for (p, q) in a.iter().zip(b) {
                total += u64::from(p.abs_diff(*q));
                worst = worst.max(p.abs_diff(*q));
            }
        }
        let mean = total as f64 / (w * h) as f64;
        assert!(mean < 1.0, "luma: mean difference {mean:.3}");
        assert!(worst <= 24, "luma: worst difference {worst}");
        // Chroma keeps JPEG's own samples: each must be the exact map of its source sample.
        let source = &converter.decoded;
        for (plane, component) in [(1, 1), (2, 2)] {
            for cy in 0..h / 2 {
                for cx in 0..w / 2 {
                    let cb = f64::from(source.data(1)[cy * source.stride(1) + cx]);
                    let cr = f64::from(source.data(2)[cy * source.stride(2) + cx]);
                    let want = crate::matrix::reference(128.0, cb, cr)[component].clamp(0.0, 255.0);
                    let got = f64::from(direct.data(plane)[cy * direct.stride(plane) + cx]);
                    assert!(
                        (got - want).abs() <= 1.0,
                        "plane {plane} at ({cx},{cy}): {got} vs {want:.2}"
                    );
                }
            }
        }
    }
}
