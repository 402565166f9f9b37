//! `data-automation` volume lanes (HyperFrames' audio automation format), sampled into the
//! per-frame gain envelope a GSAP `volume` tween also gives.

use serde_json::Value;

/// Largest gain a lane can ask for (+12 dB), as `data-volume`.
const MAX_GAIN: f64 = 3.981;

/// Points kept per lane.
const MAX_POINTS: usize = 512;

/// One point of a lane: gain `v` at `t` seconds into the clip, and the curve leaving it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    t: f64,
    v: f64,
    curve: f64,
}

/// A number, or a numeric string.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// The `volume` lane of a `data-automation` document: `None` when it has none; an error
/// (what is wrong) when the document is not one.
fn volume_points(raw: &str) -> Result<Option<Vec<Point>>, String> {
    let doc: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON ({e})"))?;
    if doc.get("version").and_then(Value::as_i64) != Some(1) {
        return Err("version is not 1".into());
    }
    let lanes = doc
        .get("lanes")
        .and_then(Value::as_array)
        .ok_or("no lanes array")?;
    let Some(lane) = lanes
        .iter()
        .find(|l| l.get("target").and_then(Value::as_str) == Some("volume"))
    else {
        return Ok(None);
    };
    let mut points: Vec<Point> = lane
        .get("points")
        .and_then(Value::as_array)
        .ok_or("the volume lane has no points array")?
        .iter()
        .filter_map(|p| {
            let (t, v) = (number(p.get("t")?)?, number(p.get("v")?)?);
            let curve = p.get("curve").and_then(number).unwrap_or(0.0);
            (t >= 0.0).then_some(Point {
                t,
                v: v.clamp(0.0, MAX_GAIN),
                curve: curve.clamp(-1.0, 1.0),
            })
        })
        .collect();
    // Sorted by time; of points at one time the later one wins.
    points.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut kept: Vec<Point> = Vec::with_capacity(points.len());
    for point in points {
        match kept.last_mut() {
            Some(last) if last.t == point.t => *last = point,
            _ => kept.push(point),
        }
    }
    kept.truncate(MAX_POINTS);
    Ok((!kept.is_empty()).then_some(kept))
}

/// The lane's gain at `tau` seconds into the clip: held before the first point and after the
/// last; between two, `a.v + (b.v - a.v) * x^(2^(2c))` with `c` the curve leaving `a`.
fn gain_at(points: &[Point], tau: f64) -> f64 {
    let first = points[0];
    if tau <= first.t {
        return first.v;
    }
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if tau <= b.t {
            let x = ((tau - a.t) / (b.t - a.t)).clamp(0.0, 1.0);
            let shaped = x.powf(2f64.powf(2.0 * a.curve));
            return a.v + (b.v - a.v) * shaped;
        }
    }
    points[points.len() - 1].v
}

/// The gain at each of `frames` render frames (`i / fps` s) of an element whose clip starts
/// at `start`, from its `data-automation` document `raw`; `None` without a volume lane.
pub(crate) fn volume_gains(
    raw: &str,
    start: f64,
    fps: f64,
    frames: u64,
) -> Result<Option<Vec<f64>>, String> {
    let Some(points) = volume_points(raw)? else {
        return Ok(None);
    };
    Ok(Some(
        (0..frames)
            .map(|i| gain_at(&points, i as f64 / fps - start))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_hold_interpolate_and_curve() {
        let raw = r#"{"version":1,"lanes":[{"target":"fx.x.y","points":[]},
            {"target":"volume","points":[{"t":"1","v":0},{"t":2,"v":1,"curve":0.5},{"t":3,"v":0.5},{"t":"x","v":9}]}]}"#;
        let gains = volume_gains(raw, 1.0, 4.0, 20).unwrap().unwrap();
        // Clip time = i / 4 - 1.
        assert_eq!(gains[0], 0.0, "held before the first point");
        assert_eq!(gains[8], 0.0, "at 1 s");
        assert!((gains[10] - 0.5).abs() < 1e-12, "linear half way");
        // Curve 0.5 leaving (2, 1): x^2 between 2 and 3 s.
        assert!((gains[14] - (1.0 - 0.5 * 0.25)).abs() < 1e-12);
        assert_eq!(gains[19], 0.5, "held after the last point");
    }

    #[test]
    fn values_are_clamped_duplicates_resolved_and_bad_documents_named() {
        let raw = r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":0,"v":9},{"t":0,"v":2},{"t":-1,"v":0}]}]}"#;
        assert_eq!(
            volume_points(raw).unwrap().unwrap(),
            vec![Point {
                t: 0.0,
                v: 2.0,
                curve: 0.0
            }]
        );
        let raw = r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":0,"v":9}]}]}"#;
        assert_eq!(volume_points(raw).unwrap().unwrap()[0].v, MAX_GAIN);
        assert_eq!(volume_points(r#"{"version":1,"lanes":[]}"#).unwrap(), None);
        assert_eq!(
            volume_points(r#"{"version":2,"lanes":[]}"#).unwrap_err(),
            "version is not 1"
        );
        assert!(volume_points("{").unwrap_err().starts_with("not JSON"));
    }
}
