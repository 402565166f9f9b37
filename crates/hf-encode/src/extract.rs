//! The extract stage: decode the source frames a render shows into images the page displays.

use crate::image::{set_colorspace, Matrix};
use crate::matrix::{Colorimetry, YcbcrMap};
use crate::streams::{seconds, seek_before, stream_rotation, stream_start, video_decoder_for};
use crate::EncodeError;
use ffmpeg_next::{codec, color, format::Pixel, frame, media, software::scaling, Packet};
use hf_core::{extracted_frame_name, Fps, IoError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Input of [`extract_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtractInput {
    /// The source video.
    pub source: PathBuf,
    /// Source time of frame 0, in seconds.
    pub media_start: f64,
    /// Frame `k` is the source at `media_start + k / fps`.
    pub fps: Fps,
    /// The frames to write, ascending and without repeats.
    pub frames: Vec<u64>,
    /// Where `<k:06>.jpg` (or `.png` for alpha sources) files go (created).
    pub output_dir: PathBuf,
    /// Keep the alpha channel (PNG output).
    pub alpha: bool,
    /// Scale frames down to this size when the source is larger (a video shown in a smaller
    /// box needs no more pixels); `None` keeps the source size.
    #[serde(default)]
    pub shrink_to: Option<(u32, u32)>,
}

/// Result of [`extract_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtractOutput {
    /// Files written.
    pub written: u64,
    /// File extension of the images: `jpg` or `png`.
    pub extension: String,
}

/// The matrix a browser assumes for video without a colour-space tag, which HyperFrames
/// follows: BT.709 from 720 lines up, except VP9 and AV1 (and everything smaller), BT.601.
fn untagged_is_bt709(codec: codec::Id, height: u32) -> bool {
    height >= 720 && !matches!(codec, codec::Id::VP9 | codec::Id::AV1)
}

/// Turns decoded source frames into JPEG (or RGBA PNG) files.
struct ImageWriter {
    alpha: bool,
    /// PQ/HLG sources go through this tone-mapping graph first (built on the first frame).
    tone_map: Option<ffmpeg_next::filter::Graph>,
    tone_mapped: frame::Video,
    /// Clockwise quarter turns applied to every picture.
    quarter_turns: u32,
    to_rgb: Option<(Pixel, u32, u32, scaling::Context)>,
    to_jpeg: Option<scaling::Context>,
    /// The image encoder and the picture size it was opened for.
    encoder: Option<(u32, u32, ffmpeg_next::encoder::Video)>,
    rgb: frame::Video,
    /// Encoders want increasing timestamps, even for unrelated images.
    pts: i64,
    /// Target size for shrinking 4:2:0 frames, and the scaler doing it.
    shrink_to: Option<(u32, u32)>,
    /// The matrix of frames that carry no colour-space tag (see [`untagged_matrix`]).
    untagged_bt709: bool,
    shrinker: Option<(Pixel, u32, u32, scaling::Context)>,
}

impl ImageWriter {
    fn new(alpha: bool, rotation: u32) -> Self {
        ImageWriter {
            alpha,
            tone_map: None,
            tone_mapped: frame::Video::empty(),
            quarter_turns: rotation / 90 % 4,
            to_rgb: None,
            to_jpeg: None,
            encoder: None,
            rgb: frame::Video::empty(),
            pts: 0,
            shrink_to: None,
            shrinker: None,
            untagged_bt709: false,
        }
    }

    /// Whether `frame` is BT.709 (by its tag, else by the guess for untagged frames).
    fn is_bt709(&self, frame: &frame::Video) -> bool {
        match frame.color_space() {
            color::Space::BT709 => true,
            color::Space::Unspecified => self.untagged_bt709,
            _ => false,
        }
    }

    /// `source` scaled down to the shrink size (colour tags kept), when it is larger.
    fn shrink(&mut self, source: &frame::Video) -> Result<Option<frame::Video>, EncodeError> {
        let Some((w, h)) = self.shrink_to else {
            return Ok(None);
        };
        let (sw, sh, format) = (source.width(), source.height(), source.format());
        if w >= sw || h >= sh || !matches!(format, Pixel::YUV420P | Pixel::YUVJ420P) {
            return Ok(None);
        }
        if !matches!(&self.shrinker, Some((f, cw, ch, _)) if *f == format && *cw == sw && *ch == sh)
        {
            let context = scaling::Context::get(format, sw, sh, format, w, h, scaling::Flags::AREA)
                .map_err(EncodeError::libav("create the frame scaler"))?;
            self.shrinker = Some((format, sw, sh, context));
        }
        let (_, _, _, scaler) = self.shrinker.as_mut().expect("scaler was just created");
        let mut out = frame::Video::empty();
        scaler
            .run(source, &mut out)
            .map_err(EncodeError::libav("scale a source frame"))?;
        out.set_color_space(source.color_space());
        out.set_color_range(source.color_range());
        Ok(Some(out))
    }

    /// Encode `source` to image bytes.
    fn encode(&mut self, source: &frame::Video) -> Result<Vec<u8>, EncodeError> {
        use color::TransferCharacteristic as Trc;
        if matches!(
            source.color_transfer_characteristic(),
            Trc::SMPTE2084 | Trc::ARIB_STD_B67
        ) {
            self.tone_map(source)?;
            let mapped = std::mem::replace(&mut self.tone_mapped, frame::Video::empty());
            let result = self.encode_sdr(&mapped);
            self.tone_mapped = mapped;
            return result;
        }
        self.encode_sdr(source)
    }

    /// Tone-map an HDR (PQ or HLG) frame to SDR BT.709 into `self.tone_mapped`, as HyperFrames
    /// does for HDR sources in an SDR render (zscale to linear light, Hable, back to BT.709).
    fn tone_map(&mut self, source: &frame::Video) -> Result<(), EncodeError> {
        use ffmpeg_next::filter;
        if self.tone_map.is_none() {
            let mut graph = filter::Graph::new();
            let args = format!(
                "video_size={}x{}:pix_fmt={}:time_base=1/25:pixel_aspect=1/1",
                source.width(),
                source.height(),
                ffmpeg_next::ffi::AVPixelFormat::from(source.format()) as i32
            );
            graph
                .add(&filter::find("buffer").expect("buffer filter"), "in", &args)
                .map_err(EncodeError::libav("create the tone-mapping source"))?;
            graph
                .add(
                    &filter::find("buffersink").expect("buffersink filter"),
                    "out",
                    "",
                )
                .map_err(EncodeError::libav("create the tone-mapping sink"))?;
            graph
                .output("in", 0)
                .and_then(|p| p.input("out", 0))
                .and_then(|p| {
                    p.parse(
                        "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,\
                         tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p",
                    )
                })
                .map_err(EncodeError::libav("build the tone-mapping filter"))?;
            graph.validate().map_err(EncodeError::libav(
                "configure the tone-mapping filter (zscale)",
            ))?;
            self.tone_map = Some(graph);
        }
        let graph = self.tone_map.as_mut().expect("graph was just built");
        graph
            .get("in")
            .expect("source exists")
            .source()
            .add(source)
            .map_err(EncodeError::libav("tone-map a frame"))?;
        graph
            .get("out")
            .expect("sink exists")
            .sink()
            .frame(&mut self.tone_mapped)
            .map_err(EncodeError::libav("tone-map a frame"))
    }

    fn encode_sdr(&mut self, source: &frame::Video) -> Result<Vec<u8>, EncodeError> {
        if !self.alpha && self.quarter_turns == 0 {
            if let Some(small) = self.shrink(source)? {
                if let Some(mut picture) = self.direct_jpeg_picture(&small) {
                    return self.encode_picture(&mut picture);
                }
            }
        }
        if let Some(mut picture) = self.direct_jpeg_picture(source) {
            return self.encode_picture(&mut picture);
        }
        let (w, h, format) = (source.width(), source.height(), source.format());
        let rgb_format = if self.alpha {
            Pixel::RGBA
        } else {
            Pixel::RGB24
        };
        if !matches!(&self.to_rgb, Some((f, cw, ch, _)) if *f == format && *cw == w && *ch == h) {
            let mut context =
                scaling::Context::get(format, w, h, rgb_format, w, h, scaling::Flags::BILINEAR)
                    .map_err(EncodeError::libav("create the source colour converter"))?;
            let matrix = if self.is_bt709(source) {
                Matrix::Bt709
            } else {
                Matrix::Bt601
            };
            let full = source.color_range() == color::Range::JPEG
                || matches!(format, Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P);
            set_colorspace(&mut context, matrix, full, matrix, true);
            self.to_rgb = Some((format, w, h, context));
            self.to_jpeg = None;
        }
        let (_, _, _, to_rgb) = self.to_rgb.as_mut().expect("converter was just created");
        to_rgb
            .run(source, &mut self.rgb)
            .map_err(EncodeError::libav("convert a source frame to RGB"))?;
        if self.quarter_turns != 0 {
            self.rgb = rotate_picture(&self.rgb, self.quarter_turns);
        }
        let (w, h) = (self.rgb.width(), self.rgb.height());
        let mut picture = if self.alpha {
            self.rgb.clone()
        } else {
            if self.to_jpeg.is_none() {
                let mut context = scaling::Context::get(
                    Pixel::RGB24,
                    w,
                    h,
                    Pixel::YUVJ420P,
                    w,
                    h,
                    scaling::Flags::BILINEAR,
                )
                .map_err(EncodeError::libav("create the JPEG colour converter"))?;
                set_colorspace(&mut context, Matrix::Bt601, true, Matrix::Bt601, true);
                self.to_jpeg = Some(context);
            }
            let mut out = frame::Video::empty();
            self.to_jpeg
                .as_mut()
                .expect("converter was just created")
                .run(&self.rgb, &mut out)
                .map_err(EncodeError::libav("convert a source frame for JPEG"))?;
            out
        };
        self.encode_picture(&mut picture)
    }

    /// The JPEG picture of an upright 8-bit 4:2:0 SDR frame in one integer pass (no RGB round
    /// trip), or `None` when the frame needs swscale's route.
    fn direct_jpeg_picture(&self, source: &frame::Video) -> Option<frame::Video> {
        if self.alpha || self.quarter_turns != 0 {
            return None;
        }
        let full = source.color_range() == color::Range::JPEG || source.format() == Pixel::YUVJ420P;
        let from = match (self.is_bt709(source), full) {
            (true, false) => Colorimetry::BT709_LIMITED,
            (true, true) => return None,
            (false, false) => Colorimetry::BT601_LIMITED,
            (false, true) => Colorimetry::BT601_FULL,
        };
        YcbcrMap::new(from, Colorimetry::BT601_FULL).convert(source)
    }

    /// Encode a picture in the image format (`yuvj420p` JPEG, or RGBA PNG for alpha).
    fn encode_picture(&mut self, picture: &mut frame::Video) -> Result<Vec<u8>, EncodeError> {
        let (w, h, format) = (picture.width(), picture.height(), picture.format());
        let id = if self.alpha {
            codec::Id::PNG
        } else {
            codec::Id::MJPEG
        };
        if !matches!(&self.encoder, Some((cw, ch, _)) if *cw == w && *ch == h) {
            let codec = ffmpeg_next::encoder::find(id).ok_or(EncodeError::MissingEncoder {
                encoder: if self.alpha { "png" } else { "mjpeg" },
                package: "libavcodec59",
            })?;
            let mut enc = codec::context::Context::new_with_codec(codec)
                .encoder()
                .video()
                .map_err(EncodeError::libav("create an image encoder"))?;
            enc.set_width(w);
            enc.set_height(h);
            enc.set_format(format);
            enc.set_time_base((1, 25));
            let mut options = ffmpeg_next::Dictionary::new();
            if self.alpha {
                options.set("compression_level", "1");
            } else {
                // Quality as HyperFrames extracts frames: -q:v 2.
                enc.set_flags(codec::Flags::QSCALE);
                enc.set_global_quality(2 * ffmpeg_next::ffi::FF_QP2LAMBDA);
                enc.set_color_range(color::Range::JPEG);
            }
            let _open = crate::libav::codec_open_lock();
            let encoder = enc
                .open_with(options)
                .map_err(EncodeError::libav("open an image encoder"))?;
            self.encoder = Some((w, h, encoder));
        }
        let (_, _, encoder) = self.encoder.as_mut().expect("encoder was just opened");
        picture.set_pts(Some(self.pts));
        self.pts += 1;
        encoder
            .send_frame(picture)
            .map_err(EncodeError::libav("encode a video frame image"))?;
        let mut packet = Packet::empty();
        encoder
            .receive_packet(&mut packet)
            .map_err(EncodeError::libav("encode a video frame image"))?;
        Ok(packet.data().unwrap_or_default().to_vec())
    }
}

/// A number no other partial file of this process uses.
fn next_partial_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Sample-and-hold selection of the requested frames from a stream of decoded frames.
struct FramePicker<'a> {
    input: &'a ExtractInput,
    writer: ImageWriter,
    /// Index into `input.frames` of the next frame to write.
    next: usize,
    /// The latest decoded frame.
    held: Option<frame::Video>,
}

impl FramePicker<'_> {
    fn done(&self) -> bool {
        self.next >= self.input.frames.len()
    }

    fn write(&mut self, k: u64, picture: &frame::Video) -> Result<(), EncodeError> {
        let bytes = self.writer.encode(picture)?;
        let name = extracted_frame_name(k, self.input.alpha);
        let path = self.input.output_dir.join(&name);
        // Written beside and renamed, so a frame file is whole or absent (the dir may be a
        // cache shared by renders).
        let partial = self.input.output_dir.join(format!(
            ".{name}.{}.{}.partial",
            std::process::id(),
            next_partial_id()
        ));
        std::fs::write(&partial, bytes)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|source| IoError::new("write", path, source).into())
    }

    /// A decoded frame at source `time`: every requested frame whose time comes before it shows
    /// the frame held before it (or this one, when the source starts after that time).
    fn take(&mut self, decoded: &frame::Video, time: f64) -> Result<(), EncodeError> {
        let fps = self.input.fps.as_f64();
        while let Some(&k) = self.input.frames.get(self.next) {
            let target = self.input.media_start + k as f64 / fps;
            if time <= target + 1e-6 {
                break;
            }
            let held = self.held.take();
            self.write(k, held.as_ref().unwrap_or(decoded))?;
            self.held = held;
            self.next += 1;
        }
        self.held = Some(decoded.clone());
        Ok(())
    }

    /// Frames past the end of the source hold its last frame. `Err(None)`: nothing decoded.
    fn finish(mut self) -> Result<(), Option<EncodeError>> {
        let Some(last) = self.held.take() else {
            return Err(None);
        };
        while let Some(&k) = self.input.frames.get(self.next) {
            self.write(k, &last).map_err(Some)?;
            self.next += 1;
        }
        Ok(())
    }
}

/// Decode `input.source` from its media start and write the requested frames as images.
///
/// Frame `k` shows the last source frame whose timestamp is at or before
/// `media_start + k / fps` (sample and hold, so variable-frame-rate sources map exactly); frames
/// past the end of the source repeat its last frame.
pub fn extract_stage(input: &ExtractInput) -> Result<ExtractOutput, EncodeError> {
    crate::init();
    let _span = tracing::info_span!("extract", source = %input.source.display(), frames = input.frames.len()).entered();
    let extension = if input.alpha { "png" } else { "jpg" }.to_string();
    std::fs::create_dir_all(&input.output_dir)
        .map_err(IoError::with("create", &input.output_dir))?;
    if input.frames.is_empty() {
        return Ok(ExtractOutput {
            written: 0,
            extension,
        });
    }
    let bad = |reason: String| EncodeError::Libav {
        action: format!("read {}: {reason}", input.source.display()),
        source: ffmpeg_next::Error::InvalidData,
    };
    let mut source = ffmpeg_next::format::input(&input.source).map_err(EncodeError::libav(
        format!("open {}", input.source.display()),
    ))?;
    let stream =
        source
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| EncodeError::NoVideoStream {
                path: input.source.clone(),
            })?;
    let (index, time_base, start) = (stream.index(), stream.time_base(), stream_start(&stream));
    let (mut decoder, _) = video_decoder_for(&stream).map_err(|e| bad(e.to_string()))?;
    let rotation = stream_rotation(&stream);
    seek_before(&mut source, input.media_start);
    let mut picker = FramePicker {
        input,
        writer: ImageWriter {
            shrink_to: input.shrink_to.map(|(w, h)| (w.max(2) & !1, h.max(2) & !1)),
            untagged_bt709: untagged_is_bt709(decoder.id(), decoder.height()),
            ..ImageWriter::new(input.alpha, rotation)
        },
        next: 0,
        held: None,
    };
    let mut decoded = frame::Video::empty();
    for (packet_stream, packet) in source.packets() {
        if packet_stream.index() != index {
            continue;
        }
        decoder
            .send_packet(&packet)
            .map_err(EncodeError::libav(format!(
                "decode {}",
                input.source.display()
            )))?;
        while decoder.receive_frame(&mut decoded).is_ok() {
            let time = decoded
                .timestamp()
                .map_or(f64::INFINITY, |ts| seconds(ts, start, time_base));
            picker.take(&decoded, time)?;
        }
        if picker.done() {
            break;
        }
    }
    if !picker.done() {
        let _ = decoder.send_eof();
        while decoder.receive_frame(&mut decoded).is_ok() {
            let time = decoded
                .timestamp()
                .map_or(f64::INFINITY, |ts| seconds(ts, start, time_base));
            picker.take(&decoded, time)?;
        }
    }
    picker
        .finish()
        .map_err(|e| e.unwrap_or_else(|| bad("no video frame decodes".into())))?;
    Ok(ExtractOutput {
        written: input.frames.len() as u64,
        extension,
    })
}

/// Turn a packed RGB/RGBA picture `quarter_turns` times clockwise.
fn rotate_picture(picture: &frame::Video, quarter_turns: u32) -> frame::Video {
    let (w, h) = (picture.width() as usize, picture.height() as usize);
    let bytes_per_pixel = if picture.format() == Pixel::RGBA {
        4
    } else {
        3
    };
    let (out_w, out_h) = if quarter_turns % 2 == 1 {
        (h, w)
    } else {
        (w, h)
    };
    let mut out = frame::Video::new(picture.format(), out_w as u32, out_h as u32);
    let (src_stride, dst_stride) = (picture.stride(0), out.stride(0));
    let src = picture.data(0);
    let dst = out.data_mut(0);
    for y in 0..h {
        for x in 0..w {
            let (nx, ny) = match quarter_turns % 4 {
                1 => (h - 1 - y, x),
                2 => (w - 1 - x, h - 1 - y),
                3 => (y, w - 1 - x),
                _ => (x, y),
            };
            let from = y * src_stride + x * bytes_per_pixel;
            let to = ny * dst_stride + nx * bytes_per_pixel;
            dst[to..to + bytes_per_pixel].copy_from_slice(&src[from..from + bytes_per_pixel]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_video_follows_the_browser_guess() {
        assert!(untagged_is_bt709(codec::Id::H264, 1080));
        assert!(untagged_is_bt709(codec::Id::HEVC, 720));
        assert!(!untagged_is_bt709(codec::Id::H264, 576));
        assert!(!untagged_is_bt709(codec::Id::VP9, 1080));
        assert!(!untagged_is_bt709(codec::Id::AV1, 2160));
    }
}
