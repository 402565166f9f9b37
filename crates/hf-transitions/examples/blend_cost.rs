//! CPU time of one blended 1080p frame per shader (noise fields already cached), on one
//! thread and on rayon's pool: `cargo run --release -p hf-transitions --example blend_cost`.
#![allow(clippy::print_stdout)]

use hf_transitions::{blend, cached_field_bytes, Accents, BlendInput, Layer, Shader};
use std::time::Instant;

fn gradient(width: usize, height: usize, seed: u8) -> Layer {
    let mut pixels = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            pixels.extend([(x / 8) as u8 ^ seed, (y / 5) as u8, seed, 255]);
        }
    }
    Layer::from_straight_rgba(width, height, pixels)
}

fn main() {
    let (width, height) = (1920, 1080);
    let (from, to) = (gradient(width, height, 0), gradient(width, height, 200));
    let accents = Accents::default();
    let frames = 10;
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    println!(
        "shader               first (fields) ms   per frame, 1 thread ms   per frame, pool ms"
    );
    let only = std::env::var("HF_SHADER").ok();
    for shader in Shader::ALL
        .into_iter()
        .filter(|s| only.as_deref().is_none_or(|o| o == s.name()))
    {
        let run = |progress: f32| {
            blend(BlendInput {
                shader,
                from: &from,
                to: &to,
                progress,
                accents: &accents,
            })
        };
        let started = Instant::now();
        one_thread.install(|| run(0.5));
        let first = started.elapsed().as_secs_f64() * 1000.0;
        let started = Instant::now();
        one_thread.install(|| (0..frames).for_each(|i| drop(run(i as f32 / frames as f32))));
        let single = started.elapsed().as_secs_f64() * 1000.0 / frames as f64;
        let started = Instant::now();
        (0..frames).for_each(|i| drop(run(i as f32 / frames as f32)));
        let pooled = started.elapsed().as_secs_f64() * 1000.0 / frames as f64;
        println!(
            "{:<20} {first:>18.1} {single:>24.1} {pooled:>20.1}",
            shader.name()
        );
    }
    println!(
        "noise fields cached: {:.1} MB",
        cached_field_bytes() as f64 / 1e6
    );
}
