//! HDR sources as 16-bit pictures in the output's signal: videos decoded on demand (sample and
//! hold, as frame extraction picks frames), images decoded once.

use super::curves::transfer_table;
use super::{HdrSource, HdrTransfer};
use crate::image::{image_packet, set_colorspace, Matrix};
use crate::streams::{seconds, seek_before, stream_start, video_decoder_for};
use crate::EncodeError;
use ffmpeg_next::{codec, decoder, format::Pixel, frame, media, software::scaling};

/// A picture in the output's signal: straight RGBA, 16 bits per channel, full range.
pub(crate) struct Picture {
    pub width: u32,
    pub height: u32,
    /// `width * height * 4` values.
    pub pixels: Vec<u16>,
    /// Every alpha is full.
    pub opaque: bool,
}

/// Going further ahead than this re-seeks instead of decoding every frame in between.
const SEEK_AHEAD_SECONDS: f64 = 3.0;

/// One HDR source of a render, opened when first drawn.
pub(crate) struct SourceReader {
    source: HdrSource,
    converter: PictureConverter,
    state: Option<Opened>,
    /// The converted picture and the source time of the frame it shows.
    picture: Option<(f64, Picture)>,
}

/// Decoded frames of one source to pictures in the output's signal.
struct PictureConverter {
    /// Carries the source's signal into the output's, when the transfers differ.
    table: Option<Vec<u16>>,
    to_rgba: Option<(Pixel, u32, u32, scaling::Context)>,
}

enum Opened {
    Video(VideoDecode),
    Still,
}

impl SourceReader {
    pub(crate) fn new(source: HdrSource, output: HdrTransfer) -> Self {
        let table = (source.transfer != output).then(|| transfer_table(source.transfer, output));
        SourceReader {
            source,
            converter: PictureConverter {
                table,
                to_rgba: None,
            },
            state: None,
            picture: None,
        }
    }

    fn failed(&self, reason: impl std::fmt::Display) -> EncodeError {
        EncodeError::Libav {
            action: format!(
                "read the HDR source {}: {reason}",
                self.source.path.display()
            ),
            source: ffmpeg_next::Error::InvalidData,
        }
    }

    /// The picture shown at source time `time` (a still shows its one picture).
    pub(crate) fn picture_at(&mut self, time: f64) -> Result<&Picture, EncodeError> {
        if self.state.is_none() {
            self.state = Some(if self.source.still {
                let decoded = decode_still(&self.source.path).map_err(|e| self.failed(e))?;
                self.picture = Some((0.0, self.converter.picture(&decoded)?));
                Opened::Still
            } else {
                Opened::Video(VideoDecode::open(&self.source.path).map_err(|e| self.failed(e))?)
            });
        }
        if let Some(Opened::Video(video)) = &mut self.state {
            let (shown, decoded) = match video.frame_at(time) {
                Ok(Some(found)) => found,
                Ok(None) => return Err(self.failed("no video frame decodes")),
                Err(e) => return Err(self.failed(e)),
            };
            if self.picture.as_ref().map(|(t, _)| *t) != Some(shown) {
                self.picture = Some((shown, self.converter.picture(decoded)?));
            }
        }
        Ok(&self.picture.as_ref().expect("a picture was stored").1)
    }
}

impl PictureConverter {
    /// `decoded` as the output's 16-bit RGBA.
    fn picture(&mut self, decoded: &frame::Video) -> Result<Picture, EncodeError> {
        let mut pixels = match limited_yuv420p10_to_rgba(decoded) {
            Some(pixels) => pixels,
            None => self.rgba_by_swscale(decoded)?,
        };
        if let Some(table) = &self.table {
            for (i, value) in pixels.iter_mut().enumerate() {
                if i % 4 != 3 {
                    *value = table[*value as usize];
                }
            }
        }
        let opaque = pixels.chunks_exact(4).all(|p| p[3] == u16::MAX);
        Ok(Picture {
            width: decoded.width(),
            height: decoded.height(),
            pixels,
            opaque,
        })
    }

    /// Any other picture format through swscale.
    fn rgba_by_swscale(&mut self, decoded: &frame::Video) -> Result<Vec<u16>, EncodeError> {
        let (format, w, h) = (decoded.format(), decoded.width(), decoded.height());
        if !matches!(&self.to_rgba, Some((f, cw, ch, _)) if (*f, *cw, *ch) == (format, w, h)) {
            let mut context =
                scaling::Context::get(format, w, h, Pixel::RGBA64LE, w, h, scaling::Flags::POINT)
                    .map_err(EncodeError::libav("create the HDR source converter"))?;
            let full = decoded.color_range() == ffmpeg_next::color::Range::JPEG || is_rgb(format);
            set_colorspace(&mut context, Matrix::Bt2020, full, Matrix::Bt2020, true);
            bitexact(&mut context);
            self.to_rgba = Some((format, w, h, context));
        }
        let (_, _, _, context) = self.to_rgba.as_mut().expect("converter was just created");
        let mut rgba = frame::Video::empty();
        context
            .run(decoded, &mut rgba)
            .map_err(EncodeError::libav("convert an HDR source frame"))?;
        let mut pixels = Vec::with_capacity((w * h * 4) as usize);
        let stride = rgba.stride(0);
        let data = rgba.data(0);
        for y in 0..h as usize {
            let row = &data[y * stride..y * stride + w as usize * 8];
            pixels.extend(
                row.chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]])),
            );
        }
        Ok(pixels)
    }
}

/// The usual HDR picture (10-bit 4:2:0, limited range, BT.2020 NCL) to full-range 16-bit RGBA,
/// exactly the inverse of the encoder's conversion (chroma held over each 2x2 block).
fn limited_yuv420p10_to_rgba(decoded: &frame::Video) -> Option<Vec<u16>> {
    use rayon::prelude::*;
    let limited = decoded.color_range() != ffmpeg_next::color::Range::JPEG;
    if decoded.format() != Pixel::YUV420P10LE || !limited {
        return None;
    }
    let (w, h) = (decoded.width() as usize, decoded.height() as usize);
    let plane = |index: usize| {
        let stride = decoded.stride(index);
        let data = decoded.data(index);
        move |x: usize, y: usize| {
            let at = y * stride + x * 2;
            f32::from(u16::from_le_bytes([data[at], data[at + 1]]))
        }
    };
    let (luma, blue, red) = (plane(0), plane(1), plane(2));
    let (kr, kb) = (0.2627f32, 0.0593f32);
    let mut pixels = vec![0u16; w * h * 4];
    pixels
        .par_chunks_mut(w * 4)
        .enumerate()
        .for_each(|(y, row)| {
            for (x, out) in row.chunks_exact_mut(4).enumerate() {
                let l = (luma(x, y) - 64.0) / 876.0;
                let cb = (blue(x / 2, y / 2) - 512.0) / 896.0;
                let cr = (red(x / 2, y / 2) - 512.0) / 896.0;
                let r = l + 2.0 * (1.0 - kr) * cr;
                let b = l + 2.0 * (1.0 - kb) * cb;
                let g = (l - kr * r - kb * b) / (1.0 - kr - kb);
                for (o, v) in out.iter_mut().zip([r, g, b, 1.0]) {
                    *o = (v * 65535.0).round().clamp(0.0, 65535.0) as u16;
                }
            }
        });
    Some(pixels)
}

fn is_rgb(format: Pixel) -> bool {
    matches!(
        format,
        Pixel::RGB48BE
            | Pixel::RGB48LE
            | Pixel::RGBA64BE
            | Pixel::RGBA64LE
            | Pixel::RGB24
            | Pixel::RGBA
            | Pixel::GRAY16BE
            | Pixel::GRAY8
    )
}

/// Ask swscale for the same output on every CPU.
pub(crate) fn bitexact(context: &mut scaling::Context) {
    // SAFETY: setting an option on a valid context before its first use.
    unsafe {
        let flags = (ffmpeg_next::ffi::SWS_BITEXACT | ffmpeg_next::ffi::SWS_ACCURATE_RND) as i64;
        let name = c"sws_flags";
        let mut current = 0i64;
        let ctx = context.as_mut_ptr().cast();
        ffmpeg_next::ffi::av_opt_get_int(ctx, name.as_ptr(), 0, &mut current);
        ffmpeg_next::ffi::av_opt_set_int(ctx, name.as_ptr(), current | flags, 0);
    }
}

/// A still image decoded by libav (PNG keeps its 16 bits).
fn decode_still(path: &std::path::Path) -> Result<frame::Video, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let codec = decoder::find(codec::Id::PNG).ok_or("no PNG decoder")?;
    let mut decoder = {
        let _open = crate::libav::codec_open_lock();
        codec::context::Context::new_with_codec(codec)
            .decoder()
            .video()
            .map_err(|e| e.to_string())?
    };
    decoder
        .send_packet(&image_packet(&bytes))
        .map_err(|e| e.to_string())?;
    let mut decoded = frame::Video::empty();
    decoder
        .receive_frame(&mut decoded)
        .map_err(|e| e.to_string())?;
    Ok(decoded)
}

/// A video decoded forward from a seek, holding the frame on screen.
struct VideoDecode {
    input: ffmpeg_next::format::context::Input,
    decoder: decoder::Video,
    index: usize,
    time_base: ffmpeg_next::Rational,
    start: i64,
    /// The latest frame at or before the last requested time.
    held: Option<(f64, frame::Video)>,
    /// A decoded frame after it.
    ahead: Option<(f64, frame::Video)>,
    ended: bool,
    last_request: f64,
}

impl VideoDecode {
    fn open(path: &std::path::Path) -> Result<Self, String> {
        let input = ffmpeg_next::format::input(path).map_err(|e| e.to_string())?;
        let stream = input
            .streams()
            .best(media::Type::Video)
            .ok_or("no video stream")?;
        let (index, time_base, start) = (stream.index(), stream.time_base(), stream_start(&stream));
        let (decoder, _) = video_decoder_for(&stream).map_err(|e| e.to_string())?;
        Ok(VideoDecode {
            input,
            decoder,
            index,
            time_base,
            start,
            held: None,
            ahead: None,
            ended: false,
            last_request: f64::NEG_INFINITY,
        })
    }

    /// Seek to the keyframe at or before `time` and forget what was decoded.
    fn restart(&mut self, time: f64) {
        seek_before(&mut self.input, time);
        self.decoder.flush();
        self.held = None;
        self.ahead = None;
        self.ended = false;
    }

    /// The next decoded frame and its time; `None` at the end.
    fn next_frame(&mut self) -> Result<Option<(f64, frame::Video)>, String> {
        let mut decoded = frame::Video::empty();
        loop {
            if self.decoder.receive_frame(&mut decoded).is_ok() {
                let time = decoded
                    .timestamp()
                    .map_or(f64::INFINITY, |ts| seconds(ts, self.start, self.time_base));
                return Ok(Some((time, decoded)));
            }
            if self.ended {
                return Ok(None);
            }
            match self.input.packets().find(|(s, _)| s.index() == self.index) {
                Some((_, packet)) => self
                    .decoder
                    .send_packet(&packet)
                    .map_err(|e| e.to_string())?,
                None => {
                    self.ended = true;
                    let _ = self.decoder.send_eof();
                }
            }
        }
    }

    /// The frame on screen at `time`: the last at or before it (or the first, when the source
    /// starts after it), and its time.
    fn frame_at(&mut self, time: f64) -> Result<Option<(f64, &frame::Video)>, String> {
        let behind = time < self.last_request - 1e-9;
        let far = self
            .held
            .as_ref()
            .is_some_and(|(t, _)| time > t + SEEK_AHEAD_SECONDS);
        if behind || far || (self.held.is_none() && self.ahead.is_none()) {
            self.restart(time);
        }
        self.last_request = time;
        loop {
            if let Some((t, _)) = &self.ahead {
                if *t > time + 1e-6 {
                    break;
                }
                self.held = self.ahead.take();
                continue;
            }
            match self.next_frame()? {
                Some(found) => self.ahead = Some(found),
                None => break,
            }
        }
        Ok(self
            .held
            .as_ref()
            .or(self.ahead.as_ref())
            .map(|(t, frame)| (*t, frame)))
    }
}
