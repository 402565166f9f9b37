//! The assemble stage: join closed-GOP segments by stream copy into the final mp4.

use crate::{EncodeError, Fps};
use ffmpeg_next::{codec, format, media, Dictionary, Packet, Rational};
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
    /// Move the `moov` atom to the front (`+faststart`).
    pub faststart: bool,
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
    let frames = concat_segments(&input, &temp.path)?;
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
    })
}

fn concat_segments(input: &AssembleInput, temp: &Path) -> Result<u64, EncodeError> {
    let frame_tb = input.fps.time_base();
    let mut output = format::output_as(temp, "mp4")
        .map_err(EncodeError::libav(format!("create {}", temp.display())))?;
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
            // SAFETY: the codec parameters belong to the stream just added; a zero tag lets the
            // mp4 muxer pick its own (avc1) instead of copying the source container's tag.
            unsafe {
                (*out_stream.parameters().as_mut_ptr()).codec_tag = 0;
            }
            let mut options = Dictionary::new();
            if input.faststart {
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
