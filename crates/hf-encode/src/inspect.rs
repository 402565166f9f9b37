//! Read back rendered media: stream facts and decoded pixels. Used by tests, `hf` summaries and
//! the trust checks of the assemble stage.

use crate::image::{set_colorspace, Matrix};
use crate::EncodeError;
use ffmpeg_next::{format::Pixel, frame, media, software::scaling};
use hf_core::IoError;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

/// Facts about the first video stream of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoInfo {
    /// Codec name (e.g. `h264`).
    pub codec: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel format name (e.g. `yuv420p`).
    pub pix_fmt: String,
    /// Average frame rate as `(num, den)`.
    pub frame_rate: (i32, i32),
    /// Packets (frames) in the stream, counted.
    pub frames: u64,
    /// Indices (in decode order) of keyframe packets.
    pub keyframes: Vec<u64>,
    /// Stream duration in seconds from the last packet's end.
    pub duration_seconds: f64,
    /// Colour matrix name (e.g. `bt709`).
    pub color_space: String,
    /// Colour range name (`tv` for limited, `pc` for full).
    pub color_range: String,
}

fn pixel_name(format: Pixel) -> String {
    let descriptor = format.descriptor();
    descriptor
        .map(|d| d.name().to_string())
        .unwrap_or_else(|| format!("{format:?}"))
}

/// An opened file with a decoder for its best video stream.
struct OpenVideo {
    input: ffmpeg_next::format::context::Input,
    stream_index: usize,
    time_base: ffmpeg_next::Rational,
    frame_rate: ffmpeg_next::Rational,
    decoder: ffmpeg_next::decoder::Video,
}

fn open_video(path: &Path) -> Result<OpenVideo, EncodeError> {
    crate::init();
    let input = ffmpeg_next::format::input(path)
        .map_err(EncodeError::libav(format!("open {}", path.display())))?;
    let stream =
        input
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| EncodeError::NoVideoStream {
                path: path.to_path_buf(),
            })?;
    let (stream_index, time_base, frame_rate) =
        (stream.index(), stream.time_base(), stream.avg_frame_rate());
    // libav's own VP9 decoder drops webm's alpha; libvpx keeps it.
    let libvpx = (stream.parameters().id() == ffmpeg_next::codec::Id::VP9
        && stream.metadata().get("alpha_mode") == Some("1"))
    .then(|| ffmpeg_next::decoder::find_by_name("libvpx-vp9"))
    .flatten();
    let mut context = match libvpx {
        Some(codec) => ffmpeg_next::codec::context::Context::new_with_codec(codec),
        None => ffmpeg_next::codec::context::Context::new(),
    };
    context
        .set_parameters(stream.parameters())
        .map_err(EncodeError::libav("read codec parameters"))?;
    let decoder = context
        .decoder()
        .video()
        .map_err(EncodeError::libav("open video decoder"))?;
    Ok(OpenVideo {
        input,
        stream_index,
        time_base,
        frame_rate,
        decoder,
    })
}

/// The frame files of a PNG sequence directory (`frame_000001.png`...), in order.
pub fn sequence_frames(dir: &Path) -> Result<Vec<std::path::PathBuf>, EncodeError> {
    let entries = std::fs::read_dir(dir).map_err(IoError::with("list", dir))?;
    let mut frames: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("frame_") && n.ends_with(".png"))
        })
        .collect();
    frames.sort();
    Ok(frames)
}

/// Probe the first video stream of `path`, counting its packets. A directory is read as a PNG
/// sequence (no frame rate: its duration is reported as 0).
pub fn probe_video(path: &Path) -> Result<VideoInfo, EncodeError> {
    if path.is_dir() {
        let frames = sequence_frames(path)?;
        let first = frames.first().ok_or_else(|| EncodeError::NoVideoStream {
            path: path.to_path_buf(),
        })?;
        let image = crate::image::decode_image(first, 0)?;
        return Ok(VideoInfo {
            codec: "png".into(),
            width: image.width(),
            height: image.height(),
            pix_fmt: pixel_name(image.format()),
            frame_rate: (0, 1),
            frames: frames.len() as u64,
            keyframes: (0..frames.len() as u64).collect(),
            duration_seconds: 0.0,
            color_space: "gbr".into(),
            color_range: "pc".into(),
        });
    }
    let OpenVideo {
        mut input,
        stream_index: index,
        time_base,
        frame_rate: rate,
        decoder,
    } = open_video(path)?;
    // SAFETY: reading plain enum fields of the decoder context.
    let (space, range) = unsafe {
        let ptr = decoder.as_ptr();
        (
            ffmpeg_next::ffi::av_color_space_name((*ptr).colorspace),
            ffmpeg_next::ffi::av_color_range_name((*ptr).color_range),
        )
    };
    let c_name = |p: *const std::os::raw::c_char| {
        if p.is_null() {
            "unknown".to_string()
        } else {
            // SAFETY: libav returns static NUL-terminated names.
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned()
        }
    };
    let mut info = VideoInfo {
        codec: crate::streams::decoder_name(&decoder),
        width: decoder.width(),
        height: decoder.height(),
        // webm keeps VP9's alpha beside the picture; libvpx decodes it as yuva420p.
        pix_fmt: if decoder.codec().is_some_and(|c| c.name() == "libvpx-vp9")
            && decoder.format() == Pixel::YUV420P
        {
            "yuva420p".to_string()
        } else {
            pixel_name(decoder.format())
        },
        frame_rate: (rate.numerator(), rate.denominator()),
        frames: 0,
        keyframes: Vec::new(),
        duration_seconds: 0.0,
        color_space: c_name(space),
        color_range: c_name(range),
    };
    let mut end = 0i64;
    for (stream, packet) in input.packets() {
        if stream.index() != index {
            continue;
        }
        if packet.is_key() {
            info.keyframes.push(info.frames);
        }
        info.frames += 1;
        if let Some(pts) = packet.pts() {
            end = end.max(pts + packet.duration());
        }
    }
    info.duration_seconds = end as f64 * f64::from(time_base);
    Ok(info)
}

/// An 8-bit RGB image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major RGB bytes, `width * 3` per row.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// The colour at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// An 8-bit RGBA image (straight, not premultiplied, alpha; 255 for opaque sources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbaImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major RGBA bytes, `width * 4` per row.
    pub data: Vec<u8>,
}

impl RgbaImage {
    /// The colour and alpha at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [
            self.data[i],
            self.data[i + 1],
            self.data[i + 2],
            self.data[i + 3],
        ]
    }

    /// Whether any pixel is less than fully opaque.
    pub fn has_transparency(&self) -> bool {
        self.data.chunks_exact(4).any(|p| p[3] < 255)
    }

    /// The colour channels alone.
    pub fn to_rgb(&self) -> RgbImage {
        RgbImage {
            width: self.width,
            height: self.height,
            data: self
                .data
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        }
    }

    /// Colour premultiplied by alpha, then alpha: what a transparent pixel looks like
    /// whatever colour the encoder kept under it.
    pub fn premultiplied(&self) -> Vec<u8> {
        self.data
            .chunks_exact(4)
            .flat_map(|p| {
                let a = u16::from(p[3]);
                let m = |c: u8| ((u16::from(c) * a + 127) / 255) as u8;
                [m(p[0]), m(p[1]), m(p[2]), p[3]]
            })
            .collect()
    }
}

/// Decode the frames at `indices` (display order, 0-based) of `path` to full-range RGB using the
/// stream's matrix. Indices may be in any order; the result follows `indices`.
pub fn decode_rgb_frames(path: &Path, indices: &[u64]) -> Result<Vec<RgbImage>, EncodeError> {
    Ok(decode_rgba_frames(path, indices)?
        .iter()
        .map(RgbaImage::to_rgb)
        .collect())
}

/// The swscale matrix for a decoded frame: its tag, or for untagged video the guess browsers
/// make (BT.709 from 720 lines up).
fn matrix_of(frame: &frame::Video) -> Matrix {
    use ffmpeg_next::color::Space;
    match frame.color_space() {
        Space::BT709 => Matrix::Bt709,
        Space::Unspecified if frame.height() >= 720 => Matrix::Bt709,
        _ => Matrix::Bt601,
    }
}

/// Decode the frames at `indices` of `path` (a video file, or a PNG sequence directory) to
/// RGBA, keeping the alpha of VP9 (libvpx), ProRes 4444, GIF and PNG.
pub fn decode_rgba_frames(path: &Path, indices: &[u64]) -> Result<Vec<RgbaImage>, EncodeError> {
    let mut scaler: Option<(Pixel, scaling::Context)> = None;
    let mut convert = |frame: &frame::Video| -> Result<RgbaImage, EncodeError> {
        let full_range = frame.color_range() == ffmpeg_next::color::Range::JPEG;
        if scaler.as_ref().map(|(f, _)| *f) != Some(frame.format()) {
            let mut context = scaling::Context::get(
                frame.format(),
                frame.width(),
                frame.height(),
                Pixel::RGBA,
                frame.width(),
                frame.height(),
                scaling::Flags::BILINEAR,
            )
            .map_err(EncodeError::libav("create RGB converter"))?;
            let matrix = matrix_of(frame);
            set_colorspace(&mut context, matrix, full_range, matrix, true);
            scaler = Some((frame.format(), context));
        }
        let mut rgb = frame::Video::empty();
        scaler
            .as_mut()
            .expect("scaler was just created")
            .1
            .run(frame, &mut rgb)
            .map_err(EncodeError::libav("convert to RGB"))?;
        let (width, height) = (rgb.width(), rgb.height());
        let stride = rgb.stride(0);
        let mut data = Vec::with_capacity((width * height * 4) as usize);
        for row in 0..height as usize {
            data.extend_from_slice(&rgb.data(0)[row * stride..row * stride + width as usize * 4]);
        }
        Ok(RgbaImage {
            width,
            height,
            data,
        })
    };
    if path.is_dir() {
        let frames = sequence_frames(path)?;
        return indices
            .iter()
            .map(|&wanted| {
                let file =
                    frames
                        .get(wanted as usize)
                        .ok_or_else(|| EncodeError::FrameOutOfRange {
                            path: path.to_path_buf(),
                            frames: frames.len() as u64,
                            index: wanted,
                        })?;
                convert(&crate::image::decode_image(file, wanted)?)
            })
            .collect();
    }
    let OpenVideo {
        mut input,
        stream_index: index,
        mut decoder,
        ..
    } = open_video(path)?;
    let wanted_max = indices.iter().copied().max().unwrap_or(0);
    let mut found: Vec<Option<RgbaImage>> = vec![None; indices.len()];
    let mut decoded = frame::Video::empty();
    let mut shown: u64 = 0;
    let mut keep = |frame: &frame::Video, shown: u64| -> Result<(), EncodeError> {
        if !indices.contains(&shown) {
            return Ok(());
        }
        let image = convert(frame)?;
        for (slot, wanted) in found.iter_mut().zip(indices) {
            if *wanted == shown {
                *slot = Some(image.clone());
            }
        }
        Ok(())
    };
    for (stream, packet) in input.packets() {
        if stream.index() != index {
            continue;
        }
        decoder
            .send_packet(&packet)
            .map_err(EncodeError::libav("decode packet"))?;
        while decoder.receive_frame(&mut decoded).is_ok() {
            keep(&decoded, shown)?;
            shown += 1;
        }
        if shown > wanted_max {
            break;
        }
    }
    decoder
        .send_eof()
        .map_err(EncodeError::libav("flush decoder"))?;
    while decoder.receive_frame(&mut decoded).is_ok() {
        keep(&decoded, shown)?;
        shown += 1;
    }
    found
        .into_iter()
        .zip(indices)
        .map(|(image, &wanted)| {
            image.ok_or_else(|| EncodeError::FrameOutOfRange {
                path: path.to_path_buf(),
                frames: shown,
                index: wanted,
            })
        })
        .collect()
}

/// Duration of `path`'s best audio stream in seconds (encoder priming excluded).
pub fn audio_duration(path: &Path) -> Result<f64, EncodeError> {
    crate::init();
    let mut input = ffmpeg_next::format::input(path)
        .map_err(EncodeError::libav(format!("open {}", path.display())))?;
    let stream =
        input
            .streams()
            .best(media::Type::Audio)
            .ok_or_else(|| EncodeError::NoAudioStream {
                path: path.to_path_buf(),
            })?;
    let (index, time_base) = (stream.index(), stream.time_base());
    let mut first = i64::MAX;
    let mut end = i64::MIN;
    for (stream, packet) in input.packets() {
        if stream.index() != index {
            continue;
        }
        if let Some(pts) = packet.pts() {
            first = first.min(pts);
            end = end.max(pts + packet.duration());
        }
    }
    if end == i64::MIN {
        return Ok(0.0);
    }
    // Priming samples come out with negative timestamps; they are not heard.
    Ok((end - first.max(0)) as f64 * f64::from(time_base))
}

/// Decode `path`'s best audio stream to interleaved 48 kHz stereo `f32` (mono on both
/// channels), at most `max_seconds` long.
pub fn decode_audio(path: &Path, max_seconds: f64) -> Result<Vec<f32>, EncodeError> {
    crate::init();
    let mut samples = crate::audio::decode_track(&crate::AudioTrack {
        element: "inspect".into(),
        source: path.to_path_buf(),
        start_seconds: 0.0,
        fades: [0.0; 2],
        duration_seconds: max_seconds,
        media_start: 0.0,
        rate: 1.0,
        volume: 1.0,
        looped: false,
        envelope: None,
        fx: None,
        group: None,
    })?;
    // decode_track pads to the slot; report only what the file holds.
    let held =
        (audio_duration(path)?.min(max_seconds) * f64::from(crate::AUDIO_RATE)).round() as usize;
    samples.truncate(held * 2);
    Ok(samples)
}

/// The four-character types of the top-level boxes of an ISO-BMFF (mp4/mov) file, in order.
/// A faststart file lists `moov` before `mdat`.
pub fn mp4_top_level_boxes(path: &Path) -> Result<Vec<String>, EncodeError> {
    let io = |source| EncodeError::from(IoError::new("read", path, source));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let length = file.metadata().map_err(io)?.len();
    let mut boxes = Vec::new();
    let mut position = 0u64;
    while position + 8 <= length {
        let mut header = [0u8; 16];
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(position)).map_err(io)?;
        file.read_exact(&mut header[..8]).map_err(io)?;
        let mut size = u64::from(u32::from_be_bytes(header[..4].try_into().expect("4 bytes")));
        boxes.push(String::from_utf8_lossy(&header[4..8]).into_owned());
        if size == 1 {
            file.read_exact(&mut header[8..16]).map_err(io)?;
            size = u64::from_be_bytes(header[8..16].try_into().expect("8 bytes"));
        } else if size == 0 {
            break;
        }
        if size < 8 {
            break;
        }
        position += size;
    }
    Ok(boxes)
}
