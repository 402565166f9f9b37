//! Which frames repeat the frame before them, predicted from what the page says animates when
//! and which source frame each video shows: those frames are never captured.

use hf_capture::{PageActivity, VideoFrames};
use hf_core::{Fps, FrameRange};

/// Slack on span edges, in seconds: page times are floats, frame times rationals.
const EDGE: f64 = 1e-6;

/// The runs of frames `1..frames` that show what the frame before them showed: no activity
/// span touches `[t(i-1), t(i)]` and every video shows the same source frame at both times.
/// Nothing when the page cannot be predicted.
pub(crate) fn held_frames(
    activity: &PageActivity,
    videos: &VideoFrames,
    fps: Fps,
    frames: u64,
) -> Vec<FrameRange> {
    if activity.unknown.is_some() || frames < 2 {
        return Vec::new();
    }
    let mut changes = vec![false; frames as usize];
    changes[0] = true;
    let rate = fps.as_f64();
    for &[start, end] in &activity.spans {
        // Frame i changes when t(i) >= start and t(i - 1) <= end.
        let first = ((start - EDGE) * rate).ceil().max(1.0);
        let last = (((end + EDGE) * rate).floor() + 1.0).min(frames as f64 - 1.0);
        if first <= last {
            changes[first as usize..=last as usize].fill(true);
        }
    }
    for video in &videos.videos {
        for (i, change) in changes.iter_mut().enumerate().skip(1) {
            let (before, now) = (fps.frame_time(i as u64 - 1), fps.frame_time(i as u64));
            *change |= video.timing.frame_at(before) != video.timing.frame_at(now);
        }
    }
    runs_of_false(&changes)
}

/// The runs of `false` in `changes`, as frame ranges.
fn runs_of_false(changes: &[bool]) -> Vec<FrameRange> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &changed) in changes.iter().enumerate() {
        match (changed, start) {
            (false, None) => start = Some(i as u64),
            (true, Some(first)) => {
                runs.push(FrameRange::new(first, i as u64 - first));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(first) = start {
        runs.push(FrameRange::new(first, changes.len() as u64 - first));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use hf_capture::VideoFrameSource;
    use hf_core::VideoTiming;

    fn activity(spans: &[[f64; 2]]) -> PageActivity {
        PageActivity {
            unknown: None,
            spans: spans.to_vec(),
        }
    }

    #[test]
    fn frames_between_animations_are_held() {
        // 30 fps, 60 frames: a move over 0-0.5 s, an instant at 1.0 s.
        let held = held_frames(
            &activity(&[[0.0, 0.5], [1.0, 1.0]]),
            &VideoFrames::default(),
            Fps::whole(30),
            60,
        );
        // Frames 1-16 move (t(15) = 0.5, frame 16 still ends the move), frame 30 (t = 1.0) and
        // 31 touch the instant; the rest hold.
        assert_eq!(held, vec![FrameRange::new(17, 13), FrameRange::new(32, 28)]);
    }

    #[test]
    fn nothing_is_held_when_the_page_cannot_be_predicted_or_always_moves() {
        let mut unknown = activity(&[]);
        unknown.unknown = Some("page code uses requestAnimationFrame".into());
        assert!(held_frames(&unknown, &VideoFrames::default(), Fps::whole(30), 60).is_empty());
        let forever = activity(&[[0.0, 1e9]]);
        assert!(held_frames(&forever, &VideoFrames::default(), Fps::whole(30), 60).is_empty());
    }

    #[test]
    fn a_video_showing_new_frames_is_change() {
        // A 5 s source in the slot [1, 2) of a 30 fps render: a new source frame every frame.
        let videos = VideoFrames {
            videos: vec![VideoFrameSource {
                render_id: "v".into(),
                timing: VideoTiming::new(1.0, 2.0, 0.0, 1.0, false, 5.0, Fps::whole(30)),
                url_prefix: "__hf_frames/0-v/".into(),
                alpha: false,
                hdr: false,
            }],
            hdr: Vec::new(),
        };
        let held = held_frames(&activity(&[]), &videos, Fps::whole(30), 90);
        let is_held = |i: u64| held.iter().any(|r| r.indices().contains(&i));
        assert!(is_held(10), "before the slot");
        assert!(!is_held(30), "the slot opens");
        assert!(!is_held(45), "new source frames");
        assert!(!is_held(60), "the slot closes");
        assert!(is_held(70), "after the slot");
    }
}
