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
#[derive(Debug, Clone, PartialEq)]
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
    /// An HDR frame as layers, back to front, for the encoder to composite: page captures
    /// (PNG with alpha) and HDR media drawn from their sources at full precision.
    Layers(Vec<FrameLayer>),
    /// A transition frame of an HDR render: each scene as layers, blended by the encoder in
    /// linear light.
    Transition(Box<LayeredTransition>),
    /// The page reported no damage: the frame equals the previous one.
    SameAsPrevious,
}

/// How a transition frame's two scenes become one, on pictures of linear light.
pub trait LinearBlend: Send + Sync + std::fmt::Debug {
    /// The frame from the two scenes: premultiplied RGBA in linear light (1 is SDR white,
    /// brighter is kept), `size.0 * size.1` pixels each, row by row.
    fn blend(&self, scenes: [Vec<[f32; 4]>; 2], size: (usize, usize)) -> Vec<[f32; 4]>;
}

/// A [`FrameImage::Transition`]: the scene left and the scene arrived at, as the layers of an
/// HDR frame each, and their blend.
#[derive(Debug, Clone)]
pub struct LayeredTransition {
    /// From and to.
    pub scenes: [Vec<FrameLayer>; 2],
    /// The transition at this frame's progress.
    pub blend: std::sync::Arc<dyn LinearBlend>,
}

impl PartialEq for LayeredTransition {
    fn eq(&self, other: &Self) -> bool {
        self.scenes == other.scenes && std::sync::Arc::ptr_eq(&self.blend, &other.blend)
    }
}

/// One layer of a [`FrameImage::Layers`] frame.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameLayer {
    /// A capture of part of the page over a transparent background: PNG bytes with alpha.
    Page(Vec<u8>),
    /// An HDR video frame or image drawn where the page lays its element out.
    Media(MediaPlacement),
}

/// How `object-fit` places a picture in its element's content box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectFit {
    /// Stretched to the box.
    Fill,
    /// Scaled to fit inside the box, aspect kept.
    Contain,
    /// Scaled to cover the box, aspect kept.
    Cover,
    /// Natural size.
    None,
    /// `none` or `contain`, whichever is smaller.
    ScaleDown,
}

/// Where and how an HDR source's picture is drawn on a frame, in frame pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaPlacement {
    /// Index of the source in the render's HDR sources.
    pub source: u32,
    /// Source time to show, in seconds (the last source frame at or before it).
    pub time: f64,
    /// Affine map from the element's border box (its own pixels, origin top left) to the
    /// frame: `[a, b, c, d, e, f]`, frame = `(a*x + c*y + e, b*x + d*y + f)`.
    pub transform: [f64; 6],
    /// Border-box width and height.
    pub size: [f64; 2],
    /// The content box inside the border box: left, top, width, height.
    pub content: [f64; 4],
    /// `object-fit`.
    pub fit: ObjectFit,
    /// `object-position` per axis: a fraction of the free space plus pixels.
    pub position: [f64; 4],
    /// Opacity of the element and its ancestors, multiplied.
    pub opacity: f64,
    /// Border radius per corner (top left, top right, bottom right, bottom left).
    pub radius: [f64; 4],
    /// Frame rectangle (left, top, right, bottom) outside which nothing shows (ancestors that
    /// clip their overflow); the whole frame when `None`.
    pub clip: Option<[f64; 4]>,
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
