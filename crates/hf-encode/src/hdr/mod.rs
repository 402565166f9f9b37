//! HDR output: the page's layers and HDR sources composited at 16 bits in the output's PQ or
//! HLG signal, then converted to 10-bit BT.2020 for x265.
//!
//! - `curves`: PQ/HLG transfer functions and the tables built from them.
//! - `source`: HDR videos (decoded on demand, sample and hold) and images, as 16-bit pictures.
//! - `composite`: the 16-bit canvas, page layers blended over it, media drawn into it.
//! - `convert`: a frame's layers to the encoder's `yuv420p10le`.

mod composite;
mod convert;
mod curves;
mod source;

pub(crate) use convert::{HdrConverter, HDR_PIXEL_FORMAT};
pub use curves::{pq_signal, sdr_light_to_signal, SDR_WHITE_NITS};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// An HDR transfer function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HdrTransfer {
    /// SMPTE ST 2084 (HDR10).
    Pq,
    /// ARIB STD-B67 hybrid log-gamma.
    Hlg,
}

impl HdrTransfer {
    /// libav's name of the transfer (`color_transfer` in ffprobe).
    pub fn libav_name(self) -> &'static str {
        match self {
            HdrTransfer::Pq => "smpte2084",
            HdrTransfer::Hlg => "arib-std-b67",
        }
    }

    /// The transfer a libav colour tag names, if it is an HDR one.
    pub(crate) fn from_libav(trc: ffmpeg_next::color::TransferCharacteristic) -> Option<Self> {
        use ffmpeg_next::color::TransferCharacteristic as Trc;
        match trc {
            Trc::SMPTE2084 => Some(HdrTransfer::Pq),
            Trc::ARIB_STD_B67 => Some(HdrTransfer::Hlg),
            _ => None,
        }
    }

    /// The transfer of an H.273 code point (PNG `cICP`): 16 is PQ, 18 is HLG.
    fn from_h273(code: u8) -> Option<Self> {
        match code {
            16 => Some(HdrTransfer::Pq),
            18 => Some(HdrTransfer::Hlg),
            _ => None,
        }
    }
}

impl fmt::Display for HdrTransfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HdrTransfer::Pq => "PQ",
            HdrTransfer::Hlg => "HLG",
        })
    }
}

/// HDR10 static metadata written with PQ (and HLG) output: HyperFrames' defaults, P3-D65
/// primaries in a BT.2020 container mastered for 0.0001-1000 nits, MaxCLL 1000, MaxFALL 400.
pub mod mastering {
    /// Display primaries and white point in x265's units of 0.00002 (G, B, R, white).
    pub const PRIMARIES: [(u16, u16); 4] =
        [(13250, 34500), (7500, 3000), (34000, 16000), (15635, 16450)];
    /// Mastering display luminance, max and min, in units of 0.0001 nits.
    pub const LUMINANCE: (u32, u32) = (10_000_000, 1);
    /// MaxCLL and MaxFALL in nits.
    pub const CONTENT_LIGHT: (u16, u16) = (1000, 400);
}

/// An HDR video or image a render composites itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HdrSource {
    /// The file.
    pub path: PathBuf,
    /// Its transfer.
    pub transfer: HdrTransfer,
    /// A still image (one picture for every time) rather than a video.
    pub still: bool,
}

/// The transfer a PNG's `cICP` chunk declares, if it is an HDR one (read from the file's
/// chunks up to the image data; `None` for anything else).
pub fn png_transfer(path: &Path) -> Option<HdrTransfer> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut signature = [0u8; 8];
    file.read_exact(&mut signature).ok()?;
    if &signature != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    loop {
        let mut header = [0u8; 8];
        file.read_exact(&mut header).ok()?;
        let length = u32::from_be_bytes(header[..4].try_into().ok()?) as usize;
        match &header[4..] {
            b"cICP" => {
                let mut body = [0u8; 4];
                file.read_exact(&mut body).ok()?;
                return HdrTransfer::from_h273(body[1]);
            }
            b"IDAT" | b"IEND" => return None,
            _ => {
                let mut skip = (&mut file).take(length as u64 + 4);
                std::io::copy(&mut skip, &mut std::io::sink()).ok()?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out.extend_from_slice(&[0; 4]);
        out
    }

    #[test]
    fn png_cicp_names_the_transfer() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, chunks: &[Vec<u8>]| {
            let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
            chunks.iter().for_each(|c| bytes.extend_from_slice(c));
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let ihdr = chunk(b"IHDR", &[0; 13]);
        let idat = chunk(b"IDAT", &[0; 3]);
        let pq = write(
            "pq.png",
            &[ihdr.clone(), chunk(b"cICP", &[9, 16, 0, 1]), idat.clone()],
        );
        let hlg = write(
            "hlg.png",
            &[ihdr.clone(), chunk(b"cICP", &[9, 18, 0, 1]), idat.clone()],
        );
        let srgb = write(
            "srgb.png",
            &[ihdr.clone(), chunk(b"cICP", &[1, 13, 0, 1]), idat.clone()],
        );
        let late = write("late.png", &[ihdr, idat, chunk(b"cICP", &[9, 16, 0, 1])]);
        assert_eq!(png_transfer(&pq), Some(HdrTransfer::Pq));
        assert_eq!(png_transfer(&hlg), Some(HdrTransfer::Hlg));
        assert_eq!(png_transfer(&srgb), None);
        assert_eq!(png_transfer(&late), None);
        assert_eq!(png_transfer(&dir.path().join("missing.png")), None);
    }
}
