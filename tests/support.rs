//! Helpers for hf's end-to-end tests: fixture paths, test media, rendering, pixel assertions.

use hf_encode::inspect::RgbImage;
use hf_engine::{CaptureMode, RenderJob, RenderResult};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run the ffmpeg CLI in `dir` (arguments split on whitespace) to make test media. Tests only:
/// hf itself links libav.
pub fn ffmpeg(dir: &Path, args: &str) {
    let status = Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-v", "error", "-y"])
        .args(args.split_whitespace())
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args}");
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// `fixtures/<name>/src`.
pub fn fixture(name: &str) -> PathBuf {
    workspace_root().join("fixtures").join(name).join("src")
}

/// The vendored GSAP 3.15.0 the fixtures use.
pub fn vendored_gsap() -> PathBuf {
    fixture("gsap-move").join("gsap.min.js")
}

/// Copy the vendored GSAP into a test project as `gsap.min.js`.
pub fn copy_vendored_gsap(project: &Path) {
    std::fs::copy(vendored_gsap(), project.join("gsap.min.js")).expect("copy vendored gsap");
}

/// URLs the fixtures load GSAP from, all served by the vendored GSAP 3.15.0.
pub const GSAP_URLS: &[&str] = &[
    "https://cdn.jsdelivr.net/npm/gsap@3.15.0/dist/gsap.min.js",
    "https://cdn.jsdelivr.net/npm/gsap@3/dist/gsap.min.js",
];

/// An asset cache seeded (as `hf cache import` does) with GSAP under its CDN URLs, so fixtures
/// that name a CDN render offline.
pub fn test_asset_cache() -> PathBuf {
    let dir = workspace_root().join("target").join("hf-test-asset-cache");
    let cache = hf_engine::AssetCache::at(&dir);
    let gsap = std::fs::read(vendored_gsap()).expect("vendored gsap");
    for url in GSAP_URLS {
        if cache.get(url).is_none() {
            cache.put(url, &gsap).expect("seed the test asset cache");
        }
    }
    dir
}

/// Render fixture `name` into a fresh temp dir with `mode`; returns the dir (keep it alive) and
/// the result.
pub fn render_fixture(name: &str, mode: CaptureMode) -> (tempfile::TempDir, RenderResult) {
    render_fixture_with(name, |job| job.capture_mode = mode)
}

/// Render fixture `name` with the test asset cache, after `configure` adjusts the job.
pub fn render_fixture_with(
    name: &str,
    configure: impl FnOnce(&mut RenderJob),
) -> (tempfile::TempDir, RenderResult) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut job = RenderJob::new(fixture(name)).output(dir.path().join("out.mp4"));
    job.asset_cache = Some(test_asset_cache());
    configure(&mut job);
    let result =
        hf_engine::render(job, |_| {}).unwrap_or_else(|e| panic!("rendering {name} failed: {e}"));
    (dir, result)
}

/// Assert the pixel at `(x, y)` is within `tolerance` of `want` on every channel.
#[track_caller]
pub fn assert_pixel(image: &RgbImage, x: u32, y: u32, want: [u8; 3], tolerance: u8, what: &str) {
    let got = image.pixel(x, y);
    let close = got
        .iter()
        .zip(want)
        .all(|(g, w)| g.abs_diff(w) <= tolerance);
    assert!(
        close,
        "{what}: pixel ({x},{y}) is {got:?}, expected {want:?} (+-{tolerance})"
    );
}

/// Mean absolute difference per channel between two images of the same size.
pub fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let sum: u64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.data.len() as f64
}
