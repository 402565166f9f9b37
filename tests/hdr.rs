//! HDR end to end: PQ and HLG sources (videos, a cICP PNG) made with the ffmpeg CLI, rendered
//! to H.265 Main 10 with the page composited around them; the output read back with ffprobe
//! and ffmpeg as 10-bit code values.

use hf_distributed::{assemble, block_on, plan, render_chunk, ChunkOptions, Chunking, PlanOptions};
use hf_encode::{pq_signal, sdr_light_to_signal, HdrTransfer};
use hf_engine::{HdrMode, OutputFormat, ProgressEvent, RenderJob, RenderResult};
use hf_tests::ffmpeg;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

const WIDTH: usize = 640;
const HEIGHT: usize = 360;

/// A 1 s, 30 fps 10-bit HEVC clip of flat code values `(y, cb, cr)` tagged `transfer`.
fn hdr_clip(dir: &Path, name: &str, (y, cb, cr): (u16, u16, u16), transfer: &str) {
    ffmpeg(
        dir,
        &format!(
            "-f lavfi -i nullsrc=s=320x360:d=1:r=30,format=yuv420p10le,geq=lum={y}:cb={cb}:cr={cr} \
             -c:v libx265 -x265-params log-level=error:colorprim=bt2020:transfer={transfer}:colormatrix=bt2020nc \
             -color_primaries bt2020 -color_trc {transfer} -colorspace bt2020nc -pix_fmt yuv420p10le {name}"
        ),
    );
}

/// A 16-bit grey PNG (`value` in every channel) with a `cICP` chunk saying BT.2020 + PQ.
fn pq_png(dir: &Path, name: &str, value: u16, (w, h): (u32, u32)) {
    let image = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(w, h, image::Rgb([value; 3]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    let bytes = bytes.into_inner();
    // Signature (8) + IHDR (4 length + 4 type + 13 data + 4 CRC): cICP goes right after.
    let (head, rest) = bytes.split_at(8 + 25);
    let mut chunk = b"cICP".to_vec();
    chunk.extend_from_slice(&[9, 16, 0, 1]);
    let crc = crc32fast::hash(&chunk);
    let mut out = head.to_vec();
    out.extend_from_slice(&4u32.to_be_bytes());
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(rest);
    std::fs::write(dir.join(name), out).unwrap();
}

/// A page of `body` on a black 640x360 root lasting `seconds`.
fn page(dir: &Path, body: &str, seconds: f64) {
    std::fs::write(
        dir.join("index.html"),
        format!(
            r#"<!doctype html><html><head><style>html,body{{margin:0;background:#000}}
.abs{{position:absolute}}</style></head><body>
<div id="root" data-composition-id="main" data-width="640" data-height="360" data-duration="{seconds}"
 data-no-timeline style="position:relative;width:640px;height:360px;background:#000;overflow:hidden">{body}</div>
</body></html>"#
        ),
    )
    .unwrap();
}

/// Render `dir` to `output` with `workers`, collecting warnings.
fn render(
    dir: &Path,
    output: &Path,
    configure: impl FnOnce(&mut RenderJob),
) -> (RenderResult, Vec<String>) {
    let mut job = RenderJob::new(dir).output(output).workers(2);
    configure(&mut job);
    let mut warnings = Vec::new();
    let result = hf_engine::render(job, |event| {
        if let ProgressEvent::Warning { message } = event {
            warnings.push(message);
        }
    })
    .unwrap_or_else(|e| panic!("render {}: {e}", dir.display()));
    (result, warnings)
}

/// ffprobe's view of the video stream, and the side data types of its first frame.
fn probe(path: &Path) -> (Value, Vec<String>) {
    let run = |args: &[&str]| -> Value {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-of", "json", "-select_streams", "v:0"])
            .args(args)
            .arg(path)
            .output()
            .expect("ffprobe runs");
        assert!(out.status.success(), "ffprobe {}", path.display());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let stream = run(&["-show_streams"])["streams"][0].clone();
    let frames = run(&["-show_frames", "-read_intervals", "%+#1"]);
    let side = frames["frames"][0]["side_data_list"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|s| s["side_data_type"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    (stream, side)
}

/// Frame `n` of `path` as 10-bit planes (Y, Cb, Cr).
struct Planes {
    y: Vec<u16>,
    cb: Vec<u16>,
    cr: Vec<u16>,
}

impl Planes {
    fn read(path: &Path, n: usize) -> Self {
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-vf", &format!("select=eq(n\\,{n})"), "-vframes", "1"])
            .args(["-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-"])
            .output()
            .expect("ffmpeg runs");
        assert!(out.status.success(), "decode {}", path.display());
        let values: Vec<u16> = out
            .stdout
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        let luma = WIDTH * HEIGHT;
        assert_eq!(values.len(), luma * 3 / 2, "one 640x360 4:2:0 frame");
        Planes {
            y: values[..luma].to_vec(),
            cb: values[luma..luma * 5 / 4].to_vec(),
            cr: values[luma * 5 / 4..].to_vec(),
        }
    }

    /// `(Y, Cb, Cr)` at pixel (x, y).
    fn at(&self, x: usize, y: usize) -> (u16, u16, u16) {
        let c = (y / 2) * (WIDTH / 2) + x / 2;
        (self.y[y * WIDTH + x], self.cb[c], self.cr[c])
    }
}

/// The limited-range 10-bit luma of an HDR signal level.
fn luma_code(signal: f64) -> f64 {
    64.0 + 876.0 * signal
}

fn assert_near(got: (u16, u16, u16), want: (u16, u16, u16), tolerance: u16, what: &str) {
    let ok = |a: u16, b: u16| a.abs_diff(b) <= tolerance;
    assert!(
        ok(got.0, want.0) && ok(got.1, want.1) && ok(got.2, want.2),
        "{what}: got {got:?}, want {want:?} within {tolerance}"
    );
}

fn assert_white_box(planes: &Planes, x: usize, y: usize, transfer: HdrTransfer) {
    let (luma, cb, cr) = planes.at(x, y);
    let want = luma_code(sdr_light_to_signal(1.0, transfer));
    assert!(
        (f64::from(luma) - want).abs() <= 0.02 * want,
        "white box: luma {luma}, want {want:.1} within 2%"
    );
    assert!(
        cb.abs_diff(512) <= 2 && cr.abs_diff(512) <= 2,
        "white is neutral: {cb} {cr}"
    );
}

const PQ_VALUES: (u16, u16, u16) = (500, 480, 560);

/// A PQ clip on the left half (rounded corners), a red box partly under it (painted first),
/// a white box over it.
fn pq_page(dir: &Path) {
    hdr_clip(dir, "pq.mp4", PQ_VALUES, "smpte2084");
    page(
        dir,
        r#"<div id="under" class="abs" style="left:280px;top:200px;width:120px;height:100px;background:#ff0000"></div>
<video id="clip" class="abs" src="pq.mp4" muted style="left:0;top:0;width:320px;height:360px;object-fit:cover;border-radius:24px"></video>
<div id="over" class="abs" style="left:40px;top:40px;width:100px;height:100px;background:#fff"></div>"#,
        1.0,
    );
}

#[test]
fn a_pq_source_makes_hdr10_output_with_its_code_values_and_the_page_at_203_nits() {
    let dir = tempfile::tempdir().unwrap();
    pq_page(dir.path());
    let output = dir.path().join("out.mp4");
    let (result, _) = render(dir.path(), &output, |_| {});
    assert_eq!(result.frames, 30);

    let (stream, frame_side) = probe(&output);
    assert_eq!(stream["codec_name"], "hevc");
    assert_eq!(stream["codec_tag_string"], "hvc1");
    assert_eq!(stream["pix_fmt"], "yuv420p10le");
    assert_eq!(stream["color_space"], "bt2020nc");
    assert_eq!(stream["color_primaries"], "bt2020");
    assert_eq!(stream["color_transfer"], "smpte2084");
    assert_eq!(stream["color_range"], "tv");
    assert_eq!(stream["nb_frames"], "30");
    let stream_side: Vec<&str> = stream["side_data_list"]
        .as_array()
        .expect("stream side data")
        .iter()
        .filter_map(|s| s["side_data_type"].as_str())
        .collect();
    for kind in ["Mastering display metadata", "Content light level metadata"] {
        assert!(
            stream_side.contains(&kind),
            "container {kind}: {stream_side:?}"
        );
        assert!(
            frame_side.iter().any(|s| s == kind),
            "SEI {kind}: {frame_side:?}"
        );
    }

    for n in [0, 29] {
        let planes = Planes::read(&output, n);
        assert_near(
            planes.at(200, 250),
            PQ_VALUES,
            2,
            "the PQ source's flat region",
        );
        assert_white_box(&planes, 90, 90, HdrTransfer::Pq);
        // The red box shows right of the video, not under it.
        let (_, _, red_cr) = planes.at(360, 250);
        assert!(red_cr > 600, "red beside the video: Cr {red_cr}");
        assert_near(
            planes.at(300, 250),
            PQ_VALUES,
            2,
            "the video over the red box",
        );
        // Outside the rounded corner: the root's black, at PQ's black level.
        assert_near(planes.at(2, 2), (64, 512, 512), 2, "rounded corner");
    }
    // 203 nits is PQ's 58% signal.
    assert!((pq_signal(203.0) - 0.58).abs() < 0.005);
}

#[test]
fn an_hlg_source_makes_hlg_output_with_sdr_white_at_the_reference_level() {
    let dir = tempfile::tempdir().unwrap();
    let values = (620, 530, 470);
    hdr_clip(dir.path(), "hlg.mp4", values, "arib-std-b67");
    page(
        dir.path(),
        r#"<video class="abs" src="hlg.mp4" muted style="left:160px;top:0;width:320px;height:360px"></video>
<div class="abs" style="left:200px;top:40px;width:100px;height:100px;background:#fff"></div>"#,
        1.0,
    );
    let output = dir.path().join("out.mp4");
    render(dir.path(), &output, |_| {});
    let (stream, _) = probe(&output);
    assert_eq!(stream["color_transfer"], "arib-std-b67");
    assert_eq!(stream["pix_fmt"], "yuv420p10le");
    let planes = Planes::read(&output, 15);
    assert_near(
        planes.at(320, 250),
        values,
        2,
        "the HLG source's flat region",
    );
    assert_white_box(&planes, 250, 90, HdrTransfer::Hlg);
    // 75% signal.
    assert!((sdr_light_to_signal(1.0, HdrTransfer::Hlg) - 0.75).abs() < 1e-9);
    assert_near(
        planes.at(40, 200),
        (64, 512, 512),
        2,
        "black outside the video",
    );
}

#[test]
fn a_pq_png_is_drawn_at_its_box_with_object_fit_and_opacity() {
    let dir = tempfile::tempdir().unwrap();
    pq_png(dir.path(), "photo.png", 40000, (100, 100));
    pq_png(dir.path(), "wide.png", 40000, (100, 50));
    page(
        dir.path(),
        r#"<img class="abs" src="photo.png" style="left:100px;top:50px;width:200px;height:100px;object-fit:contain">
<img class="abs" src="photo.png" style="left:400px;top:50px;width:100px;height:100px;opacity:0.5">
<div class="abs" style="left:400px;top:200px;width:100px;height:50px;transform:rotate(90deg)">
<img src="wide.png" style="display:block;width:100px;height:50px"></div>"#,
        0.5,
    );
    let output = dir.path().join("out.mp4");
    render(dir.path(), &output, |_| {});
    let (stream, _) = probe(&output);
    assert_eq!(stream["color_transfer"], "smpte2084");
    let planes = Planes::read(&output, 0);
    let grey = luma_code(40000.0 / 65535.0).round() as u16;
    assert_near(planes.at(200, 100), (grey, 512, 512), 2, "the PNG's grey");
    // contain: a 100x100 picture centred in a 200x100 box leaves 50 px each side.
    assert_near(
        planes.at(120, 100),
        (64, 512, 512),
        2,
        "letterbox left of the picture",
    );
    assert_near(
        planes.at(280, 100),
        (64, 512, 512),
        2,
        "letterbox right of the picture",
    );
    let half = luma_code(0.5 * 40000.0 / 65535.0).round() as u16;
    assert_near(
        planes.at(450, 100),
        (half, 512, 512),
        2,
        "half opacity over black",
    );
    // Turned a quarter about its centre (450, 225): 50 wide, 100 tall.
    assert_near(
        planes.at(450, 182),
        (grey, 512, 512),
        2,
        "inside the turned picture",
    );
    assert_near(
        planes.at(410, 225),
        (64, 512, 512),
        2,
        "where the unturned picture was",
    );

    // mov carries the same HDR stream.
    let mov = dir.path().join("out.mov");
    render(dir.path(), &mov, |job| job.format = OutputFormat::Mov);
    let (stream, _) = probe(&mov);
    assert_eq!(stream["codec_name"], "hevc");
    assert_eq!(stream["codec_tag_string"], "hvc1");
    assert_eq!(stream["pix_fmt"], "yuv420p10le");
    assert_eq!(stream["color_transfer"], "smpte2084");
    let grey_in_mov = Planes::read(&mov, 0).at(200, 100);
    assert_near(grey_in_mov, (grey, 512, 512), 2, "mov: the PNG's grey");
}

#[test]
fn sdr_is_kept_on_request_and_where_the_format_cannot_carry_hdr() {
    let dir = tempfile::tempdir().unwrap();
    pq_page(dir.path());
    let output = dir.path().join("sdr.mp4");
    let (_, warnings) = render(dir.path(), &output, |job| job.hdr = HdrMode::Sdr);
    assert!(warnings.iter().all(|w| !w.contains("HDR")), "{warnings:?}");
    let (stream, _) = probe(&output);
    assert_eq!(stream["codec_name"], "h264");
    assert_eq!(stream["pix_fmt"], "yuv420p");
    assert_eq!(stream["color_transfer"], "bt709");

    let gif = dir.path().join("out.gif");
    let (_, warnings) = render(dir.path(), &gif, |job| job.format = OutputFormat::Gif);
    assert!(
        warnings.iter().any(|w| w
            == "an HDR source is in the page, but gif cannot carry HDR: rendering SDR with HDR \
                sources tone-mapped (use --format mp4 or mov for HDR10/HLG output)"),
        "{warnings:?}"
    );
    assert!(gif.is_file());
}

#[test]
fn forced_hdr_without_sources_is_hlg() {
    let dir = tempfile::tempdir().unwrap();
    page(
        dir.path(),
        r#"<div class="abs" style="left:0;top:0;width:320px;height:360px;background:#fff"></div>"#,
        0.5,
    );
    let output = dir.path().join("forced.mp4");
    let (_, warnings) = render(dir.path(), &output, |job| job.hdr = HdrMode::Force);
    assert!(warnings
        .iter()
        .any(|w| w.starts_with("--hdr without HDR sources: rendering HLG")));
    let (stream, _) = probe(&output);
    assert_eq!(stream["color_transfer"], "arib-std-b67");
    assert_white_box(&Planes::read(&output, 0), 100, 100, HdrTransfer::Hlg);
}

/// PQ's EOTF (nits of a signal in 0..1), written out here to check hf's.
fn pq_nits(signal: f64) -> f64 {
    let (m1, m2) = (2610.0 / 16384.0, 2523.0 / 4096.0 * 128.0);
    let (c1, c2, c3) = (
        3424.0 / 4096.0,
        2413.0 / 4096.0 * 32.0,
        2392.0 / 4096.0 * 32.0,
    );
    let e = signal.powf(1.0 / m2);
    10_000.0 * ((e - c1).max(0.0) / (c2 - c3 * e)).powf(1.0 / m1)
}

#[test]
fn transitions_blend_hdr_scenes_in_linear_light() {
    let dir = tempfile::tempdir().unwrap();
    let grey = (500, 512, 512);
    hdr_clip(dir.path(), "grey.mp4", grey, "smpte2084");
    // Scene a: the PQ grey video; scene b: SDR white. A crossfade over frames 6..=18.
    page(
        dir.path(),
        r#"<div id="a" class="abs" style="inset:0"><video src="grey.mp4" muted class="abs" style="left:0;top:0;width:640px;height:360px;object-fit:fill"></video></div>
<div id="b" class="abs" style="inset:0;background:#fff"></div>
<script>window.__hf.transitions = [{ time: 0.2, duration: 0.4, shader: "crossfade", fromScene: "a", toScene: "b" }];</script>"#,
        1.0,
    );
    let output = dir.path().join("out.mp4");
    let (result, warnings) = render(dir.path(), &output, |_| {});
    assert!(warnings.iter().all(|w| !w.contains("HDR")), "{warnings:?}");
    assert_eq!(result.blended_frames, 13);
    let (stream, _) = probe(&output);
    assert_eq!(stream["color_transfer"], "smpte2084");

    let white = sdr_light_to_signal(1.0, HdrTransfer::Pq);
    assert_near(
        Planes::read(&output, 6).at(320, 180),
        grey,
        2,
        "progress 0: scene a",
    );
    let end = Planes::read(&output, 18).at(320, 180);
    assert_near(
        end,
        (luma_code(white).round() as u16, 512, 512),
        2,
        "progress 1: scene b",
    );
    // Halfway: the mean of the two scenes' light, not of their signals.
    let a = (f64::from(grey.0) - 64.0) / 876.0;
    let light = 0.5 * (pq_nits(a) + pq_nits(white));
    let want = luma_code(pq_signal(light)).round() as u16;
    let signal_mean = luma_code(0.5 * (a + white)).round() as u16;
    assert!(
        want.abs_diff(signal_mean) > 5,
        "the test tells the two apart"
    );
    assert_near(
        Planes::read(&output, 12).at(320, 180),
        (want, 512, 512),
        2,
        "progress 0.5",
    );
}

#[test]
fn hdr_renders_are_the_same_bytes_on_any_worker_count_and_distributed() {
    let dir = tempfile::tempdir().unwrap();
    pq_page(dir.path());
    // Something that moves, so segments differ.
    let html = std::fs::read_to_string(dir.path().join("index.html"))
        .unwrap()
        .replace(
            "</style>",
            "#over{animation:slide 1s linear both}@keyframes slide{to{transform:translateX(300px) rotate(30deg)}}</style>",
        );
    std::fs::write(dir.path().join("index.html"), html).unwrap();
    let render_with = |workers: u32| {
        let output = dir.path().join(format!("w{workers}.mp4"));
        let mut job = RenderJob::new(dir.path())
            .output(&output)
            .workers(workers)
            .segment_frames(10);
        job.format = OutputFormat::Mp4;
        hf_engine::render(job, |_| {}).unwrap();
        std::fs::read(output).unwrap()
    };
    let one = render_with(1);
    assert!(one == render_with(3), "1 and 3 workers differ");

    let plan_dir = dir.path().join("plan");
    let mut job = RenderJob::new(dir.path())
        .output(dir.path().join("unused.mp4"))
        .segment_frames(10);
    job.format = OutputFormat::Mp4;
    let options = PlanOptions::default().chunking(Chunking::Count(2));
    block_on(plan(&job, &plan_dir, &options, &mut |_| {}))
        .unwrap()
        .unwrap();
    // The project moves away: chunks decode the HDR source from the plan's copy.
    let moved = dir.path().join("moved");
    std::fs::rename(dir.path().join("pq.mp4"), &moved).unwrap();
    let chunks: Vec<PathBuf> = (0..2)
        .map(|k| {
            let out = dir.path().join(format!("chunk-{k}"));
            let cancel = AtomicBool::new(false);
            let options = ChunkOptions::default().workers(1);
            block_on(render_chunk(
                &plan_dir,
                &k.to_string(),
                &out,
                &options,
                &mut |_| {},
                &cancel,
            ))
            .unwrap()
            .unwrap();
            out
        })
        .collect();
    let joined = dir.path().join("joined.mp4");
    assemble(&plan_dir, &chunks, &joined).unwrap();
    assert!(
        one == std::fs::read(&joined).unwrap(),
        "distributed differs from hf render"
    );
}
