//! Transfer functions and the lookup tables built from them: the page's 8-bit sRGB mapped into
//! the output's PQ or HLG signal (SDR white at 203 nits), and HDR sources carried between PQ
//! and HLG. Built with `libm`, so every machine gets the same tables.

use super::HdrTransfer;

/// Nits of SDR reference white in an HDR output (ITU-R BT.2408).
pub const SDR_WHITE_NITS: f64 = 203.0;

/// Peak luminance of the HLG reference display, in nits (BT.2100's nominal 1000).
const HLG_DISPLAY_PEAK: f64 = 1000.0;

/// SMPTE ST 2084 (PQ) constants.
const M1: f64 = 2610.0 / 16384.0;
const M2: f64 = 2523.0 / 4096.0 * 128.0;
const C1: f64 = 3424.0 / 4096.0;
const C2: f64 = 2413.0 / 4096.0 * 32.0;
const C3: f64 = 2392.0 / 4096.0 * 32.0;

/// PQ's inverse EOTF: absolute luminance in nits to a signal in 0..1.
pub fn pq_signal(nits: f64) -> f64 {
    let y = libm::pow((nits / 10_000.0).clamp(0.0, 1.0), M1);
    libm::pow((C1 + C2 * y) / (1.0 + C3 * y), M2)
}

/// PQ's EOTF: a signal in 0..1 to absolute luminance in nits.
pub fn pq_nits(signal: f64) -> f64 {
    let e = libm::pow(signal.clamp(0.0, 1.0), 1.0 / M2);
    10_000.0 * libm::pow((e - C1).max(0.0) / (C2 - C3 * e), 1.0 / M1)
}

const HLG_A: f64 = 0.178_832_77;
const HLG_B: f64 = 0.284_668_92;
const HLG_C: f64 = 0.559_910_73;

/// HLG's OETF: scene light in 0..1 to a signal in 0..1.
pub fn hlg_signal(scene: f64) -> f64 {
    let e = scene.clamp(0.0, 1.0);
    if e <= 1.0 / 12.0 {
        libm::sqrt(3.0 * e)
    } else {
        HLG_A * libm::log(12.0 * e - HLG_B) + HLG_C
    }
}

/// HLG's inverse OETF: a signal in 0..1 to scene light in 0..1.
pub fn hlg_scene(signal: f64) -> f64 {
    let s = signal.clamp(0.0, 1.0);
    if s <= 0.5 {
        s * s / 3.0
    } else {
        (libm::exp((s - HLG_C) / HLG_A) + HLG_B) / 12.0
    }
}

/// The sRGB EOTF: an 8-bit code value's linear light in 0..1.
fn srgb_linear(code: u8) -> f64 {
    let v = f64::from(code) / 255.0;
    if v <= 0.040_45 {
        v / 12.92
    } else {
        libm::pow((v + 0.055) / 1.055, 2.4)
    }
}

/// Linear BT.709 RGB to linear BT.2020 RGB (ITU-R BT.2087).
const BT709_TO_BT2020: [[f32; 3]; 3] = [
    [0.627_403_9, 0.329_283_03, 0.043_313_07],
    [0.069_097_29, 0.919_540_4, 0.011_362_32],
    [0.016_391_44, 0.088_013_31, 0.895_595_3],
];

/// Entries of the linear-to-signal table (interpolated between).
const SIGNAL_STEPS: usize = 4096;

/// Maps the page's 8-bit sRGB (BT.709) pixels into the output's HDR signal: linear light,
/// BT.2020 primaries, SDR white at 203 nits (PQ) or at HLG's reference level (75% signal).
pub struct PageToSignal {
    /// Linear light of each 8-bit code.
    linear: Vec<f32>,
    /// Signal (0..1) at `i / SIGNAL_STEPS` of SDR white, one past the end for interpolation.
    signal: Vec<f32>,
}

impl PageToSignal {
    /// The tables for an output in `transfer`.
    pub fn new(transfer: HdrTransfer) -> Self {
        let linear = (0..=255u8).map(|code| srgb_linear(code) as f32).collect();
        let signal = (0..=SIGNAL_STEPS + 1)
            .map(|i| {
                let light = (i as f64 / SIGNAL_STEPS as f64).min(1.0);
                sdr_light_to_signal(light, transfer) as f32
            })
            .collect();
        PageToSignal { linear, signal }
    }

    /// The signal (0..1 per channel) of an sRGB pixel.
    #[inline]
    pub fn map(&self, rgb: [u8; 3]) -> [f32; 3] {
        let lin = rgb.map(|c| self.linear[c as usize]);
        BT709_TO_BT2020.map(|row| {
            let light = row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2];
            let at = light.clamp(0.0, 1.0) * SIGNAL_STEPS as f32;
            let i = at as usize;
            let t = at - i as f32;
            self.signal[i] + (self.signal[i + 1] - self.signal[i]) * t
        })
    }
}

/// The HDR signal of SDR light `light` (0..1 of SDR white).
pub fn sdr_light_to_signal(light: f64, transfer: HdrTransfer) -> f64 {
    match transfer {
        HdrTransfer::Pq => pq_signal(light * SDR_WHITE_NITS),
        // The scene light whose HLG signal is the reference level; on the 1000-nit reference
        // display that is 203 nits as well.
        HdrTransfer::Hlg => hlg_signal(light * hlg_scene(0.75)),
    }
}

/// A 16-bit table carrying `from`'s signal into `to`'s through display light (HLG on its
/// 1000-nit reference display, with the system gamma 1.2 applied per channel).
pub fn transfer_table(from: HdrTransfer, to: HdrTransfer) -> Vec<u16> {
    (0..=u16::MAX)
        .map(|code| {
            let signal = f64::from(code) / 65535.0;
            let nits = match from {
                HdrTransfer::Pq => pq_nits(signal),
                HdrTransfer::Hlg => HLG_DISPLAY_PEAK * libm::pow(hlg_scene(signal), 1.2),
            };
            let out = match to {
                HdrTransfer::Pq => pq_signal(nits),
                HdrTransfer::Hlg => {
                    hlg_signal(libm::pow((nits / HLG_DISPLAY_PEAK).min(1.0), 1.0 / 1.2))
                }
            };
            (out * 65535.0).round() as u16
        })
        .collect()
}

/// Linear light of a signal, relative to SDR white: nits / 203 for PQ, scene light over the
/// reference level's for HLG.
fn signal_to_light(signal: f64, transfer: HdrTransfer) -> f64 {
    match transfer {
        HdrTransfer::Pq => pq_nits(signal) / SDR_WHITE_NITS,
        HdrTransfer::Hlg => hlg_scene(signal) / hlg_scene(0.75),
    }
}

/// Entries of the light-to-signal table, spaced evenly in the square root of light.
const LIGHT_STEPS: usize = 16384;

/// The output's signal to linear light and back (transition frames blend in linear light).
pub struct LinearLight {
    /// Light of each 16-bit signal value.
    to_light: Vec<f32>,
    /// Signal (0..1) at light `max * (i / LIGHT_STEPS)^2`, one past the end.
    to_signal: Vec<f32>,
    /// The light of the full signal.
    max: f32,
}

impl LinearLight {
    /// The tables for `transfer`.
    pub fn new(transfer: HdrTransfer) -> Self {
        let to_light = (0..=u16::MAX)
            .map(|code| signal_to_light(f64::from(code) / 65535.0, transfer) as f32)
            .collect();
        let max = signal_to_light(1.0, transfer);
        let to_signal = (0..=LIGHT_STEPS + 1)
            .map(|i| {
                let t = (i as f64 / LIGHT_STEPS as f64).min(1.0);
                let light = max * t * t;
                let signal = match transfer {
                    HdrTransfer::Pq => pq_signal(light * SDR_WHITE_NITS),
                    HdrTransfer::Hlg => hlg_signal(light * hlg_scene(0.75)),
                };
                signal as f32
            })
            .collect();
        LinearLight {
            to_light,
            to_signal,
            max: max as f32,
        }
    }

    /// The light of a 16-bit signal value.
    #[inline]
    pub fn light(&self, signal: u16) -> f32 {
        self.to_light[signal as usize]
    }

    /// The 16-bit signal of `light` (clamped to what the transfer carries).
    #[inline]
    pub fn signal(&self, light: f32) -> u16 {
        let at = (light.max(0.0) / self.max).min(1.0).sqrt() * LIGHT_STEPS as f32;
        let i = at as usize;
        let t = at - i as f32;
        let s = self.to_signal[i] + (self.to_signal[i + 1] - self.to_signal[i]) * t;
        (s * 65535.0).round().clamp(0.0, 65535.0) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdr_white_is_203_nits() {
        // 203 nits is PQ's 58% signal; HLG's reference level is 75%.
        assert!((sdr_light_to_signal(1.0, HdrTransfer::Pq) - 0.5807).abs() < 1e-3);
        assert!((sdr_light_to_signal(1.0, HdrTransfer::Hlg) - 0.75).abs() < 1e-9);
        assert_eq!(sdr_light_to_signal(0.0, HdrTransfer::Pq), pq_signal(0.0));
    }

    #[test]
    fn curves_invert() {
        for nits in [0.1, 1.0, 100.0, 203.0, 1000.0, 4000.0] {
            assert!((pq_nits(pq_signal(nits)) - nits).abs() < nits * 1e-9);
        }
        for scene in [0.01, 0.08, 0.3, 0.9] {
            assert!((hlg_scene(hlg_signal(scene)) - scene).abs() < 1e-12);
        }
    }

    #[test]
    fn the_page_map_keeps_greys_grey_and_white_at_reference() {
        let map = PageToSignal::new(HdrTransfer::Pq);
        let white = map.map([255, 255, 255]);
        for c in white {
            assert!((f64::from(c) - 0.5807).abs() < 1e-3, "{white:?}");
        }
        let grey = map.map([128, 128, 128]);
        assert!((grey[0] - grey[1]).abs() < 1e-4 && (grey[1] - grey[2]).abs() < 1e-4);
        assert!(map.map([0, 0, 0])[0] < 1e-3);
        // Pure BT.709 red is inside BT.2020: some green and blue in 2020 numbers.
        let red = map.map([255, 0, 0]);
        assert!(red[0] > red[1] && red[1] > 0.0);
    }

    #[test]
    fn linear_light_round_trips_and_puts_sdr_white_at_one() {
        for transfer in [HdrTransfer::Pq, HdrTransfer::Hlg] {
            let light = LinearLight::new(transfer);
            let white = (sdr_light_to_signal(1.0, transfer) * 65535.0).round() as u16;
            assert!((light.light(white) - 1.0).abs() < 1e-3, "{transfer}");
            for code in [0u16, 300, 5000, 20000, 38000, 50000, 65535] {
                let back = light.signal(light.light(code));
                assert!(back.abs_diff(code) <= 64, "{transfer} {code} -> {back}");
            }
        }
    }

    #[test]
    fn transfer_tables_meet_at_the_reference_level() {
        let hlg_to_pq = transfer_table(HdrTransfer::Hlg, HdrTransfer::Pq);
        let reference = hlg_to_pq[(0.75f64 * 65535.0).round() as usize];
        // HLG 75% on the 1000-nit display is about 203 nits.
        assert!((f64::from(reference) / 65535.0 - pq_signal(203.0)).abs() < 0.005);
        let pq_to_hlg = transfer_table(HdrTransfer::Pq, HdrTransfer::Hlg);
        assert_eq!(pq_to_hlg[0], 0);
    }
}
