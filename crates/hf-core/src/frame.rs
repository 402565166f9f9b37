//! Captured frames and runs of frames.

use serde::{Deserialize, Serialize};

/// The image format a frame is captured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageFormat {
    /// JPEG (opaque outputs; fastest to capture and decode).
    Jpeg,
    /// PNG (outputs that need alpha).
    Png,
}

impl ImageFormat {
    /// The file extension of an image in this format: `jpg` or `png`.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
        }
    }
}

/// One captured frame as it travels from capture to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameImage {
    /// Compressed image bytes as Chrome returned them.
    Encoded {
        /// Image format of `bytes`.
        format: ImageFormat,
        /// The compressed image.
        bytes: Vec<u8>,
    },
    /// Decoded pixels made by hf (a blended transition frame): straight (not premultiplied)
    /// RGBA, row by row, at the frame size.
    Rgba {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// `width * height * 4` bytes.
        pixels: Vec<u8>,
    },
    /// The page reported no damage: the frame equals the previous one.
    SameAsPrevious,
}

/// A run of consecutive frames of a render: a segment of the grid, or a chunk of segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrameRange {
    /// Render index of the first frame.
    pub first: u64,
    /// How many frames.
    pub count: u64,
}

impl FrameRange {
    /// The run of `count` frames from `first`.
    pub const fn new(first: u64, count: u64) -> Self {
        FrameRange { first, count }
    }

    /// The index after the last frame.
    pub const fn end(self) -> u64 {
        self.first + self.count
    }

    /// The render indices of the run, in order.
    pub fn indices(self) -> std::ops::Range<u64> {
        self.first..self.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_list_their_indices() {
        let range = FrameRange::new(20, 3);
        assert_eq!(range.end(), 23);
        assert_eq!(range.indices().collect::<Vec<_>>(), vec![20, 21, 22]);
        assert_eq!(FrameRange::new(5, 0).indices().count(), 0);
    }
}
