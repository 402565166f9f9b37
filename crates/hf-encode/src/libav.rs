//! Process-wide libav set-up and the conversions hf's types need at the libav boundary.

use crate::EncodeError;
use hf_core::Fps;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, Once};

/// Serialises opening codecs. Codec libraries (libx264 among them) set up shared tables when
/// an encoder opens; opening one at a time keeps concurrent segment encoders from racing there,
/// which matters because hf promises the same bytes whatever the worker count.
static CODEC_OPEN: Mutex<()> = Mutex::new(());

/// Hold [`CODEC_OPEN`] while opening a codec (a panic elsewhere does not poison it for good).
pub(crate) fn codec_open_lock() -> MutexGuard<'static, ()> {
    CODEC_OPEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Initialise libav once per process and quiet its logging to errors only.
///
/// Also asks glibc to fill every new heap block with a fixed byte (`M_PERTURB`). Somewhere in
/// the codec stack a value is read before it is written: with arbitrary heap contents, about one
/// segment encode in thirty came out with different (equally decodable) bytes whenever other
/// threads of the process were allocating. With fixed contents the bytes are reproducible, and
/// hf promises byte-identical output. Process-wide and costs one memset per allocation.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // SAFETY: mallopt only changes allocator tuning; M_PERTURB takes any byte value.
        unsafe {
            libc::mallopt(libc::M_PERTURB, 0x5a);
        }
        ffmpeg_next::init().expect("libav failed to initialise");
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
    });
}

/// A frame rate as libav wants it.
pub(crate) trait FpsExt {
    /// The time base of one frame (`den/num`).
    fn time_base(self) -> ffmpeg_next::Rational;
    /// The frame rate (`num/den`).
    fn rational(self) -> ffmpeg_next::Rational;
}

impl FpsExt for Fps {
    fn time_base(self) -> ffmpeg_next::Rational {
        ffmpeg_next::Rational::new(self.den as i32, self.num as i32)
    }

    fn rational(self) -> ffmpeg_next::Rational {
        ffmpeg_next::Rational::new(self.num as i32, self.den as i32)
    }
}

/// Write the header of the muxer `output` (writing to `path`) with muxer `options`.
pub(crate) fn write_header(
    output: &mut ffmpeg_next::format::context::Output,
    options: ffmpeg_next::Dictionary<'_>,
    path: &Path,
) -> Result<(), EncodeError> {
    output
        .write_header_with(options)
        .map(drop)
        .map_err(EncodeError::libav(format!(
            "write header of {}",
            path.display()
        )))
}

/// The versions of the libav libraries this process runs with, e.g. `avcodec 59.37.100,
/// avformat 59.27.100, ...`: what decides the bytes of encoded output besides hf itself.
pub fn libav_versions() -> String {
    let libraries = [
        ("avcodec", ffmpeg_next::codec::version()),
        ("avformat", ffmpeg_next::format::version()),
        ("avfilter", ffmpeg_next::filter::version()),
        ("avutil", ffmpeg_next::util::version()),
        ("swscale", ffmpeg_next::software::scaling::version()),
        ("swresample", ffmpeg_next::software::resampling::version()),
    ];
    libraries
        .iter()
        .map(|(name, v)| format!("{name} {}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn libav_versions_name_every_library() {
        let versions = super::libav_versions();
        assert!(versions.starts_with("avcodec 59."), "{versions}");
        assert_eq!(versions.split(", ").count(), 6);
    }
}
