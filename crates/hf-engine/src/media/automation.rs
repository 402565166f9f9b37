//! `data-automation` volume lanes (HyperFrames' audio automation format, read by
//! `hf_audio_fx`), sampled into the per-frame gain envelope a GSAP `volume` tween also gives.

use hf_audio_fx::{Automation, Via};

/// The gain at each of `frames` render frames (`i / fps` s) of an element (or group) whose
/// lane clock starts at `start`, from its `data-automation` document `raw`; `None` without a
/// volume lane. As HyperFrames' render, `curve` bends segments and via points do not.
pub(crate) fn volume_gains(
    raw: &str,
    start: f64,
    fps: f64,
    frames: u64,
) -> Result<Option<Vec<f64>>, String> {
    let automation = Automation::parse(raw)?;
    let Some(lane) = automation.volume() else {
        return Ok(None);
    };
    Ok(Some(
        (0..frames)
            .map(|i| lane.value_at(i as f64 / fps - start, Via::Ignore))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_are_sampled_on_the_frame_grid_from_the_clip_start() {
        let raw = r#"{"version":1,"lanes":[{"target":"fx.x.y","points":[]},
            {"target":"volume","points":[{"t":"1","v":0},{"t":2,"v":1,"curve":0.5},{"t":3,"v":0.5}]}]}"#;
        let gains = volume_gains(raw, 1.0, 4.0, 20).unwrap().unwrap();
        // Clip time = i / 4 - 1.
        assert_eq!(gains[0], 0.0, "held before the first point");
        assert_eq!(gains[8], 0.0, "at 1 s");
        assert!((gains[10] - 0.5).abs() < 1e-12, "linear half way");
        // Curve 0.5 leaving (2, 1): x^2 between 2 and 3 s.
        assert!((gains[14] - (1.0 - 0.5 * 0.25)).abs() < 1e-12);
        assert_eq!(gains[19], 0.5, "held after the last point");
        assert_eq!(
            volume_gains(r#"{"version":1,"lanes":[]}"#, 0.0, 1.0, 3).unwrap(),
            None
        );
        assert_eq!(
            volume_gains(r#"{"version":2,"lanes":[]}"#, 0.0, 1.0, 3).unwrap_err(),
            "version is not 1"
        );
    }
}
