//! HLS packaging: an assembled H.264/AAC mp4 whose keyframes fall every `segment_seconds`
//! (hf's closed-GOP segment grid) split by stream copy into a VOD playlist directory:
//! `master.m3u8`, `video.m3u8` + `video_00000.ts`..., and with sound `audio.m3u8` +
//! `audio_00000.ts`... (HyperFrames' layout).

use crate::files::{file_size, PendingOutput};
use crate::EncodeError;
use ffmpeg_next::{codec, format, media, Dictionary, Rational};
use hf_core::IoError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Input of [`hls_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HlsInput {
    /// The assembled mp4: H.264, a keyframe starting every segment, AAC audio or none.
    pub source: PathBuf,
    /// The playlist directory to create (written beside, renamed into place).
    pub output: PathBuf,
    /// Target segment length in seconds.
    pub segment_seconds: u32,
}

/// Result of [`hls_stage`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HlsOutput {
    /// The playlist directory.
    pub path: PathBuf,
    /// Video segments written.
    pub segments: usize,
    /// Bytes of every file in the directory.
    pub bytes: u64,
    /// Whether an audio rendition was written.
    pub audio: bool,
}

/// Package `input.source` as HLS into `input.output`.
pub fn hls_stage(input: &HlsInput) -> Result<HlsOutput, EncodeError> {
    crate::init();
    let _span = tracing::info_span!("hls", output = %input.output.display()).entered();
    let pending = PendingOutput::new(&input.output);
    let dir = pending.path();
    std::fs::create_dir_all(dir).map_err(IoError::with("create", dir))?;
    let audio = remux(input, dir)?;
    let master = dir.join("master.m3u8");
    let text = std::fs::read_to_string(&master).map_err(IoError::with("read", &master))?;
    std::fs::write(&master, without_audio_only_variant(&text))
        .map_err(IoError::with("write", &master))?;
    let mut segments = 0;
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir).map_err(IoError::with("list", dir))? {
        let path = entry.map_err(IoError::with("list", dir))?.path();
        bytes += file_size(&path)?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        segments += usize::from(name.starts_with("video_") && name.ends_with(".ts"));
    }
    pending.commit()?;
    Ok(HlsOutput {
        path: input.output.clone(),
        segments,
        bytes,
        audio,
    })
}

/// Copy the source's video (and audio) through libav's `hls` muxer into `dir`; whether it has
/// audio.
fn remux(input: &HlsInput, dir: &Path) -> Result<bool, EncodeError> {
    let mut source = format::input(&input.source).map_err(EncodeError::libav(format!(
        "open {}",
        input.source.display()
    )))?;
    let video = source
        .streams()
        .best(media::Type::Video)
        .ok_or_else(|| EncodeError::NoVideoStream {
            path: input.source.clone(),
        })?
        .index();
    let audio = source.streams().best(media::Type::Audio).map(|s| s.index());
    let playlist = dir.join("%v.m3u8");
    let mut output = format::output_as(&playlist, "hls")
        .map_err(EncodeError::libav(format!("create {}", playlist.display())))?;
    let mut mapping = Vec::new();
    for index in std::iter::once(video).chain(audio) {
        let stream = source.stream(index).expect("the stream exists");
        let mut out = output
            .add_stream(codec::encoder::find(codec::Id::None))
            .map_err(EncodeError::libav("add output stream"))?;
        out.set_parameters(stream.parameters());
        // A zero tag: the TS muxer chooses its own.
        crate::video::set_codec_tag(&mut out, crate::VideoCodec::H264);
        mapping.push((index, stream.time_base()));
    }
    let mut options = Dictionary::new();
    options.set("hls_time", &input.segment_seconds.to_string());
    options.set("hls_playlist_type", "vod");
    options.set("hls_flags", "independent_segments");
    options.set("hls_segment_type", "mpegts");
    options.set("master_pl_name", "master.m3u8");
    options.set(
        "hls_segment_filename",
        &dir.join("%v_%05d.ts").to_string_lossy(),
    );
    options.set(
        "var_stream_map",
        if audio.is_some() {
            "v:0,agroup:aud,name:video a:0,agroup:aud,name:audio"
        } else {
            "v:0,name:video"
        },
    );
    options.set("max_delay", "0");
    crate::libav::write_header(&mut output, options, &playlist)?;
    let out_bases: Vec<Rational> = (0..mapping.len())
        .map(|i| output.stream(i).expect("stream was added").time_base())
        .collect();
    for (stream, mut packet) in source.packets() {
        let Some(k) = mapping.iter().position(|(i, _)| *i == stream.index()) else {
            continue;
        };
        packet.rescale_ts(mapping[k].1, out_bases[k]);
        packet.set_stream(k);
        packet.set_position(-1);
        packet
            .write_interleaved(&mut output)
            .map_err(EncodeError::libav("write HLS packet"))?;
    }
    output
        .write_trailer()
        .map_err(EncodeError::libav("finish HLS playlist"))?;
    drop(output);
    // The muxer writes each playlist itself; the file opened at the template name stays empty.
    std::fs::remove_file(&playlist).map_err(IoError::with("remove", &playlist))?;
    Ok(audio.is_some())
}

/// The master playlist without the audio rendition's own `#EXT-X-STREAM-INF` (the one with no
/// `RESOLUTION=`) and its URI line: players take audio from the video variant's group.
fn without_audio_only_variant(master: &str) -> String {
    let mut out = String::with_capacity(master.len());
    let mut skip_uri = false;
    for line in master.lines() {
        if skip_uri {
            skip_uri = false;
            continue;
        }
        if line.starts_with("#EXT-X-STREAM-INF") && !line.contains("RESOLUTION=") {
            skip_uri = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audio_only_variant_leaves_the_master() {
        let master = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"group_aud\",NAME=\"audio\",DEFAULT=YES,URI=\"audio.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=140800,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"group_aud\"\nvideo.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=140800,CODECS=\"mp4a.40.2\",AUDIO=\"group_aud\"\naudio.m3u8\n";
        assert_eq!(
            without_audio_only_variant(master),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"group_aud\",NAME=\"audio\",DEFAULT=YES,URI=\"audio.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=140800,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"group_aud\"\nvideo.m3u8\n\n"
        );
    }
}
