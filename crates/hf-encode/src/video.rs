//! The encode stage: captured frames in, one closed-GOP H.264 segment out.

use crate::image::FrameConverter;
use crate::{EncodeError, Fps, FrameImage};
use ffmpeg_next::{codec, color, encoder, format, frame, Dictionary, Packet};
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

/// What the H.264 encoder is asked to produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoEncodeSettings {
    /// Output width in pixels (even).
    pub width: u32,
    /// Output height in pixels (even).
    pub height: u32,
    /// Frame rate; also the stream time base.
    pub fps: Fps,
    /// x264 preset (`ultrafast` ... `veryslow`).
    pub preset: String,
    /// Constant rate factor (0-51, lower is better).
    pub crf: u32,
    /// GOP structure.
    pub gop: GopSettings,
    /// libx264 threads. Part of the settings (never derived from the worker count) because
    /// x264's output depends on it; a fixed value keeps renders byte-identical.
    pub threads: u32,
}

/// Input of [`encode_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncodeInput {
    /// Encoder settings.
    pub settings: VideoEncodeSettings,
    /// Where the segment file is written (an `.mp4`).
    pub output: PathBuf,
    /// Render index of the segment's first frame (for error messages).
    pub first_frame: u64,
    /// How many frames the segment holds; fewer received is an error.
    pub frame_count: u64,
}

/// Result of [`encode_stage`].
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

/// A segment being written: encoder plus muxer.
struct SegmentWriter {
    output: format::context::Output,
    encoder: encoder::Video,
    encoder_time_base: ffmpeg_next::Rational,
    stream_time_base: ffmpeg_next::Rational,
    frames: i64,
}

impl SegmentWriter {
    fn open(settings: &VideoEncodeSettings, path: &Path) -> Result<Self, EncodeError> {
        let codec = find_encoder("libx264", "libavcodec59")?;
        let mut output = format::output_as(path, "mp4")
            .map_err(EncodeError::libav(format!("create {}", path.display())))?;
        let global_header = output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER);
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(EncodeError::libav("create H.264 encoder"))?;
        enc.set_width(settings.width);
        enc.set_height(settings.height);
        enc.set_format(format::Pixel::YUV420P);
        enc.set_time_base(settings.fps.time_base());
        enc.set_frame_rate(Some(settings.fps.rational()));
        enc.set_gop(settings.gop.keyint);
        enc.set_max_b_frames(settings.gop.bframes as usize);
        enc.set_colorspace(color::Space::BT709);
        enc.set_color_range(color::Range::MPEG);
        enc.set_color_primaries(color::Primaries::BT709);
        enc.set_color_transfer_characteristic(color::TransferCharacteristic::BT709);
        let mut flags = codec::Flags::CLOSED_GOP;
        if global_header {
            flags |= codec::Flags::GLOBAL_HEADER;
        }
        enc.set_flags(flags);

        let mut options = Dictionary::new();
        options.set("preset", &settings.preset);
        options.set("crf", &settings.crf.to_string());
        options.set("threads", &settings.threads.max(1).to_string());
        let keyint = settings.gop.keyint;
        options.set(
            "x264-params",
            &format!(
                "keyint={keyint}:min-keyint={keyint}:scenecut=0:open-gop=0:bframes={}",
                settings.gop.bframes
            ),
        );
        let encoder = {
            let _open = crate::CODEC_OPEN.lock().unwrap_or_else(|e| e.into_inner());
            enc.open_with(options)
        }
        .map_err(EncodeError::libav("open libx264"))?;
        {
            let mut stream = output
                .add_stream(codec)
                .map_err(EncodeError::libav("add video stream"))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(settings.fps.time_base());
            stream.set_avg_frame_rate(settings.fps.rational());
        }
        output.write_header().map_err(EncodeError::libav(format!(
            "write header of {}",
            path.display()
        )))?;
        let stream_time_base = output.stream(0).expect("stream was added").time_base();
        Ok(SegmentWriter {
            output,
            encoder,
            encoder_time_base: settings.fps.time_base(),
            stream_time_base,
            frames: 0,
        })
    }

    fn push(&mut self, frame: &mut frame::Video) -> Result<(), EncodeError> {
        frame.set_pts(Some(self.frames));
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

/// Encode `input.frame_count` frames received from `frames` into one closed-GOP segment.
///
/// Runs until every frame has arrived; if the sender hangs up early the partial segment is
/// removed and [`EncodeError::ProducerStopped`] is returned.
pub fn encode_stage(
    input: EncodeInput,
    frames: crossbeam_channel::Receiver<FrameImage>,
) -> Result<EncodeOutput, EncodeError> {
    crate::init();
    let _span = tracing::info_span!("encode", segment = %input.output.display()).entered();
    let result = encode_segment(&input, &frames);
    if result.is_err() {
        let _ = std::fs::remove_file(&input.output);
    }
    result
}

fn encode_segment(
    input: &EncodeInput,
    frames: &crossbeam_channel::Receiver<FrameImage>,
) -> Result<EncodeOutput, EncodeError> {
    let settings = &input.settings;
    let mut writer = SegmentWriter::open(settings, &input.output)?;
    let mut converter = FrameConverter::new(settings.width, settings.height);
    let mut previous: Option<frame::Video> = None;
    let (mut convert_time, mut encode_time) = (Duration::ZERO, Duration::ZERO);

    for offset in 0..input.frame_count {
        let index = input.first_frame + offset;
        let image = frames.recv().map_err(|_| EncodeError::ProducerStopped {
            received: offset,
            expected: input.frame_count,
        })?;
        let started = Instant::now();
        let mut yuv = match image {
            FrameImage::Encoded { format, bytes } => converter.convert(index, format, &bytes)?,
            FrameImage::SameAsPrevious => previous
                .clone()
                .ok_or(EncodeError::NothingToRepeat { index })?,
        };
        convert_time += started.elapsed();
        let started = Instant::now();
        writer.push(&mut yuv)?;
        encode_time += started.elapsed();
        previous = Some(yuv);
    }
    let started = Instant::now();
    let written = writer.finish()? as u64;
    encode_time += started.elapsed();
    let bytes = std::fs::metadata(&input.output)
        .map_err(|source| EncodeError::Io {
            action: "read size of",
            path: input.output.clone(),
            source,
        })?
        .len();
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
