use super::*;
use hf_encode::{Container, GopSettings, VideoCodec};
use proptest::prelude::*;

/// A plan of `frames` frames at 30 fps on segments of `segment_frames`.
pub(crate) fn sample_plan(frames: u64, segment_frames: u64) -> RenderPlan {
    RenderPlan {
        version: PLAN_VERSION,
        project_dir: PathBuf::from("/projects/title"),
        page: PagePlan {
            dir: PathBuf::from("compiled"),
            root_id: "main".into(),
            width: 641,
            height: 360,
            device_scale_factor: 1.5,
            webgpu: false,
        },
        frames,
        fps: Fps::whole(30),
        duration_seconds: frames as f64 / 30.0,
        segment_frames,
        capture: CaptureSettings {
            mode: CaptureMode::Auto,
            image_format: ImageFormat::Jpeg,
            jpeg_quality: 95,
            transparent: false,
            route: CapturePlan::Streaming,
            frame_timeout: Duration::from_secs(30),
            load_timeout: Duration::from_secs(60),
            timeline_timeout: Duration::from_secs(2),
        },
        videos: VideoFrames::default(),
        held: vec![FrameRange::new(10, 20)],
        transitions: Vec::new(),
        hdr: None,
        audio: None,
        output: OutputTarget {
            hls_segment_seconds: None,
            path: PathBuf::from("out.mp4"),
            format: OutputFormat::Mp4,
            kind: OutputKind::Video {
                codec: VideoCodec::H264,
                container: Container::Mp4,
            },
            encoder: Some(VideoEncodeSettings {
                codec: VideoCodec::H264,
                width: 962,
                height: 540,
                fps: Fps::whole(30),
                preset: "medium".into(),
                crf: 18,
                bitrate: None,
                gop: GopSettings {
                    keyint: segment_frames as u32,
                    bframes: 0,
                },
                threads: 2,
                hdr: None,
                vp9_cpu_used: None,
            }),
        },
        capture_only: false,
    }
}

proptest! {
    #[test]
    fn the_grid_covers_every_frame_once_in_order(total in 0u64..100_000, size in 1u64..2_000) {
        let grid = segment_grid(total, size);
        let mut next = 0;
        for (i, segment) in grid.iter().enumerate() {
            prop_assert_eq!(segment.index, i);
            prop_assert_eq!(segment.first_frame, next);
            prop_assert!(segment.frame_count >= 1 && segment.frame_count <= size);
            if i + 1 < grid.len() {
                prop_assert_eq!(segment.frame_count, size);
            }
            next += segment.frame_count;
        }
        prop_assert_eq!(next, total);
    }

    #[test]
    fn chunks_are_whole_runs_of_segments_covering_the_render(
        frames in 1u64..5_000,
        size in 1u64..300,
        count in 1usize..40,
    ) {
        let plan = sample_plan(frames, size);
        let segments = plan.segments();
        let chunks = plan.chunks(count);
        prop_assert_eq!(chunks.len(), count.min(segments.len()));
        let (mut next_segment, mut next_frame) = (0, 0);
        for (k, chunk) in chunks.iter().enumerate() {
            prop_assert_eq!(chunk.index as usize, k);
            prop_assert_eq!(chunk.first_segment, next_segment);
            prop_assert!(chunk.segment_count >= 1);
            let run = &segments[chunk.first_segment..chunk.first_segment + chunk.segment_count];
            prop_assert_eq!(chunk.frames.first, run[0].first_frame);
            prop_assert_eq!(chunk.frames.first, next_frame);
            prop_assert_eq!(chunk.frames.count, run.iter().map(|s| s.frame_count).sum::<u64>());
            next_segment += chunk.segment_count;
            next_frame = chunk.frames.end();
        }
        prop_assert_eq!(next_segment, segments.len());
        prop_assert_eq!(next_frame, frames);
    }
}

#[test]
fn default_segments_are_two_seconds() {
    assert_eq!(default_segment_frames(Fps::whole(30)), 60);
    assert_eq!(
        default_segment_frames(Fps {
            num: 30000,
            den: 1001
        }),
        60
    );
    assert_eq!(default_segment_frames(Fps::whole(24)), 48);
    assert_eq!(
        segment_grid(150, 60)
            .iter()
            .map(|s| s.frame_count)
            .collect::<Vec<_>>(),
        vec![60, 60, 30]
    );
}

#[test]
fn plans_name_their_files_relative_to_the_root() {
    let mut plan = sample_plan(150, 60);
    assert_eq!(plan.whole().frames, FrameRange::new(0, 150));
    assert_eq!(plan.page.frame_size(), (962, 540));
    assert_eq!(
        plan.segment_file(2),
        Some(PathBuf::from("segment-00002.mp4"))
    );
    assert_eq!(plan.frames_dir(), None);
    plan.capture.route = CapturePlan::Disk;
    assert_eq!(plan.frames_dir(), Some(PathBuf::from("frames")));
    let json = serde_json::to_string(&plan).unwrap();
    assert_eq!(serde_json::from_str::<RenderPlan>(&json).unwrap(), plan);
}

#[test]
fn plans_travel_as_bincode_for_distributed_workers() {
    let plan = sample_plan(150, 60);
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec(&plan, config).unwrap();
    let (back, read): (RenderPlan, usize) =
        bincode::serde::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(read, bytes.len());
    assert_eq!(back, plan);
    let chunks = plan.chunks(2);
    let bytes = bincode::serde::encode_to_vec(&chunks, config).unwrap();
    let (back, _): (Vec<ChunkSpec>, usize) =
        bincode::serde::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(back, chunks);
}
