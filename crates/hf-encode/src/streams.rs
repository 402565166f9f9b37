//! What probing, extraction and audio decoding share about a source's streams: decoders,
//! timestamps, rotation and seeking.

use crate::MediaError;
use ffmpeg_next::{codec, decoder, format::Pixel};

/// Clockwise display rotation of a video stream, rounded to a quarter turn.
pub(crate) fn stream_rotation(stream: &ffmpeg_next::format::stream::Stream<'_>) -> u32 {
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

/// Whether `format` has an alpha channel.
pub(crate) fn pixel_has_alpha(format: Pixel) -> bool {
    // SAFETY: av_pix_fmt_desc_get returns a pointer to a static descriptor or null.
    unsafe {
        let descriptor = ffmpeg_next::ffi::av_pix_fmt_desc_get(format.into());
        !descriptor.is_null()
            && ((*descriptor).flags & ffmpeg_next::ffi::AV_PIX_FMT_FLAG_ALPHA as u64) != 0
    }
}

/// The decoder for a video stream: libvpx for VP8/VP9 that carry alpha (libav's own VP9 decoder
/// drops the alpha plane), else libav's default.
pub(crate) fn video_decoder_for(
    stream: &ffmpeg_next::format::stream::Stream<'_>,
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
        let _open = crate::libav::codec_open_lock();
        context.decoder().video()
    }
    .map_err(|e| MediaError::Unreadable(e.to_string()))?;
    Ok((decoder, alpha_mode))
}

pub(crate) fn audio_decoder_for(
    stream: &ffmpeg_next::format::stream::Stream<'_>,
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
    let _open = crate::libav::codec_open_lock();
    context
        .decoder()
        .audio()
        .map_err(|e| MediaError::Unreadable(e.to_string()))
}

/// Seconds of a timestamp in `time_base`, relative to the stream's start.
pub(crate) fn seconds(ts: i64, start: i64, time_base: ffmpeg_next::Rational) -> f64 {
    (ts - start) as f64 * f64::from(time_base)
}

/// A stream's first timestamp (0 when it has none): the origin of its media time.
pub(crate) fn stream_start(stream: &ffmpeg_next::format::stream::Stream<'_>) -> i64 {
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

/// The name of the codec a decoder runs (`h264`, `libvpx-vp9`...).
pub(crate) fn decoder_name(decoder: &ffmpeg_next::decoder::Opened) -> String {
    decoder
        .codec()
        .map(|c| c.name().to_string())
        .unwrap_or_default()
}
