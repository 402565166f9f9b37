//! Source media used by a composition: probing (`probe_media`), the mapping from render time to
//! source frames (`VideoTiming`), and the extract stage (`extract_stage`) that decodes the
//! frames a render shows into images the page can display.

use crate::image::{set_colorspace, Matrix};
use crate::matrix::{Colorimetry, YcbcrMap};
use crate::{EncodeError, Fps};
use ffmpeg_next::{codec, color, decoder, format::Pixel, frame, media, software::scaling, Packet};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What [`probe_media`] learned about a source file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// Length of the longest stream, in seconds.
    pub duration_seconds: f64,
    /// The best video stream, if any.
    pub video: Option<VideoStreamInfo>,
    /// The best audio stream, if any.
    pub audio: Option<AudioStreamInfo>,
}

/// A source's video stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoStreamInfo {
    /// libav codec name.
    pub codec: String,
    /// Coded width.
    pub width: u32,
    /// Coded height.
    pub height: u32,
    /// The stream carries alpha (VP8/VP9 with `alpha_mode`, ProRes 4444, PNG, GIF, ...).
    pub alpha: bool,
    /// Packets (coded frames) in the stream.
    pub frames: u64,
    /// Clockwise rotation (0, 90, 180 or 270 degrees) the display matrix asks for; extracted
    /// frames come out upright.
    pub rotation: u32,
}

/// Clockwise display rotation of a video stream, rounded to a quarter turn.
fn stream_rotation(stream: &ffmpeg_next::format::stream::Stream) -> u32 {
    for side in stream.side_data() {
        if side.kind() == ffmpeg_next::codec::packet::side_data::Type::DisplayMatrix
            && side.data().len() >= 36
        {
            let matrix: Vec<i32> = side
                .data()
                .chunks_exact(4)
                .take(9)
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            // SAFETY: `matrix` holds the nine 32-bit entries libav reads.
            let counter_clockwise =
                unsafe { ffmpeg_next::ffi::av_display_rotation_get(matrix.as_ptr()) };
            if counter_clockwise.is_finite() {
                let clockwise = (-counter_clockwise / 90.0).round() as i64 * 90;
                return clockwise.rem_euclid(360) as u32;
            }
        }
    }
    0
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

/// A source's audio stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioStreamInfo {
    /// libav codec name.
    pub codec: String,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
}

/// Why a media source cannot be used. The messages complete "`<path>` ...".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// Nothing at the path.
    #[error("does not exist")]
    NotFound,
    /// The file holds text, typically an error page saved under a media name.
    #[error("is {0}, not media (an error page saved under a media name?)")]
    NotMedia(&'static str),
    /// libav cannot open or parse it.
    #[error("cannot be read as media: {0}")]
    Unreadable(String),
    /// Its packets stop well before the duration its header declares.
    #[error(
        "is truncated: its data ends at {ends:.2} s of the {declared:.2} s its header declares"
    )]
    Truncated {
        /// Where the packets end, in seconds.
        ends: f64,
        /// The declared duration, in seconds.
        declared: f64,
    },
    /// No decoder for the codec in this libav build.
    #[error("uses the {kind} codec `{codec}`, which this libav build cannot decode")]
    UnsupportedCodec {
        /// "video" or "audio".
        kind: &'static str,
        /// The codec name.
        codec: String,
    },
    /// Neither audio nor video.
    #[error("has no audio or video stream")]
    NoStreams,
    /// The first frame of a stream does not decode.
    #[error("is corrupt: its first {kind} frame does not decode ({reason})")]
    Corrupt {
        /// "video" or "audio".
        kind: &'static str,
        /// libav's reason.
        reason: String,
    },
}

/// What the first bytes of a file say it is, when it is text rather than media.
fn sniff_text(path: &Path) -> Option<&'static str> {
    use std::io::Read;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let text = String::from_utf8_lossy(&head[..n]);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("<!doctype") || lower.starts_with("<html") || lower.starts_with("<?xml") {
        Some("an HTML page")
    } else if lower.starts_with('{') || lower.starts_with('[') {
        Some("JSON")
    } else if lower.starts_with('<') {
        Some("markup")
    } else {
        None
    }
}

/// Whether `format` has an alpha channel.
fn pixel_has_alpha(format: Pixel) -> bool {
    // SAFETY: av_pix_fmt_desc_get returns a pointer to a static descriptor or null.
    unsafe {
        let descriptor = ffmpeg_next::ffi::av_pix_fmt_desc_get(format.into());
        !descriptor.is_null()
            && ((*descriptor).flags & ffmpeg_next::ffi::AV_PIX_FMT_FLAG_ALPHA as u64) != 0
    }
}

/// The decoder for a video stream: libvpx for VP8/VP9 that carry alpha (libav's own VP9 decoder
/// drops the alpha plane), else libav's default.
fn video_decoder_for(
    stream: &ffmpeg_next::format::stream::Stream,
) -> Result<(decoder::Video, bool), MediaError> {
    let parameters = stream.parameters();
    let id = parameters.id();
    let alpha_mode = stream.metadata().get("alpha_mode") == Some("1");
    let libvpx = match id {
        codec::Id::VP9 if alpha_mode => decoder::find_by_name("libvpx-vp9"),
        codec::Id::VP8 if alpha_mode => decoder::find_by_name("libvpx"),
        _ => None,
    };
    let codec =
        libvpx
            .or_else(|| decoder::find(id))
            .ok_or_else(|| MediaError::UnsupportedCodec {
                kind: "video",
                codec: format!("{id:?}").to_lowercase(),
            })?;
    let mut context = codec::context::Context::new_with_codec(codec);
    context
        .set_parameters(parameters)
        .map_err(|e| MediaError::Unreadable(e.to_string()))?;
    let decoder = {
        let _open = crate::CODEC_OPEN.lock().unwrap_or_else(|e| e.into_inner());
        context.decoder().video()
    }
    .map_err(|e| MediaError::Unreadable(e.to_string()))?;
    Ok((decoder, alpha_mode))
}

fn audio_decoder_for(
    stream: &ffmpeg_next::format::stream::Stream,
) -> Result<decoder::Audio, MediaError> {
    let parameters = stream.parameters();
    let id = parameters.id();
    if decoder::find(id).is_none() {
        return Err(MediaError::UnsupportedCodec {
            kind: "audio",
            codec: format!("{id:?}").to_lowercase(),
        });
    }
    let context = codec::context::Context::from_parameters(parameters)
        .map_err(|e| MediaError::Unreadable(e.to_string()))?;
    let _open = crate::CODEC_OPEN.lock().unwrap_or_else(|e| e.into_inner());
    context
        .decoder()
        .audio()
        .map_err(|e| MediaError::Unreadable(e.to_string()))
}

/// Seconds of a timestamp in `time_base`, relative to the stream's start.
fn seconds(ts: i64, start: i64, time_base: ffmpeg_next::Rational) -> f64 {
    (ts - start) as f64 * f64::from(time_base)
}

/// A stream's first timestamp (0 when it has none): the origin of its media time.
pub(crate) fn stream_start(stream: &ffmpeg_next::format::stream::Stream) -> i64 {
    let start = stream.start_time();
    if start == ffmpeg_next::ffi::AV_NOPTS_VALUE {
        0
    } else {
        start
    }
}

/// Seek `input` to at or before `seconds` when that is past the start. A failed seek only costs
/// decoding from the start, so it is not an error.
pub(crate) fn seek_before(input: &mut ffmpeg_next::format::context::Input, seconds: f64) {
    if seconds > 0.0 {
        let target = (seconds * f64::from(ffmpeg_next::ffi::AV_TIME_BASE)) as i64;
        let _ = input.seek(target, ..target + 1);
    }
}

/// Open `path` and check that it is media hf can use: it exists, it is not a saved error page,
/// libav can parse it, its streams have decoders, their first frames decode, and its packets
/// reach the duration its header declares.
pub fn probe_media(path: &Path) -> Result<MediaInfo, MediaError> {
    crate::init();
    match std::fs::metadata(path) {
        Err(_) => return Err(MediaError::NotFound),
        Ok(meta) if meta.len() == 0 => {
            return Err(MediaError::Unreadable("the file is empty".into()))
        }
        Ok(_) => {}
    }
    if let Some(kind) = sniff_text(path) {
        return Err(MediaError::NotMedia(kind));
    }
    let mut input =
        ffmpeg_next::format::input(path).map_err(|e| MediaError::Unreadable(e.to_string()))?;
    let declared = if input.duration() > 0 {
        input.duration() as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE)
    } else {
        0.0
    };
    let video_stream = input.streams().best(media::Type::Video).and_then(|s| {
        // Cover art in audio files is an attached picture, not a video.
        let attached = s
            .disposition()
            .contains(ffmpeg_next::format::stream::Disposition::ATTACHED_PIC);
        (!attached).then_some(s.index())
    });
    let audio_stream = input.streams().best(media::Type::Audio).map(|s| s.index());
    if video_stream.is_none() && audio_stream.is_none() {
        return Err(MediaError::NoStreams);
    }
    let mut video = None;
    let mut video_decoder = None;
    if let Some(index) = video_stream {
        let stream = input.stream(index).expect("best stream exists");
        let (decoder, alpha_mode) = video_decoder_for(&stream)?;
        video = Some(VideoStreamInfo {
            codec: decoder
                .codec()
                .map(|c| c.name().to_string())
                .unwrap_or_default(),
            width: decoder.width(),
            height: decoder.height(),
            alpha: alpha_mode || pixel_has_alpha(decoder.format()),
            frames: 0,
            rotation: stream_rotation(&stream),
        });
        video_decoder = Some((decoder, stream.time_base(), stream_start(&stream)));
    }
    let mut audio = None;
    let mut audio_decoder = None;
    if let Some(index) = audio_stream {
        let stream = input.stream(index).expect("best stream exists");
        let decoder = audio_decoder_for(&stream)?;
        audio = Some(AudioStreamInfo {
            codec: decoder
                .codec()
                .map(|c| c.name().to_string())
                .unwrap_or_default(),
            sample_rate: decoder.rate(),
            channels: decoder.channels(),
        });
        audio_decoder = Some((decoder, stream.time_base(), stream_start(&stream)));
    }
    // Read every packet (cheap: no decoding past the first frame of each stream) to find where
    // the data really ends.
    let mut ends = 0.0f64;
    let mut video_decoded = video_decoder.is_none();
    let mut audio_decoded = audio_decoder.is_none();
    let mut decoded_video = frame::Video::empty();
    let mut decoded_audio = frame::Audio::empty();
    let mut last_error: Option<(&'static str, String)> = None;
    for (stream, packet) in input.packets() {
        let index = stream.index();
        let (time_base, start) = if Some(index) == video_stream {
            let (_, tb, start) = video_decoder.as_ref().expect("video decoder");
            (*tb, *start)
        } else if Some(index) == audio_stream {
            let (_, tb, start) = audio_decoder.as_ref().expect("audio decoder");
            (*tb, *start)
        } else {
            continue;
        };
        if let Some(pts) = packet.pts().or(packet.dts()) {
            ends = ends.max(seconds(pts + packet.duration().max(0), start, time_base));
        }
        if Some(index) == video_stream {
            if let Some(video) = video.as_mut() {
                video.frames += 1;
            }
        }
        if Some(index) == video_stream && !video_decoded {
            let (decoder, _, _) = video_decoder.as_mut().expect("video decoder");
            if let Err(e) = decoder.send_packet(&packet) {
                last_error = Some(("video", e.to_string()));
            }
            if decoder.receive_frame(&mut decoded_video).is_ok() {
                video_decoded = true;
            }
        } else if Some(index) == audio_stream && !audio_decoded {
            let (decoder, _, _) = audio_decoder.as_mut().expect("audio decoder");
            if let Err(e) = decoder.send_packet(&packet) {
                last_error = Some(("audio", e.to_string()));
            }
            if decoder.receive_frame(&mut decoded_audio).is_ok() {
                audio_decoded = true;
            }
        }
    }
    if let Some((decoder, _, _)) = video_decoder.as_mut().filter(|_| !video_decoded) {
        let _ = decoder.send_eof();
        video_decoded = decoder.receive_frame(&mut decoded_video).is_ok();
    }
    if let Some((decoder, _, _)) = audio_decoder.as_mut().filter(|_| !audio_decoded) {
        let _ = decoder.send_eof();
        audio_decoded = decoder.receive_frame(&mut decoded_audio).is_ok();
    }
    for (decoded, kind) in [(video_decoded, "video"), (audio_decoded, "audio")] {
        if !decoded {
            let reason = match &last_error {
                Some((k, reason)) if *k == kind => reason.clone(),
                _ => "no frame came out of the decoder".to_string(),
            };
            return Err(MediaError::Corrupt { kind, reason });
        }
    }
    if declared > 0.0 && ends < declared * 0.9 - 0.1 {
        return Err(MediaError::Truncated { ends, declared });
    }
    Ok(MediaInfo {
        duration_seconds: if ends > 0.0 { ends } else { declared },
        video,
        audio,
    })
}

/// When and how a `<video>` shows its source: which source frame (sampled at the render's frame
/// rate from the media start) is on screen at a render time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VideoTiming {
    /// Render time at which the slot opens, in seconds.
    pub start: f64,
    /// Render time at which the slot closes (exclusive), in seconds.
    pub end: f64,
    /// Source time shown at the slot's start (`data-media-start`), in seconds.
    pub media_start: f64,
    /// Playback rate, clamped to 0.1..5.
    pub rate: f64,
    /// The source wraps around (`loop`) instead of holding its last frame.
    pub looped: bool,
    /// Source frames available from `media_start` at the render frame rate (at least 1).
    pub frames: u64,
    /// The render frame rate.
    pub fps: Fps,
}

/// Smallest and largest playback rate (as HyperFrames clamps `data-playback-rate`).
pub const PLAYBACK_RATE_RANGE: (f64, f64) = (0.1, 5.0);

/// `rate` clamped to [`PLAYBACK_RATE_RANGE`]; 1 when it is not a number.
pub fn playback_rate(rate: f64) -> f64 {
    if rate.is_finite() {
        rate.clamp(PLAYBACK_RATE_RANGE.0, PLAYBACK_RATE_RANGE.1)
    } else {
        1.0
    }
}

impl VideoTiming {
    /// The timing of a video slot `[start, end)` whose source lasts `source_seconds`.
    pub fn new(
        start: f64,
        end: f64,
        media_start: f64,
        rate: f64,
        looped: bool,
        source_seconds: f64,
        fps: Fps,
    ) -> Self {
        let rate = playback_rate(rate);
        let media_start = media_start.max(0.0);
        let playable = (source_seconds - media_start).max(0.0);
        let frames = ((playable * fps.as_f64()) - 1e-6).ceil().max(1.0) as u64;
        VideoTiming {
            start,
            end,
            media_start,
            rate,
            looped,
            frames,
            fps,
        }
    }

    /// The source frame on screen at render time `time`, or `None` outside the slot. Frame `k`
    /// is the source at `media_start + k / fps`; past the end a looping video wraps and any
    /// other holds its last frame.
    pub fn frame_at(&self, time: f64) -> Option<u64> {
        if time < self.start || time >= self.end {
            return None;
        }
        let local = ((time - self.start) * self.rate * self.fps.as_f64() + 1e-9).floor() as u64;
        Some(if self.looped {
            local % self.frames
        } else {
            local.min(self.frames - 1)
        })
    }

    /// Source time of frame `k`, in seconds.
    pub fn source_time(&self, k: u64) -> f64 {
        self.media_start + k as f64 / self.fps.as_f64()
    }
}

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

/// The file [`extract_stage`] writes for frame `k`.
pub fn extracted_frame_name(k: u64, alpha: bool) -> String {
    format!("{k:06}.{}", if alpha { "png" } else { "jpg" })
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
            let _open = crate::CODEC_OPEN.lock().unwrap_or_else(|e| e.into_inner());
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
            .map_err(|source| EncodeError::Io {
                action: "write",
                path,
                source,
            })
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
    std::fs::create_dir_all(&input.output_dir).map_err(|source| EncodeError::Io {
        action: "create",
        path: input.output_dir.clone(),
        source,
    })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn timing(rate: f64, looped: bool, source: f64) -> VideoTiming {
        VideoTiming::new(1.0, 5.0, 0.5, rate, looped, source, Fps::whole(30))
    }

    #[test]
    fn slot_is_half_open_and_starts_at_media_start() {
        let t = timing(1.0, false, 10.0);
        assert_eq!(t.frame_at(0.99), None);
        assert_eq!(t.frame_at(1.0), Some(0));
        assert_eq!(t.frame_at(5.0), None);
        assert_eq!(t.frames, 285);
        assert!((t.source_time(30) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn untagged_video_follows_the_browser_guess() {
        assert!(untagged_is_bt709(codec::Id::H264, 1080));
        assert!(untagged_is_bt709(codec::Id::HEVC, 720));
        assert!(!untagged_is_bt709(codec::Id::H264, 576));
        assert!(!untagged_is_bt709(codec::Id::VP9, 1080));
        assert!(!untagged_is_bt709(codec::Id::AV1, 2160));
    }

    #[test]
    fn rate_is_clamped() {
        assert_eq!(timing(50.0, false, 10.0).rate, 5.0);
        assert_eq!(timing(0.0, false, 10.0).rate, 0.1);
        assert_eq!(timing(f64::NAN, false, 10.0).rate, 1.0);
    }

    proptest! {
        #[test]
        fn frames_follow_rate_hold_and_loop(
            rate in 0.1f64..5.0,
            looped: bool,
            source in 0.2f64..6.0,
            frame in 30u64..150,
        ) {
            let t = timing(rate, looped, source);
            let time = Fps::whole(30).frame_time(frame);
            let k = t.frame_at(time).expect("inside the slot");
            prop_assert!(k < t.frames);
            let unbounded = ((time - 1.0) * rate * 30.0 + 1e-9).floor() as u64;
            if looped {
                prop_assert_eq!(k, unbounded % t.frames);
            } else if unbounded < t.frames {
                prop_assert_eq!(k, unbounded);
            } else {
                // Held on the last frame.
                prop_assert_eq!(k, t.frames - 1);
            }
            // Source time never runs past the playable source by more than one frame.
            prop_assert!(t.source_time(k) < source.max(0.5 + 1.0 / 30.0) + 1.0 / 30.0);
            // Time advances monotonically within the source until it wraps or holds.
            if let Some(next) = t.frame_at(time + 1.0 / 30.0) {
                prop_assert!(next >= k || looped);
            }
        }
    }
}
