//! A frame of an HDR render in, the encoder's 10-bit BT.2020 picture out.

use super::composite::Canvas;
use super::curves::PageToSignal;
use super::source::SourceReader;
use super::{HdrSource, HdrTransfer};
use crate::EncodeError;
use ffmpeg_next::{format::Pixel, frame};
use hf_core::{FrameImage, FrameLayer, ImageFormat};

/// BT.2020's luma coefficients (non-constant luminance).
const KR: f64 = 0.2627;
const KB: f64 = 0.0593;
const KG: f64 = 1.0 - KR - KB;

enum Chroma {
    Blue,
    Red,
}

fn limited_luma(value: f64) -> u16 {
    (64.0 + 876.0 * value).round().clamp(0.0, 1023.0) as u16
}

fn limited_chroma(value: f64) -> u16 {
    (512.0 + 896.0 * value).round().clamp(0.0, 1023.0) as u16
}

/// Fill a 16-bit plane of `columns` x `rows` samples (`stride` samples per row) from `sample(x, y)`, rows in
/// parallel.
fn write_plane(
    data: &mut [u8],
    stride: usize,
    (columns, rows): (usize, usize),
    sample: impl Fn(usize, usize) -> u16 + Sync,
) {
    use rayon::prelude::*;
    data.par_chunks_mut(stride * 2)
        .take(rows)
        .enumerate()
        .for_each(|(y, row)| {
            for (x, bytes) in row.chunks_exact_mut(2).take(columns).enumerate() {
                bytes.copy_from_slice(&sample(x, y).to_le_bytes());
            }
        });
}

/// The pixel format HDR frames are encoded in.
pub(crate) const HDR_PIXEL_FORMAT: Pixel = Pixel::YUV420P10LE;

/// Composites each frame's layers on a 16-bit canvas and converts it for the encoder.
pub(crate) struct HdrConverter {
    canvas: Canvas,
    page: PageToSignal,
    sources: Vec<SourceReader>,
    output: Option<frame::Video>,
}

impl HdrConverter {
    pub(crate) fn new(
        width: u32,
        height: u32,
        transfer: HdrTransfer,
        sources: &[HdrSource],
    ) -> Result<Self, EncodeError> {
        Ok(HdrConverter {
            canvas: Canvas::new(width, height),
            page: PageToSignal::new(transfer),
            sources: sources
                .iter()
                .map(|s| SourceReader::new(s.clone(), transfer))
                .collect(),
            output: None,
        })
    }

    /// The encoder's picture for frame `index`; overwritten by the next call.
    pub(crate) fn convert(
        &mut self,
        index: u64,
        image: FrameImage,
    ) -> Result<&mut frame::Video, EncodeError> {
        match image {
            FrameImage::SameAsPrevious => {
                return self
                    .output
                    .as_mut()
                    .ok_or(EncodeError::NothingToRepeat { index })
            }
            FrameImage::Encoded { format, bytes } => {
                self.canvas.clear();
                self.blend_encoded(index, format, &bytes)?;
            }
            FrameImage::Rgba { pixels, .. } => {
                self.canvas.clear();
                self.check_size(index, pixels.len())?;
                self.canvas.blend_page(&pixels, &self.page);
            }
            FrameImage::Layers(layers) => {
                self.canvas.clear();
                for layer in layers {
                    match layer {
                        FrameLayer::Page(bytes) => {
                            self.blend_encoded(index, ImageFormat::Png, &bytes)?
                        }
                        FrameLayer::Media(placement) => {
                            let reader = self.sources.get_mut(placement.source as usize).ok_or(
                                EncodeError::BadFrame {
                                    index,
                                    reason: format!("no HDR source {}", placement.source),
                                },
                            )?;
                            let picture = reader.picture_at(placement.time)?;
                            self.canvas.draw(picture, &placement);
                        }
                    }
                }
            }
        }
        self.encoder_picture()
    }

    fn check_size(&self, index: u64, bytes: usize) -> Result<(), EncodeError> {
        let expected = (self.canvas.width * self.canvas.height * 4) as usize;
        if bytes == expected {
            return Ok(());
        }
        Err(EncodeError::BadFrame {
            index,
            reason: format!(
                "a layer of {bytes} RGBA bytes in a {}x{} render",
                self.canvas.width, self.canvas.height
            ),
        })
    }

    fn blend_encoded(
        &mut self,
        index: u64,
        format: ImageFormat,
        bytes: &[u8],
    ) -> Result<(), EncodeError> {
        let kind = match format {
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        };
        let decoded = image::load_from_memory_with_format(bytes, kind)
            .map_err(|e| EncodeError::BadFrame {
                index,
                reason: e.to_string(),
            })?
            .into_rgba8();
        self.check_size(index, decoded.as_raw().len())?;
        self.canvas.blend_page(decoded.as_raw(), &self.page);
        Ok(())
    }

    /// The canvas in the encoder's format: BT.2020 non-constant luminance, limited range,
    /// chroma averaged over each 2x2 block.
    fn encoder_picture(&mut self) -> Result<&mut frame::Video, EncodeError> {
        let (width, height) = (self.canvas.width, self.canvas.height);
        let output = self
            .output
            .get_or_insert_with(|| frame::Video::new(HDR_PIXEL_FORMAT, width, height));
        let rgb = &self.canvas.rgb;
        let w = width as usize;
        let luma_stride = output.stride(0) / 2;
        write_plane(
            output.data_mut(0),
            luma_stride,
            (w, height as usize),
            |x, y| {
                let p = &rgb[(y * w + x) * 3..];
                let [r, g, b] = [p[0], p[1], p[2]].map(|v| f64::from(v) / 65535.0);
                limited_luma(KR * r + KG * g + KB * b)
            },
        );
        for (plane, chroma) in [(1, Chroma::Blue), (2, Chroma::Red)] {
            let stride = output.stride(plane) / 2;
            let size = (w / 2, height as usize / 2);
            write_plane(output.data_mut(plane), stride, size, |x, y| {
                let mut sum = 0.0;
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let p = &rgb[((2 * y + dy) * w + 2 * x + dx) * 3..];
                    let [r, g, b] = [p[0], p[1], p[2]].map(|v| f64::from(v) / 65535.0);
                    let luma = KR * r + KG * g + KB * b;
                    sum += match chroma {
                        Chroma::Blue => (b - luma) / (2.0 * (1.0 - KB)),
                        Chroma::Red => (r - luma) / (2.0 * (1.0 - KR)),
                    };
                }
                limited_chroma(sum / 4.0)
            });
        }
        Ok(output)
    }
}
