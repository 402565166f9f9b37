//! Video encoding, muxing and media inspection for hf, linked directly against libav through
//! `ffmpeg-next` (no ffmpeg child process).
//!
//! The crate exposes three stages, each a function with one typed input and one typed result:
//!
//! - [`encode_stage`]: captured frames (JPEG/PNG bytes) in, one closed-GOP segment out (H.264,
//!   H.265, VP9 with alpha or ProRes 4444). It runs on its own thread, fed by a bounded
//!   `crossbeam-channel`.
//! - [`assemble_stage`]: segments in, the final mp4/mov/webm out (stream copy, audio encoded
//!   once, atomic rename).
//! - [`gif_stage`] and [`png_sequence_stage`]: a whole frame sequence in, a GIF or a PNG
//!   directory out.
//! - [`inspect`]: read back what was written (stream facts, decoded pixels) for tests and checks.
#![deny(missing_docs)]

mod assemble;
mod audio;
mod codec;
pub mod compare;
mod error;
mod fps;
mod image;
pub mod inspect;
mod matrix;
pub mod media;
mod sequence;
mod video;

pub use assemble::{assemble_stage, AssembleInput, AssembleOutput};
pub use audio::{
    audio_stage, read_mix, AudioMixInput, AudioMixOutput, AudioTrack, VolumeEnvelope, AUDIO_RATE,
};
pub use codec::{AudioCodec, Container, VideoCodec};
pub use error::EncodeError;
pub use fps::Fps;
pub use image::{FrameImage, ImageFormat};
pub use media::{
    extract_stage, probe_media, ExtractInput, ExtractOutput, MediaError, MediaInfo, VideoTiming,
};
pub use sequence::{
    gif_stage, png_sequence_stage, sequence_frame_name, write_audio_file, GifInput, GifOutput,
    PngSequenceInput, PngSequenceOutput,
};
pub use video::{
    check_encoder, encode_stage, EncodeInput, EncodeOutput, GopSettings, VideoEncodeSettings,
};

use std::sync::Once;

/// Serialises opening codecs. Codec libraries (libx264 among them) set up shared tables when
/// an encoder opens; opening one at a time keeps concurrent segment encoders from racing there,
/// which matters because hf promises the same bytes whatever the worker count.
pub(crate) static CODEC_OPEN: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
