//! `data-automation` (HyperFrames' audio automation format, version 1): lanes of points on
//! `volume`, `fx.<nodeId>.<param>` or `fx.preset.<presetId>`, and their values over time.

use crate::chain::{number, FxChain};
use crate::registry::Scale;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest gain a volume lane can ask for (+12 dB), as `data-volume`.
pub const MAX_GAIN: f64 = 3.981_071_705_534_972;

/// Points kept per lane.
const MAX_POINTS: usize = 512;

/// What a lane drives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// The track's (or group's) level, a linear gain.
    Volume,
    /// Parameter `param` of the node whose id is `node`.
    Fx {
        /// The node's id.
        node: String,
        /// The parameter's key.
        param: String,
    },
    /// The wet amount (0..1) of every run of nodes written by preset `0`.
    Preset(String),
}

impl Target {
    /// Read a lane's `target`; `None` when it names nothing HyperFrames knows.
    fn parse(raw: &str) -> Option<Self> {
        if raw == "volume" {
            return Some(Self::Volume);
        }
        let parts: Vec<&str> = raw.split('.').collect();
        match parts[..] {
            ["fx", "preset", id] if !id.is_empty() => Some(Self::Preset(id.into())),
            ["fx", node, param] if !node.is_empty() && !param.is_empty() => Some(Self::Fx {
                node: node.into(),
                param: param.into(),
            }),
            _ => None,
        }
    }
}

/// One point: value `v` at `t` seconds, and the shape of the segment leaving it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Seconds on the lane's clock (clip start, or composition start for a group).
    pub t: f64,
    /// The value, in the target's unit.
    pub v: f64,
    /// -1..1: the segment is `x^(2^(2c))`.
    pub curve: f64,
    /// A point (progress, value travelled) the segment passes through; supersedes `curve`.
    pub via: Option<(f64, f64)>,
}

/// A lane: a target and its points, sorted by time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    /// What it drives.
    pub target: Target,
    /// At least one point, sorted, one per time.
    pub points: Vec<Point>,
    /// How values are interpolated between points.
    pub scale: Scale,
}

/// A parsed `data-automation` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Automation {
    /// Lanes with at least one point.
    pub lanes: Vec<Lane>,
}

/// Whether the volume bake follows via points (HyperFrames' render does not: its baker is
/// linear between keyframes, so via-only bends render straight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Follow `curve` and via points.
    Follow,
    /// Follow `curve` only.
    Ignore,
}

impl Automation {
    /// Parse a `data-automation` value. Volume values are clamped to 0..[`MAX_GAIN`]; other
    /// targets are clamped by [`Automation::resolve`]. The error says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let doc: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON ({e})"))?;
        let Value::Object(doc) = doc else {
            return Err("not a JSON object".into());
        };
        if doc.get("version").and_then(Value::as_f64) != Some(1.0) {
            return Err("version is not 1".into());
        }
        let lanes = doc
            .get("lanes")
            .and_then(Value::as_array)
            .ok_or("no lanes array")?;
        let mut parsed = Vec::new();
        for (i, lane) in lanes.iter().enumerate() {
            let target_raw = lane.get("target").and_then(Value::as_str).unwrap_or("");
            let target = Target::parse(target_raw)
                .ok_or_else(|| format!("lane {i} has an unreadable target {target_raw:?}"))?;
            let points = lane
                .get("points")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("lane {i} has no points array"))?;
            let range = (target == Target::Volume).then_some((0.0, MAX_GAIN));
            let points = normalize(points, range);
            if !points.is_empty() {
                parsed.push(Lane {
                    target,
                    points,
                    scale: Scale::Linear,
                });
            }
        }
        Ok(Self { lanes: parsed })
    }

    /// The lanes that drive something in `chain` (a node with that id and numeric parameter,
    /// or a preset with nodes), values clamped to the parameter's range and interpolated on
    /// its scale; volume lanes kept; the rest dropped, as HyperFrames drops them.
    pub fn resolve(&self, chain: Option<&FxChain>) -> Self {
        let lanes = self
            .lanes
            .iter()
            .filter_map(|lane| {
                let (min, max, scale) = match &lane.target {
                    Target::Volume => (0.0, MAX_GAIN, Scale::Linear),
                    Target::Preset(id) => {
                        let nodes = &chain?.nodes;
                        nodes
                            .iter()
                            .any(|n| n.preset.as_deref() == Some(id))
                            .then_some((0.0, 1.0, Scale::Linear))?
                    }
                    Target::Fx { node, param } => {
                        let node = chain?.nodes.iter().find(|n| n.id.as_ref() == Some(node))?;
                        let def = node.kind.number(param)?;
                        (def.min, def.max, def.scale())
                    }
                };
                let mut lane = lane.clone();
                lane.points
                    .iter_mut()
                    .for_each(|p| p.v = p.v.clamp(min, max));
                lane.scale = scale;
                Some(lane)
            })
            .collect();
        Self { lanes }
    }

    /// The `volume` lane, if there is one.
    pub fn volume(&self) -> Option<&Lane> {
        self.lanes.iter().find(|l| l.target == Target::Volume)
    }

    /// The lane on `fx.<node>.<param>`.
    pub(crate) fn fx(&self, node: Option<&str>, param: &str) -> Option<&Lane> {
        let node = node?;
        self.lanes.iter().find(
            |l| matches!(&l.target, Target::Fx { node: n, param: p } if n == node && p == param),
        )
    }

    /// The lane on `fx.preset.<id>`.
    pub(crate) fn preset(&self, id: &str) -> Option<&Lane> {
        self.lanes
            .iter()
            .find(|l| matches!(&l.target, Target::Preset(p) if p == id))
    }
}

/// Readable points (numbers or numeric strings), `t >= 0`, clamped to `range`, sorted; of
/// points at one time the later one wins; at most [`MAX_POINTS`].
fn normalize(points: &[Value], range: Option<(f64, f64)>) -> Vec<Point> {
    let mut clean: Vec<Point> = points
        .iter()
        .filter_map(|p| {
            let (t, v) = (number(p.get("t")?)?, number(p.get("v")?)?);
            let curve = p.get("curve").and_then(number).unwrap_or(0.0);
            let via = match (
                p.get("viaX").and_then(number),
                p.get("viaY").and_then(number),
            ) {
                (Some(x), Some(y)) => {
                    let (x, y) = (x.clamp(0.001, 0.999), y.clamp(0.001, 0.999));
                    ((x - y).abs() >= 1e-6).then_some((x, y))
                }
                _ => None,
            };
            Some(Point {
                t: t.max(0.0),
                v: range.map_or(v, |(lo, hi)| v.clamp(lo, hi)),
                curve: curve.clamp(-1.0, 1.0),
                via,
            })
        })
        .collect();
    clean.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut kept: Vec<Point> = Vec::with_capacity(clean.len());
    for point in clean {
        match kept.last_mut() {
            Some(last) if last.t == point.t => *last = point,
            _ => kept.push(point),
        }
    }
    kept.truncate(MAX_POINTS);
    kept
}

impl Lane {
    /// The value at `t`: the first value before the first point, the last after the last;
    /// between `a` and `b`, `a.v + (b.v - a.v) * shape(x)` (on logarithms for a log scale).
    pub fn value_at(&self, t: f64, via: Via) -> f64 {
        let index = self.points.partition_point(|p| p.t <= t);
        self.value_in(index, t, via)
    }

    /// The value at `t` given `index` = the number of points at or before `t`.
    fn value_in(&self, index: usize, t: f64, via: Via) -> f64 {
        let points = &self.points;
        if index == 0 {
            return points[0].v;
        }
        if index >= points.len() {
            return points[points.len() - 1].v;
        }
        let (a, b) = (points[index - 1], points[index]);
        let span = b.t - a.t;
        if span <= 0.0 {
            return b.v;
        }
        let x = ((t - a.t) / span).clamp(0.0, 1.0);
        let s = match (a.via, via) {
            (Some((vx, vy)), Via::Follow) => shape_via(x, vx, vy),
            _ if a.curve != 0.0 => libm::pow(x, libm::exp2(2.0 * a.curve)),
            _ => x,
        };
        match self.scale {
            Scale::Log if a.v > 0.0 && b.v > 0.0 => {
                let (la, lb) = (libm::log(a.v), libm::log(b.v));
                libm::exp(la + (lb - la) * s)
            }
            _ => a.v + (b.v - a.v) * s,
        }
    }

    /// The largest value the lane reaches.
    pub fn max(&self) -> f64 {
        self.points.iter().map(|p| p.v).fold(f64::MIN, f64::max)
    }
}

/// A lane read at increasing times, one segment lookup per segment instead of per sample.
#[derive(Debug, Clone)]
pub(crate) struct LaneCursor<'a> {
    lane: &'a Lane,
    index: usize,
}

impl<'a> LaneCursor<'a> {
    pub(crate) fn new(lane: &'a Lane) -> Self {
        Self { lane, index: 0 }
    }

    /// The value at `t`, which must not be earlier than the previous call's.
    pub(crate) fn at(&mut self, t: f64) -> f64 {
        let points = &self.lane.points;
        while self.index < points.len() && points[self.index].t <= t {
            self.index += 1;
        }
        self.lane.value_in(self.index, t, Via::Follow)
    }

    /// The value at `t` as HyperFrames schedules a lane on an AudioParam it drives without a
    /// mapping or a log scale: the first segment, when straight (no `curve`, no via point),
    /// is a `linearRampToValueAtTime` after a `setValueAtTime(first.v, 0)`, so it ramps from
    /// time 0 rather than holding until the first point.
    pub(crate) fn at_ramped(&mut self, t: f64) -> f64 {
        let value = self.at(t);
        let points = &self.lane.points;
        match points.get(..2) {
            Some([a, b])
                if t < b.t && a.t > 0.0 && a.curve == 0.0 && a.via.is_none() && b.t > 0.0 =>
            {
                a.v + (b.v - a.v) * (t / b.t).clamp(0.0, 1.0)
            }
            _ => value,
        }
    }
}

/// The rational quadratic Bézier from (0,0) to (1,1) through `(vx, vy)` at its middle, read
/// at progress `x`.
fn shape_via(x: f64, vx: f64, vy: f64) -> f64 {
    let (dx, dy) = (vx - 0.5, vy - 0.5);
    let need = |d: f64, v: f64| {
        if d > 0.0 {
            d / (0.999 - v)
        } else if d < 0.0 {
            -d / (v - 0.001)
        } else {
            0.0
        }
    };
    let w = need(dx, vx).max(need(dy, vy)).clamp(1.0, 1e6);
    let (cx, cy) = (vx + dx / w, vy + dy / w);
    let spread = 2.0 - 2.0 * w;
    let a = x * spread - 1.0 + 2.0 * w * cx;
    let b = -x * spread - 2.0 * w * cx;
    let t = conic_parameter(a, b, x);
    let rest = 1.0 - t;
    let denominator = rest * rest + 2.0 * w * t * rest + t * t;
    if denominator > 0.0 {
        (2.0 * w * cy * t * rest + t * t) / denominator
    } else {
        x
    }
}

/// The root in [0, 1] of `a t² + b t + c = 0`.
fn conic_parameter(a: f64, b: f64, c: f64) -> f64 {
    if a.abs() < 1e-12 {
        return if b.abs() < 1e-12 { c } else { -c / b };
    }
    let root = libm::sqrt((b * b - 4.0 * a * c).max(0.0));
    let on_arc = |t: f64| (-1e-9..=1.0 + 1e-9).contains(&t);
    [(-b + root) / (2.0 * a), (-b - root) / (2.0 * a)]
        .into_iter()
        .find(|t| on_arc(*t))
        .map_or(c, |t| t.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::parse_chain;

    #[test]
    fn volume_lanes_hold_interpolate_and_curve() {
        let automation = Automation::parse(
            r#"{"version":1,"lanes":[{"target":"fx.x.y","points":[]},
            {"target":"volume","points":[{"t":"1","v":0},{"t":2,"v":1,"curve":0.5},{"t":3,"v":0.5},{"t":"x","v":9}]}]}"#,
        )
        .unwrap();
        let lane = automation.volume().unwrap();
        assert_eq!(
            lane.value_at(0.0, Via::Ignore),
            0.0,
            "held before the first point"
        );
        assert!((lane.value_at(1.5, Via::Ignore) - 0.5).abs() < 1e-12);
        // Curve 0.5 leaving (2, 1): x^2 between 2 and 3 s.
        assert!((lane.value_at(2.5, Via::Ignore) - (1.0 - 0.5 * 0.25)).abs() < 1e-12);
        assert_eq!(
            lane.value_at(9.0, Via::Ignore),
            0.5,
            "held after the last point"
        );
        assert_eq!(automation.lanes.len(), 1, "the empty lane is dropped");
    }

    #[test]
    fn values_are_clamped_duplicates_resolved_and_bad_documents_named() {
        let parse = |raw: &str| Automation::parse(raw);
        let lanes = parse(r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":0,"v":9},{"t":0,"v":2},{"t":-1,"v":0}]}]}"#)
            .unwrap()
            .lanes;
        // t = -1 becomes 0; of the three points at 0 the last written wins.
        assert_eq!(lanes[0].points.len(), 1);
        assert_eq!(lanes[0].points[0].v, 0.0);
        let lanes =
            parse(r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":0,"v":9}]}]}"#)
                .unwrap()
                .lanes;
        assert_eq!(lanes[0].points[0].v, MAX_GAIN);
        assert_eq!(
            parse(r#"{"version":2,"lanes":[]}"#).unwrap_err(),
            "version is not 1"
        );
        assert!(parse("{").unwrap_err().starts_with("not JSON"));
        assert_eq!(
            parse(r#"{"version":1,"lanes":[{"target":"pan","points":[]}]}"#).unwrap_err(),
            "lane 0 has an unreadable target \"pan\""
        );
    }

    #[test]
    fn fx_lanes_resolve_against_the_chain_in_its_ranges_and_scales() {
        let chain = parse_chain(
            r#"{"version":1,"nodes":[{"type":"lowpass","id":"lp"},{"type":"gain","fromPreset":"warm"}]}"#,
        )
        .unwrap();
        let automation = Automation::parse(
            r#"{"version":1,"lanes":[
                {"target":"fx.lp.frequency","points":[{"t":0,"v":50},{"t":1,"v":10000}]},
                {"target":"fx.lp.poles","points":[{"t":0,"v":1}]},
                {"target":"fx.gone.gain","points":[{"t":0,"v":1}]},
                {"target":"fx.preset.warm","points":[{"t":0,"v":2}]}]}"#,
        )
        .unwrap()
        .resolve(Some(&chain));
        assert_eq!(automation.lanes.len(), 2, "{automation:?}");
        let lane = automation.fx(Some("lp"), "frequency").unwrap();
        assert_eq!(lane.points[0].v, 100.0, "clamped to the low-pass range");
        assert_eq!(lane.scale, Scale::Log);
        // Half way on a log scale is the geometric mean.
        assert!((lane.value_at(0.5, Via::Follow) - 1000.0).abs() < 1e-9);
        assert_eq!(automation.preset("warm").unwrap().points[0].v, 1.0);
    }

    #[test]
    fn a_via_point_bends_the_segment_through_it() {
        let automation = Automation::parse(
            r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":0,"v":0,"viaX":0.25,"viaY":0.75},{"t":1,"v":1}]}]}"#,
        )
        .unwrap();
        let lane = automation.volume().unwrap();
        assert!((lane.value_at(0.25, Via::Follow) - 0.75).abs() < 1e-9);
        assert_eq!(lane.value_at(0.25, Via::Ignore), 0.25);
        let mut cursor = LaneCursor::new(lane);
        let walked: Vec<f64> = (0..=8).map(|i| cursor.at(f64::from(i) / 8.0)).collect();
        let direct: Vec<f64> = (0..=8)
            .map(|i| lane.value_at(f64::from(i) / 8.0, Via::Follow))
            .collect();
        assert_eq!(walked, direct);
    }

    #[test]
    fn a_straight_first_segment_ramps_from_time_zero_on_an_unmapped_param() {
        let automation = Automation::parse(
            r#"{"version":1,"lanes":[{"target":"volume","points":[{"t":1,"v":0},{"t":2,"v":1}]}]}"#,
        )
        .unwrap();
        let lane = automation.volume().unwrap();
        let mut cursor = LaneCursor::new(lane);
        assert_eq!(cursor.at_ramped(0.0), 0.0);
        assert_eq!(cursor.at_ramped(1.0), 0.5, "half way from 0 s to 2 s");
        assert_eq!(cursor.at(1.0), 0.0, "the lane itself holds until 1 s");
        assert_eq!(cursor.at_ramped(2.5), 1.0);
    }
}
