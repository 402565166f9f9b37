//! A frame of an HDR render in, the encoder's 10-bit BT.2020 picture out.

use super::composite::Canvas;
use super::curves::{LinearLight, PageToSignal};
use super::source::SourceReader;
use super::{HdrSource, HdrTransfer};
use crate::EncodeError;
use ffmpeg_next::{format::Pixel, frame};
use hf_core::{FrameImage, FrameLayer, ImageFormat, LayeredTransition};

/// BT.2020's luma coefficients (non-constant luminance).
const KR: f32 = 0.2627;
const KB: f32 = 0.0593;
const KG: f32 = 1.0 - KR - KB;

fn limited_luma(value: f32) -> u16 {
    (64.0 + 876.0 * value).round().clamp(0.0, 1023.0) as u16
}

fn limited_chroma(value: f32) -> u16 {
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
    transfer: HdrTransfer,
    page: PageToSignal,
    /// Linear-light tables, made for the first transition frame.
    light: Option<LinearLight>,
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
            transfer,
            page: PageToSignal::new(transfer),
            light: None,
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
            FrameImage::Layers(layers) => self.composite(index, layers)?,
            FrameImage::Transition(transition) => {
                let LayeredTransition {
                    scenes: [from, to],
                    blend,
                } = *transition;
                let light = match self.light.take() {
                    Some(light) => light,
                    None => LinearLight::new(self.transfer),
                };
                self.composite(index, from)?;
                let from = self.canvas.to_light(&light);
                self.composite(index, to)?;
                let to = self.canvas.to_light(&light);
                let size = (self.canvas.width as usize, self.canvas.height as usize);
                let blended = blend.blend([from, to], size);
                self.canvas.set_light(&blended, &light);
                self.light = Some(light);
            }
        }
        self.encoder_picture()
    }

    /// Clear the canvas and draw `layers` on it, back to front.
    fn composite(&mut self, index: u64, layers: Vec<FrameLayer>) -> Result<(), EncodeError> {
        self.canvas.clear();
        for layer in layers {
            match layer {
                FrameLayer::Page(bytes) => self.blend_encoded(index, ImageFormat::Png, &bytes)?,
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
        Ok(())
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
    /// chroma from the mean of each 2x2 block.
    fn encoder_picture(&mut self) -> Result<&mut frame::Video, EncodeError> {
        let (width, height) = (self.canvas.width, self.canvas.height);
        let output = self
            .output
            .get_or_insert_with(|| frame::Video::new(HDR_PIXEL_FORMAT, width, height));
        let rgb = &self.canvas.rgb;
        let w = width as usize;
        let unit = |v: u16| f32::from(v) * (1.0 / 65535.0);
        let luma_stride = output.stride(0) / 2;
        write_plane(
            output.data_mut(0),
            luma_stride,
            (w, height as usize),
            |x, y| {
                let p = &rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
                limited_luma(KR * unit(p[0]) + KG * unit(p[1]) + KB * unit(p[2]))
            },
        );
        // The mean of a 2x2 block: chroma is linear in R, G and B.
        let block = |x: usize, y: usize| {
            let mut sum = [0u32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let at = ((2 * y + dy) * w + 2 * x + dx) * 3;
                for (s, v) in sum.iter_mut().zip(&rgb[at..at + 3]) {
                    *s += u32::from(*v);
                }
            }
            sum.map(|s| s as f32 * (0.25 / 65535.0))
        };
        let chroma_size = (w / 2, height as usize / 2);
        let stride = output.stride(1) / 2;
        write_plane(output.data_mut(1), stride, chroma_size, |x, y| {
            let [r, g, b] = block(x, y);
            limited_chroma((b - (KR * r + KG * g + KB * b)) / (2.0 * (1.0 - KB)))
        });
        let stride = output.stride(2) / 2;
        write_plane(output.data_mut(2), stride, chroma_size, |x, y| {
            let [r, g, b] = block(x, y);
            limited_chroma((r - (KR * r + KG * g + KB * b)) / (2.0 * (1.0 - KR)))
        });
        Ok(output)
    }
}
