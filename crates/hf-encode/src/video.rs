//! The encode stage: captured frames in, one closed-GOP segment out (H.264, H.265, VP9 with
//! alpha or ProRes 4444).

use crate::codec::LIBAV_PACKAGE;
use crate::files::file_size;
use crate::hdr::{mastering, HdrConverter, HdrSource, HdrTransfer, HDR_PIXEL_FORMAT};
use crate::image::FrameConverter;
use crate::libav::FpsExt;
use crate::{EncodeError, VideoCodec};
use ffmpeg_next::{codec, color, encoder, format, frame, Dictionary, Packet};
use hf_core::{Fps, FrameImage, FrameRange, FrameSink, IoError, SinkError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// GOP structure. Every segment starts with a keyframe and no frame references across a GOP
/// boundary, so segments join by stream copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GopSettings {
    /// Frames per GOP (fixed: `keyint = min-keyint`, no scene cuts).
    pub keyint: u32,
    /// B-frames between references (0 to 16).
    pub bframes: u32,
}

/// What the video encoder is asked to produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoEncodeSettings {
    /// Codec (which also fixes the pixel format and the segment container).
    #[serde(default)]
    pub codec: VideoCodec,
    /// Picture width in pixels (odd widths are padded for 4:2:0 codecs, see
    /// [`VideoCodec::encoded_size`]).
    pub width: u32,
    /// Picture height in pixels (padded like the width).
    pub height: u32,
    /// Frame rate; also the stream time base.
    pub fps: Fps,
    /// x264/x265 preset (`ultrafast` ... `veryslow`); VP9 always uses the `good` deadline and
    /// ProRes has no preset, as in HyperFrames.
    pub preset: String,
    /// Constant rate factor (0-51 for x264/x265, 0-63 for VP9; lower is better). ProRes has no
    /// rate control and ignores it.
    pub crf: u32,
    /// Target bit rate in bits/s instead of the CRF (`--video-bitrate`).
    #[serde(default)]
    pub bitrate: Option<u64>,
    /// GOP structure.
    pub gop: GopSettings,
    /// Encoder threads. Part of the settings (never derived from the worker count) because
    /// x264's output depends on it; a fixed value keeps renders byte-identical.
    pub threads: u32,
    /// HDR output in this transfer (H.265 only): 10-bit BT.2020, HDR10 static metadata.
    #[serde(default)]
    pub hdr: Option<HdrTransfer>,
    /// libvpx `cpu-used` (-8..8); `None`: 4, as HyperFrames.
    #[serde(default)]
    pub vp9_cpu_used: Option<i32>,
}

impl VideoEncodeSettings {
    /// The pixel format the encoder is fed.
    pub fn pixel_format(&self) -> ffmpeg_next::format::Pixel {
        match self.hdr {
            Some(_) => HDR_PIXEL_FORMAT,
            None => self.codec.pixel_format(),
        }
    }
}

/// Input of a [`SegmentEncoder`]: the segment and how to encode it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncodeInput {
    /// Encoder settings.
    pub settings: VideoEncodeSettings,
    /// Where the segment file is written (in the codec's container, see
    /// [`VideoCodec::container`]).
    pub output: PathBuf,
    /// Render index of the segment's first frame (for error messages).
    pub first_frame: u64,
    /// How many frames the segment holds; fewer received is an error.
    pub frame_count: u64,
    /// The HDR sources a frame's [`FrameLayer::Media`](hf_core::FrameLayer) layers name, by
    /// index (HDR renders only).
    #[serde(default)]
    pub hdr_sources: Vec<HdrSource>,
}

/// What a [`SegmentEncoder`] wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncodeOutput {
    /// The segment file.
    pub path: PathBuf,
    /// Frames encoded.
    pub frames: u64,
    /// Size of the segment in bytes.
    pub bytes: u64,
    /// Time spent decoding and converting captured frames.
    pub convert_time: Duration,
    /// Time spent inside the encoder and muxer.
    pub encode_time: Duration,
}

fn find_encoder(
    name: &'static str,
    package: &'static str,
) -> Result<codec::codec::Codec, EncodeError> {
    encoder::find_by_name(name).ok_or(EncodeError::MissingEncoder {
        encoder: name,
        package,
    })
}

/// Fail with [`EncodeError::MissingEncoder`] (naming the Debian package) when this libav build
/// has no encoder for `codec`.
pub fn check_encoder(codec: VideoCodec) -> Result<(), EncodeError> {
    crate::init();
    find_encoder(codec.encoder_name(), LIBAV_PACKAGE).map(|_| ())
}

/// A segment being written: encoder plus muxer.
struct SegmentWriter {
    output: format::context::Output,
    encoder: encoder::Video,
    encoder_time_base: ffmpeg_next::Rational,
    stream_time_base: ffmpeg_next::Rational,
    frames: i64,
    /// Colour description stamped on every frame (ProRes writes it into each frame header).
    colour: Colour,
}

/// The colour description of a segment's frames.
#[derive(Clone, Copy)]
enum Colour {
    Bt709,
    Bt601,
    Bt2020(HdrTransfer),
}

impl Colour {
    fn of(settings: &VideoEncodeSettings) -> Self {
        match settings.hdr {
            Some(transfer) => Colour::Bt2020(transfer),
            None if settings.codec.uses_bt709() => Colour::Bt709,
            None => Colour::Bt601,
        }
    }

    /// The matrix, and the primaries and transfer when they are tagged (BT.601 tags only
    /// its matrix).
    fn tags(
        self,
    ) -> (
        color::Space,
        Option<(color::Primaries, color::TransferCharacteristic)>,
    ) {
        match self {
            Colour::Bt709 => (
                color::Space::BT709,
                Some((
                    color::Primaries::BT709,
                    color::TransferCharacteristic::BT709,
                )),
            ),
            Colour::Bt601 => (color::Space::SMPTE170M, None),
            Colour::Bt2020(transfer) => (
                color::Space::BT2020NCL,
                Some((color::Primaries::BT2020, trc(transfer))),
            ),
        }
    }

    fn stamp_encoder(self, enc: &mut encoder::video::Video) {
        let (space, tagged) = self.tags();
        enc.set_colorspace(space);
        if let Some((primaries, transfer)) = tagged {
            enc.set_color_primaries(primaries);
            enc.set_color_transfer_characteristic(transfer);
        }
    }

    fn stamp_frame(self, frame: &mut frame::Video) {
        let (space, tagged) = self.tags();
        frame.set_color_space(space);
        if let Some((primaries, transfer)) = tagged {
            frame.set_color_primaries(primaries);
            frame.set_color_transfer_characteristic(transfer);
        }
    }
}

fn trc(transfer: HdrTransfer) -> color::TransferCharacteristic {
    match transfer {
        HdrTransfer::Pq => color::TransferCharacteristic::SMPTE2084,
        HdrTransfer::Hlg => color::TransferCharacteristic::ARIB_STD_B67,
    }
}

impl SegmentWriter {
    fn open(settings: &VideoEncodeSettings, path: &Path) -> Result<Self, EncodeError> {
        let codec = find_encoder(settings.codec.encoder_name(), LIBAV_PACKAGE)?;
        let container = settings.codec.container();
        let mut output = format::output_as(path, container.muxer())
            .map_err(EncodeError::libav(format!("create {}", path.display())))?;
        if container == crate::Container::Webm {
            crate::codec::make_reproducible(&mut output);
        }
        let global_header = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(EncodeError::libav(format!(
                "create the {} encoder",
                settings.codec.encoder_name()
            )))?;
        let (width, height) = settings.codec.encoded_size(settings.width, settings.height);
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(settings.pixel_format());
        enc.set_time_base(settings.fps.time_base());
        enc.set_frame_rate(Some(settings.fps.rational()));
        enc.set_gop(settings.gop.keyint);
        enc.set_max_b_frames(settings.gop.bframes as usize);
        enc.set_color_range(color::Range::MPEG);
        let colour = Colour::of(settings);
        colour.stamp_encoder(&mut enc);
        let mut flags = codec::Flags::CLOSED_GOP;
        if global_header {
            flags |= codec::Flags::GLOBAL_HEADER;
        }
        enc.set_flags(flags);
        if let Some(bitrate) = settings.bitrate {
            enc.set_bit_rate(bitrate as usize);
        }
        let options = encoder_options(settings);
        let encoder = {
            let _open = crate::libav::codec_open_lock();
            enc.open_with(options)
        }
        .map_err(EncodeError::libav(format!(
            "open {}",
            settings.codec.encoder_name()
        )))?;
        {
            let mut stream = output
                .add_stream(codec)
                .map_err(EncodeError::libav("add video stream"))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(settings.fps.time_base());
            stream.set_avg_frame_rate(settings.fps.rational());
            set_codec_tag(&mut stream, settings.codec);
            if settings.hdr.is_some() {
                add_hdr10_side_data(&mut stream);
            }
            if settings.codec == VideoCodec::Vp9 {
                // Matroska's AlphaMode: tells players (and libav's demuxer) the BlockAdditional
                // side data is an alpha plane.
                let mut metadata = Dictionary::new();
                metadata.set("alpha_mode", "1");
                stream.set_metadata(metadata);
            }
        }
        crate::libav::write_header(&mut output, Dictionary::new(), path)?;
        let stream_time_base = output.stream(0).expect("stream was added").time_base();
        Ok(SegmentWriter {
            output,
            encoder,
            encoder_time_base: settings.fps.time_base(),
            stream_time_base,
            frames: 0,
            colour,
        })
    }

    fn push(&mut self, frame: &mut frame::Video) -> Result<(), EncodeError> {
        frame.set_pts(Some(self.frames));
        frame.set_color_range(color::Range::MPEG);
        self.colour.stamp_frame(frame);
        self.frames += 1;
        self.encoder
            .send_frame(frame)
            .map_err(EncodeError::libav("encode frame"))?;
        self.drain()
    }

    fn drain(&mut self) -> Result<(), EncodeError> {
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            // libx264 leaves durations at 0; without them the last frame has no length.
            packet.set_duration(1);
            packet.rescale_ts(self.encoder_time_base, self.stream_time_base);
            packet
                .write_interleaved(&mut self.output)
                .map_err(EncodeError::libav("write packet"))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<i64, EncodeError> {
        self.encoder
            .send_eof()
            .map_err(EncodeError::libav("flush encoder"))?;
        self.drain()?;
        self.output
            .write_trailer()
            .map_err(EncodeError::libav("write trailer"))?;
        Ok(self.frames)
    }
}

/// The encoder's private options for `settings` (HyperFrames' settings, with the GOP locked so
/// segments join by stream copy).
fn encoder_options(settings: &VideoEncodeSettings) -> Dictionary<'static> {
    let mut options = Dictionary::new();
    let keyint = settings.gop.keyint;
    let threads = settings.threads.max(1);
    let crf = settings.crf.to_string();
    match settings.codec {
        VideoCodec::H264 | VideoCodec::H265 => {
            options.set("preset", &settings.preset);
            if settings.bitrate.is_none() {
                options.set("crf", &crf);
            }
            // HyperFrames' tuning (adaptive quantisation, a softer deblock), then the locked GOP.
            let tuning = if settings.preset == "ultrafast" {
                "aq-mode=3"
            } else {
                "aq-mode=3:aq-strength=0.8:deblock=1,1"
            };
            let gop = format!(
                "keyint={keyint}:min-keyint={keyint}:scenecut=0:open-gop=0:bframes={}",
                settings.gop.bframes
            );
            if settings.codec == VideoCodec::H264 {
                options.set("threads", &threads.to_string());
                options.set("x264-params", &format!("{tuning}:{gop}"));
            } else {
                // One frame thread and a fixed pool: x265's bytes then depend on nothing but
                // the settings and the frames.
                options.set(
                    "x265-params",
                    &format!(
                        "{tuning}:{gop}:repeat-headers=0:frame-threads=1:pools={threads}:\
                         log-level=error{}",
                        settings.hdr.map(x265_hdr_params).unwrap_or_default()
                    ),
                );
            }
        }
        VideoCodec::Vp9 => {
            if settings.bitrate.is_none() {
                // Constant quality: CRF with no bit-rate ceiling (`-b:v 0 -crf N`).
                options.set("crf", &crf);
                options.set("b", "0");
            }
            options.set("deadline", "good");
            options.set(
                "cpu-used",
                &settings.vp9_cpu_used.unwrap_or(4).clamp(-8, 8).to_string(),
            );
            options.set("row-mt", "1");
            options.set("auto-alt-ref", "0");
            options.set("threads", &threads.to_string());
            options.set("keyint_min", &keyint.to_string());
        }
        VideoCodec::ProRes4444 => {
            options.set("profile", "4444");
            options.set("vendor", "apl0");
            options.set("threads", &threads.to_string());
        }
    }
    options
}

/// x265's colour tags and HDR10 static metadata (SEI in every keyframe) for `transfer`.
fn x265_hdr_params(transfer: HdrTransfer) -> String {
    let [g, b, r, wp] = mastering::PRIMARIES;
    let (max, min) = mastering::LUMINANCE;
    let (cll, fall) = mastering::CONTENT_LIGHT;
    format!(
        ":colorprim=bt2020:transfer={}:colormatrix=bt2020nc:range=limited:\
         master-display=G({},{})B({},{})R({},{})WP({},{})L({max},{min}):max-cll={cll},{fall}",
        transfer.libav_name(),
        g.0,
        g.1,
        b.0,
        b.1,
        r.0,
        r.1,
        wp.0,
        wp.1
    )
}

/// libavutil's `AVMasteringDisplayMetadata` (`mastering_display_metadata.h`; not in the
/// generated bindings).
#[repr(C)]
struct MasteringDisplayMetadata {
    display_primaries: [[ffmpeg_next::ffi::AVRational; 2]; 3],
    white_point: [ffmpeg_next::ffi::AVRational; 2],
    min_luminance: ffmpeg_next::ffi::AVRational,
    max_luminance: ffmpeg_next::ffi::AVRational,
    has_primaries: i32,
    has_luminance: i32,
}

/// libavutil's `AVContentLightMetadata`.
#[repr(C)]
struct ContentLightMetadata {
    max_cll: u32,
    max_fall: u32,
}

/// The container's copy of the HDR10 metadata (`mdcv`/`clli` in mp4 and mov): mastering
/// display and content light level side data on the stream.
fn add_hdr10_side_data(stream: &mut format::stream::StreamMut<'_>) {
    use ffmpeg_next::ffi;
    let [g, b, r, wp] = mastering::PRIMARIES;
    let (max, min) = mastering::LUMINANCE;
    let (cll, fall) = mastering::CONTENT_LIGHT;
    let q = |num: u32, den: i32| ffi::AVRational {
        num: num as i32,
        den,
    };
    // SAFETY: the side data buffers are allocated by libav with the size of the structs they
    // hold, written once here, and owned by the stream afterwards.
    unsafe {
        let display = ffi::av_stream_new_side_data(
            stream.as_mut_ptr(),
            ffi::AVPacketSideDataType::AV_PKT_DATA_MASTERING_DISPLAY_METADATA,
            std::mem::size_of::<MasteringDisplayMetadata>(),
        )
        .cast::<MasteringDisplayMetadata>();
        if !display.is_null() {
            // libav's order is R, G, B.
            let primaries = [r, g, b];
            for (i, (x, y)) in primaries.iter().enumerate() {
                (*display).display_primaries[i] =
                    [q(u32::from(*x), 50000), q(u32::from(*y), 50000)];
            }
            (*display).white_point = [q(u32::from(wp.0), 50000), q(u32::from(wp.1), 50000)];
            (*display).max_luminance = q(max, 10000);
            (*display).min_luminance = q(min, 10000);
            (*display).has_primaries = 1;
            (*display).has_luminance = 1;
        }
        let light = ffi::av_stream_new_side_data(
            stream.as_mut_ptr(),
            ffi::AVPacketSideDataType::AV_PKT_DATA_CONTENT_LIGHT_LEVEL,
            std::mem::size_of::<ContentLightMetadata>(),
        )
        .cast::<ContentLightMetadata>();
        if !light.is_null() {
            (*light).max_cll = u32::from(cll);
            (*light).max_fall = u32::from(fall);
        }
    }
}

/// The sample entry tag: `hvc1` for H.265 (what Apple players require), else the muxer's own.
pub(crate) fn set_codec_tag(stream: &mut format::stream::StreamMut<'_>, codec: VideoCodec) {
    let tag = match codec {
        VideoCodec::H265 => u32::from_le_bytes(*b"hvc1"),
        _ => 0,
    };
    // SAFETY: the codec parameters belong to the stream; the tag is a plain integer field.
    unsafe {
        (*stream.parameters().as_mut_ptr()).codec_tag = tag;
    }
}

/// Frames in flight between a producer and its segment encoder: enough to ride out a slow
/// frame on either side, few enough to bound memory (a frame is up to a few MB).
const CHANNEL_FRAMES: usize = 8;

/// Encodes one run of frames into one closed-GOP segment, on a thread of its own: a
/// [`FrameSink`] whose frames travel to the encoder through a bounded channel, so a producer
/// that outpaces the encoder waits instead of piling frames up.
///
/// [`finish`](FrameSink::finish) hangs up, waits for the segment to be written and keeps its
/// [`EncodeOutput`]. A sink dropped before that stops the encoder, which removes the partial
/// segment. When the encoder fails, the next [`frame`](FrameSink::frame) returns its
/// [`EncodeError`] (as a [`SinkError`] to downcast).
pub struct SegmentEncoder {
    /// The segment's frames, as in its [`EncodeInput`].
    range: FrameRange,
    frames: Option<crossbeam_channel::Sender<FrameImage>>,
    thread: Option<std::thread::JoinHandle<Result<EncodeOutput, EncodeError>>>,
    output: Option<EncodeOutput>,
}

impl SegmentEncoder {
    /// Start the encoder thread for `input`.
    pub fn start(input: EncodeInput) -> Result<Self, EncodeError> {
        crate::init();
        let range = FrameRange::new(input.first_frame, input.frame_count);
        let (sender, receiver) = crossbeam_channel::bounded(CHANNEL_FRAMES);
        let thread = std::thread::Builder::new()
            .name(format!("hf-encode-{}", input.first_frame))
            .spawn(move || {
                let _span =
                    tracing::info_span!("encode", segment = %input.output.display()).entered();
                let result = encode_segment(&input, &receiver);
                if result.is_err() {
                    let _ = std::fs::remove_file(&input.output);
                }
                result
            })
            .map_err(|e| IoError::new("start", "an encoder thread", e))?;
        Ok(SegmentEncoder {
            range,
            frames: Some(sender),
            thread: Some(thread),
            output: None,
        })
    }

    /// The segment written, once [`finish`](FrameSink::finish) succeeded.
    pub fn output(&self) -> Option<&EncodeOutput> {
        self.output.as_ref()
    }

    /// Encode `frames` (every frame of `input`, in order) into the segment and wait for it.
    pub fn encode_all(
        input: EncodeInput,
        frames: impl IntoIterator<Item = FrameImage>,
    ) -> Result<EncodeOutput, EncodeError> {
        let first = input.first_frame;
        let mut encoder = SegmentEncoder::start(input)?;
        for (offset, image) in frames.into_iter().enumerate() {
            encoder
                .frame(first + offset as u64, image)
                .map_err(into_encode_error)?;
        }
        encoder.finish().map_err(into_encode_error)?;
        Ok(encoder
            .output
            .take()
            .expect("a finished encoder has its output"))
    }

    /// Hang up and wait for the encoder thread's result.
    fn join(&mut self) -> Result<EncodeOutput, EncodeError> {
        self.frames = None;
        let thread = self
            .thread
            .take()
            .expect("the encoder thread is joined once");
        thread.join().expect("the encoder thread does not panic")
    }
}

impl FrameSink for SegmentEncoder {
    fn frame(&mut self, index: u64, image: FrameImage) -> Result<(), SinkError> {
        let range = self.range;
        let too_many = || EncodeError::FrameCountMismatch {
            what: format!("the segment of frames from {}", range.first),
            expected: range.count,
            actual: index + 1 - range.first,
        };
        let Some(frames) = &self.frames else {
            return Err(too_many().into());
        };
        if frames.send(image).is_ok() {
            return Ok(());
        }
        // The encoder hung up: it failed (its error is the cause), or it has every frame.
        match self.join() {
            Err(error) => Err(error.into()),
            Ok(_) => Err(too_many().into()),
        }
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.output = Some(self.join()?);
        Ok(())
    }
}

/// A [`SegmentEncoder`]'s sink error as the [`EncodeError`] it always is.
fn into_encode_error(error: SinkError) -> EncodeError {
    *error
        .downcast::<EncodeError>()
        .expect("a segment encoder fails with an EncodeError")
}

impl Drop for SegmentEncoder {
    fn drop(&mut self) {
        if self.thread.is_some() {
            // Stopped early: the encoder sees the hang-up and removes its partial segment.
            let _ = self.join();
        }
    }
}

/// Captured frames to the encoder's pictures: 8-bit SDR, or composited HDR.
enum Converter {
    Sdr(FrameConverter),
    Hdr(HdrConverter),
}

impl Converter {
    fn new(input: &EncodeInput) -> Result<Self, EncodeError> {
        let settings = &input.settings;
        Ok(match settings.hdr {
            Some(transfer) => Converter::Hdr(HdrConverter::new(
                settings.width,
                settings.height,
                transfer,
                &input.hdr_sources,
            )?),
            None => Converter::Sdr(FrameConverter::new(
                settings.width,
                settings.height,
                settings.codec,
            )),
        })
    }

    fn convert(&mut self, index: u64, image: FrameImage) -> Result<&mut frame::Video, EncodeError> {
        let converter = match self {
            Converter::Hdr(hdr) => return hdr.convert(index, image),
            Converter::Sdr(sdr) => sdr,
        };
        match image {
            FrameImage::Encoded { format, bytes } => converter.convert(index, format, &bytes),
            FrameImage::Rgba {
                width,
                height,
                pixels,
            } => converter.convert_rgba(index, width, height, &pixels),
            FrameImage::SameAsPrevious => converter
                .last()
                .ok_or(EncodeError::NothingToRepeat { index }),
            FrameImage::Layers(_) | FrameImage::Transition(_) => Err(EncodeError::BadFrame {
                index,
                reason: "a layered HDR frame in an SDR render".into(),
            }),
        }
    }
}

fn encode_segment(
    input: &EncodeInput,
    frames: &crossbeam_channel::Receiver<FrameImage>,
) -> Result<EncodeOutput, EncodeError> {
    let settings = &input.settings;
    let mut writer = SegmentWriter::open(settings, &input.output)?;
    let mut converter = Converter::new(input)?;
    let (mut convert_time, mut encode_time) = (Duration::ZERO, Duration::ZERO);

    for offset in 0..input.frame_count {
        let index = input.first_frame + offset;
        let image = frames.recv().map_err(|_| EncodeError::ProducerStopped {
            received: offset,
            expected: input.frame_count,
        })?;
        let started = Instant::now();
        // A repeated frame is the converter's last frame, sent again (the encoder copies what
        // it is given, so nothing is duplicated here).
        let yuv = converter.convert(index, image)?;
        convert_time += started.elapsed();
        let started = Instant::now();
        writer.push(yuv)?;
        encode_time += started.elapsed();
    }
    let started = Instant::now();
    let written = writer.finish()? as u64;
    encode_time += started.elapsed();
    let bytes = file_size(&input.output)?;
    tracing::debug!(
        frames = written,
        bytes,
        ?convert_time,
        ?encode_time,
        "segment encoded"
    );
    Ok(EncodeOutput {
        path: input.output.clone(),
        frames: written,
        bytes,
        convert_time,
        encode_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_encoder_names_the_debian_package() {
        crate::init();
        let Err(error) = find_encoder("libnosuchcodec", LIBAV_PACKAGE) else {
            panic!("an encoder that does not exist was found");
        };
        assert_eq!(
            error.to_string(),
            "the libav build has no `libnosuchcodec` encoder; install Debian's `libavcodec59` package"
        );
        for codec in VideoCodec::ALL {
            check_encoder(codec).unwrap();
        }
    }
}
