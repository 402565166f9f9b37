//! `cargo xtask bench --transition-parity`: every transition on a small two-scene page,
//! rendered by hf and by upstream HyperFrames in both of its modes (page-side WebGL, the
//! default, and `--no-page-side-compositing`), with the PSNR of the transition frames.

use crate::bench::Upstream;
use anyhow::{Context, Result};
use hf_encode::compare::psnr;
use hf_encode::inspect::decode_rgb_frames;
use std::path::Path;
use std::process::Command;

/// The shaders, in the library's order, then hf's crossfade (not a WebGL name upstream).
const SHADERS: [&str; 15] = [
    "domain-warp",
    "ridged-burn",
    "whip-pan",
    "sdf-iris",
    "ripple-waves",
    "gravitational-lens",
    "cinematic-zoom",
    "chromatic-split",
    "glitch",
    "swirl-vortex",
    "thermal-distortion",
    "flash-through-white",
    "cross-warp-morph",
    "light-leak",
    "crossfade",
];

/// 640x360, 1.5 s at 30 fps: the transition runs from 0.5 s for 0.6 s (frames 15 to 33).
const FIRST: u64 = 15;
const LAST: u64 = 33;

/// The scenes carry their own font (upstream's page-side compositor draws clones of the scenes
/// outside the root, where a font set on the root would not reach them) and are timed clips
/// (upstream's layered path shows nothing of a scene that is not).
fn page(shader: &str) -> String {
    format!(
        r##"<!doctype html><html><head><meta charset="utf-8"><script src="gsap.min.js"></script>
<script src="https://cdn.jsdelivr.net/npm/@hyperframes/shader-transitions@0.8.41/dist/index.global.js"></script>
<style>html,body{{margin:0;background:#000}}
#root{{position:relative;width:640px;height:360px;overflow:hidden}}
.scene{{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;color:#fff;font:900 96px Inter,sans-serif}}
#a{{background:radial-gradient(circle at 25% 30%,#fff 0 40px,transparent 41px),linear-gradient(135deg,#ff3f6e,#6812d6 55%,#0b1030)}}
#b{{background:radial-gradient(circle at 75% 70%,#fde047 0 50px,transparent 51px),linear-gradient(135deg,#03131f,#06966d 50%,#e0fb55)}}
</style></head><body>
<div id="root" data-composition-id="main" data-width="640" data-height="360" data-duration="1.5">
<section id="a" class="scene clip" data-start="0" data-duration="1.5">ALPHA</section>
<section id="b" class="scene clip" data-start="0" data-duration="1.5">BETA</section></div>
<script>
const tl = gsap.timeline({{ paused: true }});
HyperShader.init({{ bgColor: "#000000", accentColor: "#7dd3fc", scenes: ["a", "b"],
  transitions: [{{ time: 0.5, duration: 0.6, shader: "{shader}" }}], timeline: tl }});
window.__timelines = {{ main: tl }};
</script></body></html>"##
    )
}

/// Min and mean PSNR of the transition frames of two renders.
fn window_psnr(ours: &Path, theirs: &Path) -> Result<(f64, f64)> {
    let frames: Vec<u64> = (FIRST..=LAST).collect();
    let a = decode_rgb_frames(ours, &frames)?;
    let b = decode_rgb_frames(theirs, &frames)?;
    let values: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(x, y)| psnr(x, y).min(100.0))
        .collect();
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    Ok((min, values.iter().sum::<f64>() / values.len() as f64))
}

pub fn run(hf: &Path, upstream: &Upstream, out_dir: &Path) -> Result<()> {
    let root = out_dir.join("transition-parity");
    let gsap = Path::new("bench/transitions/gsap.min.js");
    let mut rows = Vec::new();
    println!(
        "{:<20} {:>26} {:>26}",
        "shader", "vs page-side: min/mean dB", "vs layered: min/mean dB"
    );
    for shader in SHADERS {
        let project = root.join(shader);
        std::fs::create_dir_all(&project)?;
        std::fs::write(project.join("index.html"), page(shader))?;
        std::fs::copy(gsap, project.join("gsap.min.js"))?;
        let ours = root.join(format!("{shader}-hf.mp4"));
        let mut command = Command::new(hf);
        command
            .arg("render")
            .arg(&project)
            .arg("-o")
            .arg(&ours)
            .arg("--quiet");
        crate::run(command, "hf render")?;
        let scratch = root.join("upstream-project");
        let mut result = serde_json::json!({ "shader": shader });
        let mut cells = Vec::new();
        for (mode, flags) in [
            ("page_side", &[][..]),
            ("layered", &["--no-page-side-compositing"][..]),
        ] {
            let theirs = root.join(format!("{shader}-{mode}.mp4"));
            let cell = upstream
                .render(&project, &scratch, &theirs, "1", flags)
                .and_then(|_| window_psnr(&ours, &theirs))
                .with_context(|| format!("{shader} against upstream's {mode} render"));
            match cell {
                Ok((min, mean)) => {
                    cells.push(format!("{min:>12.1} / {mean:<11.1}"));
                    result[mode] = serde_json::json!({ "min_psnr": min, "mean_psnr": mean });
                }
                Err(error) => {
                    cells.push(format!("{:>26}", "failed"));
                    result[mode] = serde_json::json!({ "error": format!("{error:#}") });
                }
            }
        }
        println!("{shader:<20} {} {}", cells[0], cells[1]);
        rows.push(result);
    }
    let path = out_dir.join("transition-parity.json");
    std::fs::write(&path, serde_json::to_string_pretty(&rows)?)?;
    println!("written to {}", path.display());
    Ok(())
}
