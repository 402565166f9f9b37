//! `hf snapshot`'s stills are the frames a render captures: compared with a PNG-sequence
//! render of the same composition, pixel for pixel, including a transition frame.

use hf_encode::inspect::decode_rgba_frames;
use hf_engine::{OutputFormat, RenderJob, SnapshotFrames};
use hf_tests::{fixture, render_fixture_with, test_asset_cache};

fn stills_match_the_sequence(name: &str, frames: &SnapshotFrames, expected: &[u64]) {
    let (_dir, sequence) = render_fixture_with(name, |job| {
        job.format = OutputFormat::PngSequence;
        job.output = Some(job.output.as_ref().unwrap().with_file_name("seq"));
    });
    let out = tempfile::tempdir().unwrap();
    let mut job = RenderJob::new(fixture(name));
    job.asset_cache = Some(test_asset_cache());
    let snapshot = hf_engine::snapshot(job, frames, out.path().join("stills"), |_| {}).unwrap();
    let got: Vec<u64> = snapshot.stills.iter().map(|s| s.frame).collect();
    assert_eq!(got, expected);
    let reference = decode_rgba_frames(&sequence.output, expected).unwrap();
    for (still, want) in snapshot.stills.iter().zip(&reference) {
        let name = still
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with("frame-") && name.ends_with("s.png"),
            "{name}"
        );
        let image = &decode_rgba_frames(&still.path, &[0]).unwrap()[0];
        assert_eq!((image.width, image.height), (want.width, want.height));
        assert!(
            image.data == want.data,
            "{name} differs from frame {} of the render",
            still.frame
        );
    }
    assert!(snapshot.first_still_seconds > 0.0);
}

#[test]
fn stills_are_the_rendered_frames() {
    stills_match_the_sequence(
        "gsap-move",
        &SnapshotFrames::At(vec![0.0, 0.5, 1.25]),
        &[0, 15, 38],
    );
}

#[test]
fn a_transition_frame_is_blended_as_in_a_render() {
    // The fixture's transition runs mid-composition; five evenly spaced stills include one.
    stills_match_the_sequence(
        "transitions",
        &SnapshotFrames::Count(5),
        &[0, 15, 30, 44, 59],
    );
}
