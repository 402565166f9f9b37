//! Which frames of a render are transition frames: the page's declared transitions, checked
//! and turned into frame windows (capture-layered blends them).

use crate::RenderError;
use hf_capture::{TransitionMeta, TransitionWindow};
use hf_core::{Fps, FrameRange};
use hf_transitions::{Accents, Shader};

/// Slack on window edges, in seconds: page times are floats, frame times rationals.
const EDGE: f64 = 1e-9;

/// The windows of `declared` in a render of `frames` frames. Transitions the page animates
/// itself (the library's CSS crossfade) and empty ones are left to the page. Each scene is
/// captured over the transition's `bgColor` (black when it has none), or over nothing when
/// the output keeps alpha (`transparent`).
pub(crate) fn transition_windows(
    declared: &[TransitionMeta],
    fps: Fps,
    frames: u64,
    transparent: bool,
) -> Result<Vec<TransitionWindow>, RenderError> {
    let mut windows = Vec::new();
    for (index, meta) in declared.iter().enumerate() {
        let number = index + 1;
        if meta.page_fades {
            continue;
        }
        let shader = match &meta.shader {
            None => Shader::Crossfade,
            Some(name) => name
                .parse::<Shader>()
                .map_err(|error| RenderError::UnknownShader { number, error })?,
        };
        let number_of = |value: Option<f64>, field: &'static str| {
            value.ok_or(RenderError::InvalidTransition { number, field })
        };
        let start = number_of(meta.time, "time")?;
        let duration = number_of(meta.duration, "duration")?;
        for (id, found) in [
            (&meta.from_scene, meta.from_found),
            (&meta.to_scene, meta.to_found),
        ] {
            if !found {
                return Err(RenderError::TransitionSceneNotFound {
                    number,
                    id: id.clone(),
                });
            }
        }
        let Some(range) = window_frames(start, duration, fps, frames) else {
            continue;
        };
        windows.push(TransitionWindow {
            shader,
            from_scene: meta.from_scene.clone(),
            to_scene: meta.to_scene.clone(),
            start,
            duration,
            frames: range,
            accents: Accents::from_accent_color(meta.accent_color.as_deref()),
            background: (!transparent)
                .then(|| meta.bg_color.clone().unwrap_or_else(|| "#000".into())),
        });
    }
    Ok(windows)
}

/// The frames whose time is in `[start, start + duration]` (none for a zero-length
/// transition: the page's own opacity flip is a cut).
fn window_frames(start: f64, duration: f64, fps: Fps, frames: u64) -> Option<FrameRange> {
    if duration <= 0.0 || frames == 0 {
        return None;
    }
    let rate = fps.as_f64();
    let first = ((start - EDGE) * rate).ceil().max(0.0);
    let last = (((start + duration + EDGE) * rate).floor()).min(frames as f64 - 1.0);
    (first <= last).then(|| FrameRange::new(first as u64, (last - first) as u64 + 1))
}

/// The windows with frames in `frames`, for one run of capture.
pub(crate) fn windows_in(
    windows: &[TransitionWindow],
    frames: FrameRange,
) -> Vec<TransitionWindow> {
    windows
        .iter()
        .filter(|w| w.frames.first < frames.end() && frames.first < w.frames.end())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(shader: Option<&str>, time: f64, duration: f64) -> TransitionMeta {
        TransitionMeta {
            time: Some(time),
            duration: Some(duration),
            shader: shader.map(str::to_string),
            from_scene: "a".into(),
            to_scene: "b".into(),
            bg_color: Some("#05070c".into()),
            accent_color: None,
            page_fades: false,
            from_found: true,
            to_found: true,
        }
    }

    #[test]
    fn windows_hold_the_frames_inside_the_transition() {
        let fps = Fps::whole(30);
        // Upstream's fixture: glitch at 0.75 s for 0.85 s: frames 23 (0.767 s) to 48 (1.6 s).
        let windows =
            transition_windows(&[meta(Some("glitch"), 0.75, 0.85)], fps, 60, false).unwrap();
        assert_eq!(windows[0].frames, FrameRange::new(23, 26));
        assert_eq!(windows[0].background.as_deref(), Some("#05070c"));
        // Exact frame times are inside; the end is clamped to the render.
        let windows = transition_windows(&[meta(None, 1.0, 1.0)], fps, 45, true).unwrap();
        assert_eq!(windows[0].shader, Shader::Crossfade);
        assert_eq!(windows[0].frames, FrameRange::new(30, 15));
        assert_eq!(windows[0].background, None);
        // Zero-length and page-animated transitions are the page's.
        let mut fading = meta(None, 0.5, 0.5);
        fading.page_fades = true;
        assert!(
            transition_windows(&[meta(Some("glitch"), 1.0, 0.0), fading], fps, 60, false)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_transitions_name_what_is_wrong() {
        let fps = Fps::whole(30);
        let error =
            transition_windows(&[meta(Some("swirl"), 1.0, 0.5)], fps, 60, false).unwrap_err();
        assert_eq!(error.code(), "UNKNOWN_SHADER");
        assert!(
            error
                .to_string()
                .contains("transition 1 uses unknown shader \"swirl\""),
            "{error}"
        );
        let mut missing = meta(Some("glitch"), 1.0, 0.5);
        missing.to_found = false;
        let error =
            transition_windows(&[meta(None, 0.2, 0.2), missing], fps, 60, false).unwrap_err();
        assert_eq!(error.code(), "TRANSITION_SCENE_NOT_FOUND");
        assert!(
            error
                .to_string()
                .starts_with("transition 2 names scene \"b\""),
            "{error}"
        );
    }
}
