//! Frames as files in a directory: the sink of capture-disk (a render that can be resumed, or
//! an output made from the whole frame sequence), and the replay of such files into another
//! sink.

use crate::CaptureError;
use hf_core::{
    captured_frame_name, FrameImage, FrameRange, FrameSink, ImageFormat, IoError, SinkError,
};
use std::path::{Path, PathBuf};

/// A [`FrameSink`] that writes each frame to `<dir>/frame_000042.jpg` (or `.png`), atomically.
/// Frames already there are held: a resumed capture skips them.
#[derive(Debug, Clone)]
pub struct FrameFiles {
    dir: PathBuf,
    format: ImageFormat,
}

impl FrameFiles {
    /// Frames in `format` in `dir` (which must exist).
    pub fn new(dir: impl Into<PathBuf>, format: ImageFormat) -> Self {
        FrameFiles {
            dir: dir.into(),
            format,
        }
    }

    /// The file of frame `index`.
    pub fn path(&self, index: u64) -> PathBuf {
        self.dir.join(captured_frame_name(index, self.format))
    }

    /// Push the files of `frames`, in order, into `sink` (begin, every frame, finish).
    pub fn replay(&self, frames: FrameRange, sink: &mut dyn FrameSink) -> Result<(), CaptureError> {
        let sink_failed =
            |index: u64| move |source: SinkError| CaptureError::Sink { index, source };
        sink.begin(frames).map_err(sink_failed(frames.first))?;
        for index in frames.indices() {
            let path = self.path(index);
            let bytes = std::fs::read(&path).map_err(IoError::with("read", &path))?;
            let image = FrameImage::Encoded {
                format: self.format,
                bytes,
            };
            sink.frame(index, image).map_err(sink_failed(index))?;
        }
        sink.finish().map_err(sink_failed(frames.end()))
    }
}

/// Write `bytes` to a partial file beside `path`, then rename it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let temp = path.with_extension("partial");
    std::fs::write(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(IoError::with("write", path))
}

/// A frame hf made (a blended transition) as an image file in `format`: PNG keeps alpha,
/// JPEG (opaque outputs) at quality 95.
fn encode_rgba(
    format: ImageFormat,
    width: u32,
    height: u32,
    pixels: Vec<u8>,
) -> Result<Vec<u8>, SinkError> {
    let image = image::RgbaImage::from_raw(width, height, pixels)
        .ok_or("an RGBA frame whose size does not match its pixels")?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    match format {
        ImageFormat::Png => image.write_to(&mut bytes, image::ImageFormat::Png)?,
        ImageFormat::Jpeg => {
            let rgb = image::DynamicImage::ImageRgba8(image).into_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95).encode_image(&rgb)?
        }
    }
    Ok(bytes.into_inner())
}

impl FrameSink for FrameFiles {
    fn holds(&self, index: u64) -> bool {
        self.path(index).is_file()
    }

    fn frame(&mut self, index: u64, image: FrameImage) -> Result<(), SinkError> {
        let path = self.path(index);
        match image {
            FrameImage::Encoded { bytes, .. } => write_atomically(&path, &bytes)?,
            FrameImage::Rgba {
                width,
                height,
                pixels,
            } => write_atomically(&path, &encode_rgba(self.format, width, height, pixels)?)?,
            FrameImage::Layers(_) | FrameImage::Transition(_) => {
                return Err(format!(
                    "frame {index} is an HDR frame of layers; HDR renders encode as they capture \
                     and never write frame files"
                )
                .into())
            }
            FrameImage::SameAsPrevious => {
                let previous = self.path(index.saturating_sub(1));
                let bytes = std::fs::read(&previous).map_err(IoError::with("read", &previous))?;
                write_atomically(&path, &bytes)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hf_core::DiscardFrames;

    #[test]
    fn frame_files_repeat_the_previous_frame_and_replay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = FrameFiles::new(dir.path(), ImageFormat::Png);
        let image = |byte: u8| FrameImage::Encoded {
            format: ImageFormat::Png,
            bytes: vec![byte; 4],
        };
        files.frame(0, image(1)).unwrap();
        files.frame(1, FrameImage::SameAsPrevious).unwrap();
        files.frame(2, image(2)).unwrap();
        assert!(files.holds(1) && !files.holds(3));
        assert_eq!(
            std::fs::read(dir.path().join("frame_000001.png")).unwrap(),
            vec![1; 4]
        );
        let mut counted = DiscardFrames::default();
        files.replay(FrameRange::new(0, 3), &mut counted).unwrap();
        assert_eq!(counted.received, 3);
        let missing = files
            .replay(FrameRange::new(2, 2), &mut counted)
            .unwrap_err();
        assert!(missing.to_string().starts_with("cannot read "), "{missing}");
    }
}
