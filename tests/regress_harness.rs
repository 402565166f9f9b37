//! The regression harness catches what it is for: a runtime whose clip windows are one frame
//! late fails the `clip-windows` fixture's PSNR baseline, while an unchanged render passes.

use hf_encode::compare::compare_videos;
use hf_engine::RenderJob;
use hf_tests::{fixture, test_asset_cache, workspace_root};
use std::path::Path;

/// `minPsnr` and `maxFrameFailures` from the fixture's meta.json.
fn thresholds(name: &str) -> (f64, usize) {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            workspace_root()
                .join("fixtures")
                .join(name)
                .join("meta.json"),
        )
        .unwrap(),
    )
    .unwrap();
    (
        meta["minPsnr"].as_f64().unwrap(),
        meta["maxFrameFailures"].as_u64().unwrap_or(0) as usize,
    )
}

fn render(project: &Path, output: &Path) {
    let mut job = RenderJob::new(project).output(output);
    job.quality = hf_engine::Quality::High;
    job.workers = 1;
    job.asset_cache = Some(test_asset_cache());
    hf_engine::render(job, |_| {}).expect("render");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_runtime_one_frame_late_fails_the_baseline_and_an_unchanged_one_passes() {
    let baseline = workspace_root().join("fixtures/clip-windows/baseline/output.mp4");
    let (min_psnr, allowed) = thresholds("clip-windows");
    let dir = tempfile::tempdir().unwrap();

    let good = dir.path().join("good.mp4");
    render(&fixture("clip-windows"), &good);
    let comparison = compare_videos(&baseline, &good, 100).unwrap();
    assert!(
        comparison.failures(min_psnr).len() <= allowed,
        "{comparison:?}"
    );

    // The broken runtime: every seek shows the previous frame's time, so each clip window
    // opens and closes one frame late.
    let broken_project = dir.path().join("broken");
    copy_dir(&fixture("clip-windows"), &broken_project);
    let index = broken_project.join("index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    let lag = "<script>(function(){var seek=window.__hf.seek;window.__hf.seek=function(t){return seek(Math.max(0,t-1/30));};})();</script>";
    std::fs::write(&index, html.replacen("<head>", &format!("<head>{lag}"), 1)).unwrap();
    let broken = dir.path().join("broken.mp4");
    render(&broken_project, &broken);
    let comparison = compare_videos(&baseline, &broken, 100).unwrap();
    let failures: Vec<u64> = comparison
        .failures(min_psnr)
        .iter()
        .map(|c| c.frame)
        .collect();
    assert!(
        failures.len() > allowed,
        "a one-frame lag must fail the fixture: {comparison:?}"
    );
    // Frame 15 (t=0.5) is a clip boundary in clip-windows.
    assert!(failures.contains(&15), "failing frames: {failures:?}");
}
