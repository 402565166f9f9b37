//! Probing source media: what a `<video>`/`<audio>` source holds, and whether hf can use it.

use crate::streams::{
    audio_decoder_for, decoder_name, pixel_has_alpha, seconds, stream_rotation, stream_start,
    video_decoder_for,
};
use crate::MediaError;
use ffmpeg_next::{frame, media};
use serde::{Deserialize, Serialize};
use std::path::Path;

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
    /// The HDR transfer the stream is tagged with (PQ or HLG), if any.
    #[serde(default)]
    pub transfer: Option<crate::HdrTransfer>,
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

/// Open `path` and check that it is media hf can use: it exists, it is not a saved error page,
/// libav can parse it, its streams have decoders, their first frames decode, and its packets
/// reach the duration its header declares.
pub fn probe_media(path: &Path) -> Result<MediaInfo, MediaError> {
    crate::init();
    check_file(path)?;
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
    let (mut video, mut video_info) = match video_stream {
        Some(index) => StreamProbe::video(&input, index).map(|(p, i)| (Some(p), Some(i)))?,
        None => (None, None),
    };
    let (mut audio, audio_info) = match audio_stream {
        Some(index) => StreamProbe::audio(&input, index).map(|(p, i)| (Some(p), Some(i)))?,
        None => (None, None),
    };
    // Read every packet (cheap: no decoding past the first frame of each stream) to find where
    // the data really ends.
    let mut ends = 0.0f64;
    for (stream, packet) in input.packets() {
        let probe = match (&mut video, &mut audio) {
            (Some(v), _) if v.index == stream.index() => v,
            (_, Some(a)) if a.index == stream.index() => a,
            _ => continue,
        };
        if let Some(end) = probe.take(&packet) {
            ends = ends.max(end);
        }
    }
    if let (Some(probe), Some(info)) = (video, video_info.as_mut()) {
        info.frames = probe.finish()?;
    }
    if let Some(probe) = audio {
        probe.finish()?;
    }
    if declared > 0.0 && ends < declared * 0.9 - 0.1 {
        return Err(MediaError::Truncated { ends, declared });
    }
    Ok(MediaInfo {
        duration_seconds: if ends > 0.0 { ends } else { declared },
        video: video_info,
        audio: audio_info,
    })
}

/// The file is there, not empty, and not text.
fn check_file(path: &Path) -> Result<(), MediaError> {
    match std::fs::metadata(path) {
        Err(_) => return Err(MediaError::NotFound),
        Ok(meta) if meta.len() == 0 => {
            return Err(MediaError::Unreadable("the file is empty".into()))
        }
        Ok(_) => {}
    }
    match sniff_text(path) {
        Some(kind) => Err(MediaError::NotMedia(kind)),
        None => Ok(()),
    }
}

/// One stream being probed: its packets counted, its end found, its first frame decoded.
struct StreamProbe {
    index: usize,
    kind: &'static str,
    decoder: ffmpeg_next::decoder::Opened,
    time_base: ffmpeg_next::Rational,
    start: i64,
    packets: u64,
    decoded: bool,
    last_error: Option<String>,
}

impl StreamProbe {
    /// The video stream `index` of `input` (its frame count is filled in by the probe).
    fn video(
        input: &ffmpeg_next::format::context::Input,
        index: usize,
    ) -> Result<(Self, VideoStreamInfo), MediaError> {
        let stream = input.stream(index).expect("best stream exists");
        let (decoder, alpha_mode) = video_decoder_for(&stream)?;
        let info = VideoStreamInfo {
            codec: decoder_name(&decoder),
            width: decoder.width(),
            height: decoder.height(),
            alpha: alpha_mode || pixel_has_alpha(decoder.format()),
            frames: 0,
            rotation: stream_rotation(&stream),
            transfer: crate::HdrTransfer::from_libav(decoder.color_transfer_characteristic()),
        };
        Ok((Self::new(&stream, "video", decoder.0), info))
    }

    /// The audio stream `index` of `input`.
    fn audio(
        input: &ffmpeg_next::format::context::Input,
        index: usize,
    ) -> Result<(Self, AudioStreamInfo), MediaError> {
        let stream = input.stream(index).expect("best stream exists");
        let decoder = audio_decoder_for(&stream)?;
        let info = AudioStreamInfo {
            codec: decoder_name(&decoder),
            sample_rate: decoder.rate(),
            channels: decoder.channels(),
        };
        Ok((Self::new(&stream, "audio", decoder.0), info))
    }

    fn new(
        stream: &ffmpeg_next::format::stream::Stream<'_>,
        kind: &'static str,
        decoder: ffmpeg_next::decoder::Opened,
    ) -> Self {
        StreamProbe {
            index: stream.index(),
            kind,
            decoder,
            time_base: stream.time_base(),
            start: stream_start(stream),
            packets: 0,
            decoded: false,
            last_error: None,
        }
    }

    /// Count `packet`, decode it while no frame came out yet; returns where it ends (seconds).
    fn take(&mut self, packet: &ffmpeg_next::Packet) -> Option<f64> {
        self.packets += 1;
        if !self.decoded {
            if let Err(e) = self.decoder.send_packet(packet) {
                self.last_error = Some(e.to_string());
            }
            self.decoded = self
                .decoder
                .receive_frame(&mut frame::Video::empty())
                .is_ok();
        }
        let pts = packet.pts().or(packet.dts())?;
        Some(seconds(
            pts + packet.duration().max(0),
            self.start,
            self.time_base,
        ))
    }

    /// The stream's packet count, once a frame decoded (flushing the decoder if need be); else
    /// [`MediaError::Corrupt`].
    fn finish(mut self) -> Result<u64, MediaError> {
        if !self.decoded {
            let _ = self.decoder.send_eof();
            self.decoded = self
                .decoder
                .receive_frame(&mut frame::Video::empty())
                .is_ok();
        }
        if !self.decoded {
            return Err(MediaError::Corrupt {
                kind: self.kind,
                reason: self
                    .last_error
                    .unwrap_or_else(|| "no frame came out of the decoder".to_string()),
            });
        }
        Ok(self.packets)
    }
}
