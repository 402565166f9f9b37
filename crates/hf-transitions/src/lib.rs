//! HyperFrames' shader transitions as CPU kernels.
//!
//! A transition blends two scenes, each captured as its own RGBA [`Layer`], into one frame at a
//! progress between 0 and 1. The 15 [`Shader`]s follow the maths of the
//! `@hyperframes/shader-transitions` library's WebGL shaders (what upstream's default render
//! shows): pixel-centre coordinates, bilinear clamp-to-edge sampling, accent colours from the
//! composition's `accentColor`. Everything runs in `f32` with `libm`'s functions, so a blend is
//! the same bytes on every machine; noise that does not depend on progress is computed once per
//! shader and size and cached ([`blend`] reports its size).
//!
//! Layers are premultiplied so transparency survives a transition: a pixel's alpha is sampled
//! and mixed with its colour, and light a shader adds (glows, flashes) makes the pixel at least
//! as opaque as the light is bright.

mod accents;
mod blend;
mod fields;
mod kernels;
mod layer;
mod noise;
mod rows;
mod shader;
mod texture;

pub use accents::Accents;
pub use blend::{blend, blend_linear, BlendInput};
pub use fields::{cached_field_bytes, prepare};
pub use layer::Layer;
pub use shader::{Shader, UnknownShader};
