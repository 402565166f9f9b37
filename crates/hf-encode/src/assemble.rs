//! The assemble stage: join closed-GOP segments by stream copy into the final file (mp4, mov
//! or webm), with the mixed audio encoded once on the way.

use crate::audio::AUDIO_RATE;
use crate::codec::LIBAV_PACKAGE;
use crate::{AudioCodec, Container, EncodeError, Fps};
use ffmpeg_next::format::{sample::Type as SampleType, Sample};
use ffmpeg_next::{codec, format, frame, media, ChannelLayout, Dictionary, Packet, Rational};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Input of [`assemble_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssembleInput {
    /// Video segments in presentation order; each starts with a keyframe.
    pub segments: Vec<PathBuf>,
    /// Final output path. It is written to a temporary file beside it and renamed into place.
    pub output: PathBuf,
    /// Frame rate of every segment.
    pub fps: Fps,
    /// Frames the output must contain; any other count is an error.
    pub expected_frames: u64,
    /// Move the `moov` atom to the front (`+faststart`; mp4 and mov).
    pub faststart: bool,
    /// The output container; segments must hold a codec it takes.
    #[serde(default)]
    pub container: Container,
    /// The mixed audio from [`crate::audio_stage`], encoded here once: AAC-LC 192 kb/s in
    /// mp4/mov, Opus 128 kb/s in webm.
    #[serde(default)]
    pub audio: Option<PathBuf>,
    /// Sounding elements the plan found; with any, `audio` must be given.
    #[serde(default)]
    pub audio_tracks: usize,
}

/// Result of [`assemble_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssembleOutput {
    /// The output file.
    pub path: PathBuf,
    /// Video frames in the output.
    pub frames: u64,
    /// Output size in bytes.
    pub bytes: u64,
    /// Video duration in seconds (`frames / fps`).
    pub duration_seconds: f64,
    /// Audio duration read back from the output, when it has audio.
    pub audio_seconds: Option<f64>,
}

/// Removes a temporary file unless it was committed.
struct TempFile {
    path: PathBuf,
    committed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The temporary path used while writing `output`: hidden, beside it, unique to this process.
pub(crate) fn temp_path_for(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

/// Join `input.segments` by stream copy, check the frame count, and rename into place.
pub fn assemble_stage(input: AssembleInput) -> Result<AssembleOutput, EncodeError> {
    crate::init();
    let _span = tracing::info_span!("assemble", output = %input.output.display()).entered();
    let mut temp = TempFile {
        path: temp_path_for(&input.output),
        committed: false,
    };
    if input.audio_tracks > 0 && input.audio.is_none() {
        return Err(EncodeError::MissingAudio {
            tracks: input.audio_tracks,
        });
    }
    let mut audio = match &input.audio {
        Some(path) => Some(EncodedAudio::load(path, input.container.audio_codec())?),
        None => None,
    };
    let frames = concat_segments(&input, &temp.path, audio.as_mut())?;
    if frames != input.expected_frames {
        return Err(EncodeError::FrameCountMismatch {
            what: format!("assembled {}", input.output.display()),
            expected: input.expected_frames,
            actual: frames,
        });
    }
    // Trust boundary: read back what was written before it becomes the output.
    let written = crate::inspect::probe_video(&temp.path)?;
    let expected_duration = input.expected_frames as f64 * input.fps.frame_duration();
    if written.frames != input.expected_frames
        || (written.duration_seconds - expected_duration).abs() > 0.5 * input.fps.frame_duration()
    {
        return Err(EncodeError::DurationMismatch {
            path: input.output.clone(),
            frames: written.frames,
            seconds: written.duration_seconds,
            expected_frames: input.expected_frames,
            expected_seconds: expected_duration,
        });
    }
    let audio_seconds = match &input.audio {
        None => None,
        Some(_) => {
            let seconds = crate::inspect::audio_duration(&temp.path)?;
            // One audio frame of slack: AAC works in 1024-sample frames, Opus in 960.
            if (seconds - written.duration_seconds).abs() > 1024.0 / f64::from(AUDIO_RATE) {
                return Err(EncodeError::AudioVideoMismatch {
                    path: input.output.clone(),
                    audio_seconds: seconds,
                    video_seconds: written.duration_seconds,
                });
            }
            Some(seconds)
        }
    };
    std::fs::rename(&temp.path, &input.output).map_err(|source| EncodeError::Io {
        action: "rename output to",
        path: input.output.clone(),
        source,
    })?;
    temp.committed = true;
    let bytes = std::fs::metadata(&input.output)
        .map_err(|source| EncodeError::Io {
            action: "read size of",
            path: input.output.clone(),
            source,
        })?
        .len();
    Ok(AssembleOutput {
        path: input.output.clone(),
        frames,
        bytes,
        duration_seconds: frames as f64 * input.fps.frame_duration(),
        audio_seconds,
    })
}

/// The mix being encoded (AAC or Opus) and interleaved with the video as segments are copied.
pub(crate) struct EncodedAudio {
    codec: AudioCodec,
    /// Interleaved stereo samples.
    samples: Vec<f32>,
    /// Samples per channel already sent to the encoder.
    sent: usize,
    encoder: Option<ffmpeg_next::encoder::Audio>,
    stream_index: usize,
    stream_time_base: Rational,
}

impl EncodedAudio {
    pub(crate) fn load(path: &Path, codec: AudioCodec) -> Result<Self, EncodeError> {
        Ok(EncodedAudio {
            codec,
            samples: crate::audio::read_mix(path)?,
            sent: 0,
            encoder: None,
            stream_index: 1,
            stream_time_base: Rational::new(1, AUDIO_RATE as i32),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.samples.len() / 2
    }

    /// Add the audio stream to `output` (before its header is written).
    pub(crate) fn add_stream(
        &mut self,
        output: &mut format::context::Output,
    ) -> Result<(), EncodeError> {
        let name = self.codec.encoder_name();
        let codec =
            ffmpeg_next::encoder::find_by_name(name).ok_or(EncodeError::MissingEncoder {
                encoder: name,
                package: LIBAV_PACKAGE,
            })?;
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(EncodeError::libav(format!("create the {name} encoder")))?;
        enc.set_rate(AUDIO_RATE as i32);
        enc.set_channel_layout(ChannelLayout::STEREO);
        enc.set_channels(2);
        enc.set_format(self.sample_format());
        enc.set_bit_rate(self.codec.bit_rate());
        enc.set_time_base((1, AUDIO_RATE as i32));
        if output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER)
        {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let encoder = {
            let _open = crate::CODEC_OPEN.lock().unwrap_or_else(|e| e.into_inner());
            enc.open_as(codec)
        }
        .map_err(EncodeError::libav("open the AAC encoder"))?;
        let mut stream = output
            .add_stream(codec)
            .map_err(EncodeError::libav("add the audio stream"))?;
        stream.set_parameters(&encoder);
        stream.set_time_base((1, AUDIO_RATE as i32));
        self.stream_index = stream.index();
        self.encoder = Some(encoder);
        Ok(())
    }

    /// Planar float for AAC; libopus takes interleaved float.
    fn sample_format(&self) -> Sample {
        match self.codec {
            AudioCodec::Aac => Sample::F32(SampleType::Planar),
            AudioCodec::Opus => Sample::F32(SampleType::Packed),
        }
    }

    /// Encode every whole frame of samples before `until` (samples per channel); with
    /// `finish`, also the last partial frame, then flush the encoder.
    pub(crate) fn write_until(
        &mut self,
        until: usize,
        finish: bool,
        output: &mut format::context::Output,
    ) -> Result<(), EncodeError> {
        self.stream_time_base = output
            .stream(self.stream_index)
            .expect("audio stream was added")
            .time_base();
        let until = until.min(self.len());
        let sample_format = self.sample_format();
        let encoder = self.encoder.as_mut().expect("stream was added");
        let frame_size = encoder.frame_size().max(1) as usize;
        while self.sent < until && (self.sent + frame_size <= until || finish) {
            let n = frame_size.min(until - self.sent);
            let mut frame = frame::Audio::new(sample_format, n, ChannelLayout::STEREO);
            frame.set_rate(AUDIO_RATE);
            let chunk = &self.samples[self.sent * 2..(self.sent + n) * 2];
            if sample_format.is_planar() {
                for channel in 0..2 {
                    let data = frame.plane_mut::<f32>(channel);
                    for (i, out) in data.iter_mut().take(n).enumerate() {
                        *out = chunk[i * 2 + channel];
                    }
                }
            } else {
                // SAFETY: a packed stereo f32 frame of `n` samples holds 2n floats in plane 0.
                let data = unsafe {
                    std::slice::from_raw_parts_mut(
                        frame.data_mut(0).as_mut_ptr().cast::<f32>(),
                        n * 2,
                    )
                };
                data.copy_from_slice(chunk);
            }
            frame.set_pts(Some(self.sent as i64));
            encoder
                .send_frame(&frame)
                .map_err(EncodeError::libav("encode audio"))?;
            self.sent += n;
            Self::drain(encoder, self.stream_index, self.stream_time_base, output)?;
        }
        if finish {
            encoder
                .send_eof()
                .map_err(EncodeError::libav("flush the audio encoder"))?;
            Self::drain(encoder, self.stream_index, self.stream_time_base, output)?;
        }
        Ok(())
    }

    fn drain(
        encoder: &mut ffmpeg_next::encoder::Audio,
        stream_index: usize,
        stream_time_base: Rational,
        output: &mut format::context::Output,
    ) -> Result<(), EncodeError> {
        let mut packet = Packet::empty();
        while encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(stream_index);
            packet.rescale_ts(Rational::new(1, AUDIO_RATE as i32), stream_time_base);
            packet
                .write_interleaved(output)
                .map_err(EncodeError::libav("write an audio packet"))?;
        }
        Ok(())
    }
}

fn concat_segments(
    input: &AssembleInput,
    temp: &Path,
    mut audio: Option<&mut EncodedAudio>,
) -> Result<u64, EncodeError> {
    let frame_tb = input.fps.time_base();
    let mut output = format::output_as(temp, input.container.muxer())
        .map_err(EncodeError::libav(format!("create {}", temp.display())))?;
    if input.container == Container::Webm {
        crate::codec::make_reproducible(&mut output);
    }
    let mut out_time_base = Rational::new(0, 1);
    let mut offset_frames: i64 = 0;
    for (k, segment) in input.segments.iter().enumerate() {
        let mut source = format::input(segment).map_err(EncodeError::libav(format!(
            "open segment {}",
            segment.display()
        )))?;
        let stream = source.streams().best(media::Type::Video).ok_or_else(|| {
            EncodeError::NoVideoStream {
                path: segment.clone(),
            }
        })?;
        let (stream_index, in_tb) = (stream.index(), stream.time_base());
        if k == 0 {
            let mut out_stream = output
                .add_stream(codec::encoder::find(codec::Id::None))
                .map_err(EncodeError::libav("add output stream"))?;
            out_stream.set_parameters(stream.parameters());
            out_stream.set_time_base(frame_tb);
            out_stream.set_avg_frame_rate(input.fps.rational());
            // The stream's metadata carries webm's `alpha_mode`.
            out_stream.set_metadata(stream.metadata().to_owned());
            let codec = match stream.parameters().id() {
                codec::Id::HEVC => crate::VideoCodec::H265,
                _ => crate::VideoCodec::H264,
            };
            // hvc1 for H.265; otherwise a zero tag lets the muxer pick its own instead of
            // copying the segment container's.
            crate::video::set_codec_tag(&mut out_stream, codec);
            if let Some(audio) = audio.as_deref_mut() {
                audio.add_stream(&mut output)?;
            }
            let mut options = Dictionary::new();
            if input.faststart && input.container.supports_faststart() {
                options.set("movflags", "+faststart");
            }
            output
                .write_header_with(options)
                .map_err(EncodeError::libav(format!(
                    "write header of {}",
                    temp.display()
                )))?;
            out_time_base = output.stream(0).expect("stream was added").time_base();
        }
        let mut segment_frames: i64 = 0;
        for (packet_stream, mut packet) in source.packets() {
            if packet_stream.index() != stream_index {
                continue;
            }
            shift_packet(&mut packet, in_tb, frame_tb, offset_frames);
            packet.rescale_ts(frame_tb, out_time_base);
            packet.set_stream(0);
            packet.set_position(-1);
            packet
                .write_interleaved(&mut output)
                .map_err(EncodeError::libav("write packet"))?;
            segment_frames += 1;
        }
        offset_frames += segment_frames;
        if let Some(audio) = audio.as_deref_mut() {
            let until = (offset_frames as f64 * input.fps.frame_duration() * f64::from(AUDIO_RATE))
                .round() as usize;
            audio.write_until(until, false, &mut output)?;
        }
    }
    if let Some(audio) = audio {
        let all = audio.len();
        audio.write_until(all, true, &mut output)?;
    }
    output
        .write_trailer()
        .map_err(EncodeError::libav("finish output"))?;
    Ok(offset_frames as u64)
}

/// Move a packet from its segment's time base to the frame time base, offset by the frames of
/// the segments before it.
fn shift_packet(packet: &mut Packet, in_tb: Rational, frame_tb: Rational, offset_frames: i64) {
    packet.rescale_ts(in_tb, frame_tb);
    packet.set_pts(packet.pts().map(|t| t + offset_frames));
    packet.set_dts(packet.dts().map(|t| t + offset_frames));
    if packet.duration() <= 0 {
        packet.set_duration(1);
    }
}
