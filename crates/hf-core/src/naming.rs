//! The names of the frame files hf writes, in one place: capture-disk frames, PNG-sequence
//! output frames and extracted video frames.

use crate::ImageFormat;

/// The file of captured frame `index` in a capture-disk frames dir: `frame_000042.jpg`
/// (0-based, six digits, the capture format's extension).
pub fn captured_frame_name(index: u64, format: ImageFormat) -> String {
    format!("frame_{index:06}.{}", format.extension())
}

/// The name of frame `index` (0-based) in a PNG-sequence output: one-based, six digits,
/// `frame_000001.png` for the first frame (as HyperFrames names them).
pub fn sequence_frame_name(index: u64) -> String {
    format!("frame_{:06}.png", index + 1)
}

/// The file of source frame `k` of an extracted video: `000042.jpg`, or `.png` for sources
/// with alpha.
pub fn extracted_frame_name(k: u64, alpha: bool) -> String {
    let format = if alpha {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    };
    format!("{k:06}.{}", format.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_files_have_fixed_width_names() {
        assert_eq!(
            captured_frame_name(42, ImageFormat::Jpeg),
            "frame_000042.jpg"
        );
        assert_eq!(captured_frame_name(0, ImageFormat::Png), "frame_000000.png");
        assert_eq!(sequence_frame_name(0), "frame_000001.png");
        assert_eq!(sequence_frame_name(41), "frame_000042.png");
        assert_eq!(extracted_frame_name(15, false), "000015.jpg");
        assert_eq!(extracted_frame_name(15, true), "000015.png");
    }
}
