//! The video codecs and containers hf writes, and what each implies (pixel format, colour
//! matrix, alpha, segment container, audio codec).

use ffmpeg_next::format::Pixel;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A video codec hf encodes. Every one of them produces closed-GOP segments that join by stream
/// copy: x264/x265 with a fixed closed GOP, VP9 with a keyframe at each segment start and no
/// alt-ref frames, ProRes intra-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    /// H.264 (libx264), `yuv420p`, BT.709, in mp4.
    #[default]
    H264,
    /// H.265 (libx265), `yuv420p`, BT.709, tagged `hvc1`, in mp4.
    H265,
    /// VP9 (libvpx-vp9) with alpha, `yuva420p`, BT.601, in webm.
    Vp9,
    /// ProRes 4444 (prores_ks) with alpha, `yuva444p10le`, BT.709, in mov.
    #[serde(rename = "prores")]
    ProRes4444,
}

impl VideoCodec {
    /// The libav encoder's name.
    pub fn encoder_name(self) -> &'static str {
        match self {
            VideoCodec::H264 => "libx264",
            VideoCodec::H265 => "libx265",
            VideoCodec::Vp9 => "libvpx-vp9",
            VideoCodec::ProRes4444 => "prores_ks",
        }
    }

    /// The pixel format the encoder is fed.
    pub fn pixel_format(self) -> Pixel {
        match self {
            VideoCodec::H264 | VideoCodec::H265 => Pixel::YUV420P,
            VideoCodec::Vp9 => Pixel::YUVA420P,
            VideoCodec::ProRes4444 => Pixel::YUVA444P10LE,
        }
    }

    /// Whether the codec carries an alpha channel.
    pub fn keeps_alpha(self) -> bool {
        matches!(self, VideoCodec::Vp9 | VideoCodec::ProRes4444)
    }

    /// Whether chroma is subsampled 4:2:0, so odd sizes are padded to even ones.
    pub fn needs_even_size(self) -> bool {
        self.pixel_format() != Pixel::YUVA444P10LE
    }

    /// The size the encoder works at for a `width` x `height` picture: odd sizes of 4:2:0 codecs
    /// grow by one pixel (a transparent, or black, column/row on the right/bottom).
    pub fn encoded_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.needs_even_size() {
            (width + (width & 1), height + (height & 1))
        } else {
            (width, height)
        }
    }

    /// Whether the RGB-to-YUV matrix is BT.709 (tagged so). VP9 uses BT.601, as ffmpeg's
    /// default conversion gives HyperFrames' webm output.
    pub(crate) fn uses_bt709(self) -> bool {
        self != VideoCodec::Vp9
    }

    /// The container its segments (and, by default, the output) are written in.
    pub fn container(self) -> Container {
        match self {
            VideoCodec::H264 | VideoCodec::H265 => Container::Mp4,
            VideoCodec::Vp9 => Container::Webm,
            VideoCodec::ProRes4444 => Container::Mov,
        }
    }

    /// All codecs, for messages.
    pub const ALL: [VideoCodec; 4] = [
        VideoCodec::H264,
        VideoCodec::H265,
        VideoCodec::Vp9,
        VideoCodec::ProRes4444,
    ];
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VideoCodec::H264 => "h264",
            VideoCodec::H265 => "h265",
            VideoCodec::Vp9 => "vp9",
            VideoCodec::ProRes4444 => "prores",
        })
    }
}

impl FromStr for VideoCodec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "h264" | "avc" | "x264" => Ok(VideoCodec::H264),
            "h265" | "hevc" | "x265" => Ok(VideoCodec::H265),
            "vp9" => Ok(VideoCodec::Vp9),
            "prores" | "prores4444" | "prores-4444" => Ok(VideoCodec::ProRes4444),
            other => Err(format!(
                "unknown codec `{other}`: use h264 or h265 (mp4), vp9 (webm) or prores (mov)"
            )),
        }
    }
}

/// A video container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    /// ISO MP4 (`+faststart`), audio in AAC.
    #[default]
    Mp4,
    /// QuickTime (`+faststart`), audio in AAC.
    Mov,
    /// WebM (Matroska), audio in Opus.
    Webm,
}

impl Container {
    /// The libav muxer's name.
    pub fn muxer(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "mov",
            Container::Webm => "webm",
        }
    }

    /// File extension.
    pub fn extension(self) -> &'static str {
        self.muxer()
    }

    /// The audio codec this container's output carries.
    pub fn audio_codec(self) -> AudioCodec {
        match self {
            Container::Mp4 | Container::Mov => AudioCodec::Aac,
            Container::Webm => AudioCodec::Opus,
        }
    }

    /// Whether `+faststart` (moov before mdat) applies.
    pub fn supports_faststart(self) -> bool {
        matches!(self, Container::Mp4 | Container::Mov)
    }
}

/// An audio codec of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    /// AAC-LC at 192 kb/s (libav's native encoder).
    Aac,
    /// Opus at 128 kb/s (libopus).
    Opus,
}

impl AudioCodec {
    /// The libav encoder's name.
    pub fn encoder_name(self) -> &'static str {
        match self {
            AudioCodec::Aac => "aac",
            AudioCodec::Opus => "libopus",
        }
    }

    /// Bits per second.
    pub fn bit_rate(self) -> usize {
        match self {
            AudioCodec::Aac => 192_000,
            AudioCodec::Opus => 128_000,
        }
    }
}

/// Ask the muxer for reproducible bytes. Matroska/WebM otherwise writes a random SegmentUID
/// into every file; hf promises the same bytes for the same input.
pub(crate) fn make_reproducible(output: &mut ffmpeg_next::format::context::Output) {
    // SAFETY: setting a flag on a muxer context before its header is written.
    unsafe {
        (*output.as_mut_ptr()).flags |= ffmpeg_next::ffi::AVFMT_FLAG_BITEXACT;
    }
}

/// The Debian package whose libav build carries these encoders.
pub(crate) const LIBAV_PACKAGE: &str = "libavcodec59";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for codec in VideoCodec::ALL {
            assert_eq!(codec.to_string().parse::<VideoCodec>().unwrap(), codec);
        }
        assert_eq!("HEVC".parse::<VideoCodec>().unwrap(), VideoCodec::H265);
        assert_eq!(
            "av1".parse::<VideoCodec>().unwrap_err(),
            "unknown codec `av1`: use h264 or h265 (mp4), vp9 (webm) or prores (mov)"
        );
    }

    #[test]
    fn odd_sizes_are_padded_only_for_subsampled_chroma() {
        assert_eq!(VideoCodec::H264.encoded_size(641, 361), (642, 362));
        assert_eq!(VideoCodec::Vp9.encoded_size(640, 361), (640, 362));
        assert_eq!(VideoCodec::ProRes4444.encoded_size(641, 361), (641, 361));
    }
}
