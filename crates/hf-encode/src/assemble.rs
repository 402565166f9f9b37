//! The assemble stage: join closed-GOP segments by stream copy into the final file (mp4, mov
//! or webm), with the mixed audio encoded once on the way.

use crate::audio::AUDIO_RATE;
use crate::files::{file_size, PendingOutput};
use crate::libav::FpsExt;
use crate::mux::EncodedAudio;
use crate::{Container, EncodeError};
use ffmpeg_next::{codec, format, media, Dictionary, Packet, Rational};
use hf_core::Fps;
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

/// Join `input.segments` by stream copy, check the frame count, and rename into place.
pub fn assemble_stage(input: AssembleInput) -> Result<AssembleOutput, EncodeError> {
    crate::init();
    let _span = tracing::info_span!("assemble", output = %input.output.display()).entered();
    let pending = PendingOutput::new(&input.output);
    if input.audio_tracks > 0 && input.audio.is_none() {
        return Err(EncodeError::MissingAudio {
            tracks: input.audio_tracks,
        });
    }
    let mut audio = match &input.audio {
        Some(path) => Some(EncodedAudio::load(path, input.container.audio_codec())?),
        None => None,
    };
    let frames = concat_segments(&input, pending.path(), audio.as_mut())?;
    if frames != input.expected_frames {
        return Err(EncodeError::FrameCountMismatch {
            what: format!("assembled {}", input.output.display()),
            expected: input.expected_frames,
            actual: frames,
        });
    }
    let audio_seconds = check_written(&input, pending.path())?;
    pending.commit()?;
    Ok(AssembleOutput {
        path: input.output.clone(),
        frames,
        bytes: file_size(&input.output)?,
        duration_seconds: frames as f64 * input.fps.frame_duration(),
        audio_seconds,
    })
}

/// Trust boundary: read back what was written at `written` before it becomes the output. The
/// planned frames and duration, and audio within one audio frame of the video; returns the
/// audio's duration.
fn check_written(input: &AssembleInput, written: &Path) -> Result<Option<f64>, EncodeError> {
    let video = crate::inspect::probe_video(written)?;
    let expected_duration = input.expected_frames as f64 * input.fps.frame_duration();
    if video.frames != input.expected_frames
        || (video.duration_seconds - expected_duration).abs() > 0.5 * input.fps.frame_duration()
    {
        return Err(EncodeError::DurationMismatch {
            path: input.output.clone(),
            frames: video.frames,
            seconds: video.duration_seconds,
            expected_frames: input.expected_frames,
            expected_seconds: expected_duration,
        });
    }
    if input.audio.is_none() {
        return Ok(None);
    }
    let seconds = crate::inspect::audio_duration(written)?;
    // One audio frame of slack: AAC works in 1024-sample frames, Opus in 960.
    if (seconds - video.duration_seconds).abs() > 1024.0 / f64::from(AUDIO_RATE) {
        return Err(EncodeError::AudioVideoMismatch {
            path: input.output.clone(),
            audio_seconds: seconds,
            video_seconds: video.duration_seconds,
        });
    }
    Ok(Some(seconds))
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
            copy_side_data(&stream, &mut out_stream);
            if let Some(audio) = audio.as_deref_mut() {
                audio.add_stream(&mut output)?;
            }
            let mut options = Dictionary::new();
            if input.faststart && input.container.supports_faststart() {
                options.set("movflags", "+faststart");
            }
            crate::libav::write_header(&mut output, options, temp)?;
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
                .map_err(EncodeError::libav(format!(
                    "write a packet to {}",
                    temp.display()
                )))?;
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
        .map_err(EncodeError::libav(format!("finish {}", temp.display())))?;
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

/// Stream side data (HDR10's mastering display and content light level) copied over.
fn copy_side_data(from: &format::stream::Stream<'_>, to: &mut format::stream::StreamMut<'_>) {
    for side in from.side_data() {
        let data = side.data();
        // SAFETY: libav allocates `data.len()` bytes for the stream, which owns them after.
        unsafe {
            let out = ffmpeg_next::ffi::av_stream_new_side_data(
                to.as_mut_ptr(),
                side.kind().into(),
                data.len(),
            );
            if !out.is_null() {
                std::ptr::copy_nonoverlapping(data.as_ptr(), out, data.len());
            }
        }
    }
}
