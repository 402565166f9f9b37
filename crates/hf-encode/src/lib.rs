//! Video encoding, muxing and media inspection for hf, linked directly against libav through
//! `ffmpeg-next` (no ffmpeg child process).
//!
//! The stages, each with one typed input and one typed result:
//!
//! - [`SegmentEncoder`]: a [`FrameSink`](hf_core::FrameSink) that encodes captured frames
//!   (JPEG/PNG bytes) into one closed-GOP segment (H.264, H.265, VP9 with alpha or ProRes 4444)
//!   on its own thread, fed through a bounded channel.
//! - [`assemble_stage`]: segments in, the final mp4/mov/webm out (stream copy, audio encoded
//!   once, atomic rename).
//! - [`gif_stage`] and [`png_sequence_stage`]: a whole frame sequence in, a GIF or a PNG
//!   directory out.
//! - [`probe_media`] and [`extract_stage`]: check a `<video>`/`<audio>` source, and decode the
//!   source frames a render shows into images.
//! - [`audio_stage`]: decode, resample and mix every sounding element into one track.
//! - [`inspect`] and [`compare`]: read back what was written (stream facts, decoded pixels,
//!   PSNR) for tests, `regress` and trust checks.
#![deny(missing_docs)]

mod assemble;
mod audio;
mod codec;
pub mod compare;
mod error;
mod extract;
mod files;
mod hdr;
mod hls;
mod image;
pub mod inspect;
mod libav;
mod matrix;
mod mux;
mod probe;
mod sequence;
mod streams;
mod video;

pub use assemble::{assemble_stage, AssembleInput, AssembleOutput};
pub use audio::{
    audio_stage, read_mix, AudioBus, AudioMixInput, AudioMixOutput, AudioTrack, TrackFx,
    VolumeEnvelope, AUDIO_RATE, MAX_VOLUME, TRUE_PEAK_CEILING_DB,
};
pub use codec::{AudioCodec, Container, VideoCodec};
pub use error::{EncodeError, MediaError};
pub use extract::{extract_stage, ExtractInput, ExtractOutput};
pub use hdr::{
    mastering, png_transfer, pq_signal, sdr_light_to_signal, HdrSource, HdrTransfer, SDR_WHITE_NITS,
};
pub use hls::{hls_stage, HlsInput, HlsOutput};
pub use libav::{init, libav_versions};
pub use probe::{probe_media, AudioStreamInfo, MediaInfo, VideoStreamInfo};
pub use sequence::{
    gif_stage, png_sequence_stage, GifInput, GifOutput, PngSequenceInput, PngSequenceOutput,
};
pub use video::{
    check_encoder, EncodeInput, EncodeOutput, GopSettings, SegmentEncoder, VideoEncodeSettings,
};
