//! Scene layers and how kernels read them.

/// One captured scene (or a blended frame): `width x height` RGBA pixels, row by row,
/// premultiplied by alpha.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Layer {
    /// A layer from straight (not premultiplied) RGBA pixels.
    ///
    /// # Panics
    /// When `pixels` is not `width * height * 4` bytes.
    pub fn from_straight_rgba(width: usize, height: usize, mut pixels: Vec<u8>) -> Self {
        assert_eq!(pixels.len(), width * height * 4, "RGBA buffer size");
        for pixel in pixels.chunks_exact_mut(4) {
            let alpha = u32::from(pixel[3]);
            if alpha < 255 {
                for channel in &mut pixel[..3] {
                    *channel = ((u32::from(*channel) * alpha + 127) / 255) as u8;
                }
            }
        }
        Layer {
            width,
            height,
            pixels,
        }
    }

    /// The layer's pixels as straight RGBA (what encoders and image files take).
    pub fn into_straight_rgba(mut self) -> Vec<u8> {
        for pixel in self.pixels.chunks_exact_mut(4) {
            let alpha = u32::from(pixel[3]);
            if alpha < 255 && alpha > 0 {
                for channel in &mut pixel[..3] {
                    *channel = ((u32::from(*channel) * 255 + alpha / 2) / alpha).min(255) as u8;
                }
            }
        }
        self.pixels
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    pub(crate) fn from_premultiplied(width: usize, height: usize, pixels: Vec<u8>) -> Self {
        Layer {
            width,
            height,
            pixels,
        }
    }

    /// The premultiplied bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.pixels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premultiplying_round_trips() {
        let straight = vec![
            200, 100, 50, 255, 200, 100, 50, 128, 0, 0, 0, 0, 10, 20, 30, 255,
        ];
        let layer = Layer::from_straight_rgba(2, 2, straight.clone());
        assert_eq!(layer.bytes()[4], ((200 * 128 + 127) / 255) as u8);
        let back = layer.into_straight_rgba();
        for (a, b) in back.iter().zip(&straight) {
            assert!(a.abs_diff(*b) <= 1, "{back:?} vs {straight:?}");
        }
    }
}
