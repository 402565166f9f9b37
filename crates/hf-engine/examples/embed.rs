//! Render a composition from another program through hf-engine's one entry point.
//!
//! `cargo run -p hf-engine --example embed -- fixtures/gsap-move/src /tmp/move.mp4`
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example program prints

use hf_engine::{ProgressEvent, Quality, RenderJob};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let project = args
        .next()
        .ok_or("usage: embed <project dir> <output.mp4>")?;
    let output = args
        .next()
        .ok_or("usage: embed <project dir> <output.mp4>")?;
    let job = RenderJob::new(project)
        .output(output)
        .quality(Quality::Draft);
    let result = hf_engine::render(job, |event: ProgressEvent| {
        if let ProgressEvent::Planned { frames, fps, .. } = event {
            eprintln!("rendering {frames} frames at {fps} fps");
        }
    })?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
