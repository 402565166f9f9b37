//! Outputs made from the whole frame sequence rather than from segments: an animated GIF (two
//! palette passes) and a PNG sequence directory (with an `audio.m4a` beside the frames).

use crate::codec::LIBAV_PACKAGE;
use crate::files::{file_size, PendingOutput};
use crate::image::decode_image;
use crate::libav::FpsExt;
use crate::mux::EncodedAudio;
use crate::{AudioCodec, EncodeError};
use ffmpeg_next::{codec, encoder, filter, format, frame, Dictionary, Packet};
use hf_core::{sequence_frame_name, Fps, IoError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Input of [`gif_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GifInput {
    /// The captured frames (PNG, RGBA), in order.
    pub frames: Vec<PathBuf>,
    /// Frame rate (at most 30: GIF delays are whole hundredths of a second).
    pub fps: Fps,
    /// The `.gif` to write (through a temporary file renamed at the end).
    pub output: PathBuf,
    /// Loop count: 0 loops forever, N plays N+1 times (the GIF `NETSCAPE2.0` count).
    pub loop_count: u16,
}

/// Result of [`gif_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GifOutput {
    /// The file written.
    pub path: PathBuf,
    /// Frames in it.
    pub frames: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// A filter graph with named `buffer` sources and one `buffersink` called `out`.
fn build_graph(
    sources: &[(&str, &frame::Video)],
    fps: Fps,
    description: &str,
) -> Result<filter::Graph, EncodeError> {
    let mut graph = filter::Graph::new();
    for (name, like) in sources {
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect=1/1",
            like.width(),
            like.height(),
            ffmpeg_next::ffi::AVPixelFormat::from(like.format()) as i32,
            fps.den,
            fps.num
        );
        graph
            .add(&filter::find("buffer").expect("buffer filter"), name, &args)
            .map_err(EncodeError::libav("create a GIF filter source"))?;
    }
    graph
        .add(
            &filter::find("buffersink").expect("buffersink filter"),
            "out",
            "",
        )
        .map_err(EncodeError::libav("create the GIF filter sink"))?;
    let mut parser = graph.output(sources[0].0, 0);
    for (name, _) in &sources[1..] {
        parser = parser.and_then(|p| p.output(name, 0));
    }
    parser
        .and_then(|p| p.input("out", 0))
        .and_then(|p| p.parse(description))
        .map_err(EncodeError::libav(format!(
            "build the filter `{description}`"
        )))?;
    graph
        .validate()
        .map_err(EncodeError::libav(format!("configure `{description}`")))?;
    Ok(graph)
}

fn push(graph: &mut filter::Graph, source: &str, frame: &frame::Video) -> Result<(), EncodeError> {
    graph
        .get(source)
        .expect("source exists")
        .source()
        .add(frame)
        .map_err(EncodeError::libav("filter a GIF frame"))
}

fn end(graph: &mut filter::Graph, source: &str) -> Result<(), EncodeError> {
    graph
        .get(source)
        .expect("source exists")
        .source()
        .flush()
        .map_err(EncodeError::libav("end a GIF filter input"))
}

/// Encode `input.frames` as an animated GIF the way HyperFrames does: a palette from the
/// frames' differences (`palettegen=stats_mode=diff`, one entry reserved for transparency),
/// then `paletteuse` with sierra2_4a dithering; pixels under half opacity become transparent.
pub fn gif_stage(input: &GifInput) -> Result<GifOutput, EncodeError> {
    crate::init();
    let _span = tracing::info_span!("gif", output = %input.output.display()).entered();
    let Some(first_path) = input.frames.first() else {
        return Err(EncodeError::FrameCountMismatch {
            what: format!("GIF {}", input.output.display()),
            expected: 1,
            actual: 0,
        });
    };
    let first = decode_image(first_path, 0)?;

    // Pass 1: the palette.
    let mut palette_graph = build_graph(
        &[("in", &first)],
        input.fps,
        "palettegen=stats_mode=diff:reserve_transparent=1",
    )?;
    for (index, path) in input.frames.iter().enumerate() {
        let mut image = decode_image(path, index as u64)?;
        image.set_pts(Some(index as i64));
        push(&mut palette_graph, "in", &image)?;
    }
    end(&mut palette_graph, "in")?;
    let mut palette = frame::Video::empty();
    palette_graph
        .get("out")
        .expect("sink exists")
        .sink()
        .frame(&mut palette)
        .map_err(EncodeError::libav("generate the GIF palette"))?;
    palette.set_pts(Some(0));

    // Pass 2: map every frame onto the palette and encode.
    let mut graph = build_graph(
        &[("in", &first), ("palette", &palette)],
        input.fps,
        "[in][palette]paletteuse=dither=sierra2_4a:alpha_threshold=128",
    )?;
    push(&mut graph, "palette", &palette)?;
    end(&mut graph, "palette")?;

    let pending = PendingOutput::new(&input.output);
    let frames = write_gif(input, &first, &mut graph, pending.path())?;
    if frames != input.frames.len() as u64 {
        return Err(EncodeError::FrameCountMismatch {
            what: format!("GIF {}", input.output.display()),
            expected: input.frames.len() as u64,
            actual: frames,
        });
    }
    pending.commit()?;
    Ok(GifOutput {
        path: input.output.clone(),
        frames,
        bytes: file_size(&input.output)?,
    })
}

/// The second pass: frames through `paletteuse`, into the GIF encoder and muxer at `temp`.
fn write_gif(
    input: &GifInput,
    first: &frame::Video,
    graph: &mut filter::Graph,
    temp: &Path,
) -> Result<u64, EncodeError> {
    let gif = encoder::find(codec::Id::GIF).ok_or(EncodeError::MissingEncoder {
        encoder: "gif",
        package: LIBAV_PACKAGE,
    })?;
    let mut output = format::output_as(temp, "gif")
        .map_err(EncodeError::libav(format!("create {}", temp.display())))?;
    let mut enc = codec::context::Context::new_with_codec(gif)
        .encoder()
        .video()
        .map_err(EncodeError::libav("create the GIF encoder"))?;
    enc.set_width(first.width());
    enc.set_height(first.height());
    enc.set_format(format::Pixel::PAL8);
    enc.set_time_base(input.fps.time_base());
    let mut encoder = {
        let _open = crate::libav::codec_open_lock();
        enc.open_as(gif)
    }
    .map_err(EncodeError::libav("open the GIF encoder"))?;
    {
        let mut stream = output
            .add_stream(gif)
            .map_err(EncodeError::libav("add the GIF stream"))?;
        stream.set_parameters(&encoder);
        stream.set_time_base(input.fps.time_base());
    }
    let mut options = Dictionary::new();
    options.set("loop", &input.loop_count.to_string());
    crate::libav::write_header(&mut output, options, temp)?;
    let stream_tb = output.stream(0).expect("stream was added").time_base();
    let frame_tb = input.fps.time_base();

    let mut written = 0u64;
    let mut mapped = frame::Video::empty();
    let drain_encoder = |encoder: &mut encoder::Video, output: &mut format::context::Output| {
        let mut packet = Packet::empty();
        let mut count = 0;
        while encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            packet.set_duration(1);
            packet.rescale_ts(frame_tb, stream_tb);
            packet
                .write_interleaved(output)
                .map_err(EncodeError::libav("write a GIF frame"))?;
            count += 1;
        }
        Ok::<u64, EncodeError>(count)
    };
    let mut pull = |graph: &mut filter::Graph,
                    encoder: &mut encoder::Video,
                    output: &mut format::context::Output|
     -> Result<u64, EncodeError> {
        let mut count = 0;
        while graph
            .get("out")
            .expect("sink exists")
            .sink()
            .frame(&mut mapped)
            .is_ok()
        {
            encoder
                .send_frame(&mapped)
                .map_err(EncodeError::libav("encode a GIF frame"))?;
            count += drain_encoder(encoder, output)?;
        }
        Ok(count)
    };
    for (index, path) in input.frames.iter().enumerate() {
        let mut image = if index == 0 {
            first.clone()
        } else {
            decode_image(path, index as u64)?
        };
        image.set_pts(Some(index as i64));
        push(graph, "in", &image)?;
        written += pull(graph, &mut encoder, &mut output)?;
    }
    end(graph, "in")?;
    written += pull(graph, &mut encoder, &mut output)?;
    encoder
        .send_eof()
        .map_err(EncodeError::libav("flush the GIF encoder"))?;
    let mut packet = Packet::empty();
    while encoder.receive_packet(&mut packet).is_ok() {
        packet.set_stream(0);
        packet.set_duration(1);
        packet.rescale_ts(frame_tb, stream_tb);
        packet
            .write_interleaved(&mut output)
            .map_err(EncodeError::libav("write a GIF frame"))?;
        written += 1;
    }
    output
        .write_trailer()
        .map_err(EncodeError::libav("finish the GIF"))?;
    Ok(written)
}

/// Input of [`png_sequence_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PngSequenceInput {
    /// The captured frames (PNG), in order. They are moved, not copied, when possible.
    pub frames: Vec<PathBuf>,
    /// The output directory (must not exist, or be empty). Written as a temporary directory
    /// beside it and renamed into place at the end.
    pub output: PathBuf,
    /// The mixed audio from [`crate::audio_stage`], written as `audio.m4a` (AAC-LC 192 kb/s).
    pub audio: Option<PathBuf>,
    /// Leave the frame files where they are (copied, or hard-linked), instead of moving them.
    #[serde(default)]
    pub keep_frames: bool,
}

/// Result of [`png_sequence_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PngSequenceOutput {
    /// The directory written.
    pub path: PathBuf,
    /// Frame files in it (`frame_000001.png`...).
    pub frames: u64,
    /// Total size in bytes.
    pub bytes: u64,
    /// Duration of `audio.m4a`, when there is audio.
    pub audio_seconds: Option<f64>,
}

/// Whether PNG `bytes` carry an alpha channel (colour type 6, RGBA, in the IHDR chunk).
fn png_is_rgba(bytes: &[u8]) -> bool {
    bytes.len() > 25 && &bytes[12..16] == b"IHDR" && bytes[25] == 6
}

/// Re-encode a PNG as RGBA (Chrome writes RGB when a frame is fully opaque).
fn png_as_rgba(path: &Path, index: u64) -> Result<Vec<u8>, EncodeError> {
    let decoded = decode_image(path, index)?;
    let mut rgba = frame::Video::empty();
    let mut scaler = ffmpeg_next::software::scaling::Context::get(
        decoded.format(),
        decoded.width(),
        decoded.height(),
        format::Pixel::RGBA,
        decoded.width(),
        decoded.height(),
        ffmpeg_next::software::scaling::Flags::POINT,
    )
    .map_err(EncodeError::libav("create the RGBA converter"))?;
    scaler
        .run(&decoded, &mut rgba)
        .map_err(EncodeError::libav("convert a frame to RGBA"))?;
    let png = encoder::find(codec::Id::PNG).ok_or(EncodeError::MissingEncoder {
        encoder: "png",
        package: LIBAV_PACKAGE,
    })?;
    let mut enc = codec::context::Context::new_with_codec(png)
        .encoder()
        .video()
        .map_err(EncodeError::libav("create the PNG encoder"))?;
    enc.set_width(rgba.width());
    enc.set_height(rgba.height());
    enc.set_format(format::Pixel::RGBA);
    enc.set_time_base((1, 1));
    let mut encoder = {
        let _open = crate::libav::codec_open_lock();
        enc.open_as(png)
    }
    .map_err(EncodeError::libav("open the PNG encoder"))?;
    encoder
        .send_frame(&rgba)
        .map_err(EncodeError::libav("encode a PNG"))?;
    encoder
        .send_eof()
        .map_err(EncodeError::libav("flush the PNG encoder"))?;
    let mut packet = Packet::empty();
    encoder
        .receive_packet(&mut packet)
        .map_err(EncodeError::libav("encode a PNG"))?;
    Ok(packet.data().unwrap_or_default().to_vec())
}

/// Put captured frame `index` from `source` at `target` as an RGBA PNG (re-encoded when Chrome
/// wrote RGB): moved, or with `keep` hard-linked (copied when that fails); returns its size.
fn place_as_rgba(source: &Path, index: u64, target: &Path, keep: bool) -> Result<u64, EncodeError> {
    let data = std::fs::read(source).map_err(IoError::with("read frame", source))?;
    if png_is_rgba(&data) {
        let placed = if keep {
            std::fs::hard_link(source, target)
        } else {
            std::fs::rename(source, target)
        };
        if placed.is_err() {
            std::fs::write(target, &data).map_err(IoError::with("write", target))?;
        }
        return Ok(data.len() as u64);
    }
    let rgba = png_as_rgba(source, index)?;
    std::fs::write(target, &rgba).map_err(IoError::with("write", target))?;
    Ok(rgba.len() as u64)
}

/// Write the frames as `output/frame_000001.png`... (RGBA), plus `audio.m4a` when there is
/// audio, as HyperFrames' png-sequence format does.
pub fn png_sequence_stage(input: &PngSequenceInput) -> Result<PngSequenceOutput, EncodeError> {
    crate::init();
    let _span = tracing::info_span!("png_sequence", output = %input.output.display()).entered();
    let pending = PendingOutput::new(&input.output);
    let temp = pending.path();
    let _ = std::fs::remove_dir_all(temp);
    std::fs::create_dir_all(temp).map_err(IoError::with("create", temp))?;
    let mut bytes = 0;
    for (index, source) in input.frames.iter().enumerate() {
        let target = temp.join(sequence_frame_name(index as u64));
        bytes += place_as_rgba(source, index as u64, &target, input.keep_frames)?;
    }
    let audio_seconds = match &input.audio {
        None => None,
        Some(mix) => {
            let target = temp.join("audio.m4a");
            write_audio_file(mix, &target)?;
            bytes += file_size(&target)?;
            Some(crate::inspect::audio_duration(&target)?)
        }
    };
    pending.commit()?;
    Ok(PngSequenceOutput {
        path: input.output.clone(),
        frames: input.frames.len() as u64,
        bytes,
        audio_seconds,
    })
}

/// Encode the mix at `mix` as AAC-LC 192 kb/s into an `.m4a` file at `output`.
pub(crate) fn write_audio_file(mix: &Path, output: &Path) -> Result<(), EncodeError> {
    crate::init();
    let mut audio = EncodedAudio::load(mix, AudioCodec::Aac)?;
    let mut muxer = format::output_as(output, "ipod")
        .map_err(EncodeError::libav(format!("create {}", output.display())))?;
    audio.add_stream(&mut muxer)?;
    crate::libav::write_header(&mut muxer, Dictionary::new(), output)?;
    let all = audio.len();
    audio.write_until(all, true, &mut muxer)?;
    muxer
        .write_trailer()
        .map_err(EncodeError::libav(format!("finish {}", output.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgba_pngs_are_recognised_by_their_header() {
        let mut header = vec![0u8; 33];
        header[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
        header[12..16].copy_from_slice(b"IHDR");
        header[25] = 6;
        assert!(png_is_rgba(&header));
        header[25] = 2;
        assert!(!png_is_rgba(&header));
    }
}
