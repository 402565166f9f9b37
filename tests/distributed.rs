//! A render as plan / render-chunk / assemble: the same bytes as `hf render` for every format,
//! whatever order, repetition or worker count the chunks see; and every way a plan or a chunk
//! can be wrong refused with its code, nothing written.

use hf_distributed::{
    assemble, block_on, plan, read_plan, render_chunk, ChunkOptions, Chunking, DistributedError,
    PlanOptions, SIDECAR,
};
use hf_engine::{Fps, OutputFormat, RenderJob};
use hf_tests::{fixture, test_asset_cache};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// A job for fixture `name` writing `output`, with the test asset cache.
fn job(name: &str, output: &Path, configure: impl FnOnce(&mut RenderJob)) -> RenderJob {
    let mut job = RenderJob::new(fixture(name)).output(output);
    job.asset_cache = Some(test_asset_cache());
    configure(&mut job);
    job
}

fn plan_into(job: &RenderJob, dir: &Path, chunks: usize) -> Result<(), DistributedError> {
    let options = PlanOptions::default().chunking(Chunking::Count(chunks));
    block_on(plan(job, dir, &options, &mut |_| {}))?.map(drop)
}

fn chunk_into(
    plan_dir: &Path,
    index: usize,
    out: &Path,
    workers: u32,
) -> Result<(), DistributedError> {
    let options = ChunkOptions::default().workers(workers);
    let cancel = AtomicBool::new(false);
    let index = index.to_string();
    block_on(render_chunk(
        plan_dir,
        &index,
        out,
        &options,
        &mut |_| {},
        &cancel,
    ))?
    .map(drop)
}

/// Plan `job` in `chunks` chunks under `dir`, render them last first (the middle one twice,
/// the second time on two workers), and return the plan dir and the chunk dirs.
fn plan_and_render(job: &RenderJob, dir: &Path, chunks: usize) -> (PathBuf, Vec<PathBuf>) {
    let plan_dir = dir.join("plan");
    plan_into(job, &plan_dir, chunks).unwrap();
    let count = read_plan(&plan_dir).unwrap().chunks.len();
    assert_eq!(count, chunks, "the plan has the chunks asked for");
    let dirs: Vec<PathBuf> = (0..count).map(|k| dir.join(format!("chunk-{k}"))).collect();
    for k in (0..count).rev() {
        chunk_into(&plan_dir, k, &dirs[k], 1).unwrap();
    }
    let middle = count / 2;
    chunk_into(&plan_dir, middle, &dirs[middle], 2).unwrap();
    (plan_dir, dirs)
}

/// The bytes of a file, or of every file of a directory by name.
fn contents(path: &Path) -> Vec<(String, Vec<u8>)> {
    if path.is_file() {
        return vec![(String::new(), std::fs::read(path).unwrap())];
    }
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(path)
        .unwrap()
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Render fixture `name` with `hf render` and distributed in `chunks` chunks (chunks reversed,
/// one twice); the outputs are the same bytes.
fn assert_distributed_matches(
    name: &str,
    output: &str,
    chunks: usize,
    configure: impl Fn(&mut RenderJob),
) {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join(format!("reference-{output}"));
    let in_process = job(name, &reference, &configure);
    hf_engine::render(in_process, |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
    let distributed = job(name, &dir.path().join("unused"), &configure);
    let (plan_dir, chunk_dirs) = plan_and_render(&distributed, dir.path(), chunks);
    let joined = dir.path().join(output);
    // Chunk directories in any order.
    let mut shuffled = chunk_dirs.clone();
    shuffled.rotate_left(1);
    let assembled = assemble(&plan_dir, &shuffled, &joined).unwrap();
    assert_eq!(assembled.path, joined);
    let (a, b) = (contents(&reference), contents(&joined));
    assert_eq!(a.len(), b.len(), "{name}: file count");
    for ((name_a, bytes_a), (name_b, bytes_b)) in a.iter().zip(&b) {
        assert_eq!(name_a, name_b);
        assert!(
            bytes_a == bytes_b,
            "{name}: {name_a} differs from hf render's"
        );
    }
    // The chunks are left as they were: assembling again gives the same bytes.
    let again = dir.path().join(format!("again-{output}"));
    assemble(&plan_dir, &chunk_dirs, &again).unwrap();
    assert!(contents(&again) == b, "{name}: a second assemble differs");
}

#[test]
fn mp4_distributed_is_hf_render_byte_for_byte() {
    assert_distributed_matches("gsap-move", "out.mp4", 3, |job| {
        job.segment_frames = Some(20);
    });
}

#[test]
fn ntsc_rates_distribute_with_exact_frames() {
    assert_distributed_matches("gsap-move", "out.mp4", 2, |job| {
        job.fps = Some(Fps {
            num: 30000,
            den: 1001,
        });
        job.segment_frames = Some(20);
    });
}

#[test]
fn alpha_formats_distribute() {
    for (format, output) in [
        (OutputFormat::Webm, "out.webm"),
        (OutputFormat::Mov, "out.mov"),
    ] {
        assert_distributed_matches("webm-alpha", output, 2, |job| {
            job.format = format;
            job.segment_frames = Some(8);
        });
    }
}

#[test]
fn frame_file_outputs_distribute() {
    assert_distributed_matches("gif", "out.gif", 2, |job| {
        job.format = OutputFormat::Gif;
        job.segment_frames = Some(8);
    });
    assert_distributed_matches("png-sequence", "frames", 2, |job| {
        job.format = OutputFormat::PngSequence;
        job.segment_frames = Some(4);
    });
}

#[test]
fn video_and_audio_distribute() {
    assert_distributed_matches("media", "out.mp4", 3, |job| {
        job.segment_frames = Some(30);
    });
}

/// The error's code, for `assert_eq!`.
fn code<T: std::fmt::Debug>(result: Result<T, DistributedError>) -> &'static str {
    result.expect_err("the step fails").code()
}

/// Nothing but `keep` in `dir`: no output, no scratch directory.
#[track_caller]
fn assert_only(dir: &Path, keep: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, keep, "what is left in {}", dir.display());
}

#[test]
fn bad_plans_and_chunks_are_refused_with_their_code() {
    let dir = tempfile::tempdir().unwrap();
    let base = job("gsap-move", &dir.path().join("unused"), |job| {
        job.segment_frames = Some(20);
    });
    let (plan_dir, chunks) = plan_and_render(&base, dir.path(), 3);
    let out = dir.path().join("out.mp4");
    let keep = ["chunk-0", "chunk-1", "chunk-2", "plan"];

    // Chunks missing, given twice, or from another plan.
    assert_eq!(
        code(assemble(&plan_dir, &chunks[..2], &out)),
        "CHUNK_MISSING"
    );
    let twice = [chunks.clone(), vec![chunks[1].clone()]].concat();
    assert_eq!(code(assemble(&plan_dir, &twice, &out)), "CHUNK_DUPLICATE");
    let other = dir.path().join("other");
    let mut draft = base.clone();
    draft.quality = hf_engine::Quality::Draft;
    plan_into(&draft, &other.join("plan"), 3).unwrap();
    chunk_into(&other.join("plan"), 0, &other.join("chunk-0"), 1).unwrap();
    let mixed = [other.join("chunk-0"), chunks[1].clone(), chunks[2].clone()];
    assert_eq!(
        code(assemble(&plan_dir, &mixed, &out)),
        "CHUNK_PLAN_MISMATCH"
    );
    std::fs::remove_dir_all(&other).unwrap();
    assert_only(dir.path(), &keep);

    // A piece cut short, a sidecar whose hash does not match, a directory that is no chunk.
    let piece = chunks[1].join("segment-00001.mp4");
    let bytes = std::fs::read(&piece).unwrap();
    std::fs::write(&piece, &bytes[..bytes.len() / 2]).unwrap();
    let error = assemble(&plan_dir, &chunks, &out).unwrap_err();
    assert_eq!(error.code(), "CHUNK_CORRUPT");
    assert!(
        error.to_string().contains("segment-00001.mp4 has"),
        "{error}"
    );
    std::fs::write(&piece, &bytes).unwrap();
    let sidecar = chunks[2].join(SIDECAR);
    let text = std::fs::read_to_string(&sidecar).unwrap();
    let sha = &text[text.find("\"sha256\": \"").unwrap() + 11..][..64];
    std::fs::write(&sidecar, text.replace(sha, &"0".repeat(64))).unwrap();
    assert_eq!(code(assemble(&plan_dir, &chunks, &out)), "CHUNK_CORRUPT");
    std::fs::write(&sidecar, text).unwrap();
    assert_eq!(
        code(assemble(&plan_dir, &[dir.path().join("plan")], &out)),
        "CHUNK_INVALID"
    );
    assert_only(dir.path(), &keep);
    assemble(&plan_dir, &chunks, &out).expect("the repaired chunks assemble");
    std::fs::remove_file(&out).unwrap();

    // Chunk indices out of range.
    let cancel = AtomicBool::new(false);
    for index in ["3", "x"] {
        let result = block_on(render_chunk(
            &plan_dir,
            index,
            &dir.path().join("c"),
            &ChunkOptions::default(),
            &mut |_| {},
            &cancel,
        ))
        .unwrap();
        assert_eq!(code(result), "CHUNK_INDEX_OUT_OF_RANGE");
    }
    assert_only(dir.path(), &keep);

    // An edited plan: its page, its plan file, another hf version.
    let page = plan_dir.join("compiled/index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, html.replace("</body>", "<!-- edited --></body>")).unwrap();
    let error = assemble(&plan_dir, &chunks, &out).unwrap_err();
    assert_eq!(error.code(), "PLAN_HASH_MISMATCH");
    assert!(chunk_into(&plan_dir, 0, &dir.path().join("c"), 1).is_err());
    std::fs::write(&page, html).unwrap();
    let plan_file = plan_dir.join("plan.json");
    let text = std::fs::read_to_string(&plan_file).unwrap();
    std::fs::write(&plan_file, text.replace("\"frames\": 60", "\"frames\": 59")).unwrap();
    assert_eq!(
        code(assemble(&plan_dir, &chunks, &out)),
        "PLAN_HASH_MISMATCH"
    );
    std::fs::write(&plan_file, text.replace("\"hf 0.", "\"hf 99.")).unwrap();
    assert_eq!(code(read_plan(&plan_dir)), "VERSION_MISMATCH");
    std::fs::write(&plan_file, &text).unwrap();
    assert_only(dir.path(), &keep);
    assert!(read_plan(&plan_dir).is_ok());
}

#[test]
fn a_plan_with_sound_needs_its_audio_mix() {
    let dir = tempfile::tempdir().unwrap();
    let plan_dir = dir.path().join("plan");
    plan_into(
        &job("media", &dir.path().join("unused"), |_| {}),
        &plan_dir,
        2,
    )
    .unwrap();
    let file = read_plan(&plan_dir).unwrap();
    let audio = file.plan.audio.as_ref().expect("the media fixture sounds");
    assert_eq!(
        file.size.audio,
        audio.samples * 2 * 4,
        "the mix is in the plan"
    );
    assert!(file.size.video_frames > 0 && file.size.project > 0);
    std::fs::remove_file(plan_dir.join(&audio.mix)).unwrap();
    let error = assemble(&plan_dir, &[], &dir.path().join("out.mp4")).unwrap_err();
    assert_eq!(error.code(), "MISSING_PLAN_ARTIFACT");
    assert!(
        error.to_string().contains("audio.f32 is missing"),
        "{error}"
    );
}

#[test]
fn plans_over_the_size_cap_are_refused_with_a_breakdown() {
    let dir = tempfile::tempdir().unwrap();
    let plan_dir = dir.path().join("plan");
    let options = PlanOptions::default().max_plan_bytes(10_000);
    let job = job("gsap-move", &dir.path().join("unused"), |_| {});
    let error = block_on(plan(&job, &plan_dir, &options, &mut |_| {}))
        .unwrap()
        .unwrap_err();
    assert_eq!(error.code(), "PLAN_TOO_LARGE");
    assert!(
        error.to_string().contains("compiled page") && error.to_string().contains("project files"),
        "{error}"
    );
    assert_only(dir.path(), &[]);
}
