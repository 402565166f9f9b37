//! What the job's output options mean, checked once before any work: the format and codec, how
//! frames are captured for them, rate control, the output size and frame rate.

use crate::RenderError;
use hf_core::{Fps, ImageFormat};
use hf_encode::{Container, VideoCodec};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Highest GIF frame rate (GIF delays are hundredths of a second; browsers clamp faster ones).
pub const GIF_MAX_FPS: u32 = 30;

/// Output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// H.264 (or H.265 with `--codec h265`) in mp4 with faststart.
    #[default]
    Mp4,
    /// ProRes 4444 with alpha in mov.
    Mov,
    /// VP9 with alpha in webm, audio in Opus.
    Webm,
    /// Animated GIF (two-pass palette, 1-bit transparency).
    Gif,
    /// A directory of RGBA `frame_000001.png`... plus `audio.m4a` when there is audio.
    PngSequence,
    /// An HLS VOD directory: `master.m3u8`, H.264 in MPEG-TS segments of
    /// `--hls-segment-seconds`, AAC audio as its own rendition.
    Hls,
}

impl OutputFormat {
    /// File extension of the output (none for a PNG sequence directory).
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Mp4 => "mp4",
            OutputFormat::Mov => "mov",
            OutputFormat::Webm => "webm",
            OutputFormat::Gif => "gif",
            OutputFormat::PngSequence | OutputFormat::Hls => "",
        }
    }

    /// Whether the output is a directory (png-sequence, hls).
    pub fn is_directory(self) -> bool {
        self.extension().is_empty()
    }

    /// Whether the format keeps the page's transparency (and so captures PNG over a
    /// transparent background).
    pub fn keeps_alpha(self) -> bool {
        !matches!(self, OutputFormat::Mp4 | OutputFormat::Hls)
    }

    /// The format whose container is `container`.
    pub fn for_container(container: Container) -> Self {
        match container {
            Container::Mp4 => OutputFormat::Mp4,
            Container::Mov => OutputFormat::Mov,
            Container::Webm => OutputFormat::Webm,
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputFormat::PngSequence => "png-sequence",
            OutputFormat::Hls => "hls",
            other => other.extension(),
        })
    }
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mp4" => Ok(OutputFormat::Mp4),
            "mov" => Ok(OutputFormat::Mov),
            "webm" => Ok(OutputFormat::Webm),
            "gif" => Ok(OutputFormat::Gif),
            "png-sequence" | "png" => Ok(OutputFormat::PngSequence),
            "hls" => Ok(OutputFormat::Hls),
            other => Err(format!(
                "unknown format `{other}`: use mp4, mov, webm, gif, png-sequence or hls"
            )),
        }
    }
}

/// The output options of a job, as the user gave them (`RenderJob::output_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutputRequest {
    /// Output format.
    pub format: OutputFormat,
    /// Video codec; `None`: the format's own.
    pub codec: Option<VideoCodec>,
    /// CRF override.
    pub crf: Option<u32>,
    /// Target bit rate instead of the CRF.
    pub video_bitrate: Option<u64>,
    /// GIF loop count.
    pub gif_loop: u16,
    /// The user asked for alpha.
    pub alpha: bool,
}

/// How the output is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputKind {
    /// Encoded segments joined by stream copy into a video file.
    Video {
        /// The codec.
        codec: VideoCodec,
        /// The container.
        container: Container,
    },
    /// Frames on disk, then a two-pass palette GIF.
    Gif {
        /// GIF loop count (0 = forever).
        loop_count: u16,
    },
    /// Frames on disk, moved into an output directory.
    PngSequence,
}

/// The resolved output options of a render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputPlan {
    /// What is produced.
    pub kind: OutputKind,
    /// How frames are captured: JPEG for mp4, PNG (with alpha) for everything else.
    pub image_format: ImageFormat,
    /// Whether the page is captured over a transparent background.
    pub transparent: bool,
    /// The frame rate after the GIF cap.
    pub fps: Fps,
    /// Target bit rate instead of the CRF.
    pub bitrate: Option<u64>,
    /// Things the user should know (options ignored, alpha that cannot be kept, fps capped).
    pub warnings: Vec<String>,
}

impl OutputPlan {
    /// Whether frames go to disk first and the output is assembled from the whole sequence.
    pub fn needs_frame_files(&self) -> bool {
        !matches!(self.kind, OutputKind::Video { .. })
    }
}

fn invalid(reason: impl Into<String>) -> RenderError {
    RenderError::InvalidOutput {
        reason: reason.into(),
    }
}

/// Resolve the format, codec, rate control and alpha `job` asks for at frame rate `fps`.
pub fn resolve_output(job: &OutputRequest, fps: Fps) -> Result<OutputPlan, RenderError> {
    let mut warnings = Vec::new();
    if job.crf.is_some() && job.video_bitrate.is_some() {
        return Err(invalid(
            "--crf and --video-bitrate are mutually exclusive: pass one of them",
        ));
    }
    let kind = match job.format {
        OutputFormat::Hls => match job.codec {
            None | Some(VideoCodec::H264) => {
                check_encoder(VideoCodec::H264)?;
                OutputKind::Video {
                    codec: VideoCodec::H264,
                    container: Container::Mp4,
                }
            }
            Some(codec) => {
                return Err(invalid(format!(
                    "codec {codec} is not valid for hls: HLS output is H.264 (as HyperFrames'); \
                     remove --codec, or use --format mp4 for {codec}"
                )))
            }
        },
        OutputFormat::Mp4 | OutputFormat::Mov | OutputFormat::Webm => {
            let container = match job.format {
                OutputFormat::Mp4 => Container::Mp4,
                OutputFormat::Mov => Container::Mov,
                _ => Container::Webm,
            };
            let codec = match job.codec {
                None => match container {
                    Container::Mp4 => VideoCodec::H264,
                    Container::Mov => VideoCodec::ProRes4444,
                    Container::Webm => VideoCodec::Vp9,
                },
                Some(codec) if codec.container() == container => codec,
                Some(codec) => {
                    return Err(invalid(format!(
                    "codec {codec} is not valid for {}: {} takes {}; use --format {} for {codec}",
                    job.format,
                    job.format,
                    codecs_of(container),
                    OutputFormat::for_container(codec.container()),
                )))
                }
            };
            check_encoder(codec)?;
            OutputKind::Video { codec, container }
        }
        OutputFormat::Gif | OutputFormat::PngSequence => {
            if let Some(codec) = job.codec {
                return Err(invalid(format!(
                    "--codec {codec} does not apply to {}: it is made from PNG frames; \
                     remove --codec or choose mp4, webm or mov",
                    job.format
                )));
            }
            if job.format == OutputFormat::Gif {
                OutputKind::Gif {
                    loop_count: job.gif_loop,
                }
            } else {
                OutputKind::PngSequence
            }
        }
    };
    let codec = match kind {
        OutputKind::Video { codec, .. } => Some(codec),
        _ => None,
    };
    let max_crf = if codec == Some(VideoCodec::Vp9) {
        63
    } else {
        51
    };
    if let Some(crf) = job.crf {
        if crf > max_crf {
            return Err(invalid(format!(
                "--crf {crf} is out of range for {}: use 0 to {max_crf}",
                codec.map_or("this format".to_string(), |c| c.to_string())
            )));
        }
    }
    if job.crf.is_some() || job.video_bitrate.is_some() {
        let ignored = match kind {
            OutputKind::Video {
                codec: VideoCodec::ProRes4444,
                ..
            } => Some("ProRes 4444 (it has no rate control)"),
            OutputKind::Gif { .. } => Some("gif"),
            OutputKind::PngSequence => Some("png-sequence"),
            OutputKind::Video { .. } => None,
        };
        if let Some(what) = ignored {
            warnings.push(format!("--crf and --video-bitrate are ignored for {what}"));
        }
    }
    let keeps_alpha = job.format.keeps_alpha();
    if job.alpha && !keeps_alpha {
        warnings.push(format!(
            "{} cannot carry alpha, so the output is opaque; formats that keep transparency: \
             webm (VP9), mov (ProRes 4444), png-sequence, and gif (1-bit)",
            match (job.format, codec) {
                (OutputFormat::Hls, _) => "hls (H.264)",
                (_, Some(VideoCodec::H265)) => "mp4 (H.265)",
                _ => "mp4 (H.264)",
            }
        ));
    }
    let mut fps = fps;
    if job.format == OutputFormat::Gif && fps.as_f64() > f64::from(GIF_MAX_FPS) {
        warnings.push(format!(
            "gif frame rates above {GIF_MAX_FPS} fps play back wrongly in browsers; rendering the \
             gif at {GIF_MAX_FPS} fps instead of {fps}"
        ));
        fps = Fps::whole(GIF_MAX_FPS);
    }
    Ok(OutputPlan {
        kind,
        image_format: if keeps_alpha {
            ImageFormat::Png
        } else {
            ImageFormat::Jpeg
        },
        transparent: keeps_alpha,
        fps,
        bitrate: job.video_bitrate,
        warnings,
    })
}

fn codecs_of(container: Container) -> &'static str {
    match container {
        Container::Mp4 => "h264 or h265",
        Container::Mov => "prores",
        Container::Webm => "vp9",
    }
}

/// Fail early, naming the encoder and the package, when libav was built without it.
fn check_encoder(codec: VideoCodec) -> Result<(), RenderError> {
    hf_encode::check_encoder(codec).map_err(RenderError::from)
}

/// Parse a bit rate: `5000000`, `5000k`, `5M`, `2.5M` (bits per second).
pub fn parse_bitrate(text: &str) -> Result<u64, String> {
    let bad =
        || format!("invalid bit rate `{text}`: use bits per second such as 5000000, 5000k or 5M");
    let trimmed = text.trim();
    let (number, scale) = match trimmed.char_indices().last() {
        Some((i, 'k' | 'K')) => (&trimmed[..i], 1e3),
        Some((i, 'm' | 'M')) => (&trimmed[..i], 1e6),
        _ => (trimmed, 1.0),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bits = (value * scale).round();
    if !(1000.0..=1e10).contains(&bits) {
        return Err(bad());
    }
    Ok(bits as u64)
}

/// An output size for `--resolution`, reached by rendering at a higher device pixel ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
}

/// The named resolutions (HyperFrames' names and aliases).
const NAMED_RESOLUTIONS: &[(&[&str], u32, u32)] = &[
    (&["landscape", "1080p", "fhd", "hd"], 1920, 1080),
    (&["portrait", "1080p-portrait"], 1080, 1920),
    (&["square"], 1080, 1080),
    (&["landscape-4k", "4k", "uhd", "2160p"], 3840, 2160),
    (&["portrait-4k", "4k-portrait"], 2160, 3840),
    (&["square-4k"], 2160, 2160),
    (&["720p"], 1280, 720),
    (&["1440p", "2k"], 2560, 1440),
];

impl FromStr for Resolution {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        if let Some((_, width, height)) = NAMED_RESOLUTIONS
            .iter()
            .find(|(names, _, _)| names.contains(&lower.as_str()))
        {
            return Ok(Resolution {
                width: *width,
                height: *height,
            });
        }
        if let Some((w, h)) = lower.split_once('x') {
            if let (Ok(width), Ok(height)) = (w.parse::<u32>(), h.parse::<u32>()) {
                if width > 0 && height > 0 && width <= 8192 && height <= 8192 {
                    return Ok(Resolution { width, height });
                }
            }
        }
        Err(format!(
            "unknown resolution `{s}`: use landscape (1080p), portrait, square, landscape-4k \
             (4k), portrait-4k, square-4k, 720p, 1440p, or WIDTHxHEIGHT"
        ))
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl Resolution {
    /// The device pixel ratio that renders a `width` x `height` composition at this size, or
    /// an error when the aspect ratios differ or it would shrink the composition.
    pub fn scale_for(self, width: u32, height: u32) -> Result<f64, RenderError> {
        if u64::from(self.width) * u64::from(height) != u64::from(self.height) * u64::from(width) {
            return Err(invalid(format!(
                "--resolution {self} does not have the composition's {width}x{height} aspect \
                 ratio; choose a resolution of the same shape (e.g. {}) or drop --resolution",
                suggest(width, height)
            )));
        }
        if self.width < width {
            return Err(invalid(format!(
                "--resolution {self} is smaller than the composition ({width}x{height}); \
                 --resolution only supersamples, so drop it to render at {width}x{height}"
            )));
        }
        Ok(f64::from(self.width) / f64::from(width))
    }
}

/// A named resolution with the aspect ratio of `width` x `height`, for error messages.
fn suggest(width: u32, height: u32) -> String {
    NAMED_RESOLUTIONS
        .iter()
        .find(|(_, w, h)| u64::from(*w) * u64::from(height) == u64::from(*h) * u64::from(width))
        .map(|(names, w, h)| format!("{} = {w}x{h}", names[0]))
        .unwrap_or_else(|| format!("{}x{}", width * 2, height * 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(format: OutputFormat) -> OutputRequest {
        OutputRequest {
            format,
            ..OutputRequest::default()
        }
    }

    #[test]
    fn formats_pick_their_codec_and_capture() {
        let plan = resolve_output(&job(OutputFormat::Mp4), Fps::whole(30)).unwrap();
        assert_eq!(
            plan.kind,
            OutputKind::Video {
                codec: VideoCodec::H264,
                container: Container::Mp4
            }
        );
        assert_eq!(plan.image_format, ImageFormat::Jpeg);
        assert!(!plan.transparent);
        for (format, codec) in [
            (OutputFormat::Webm, VideoCodec::Vp9),
            (OutputFormat::Mov, VideoCodec::ProRes4444),
        ] {
            let plan = resolve_output(&job(format), Fps::whole(30)).unwrap();
            assert!(matches!(plan.kind, OutputKind::Video { codec: c, .. } if c == codec));
            assert_eq!(plan.image_format, ImageFormat::Png);
            assert!(plan.transparent);
        }
        let mut h265 = job(OutputFormat::Mp4);
        h265.codec = Some(VideoCodec::H265);
        assert!(matches!(
            resolve_output(&h265, Fps::whole(30)).unwrap().kind,
            OutputKind::Video {
                codec: VideoCodec::H265,
                ..
            }
        ));
    }

    #[test]
    fn bad_combinations_are_named_with_the_fix() {
        let mut webm_h264 = job(OutputFormat::Webm);
        webm_h264.codec = Some(VideoCodec::H264);
        assert_eq!(
            resolve_output(&webm_h264, Fps::whole(30))
                .unwrap_err()
                .to_string(),
            "codec h264 is not valid for webm: webm takes vp9; use --format mp4 for h264"
        );
        let mut both = job(OutputFormat::Mp4);
        both.crf = Some(20);
        both.video_bitrate = Some(5_000_000);
        assert_eq!(
            resolve_output(&both, Fps::whole(30))
                .unwrap_err()
                .to_string(),
            "--crf and --video-bitrate are mutually exclusive: pass one of them"
        );
        let mut gif_codec = job(OutputFormat::Gif);
        gif_codec.codec = Some(VideoCodec::Vp9);
        assert!(resolve_output(&gif_codec, Fps::whole(30))
            .unwrap_err()
            .to_string()
            .starts_with("--codec vp9 does not apply to gif"));
        let mut crf = job(OutputFormat::Mp4);
        crf.crf = Some(60);
        assert_eq!(
            resolve_output(&crf, Fps::whole(30))
                .unwrap_err()
                .to_string(),
            "--crf 60 is out of range for h264: use 0 to 51"
        );
    }

    #[test]
    fn warnings_for_alpha_on_mp4_and_fast_gifs() {
        let mut mp4 = job(OutputFormat::Mp4);
        mp4.alpha = true;
        let plan = resolve_output(&mp4, Fps::whole(30)).unwrap();
        assert_eq!(plan.warnings.len(), 1);
        assert!(plan.warnings[0].contains("webm (VP9), mov (ProRes 4444), png-sequence"));
        let gif = resolve_output(&job(OutputFormat::Gif), Fps::whole(60)).unwrap();
        assert_eq!(gif.fps, Fps::whole(30));
        assert!(gif.warnings[0].contains("rendering the gif at 30 fps instead of 60"));
        let slow = resolve_output(&job(OutputFormat::Gif), Fps::whole(24)).unwrap();
        assert_eq!(slow.fps, Fps::whole(24));
        assert!(slow.warnings.is_empty());
    }

    #[test]
    fn bit_rates_parse_with_suffixes() {
        assert_eq!(parse_bitrate("5M").unwrap(), 5_000_000);
        assert_eq!(parse_bitrate("2.5m").unwrap(), 2_500_000);
        assert_eq!(parse_bitrate("800k").unwrap(), 800_000);
        assert_eq!(parse_bitrate("1500000").unwrap(), 1_500_000);
        assert!(parse_bitrate("fast").is_err());
        assert!(parse_bitrate("0").is_err());
    }

    #[test]
    fn resolutions_supersample_only_at_the_same_aspect() {
        let fourk: Resolution = "4k".parse().unwrap();
        assert_eq!(fourk.scale_for(1920, 1080).unwrap(), 2.0);
        assert_eq!(
            "1080p"
                .parse::<Resolution>()
                .unwrap()
                .scale_for(640, 360)
                .unwrap(),
            3.0
        );
        assert_eq!(
            fourk.scale_for(1080, 1920).unwrap_err().to_string(),
            "--resolution 3840x2160 does not have the composition's 1080x1920 aspect ratio; \
             choose a resolution of the same shape (e.g. portrait = 1080x1920) or drop --resolution"
        );
        assert!("720p"
            .parse::<Resolution>()
            .unwrap()
            .scale_for(1920, 1080)
            .unwrap_err()
            .to_string()
            .contains("only supersamples"));
        assert_eq!(
            "1280x720".parse::<Resolution>().unwrap(),
            Resolution {
                width: 1280,
                height: 720
            }
        );
        assert!("8k".parse::<Resolution>().is_err());
    }
}
