//! Noise fields that do not depend on progress: computed once per shader and frame size and
//! shared by every blend of that size (a transition's frames, and later transitions).

use crate::noise::{fbm, ridged, vnoise};
use crate::rows::for_each_row;
use crate::Shader;
use std::sync::{Arc, Mutex, OnceLock};

/// Planes of per-pixel values (what each holds depends on the shader, see [`compute`]).
pub(crate) struct Fields {
    pub(crate) planes: Vec<Vec<f32>>,
}

impl Fields {
    fn bytes(&self) -> usize {
        self.planes.iter().map(|p| p.len() * 4).sum()
    }
}

/// How many shader/size entries the cache keeps (the least recently used goes first).
const CACHED: usize = 4;

type Entry = ((Shader, usize, usize), Arc<OnceLock<Arc<Fields>>>);

static CACHE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// The fields of `shader` at `width x height`, computed on first use (`None` for shaders
/// without noise). Call [`prepare`](crate::prepare) first from outside the pool to compute
/// them in parallel.
pub(crate) fn fields(shader: Shader, width: usize, height: usize) -> Option<Arc<Fields>> {
    if !has_fields(shader) {
        return None;
    }
    let key = (shader, width, height);
    let slot = {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let slot = match cache.iter().position(|(k, _)| *k == key) {
            Some(at) => cache.remove(at).1,
            None => Arc::new(OnceLock::new()),
        };
        cache.push((key, slot.clone()));
        if cache.len() > CACHED {
            cache.remove(0);
        }
        slot
    };
    Some(
        slot.get_or_init(|| Arc::new(compute(shader, width, height)))
            .clone(),
    )
}

/// Compute (and cache) the noise fields `shader` needs at `width x height`, in parallel when
/// called from outside rayon's pool (on a pool thread they are computed on that thread
/// alone); blends of that size then find them ready.
pub fn prepare(shader: Shader, width: usize, height: usize) {
    let _ = fields(shader, width, height);
}

/// Bytes the cached noise fields take now.
pub fn cached_field_bytes() -> usize {
    let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .iter()
        .filter_map(|(_, slot)| slot.get().map(|f| f.bytes()))
        .sum()
}

fn has_fields(shader: Shader) -> bool {
    matches!(
        shader,
        Shader::CrossWarpMorph
            | Shader::SwirlVortex
            | Shader::ThermalDistortion
            | Shader::DomainWarp
            | Shader::RidgedBurn
    )
}

/// Rows thermal-distortion's moving planes extend below the frame: the noise there scrolls up
/// by up to `2/3` of the frame height as progress goes to 1.
pub(crate) fn thermal_extra_rows(height: usize) -> usize {
    (height * 2).div_ceil(3) + 2
}

/// A plane of `rows` rows, `f(u, v)` at each pixel centre.
fn plane(width: usize, height: usize, rows: usize, f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    let mut plane = vec![0.0; width * rows];
    for_each_row(&mut plane, width, |y, row| {
        let v = (y as f32 + 0.5) / height as f32;
        for (x, value) in row.iter_mut().enumerate() {
            *value = f((x as f32 + 0.5) / width as f32, v);
        }
    });
    plane
}

fn compute(shader: Shader, w: usize, h: usize) -> Fields {
    let planes = match shader {
        Shader::CrossWarpMorph => vec![
            plane(w, h, h, |u, v| fbm(3.0 * u, 3.0 * v) - 0.5),
            plane(w, h, h, |u, v| fbm(3.0 * u + 7.3, 3.0 * v + 3.7) - 0.5),
            plane(w, h, h, |u, v| fbm(4.0 * u + 3.1, 4.0 * v + 1.7)),
        ],
        Shader::SwirlVortex => vec![plane(w, h, h, |u, v| 0.5 * fbm(4.0 * u, 4.0 * v))],
        Shader::ThermalDistortion => {
            let rows = h + thermal_extra_rows(h);
            vec![
                plane(w, h, h, |u, v| fbm(6.0 * u, 6.0 * v)),
                plane(w, h, h, |u, v| fbm(6.0 * u + 3.0, 6.0 * v + 3.0)),
                plane(w, h, rows, |u, v| fbm(3.0 * u, 3.0 * v)),
                plane(w, h, rows, |u, v| fbm(3.0 * u + 3.0, 3.0 * v)),
            ]
        }
        Shader::DomainWarp => domain_warp(w, h),
        Shader::RidgedBurn => vec![
            plane(w, h, h, |u, v| ridged(4.0 * u, 4.0 * v)),
            plane(w, h, h, |u, v| {
                if vnoise(80.0 * u, 80.0 * v) >= 0.92 {
                    1.0
                } else {
                    0.0
                }
            }),
        ],
        _ => Vec::new(),
    };
    Fields { planes }
}

/// `q` (two planes) and the twice-warped `n` of domain-warp.
fn domain_warp(w: usize, h: usize) -> Vec<Vec<f32>> {
    let qx = plane(w, h, h, |u, v| fbm(3.0 * u, 3.0 * v));
    let qy = plane(w, h, h, |u, v| fbm(3.0 * u + 5.2, 3.0 * v + 1.3));
    let n = plane(w, h, h, |u, v| {
        let at = ((v * h as f32) as usize).min(h - 1) * w + ((u * w as f32) as usize).min(w - 1);
        let (px, py) = (3.0 * u + 4.0 * qx[at], 3.0 * v + 4.0 * qy[at]);
        let rx = fbm(px + 1.7, py + 9.2);
        let ry = fbm(px + 8.3, py + 2.8);
        fbm(3.0 * u + 2.0 * rx, 3.0 * v + 2.0 * ry)
    });
    vec![qx, qy, n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_computed_once_and_reported() {
        let first = fields(Shader::SwirlVortex, 8, 6).unwrap();
        let again = fields(Shader::SwirlVortex, 8, 6).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.planes[0].len(), 48);
        assert!(cached_field_bytes() >= 48 * 4);
        assert!(fields(Shader::Crossfade, 8, 6).is_none());
        let thermal = fields(Shader::ThermalDistortion, 4, 9).unwrap();
        assert_eq!(thermal.planes[2].len(), 4 * (9 + 8));
    }
}
