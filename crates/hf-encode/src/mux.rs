//! The mixed audio encoded once (AAC or Opus) and interleaved into an output as its video is
//! written.

use crate::audio::AUDIO_RATE;
use crate::codec::LIBAV_PACKAGE;
use crate::{AudioCodec, EncodeError};
use ffmpeg_next::format::{sample::Type as SampleType, Sample};
use ffmpeg_next::{codec, format, frame, ChannelLayout, Packet, Rational};
use std::path::Path;

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
            let _open = crate::libav::codec_open_lock();
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
