//! Reverb: convolution with HyperFrames' generated impulse (seeded noise through a one-pole
//! low-pass, a `(1 - i/n)^2.5` decay, unit energy), unnormalized, wet and dry gains.

use super::{control, Clock, Control, Effect};
use crate::automation::Automation;
use crate::chain::FxNode;
use rustfft::num_complex::Complex;
use rustfft::FftPlannerScalar;

/// The impulse HyperFrames synthesizes for `size` and `damping` at `rate`: the same samples
/// every time (a linear congruential generator seeded from the two settings).
pub(crate) fn impulse(rate: f64, size: f64, damping: f64) -> Vec<f32> {
    let seconds = 0.6 + size.clamp(0.0, 1.0) * 2.6;
    let length = (libm::floor(rate * seconds) as usize).max(1);
    let round = |v: f64| libm::floor(v * 1000.0 + 0.5) as u64;
    // `(a * 2654435761 + b * 40503) >>> 0` in JavaScript: exact in f64, then modulo 2^32.
    let mut seed = (round(size) * 2_654_435_761 + round(damping) * 40_503) as u32;
    let mut rand = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        f64::from(seed) / f64::from(u32::MAX) * 2.0 - 1.0
    };
    let cutoff = (1.0 - damping.clamp(0.0, 1.0)).max(0.001);
    let mut low = 0.0;
    let mut energy = 0.0;
    let mut out: Vec<f32> = (0..length)
        .map(|i| {
            low += cutoff * (rand() - low);
            let sample = low * libm::pow(1.0 - i as f64 / length as f64, 2.5);
            energy += sample * sample;
            sample as f32
        })
        .collect();
    let norm = libm::sqrt(energy);
    if norm > 0.0 {
        out.iter_mut()
            .for_each(|s| *s = (f64::from(*s) / norm) as f32);
    }
    out
}

/// `wet * (x * impulse) + dry * x`.
pub(crate) struct Reverb<'a> {
    impulse: Vec<f64>,
    wet: Control<'a>,
    dry: Control<'a>,
}

impl<'a> Reverb<'a> {
    pub(crate) fn new(node: &FxNode, automation: &'a Automation, rate: f64) -> Self {
        let impulse = impulse(rate, node.number("size"), node.number("damping"));
        Self {
            impulse: impulse.into_iter().map(f64::from).collect(),
            wet: control(node, automation, "wet"),
            dry: control(node, automation, "dry"),
        }
    }
}

impl Effect for Reverb<'_> {
    fn run(&mut self, plane: &mut [f32], clock: Clock) {
        let input: Vec<f64> = plane.iter().map(|s| f64::from(*s)).collect();
        let wet = convolve(&input, &self.impulse);
        for (i, sample) in plane.iter_mut().enumerate() {
            let t = clock.time(i);
            *sample = (self.wet.ramped(t) * wet[i] + self.dry.ramped(t) * input[i]) as f32;
        }
    }
}

/// `input` convolved with `impulse`, as long as `input`: FFT overlap-add with rustfft's
/// scalar planner, whose arithmetic is the same on every CPU (its SIMD planners round
/// differently per instruction set), so a reverb is the same bytes on every machine.
fn convolve(input: &[f64], impulse: &[f64]) -> Vec<f64> {
    let block = impulse.len().next_power_of_two();
    let size = 2 * block;
    let mut planner = FftPlannerScalar::<f64>::new();
    let (forward, inverse) = (
        planner.plan_fft_forward(size),
        planner.plan_fft_inverse(size),
    );
    let mut kernel = vec![Complex::default(); size];
    kernel.iter_mut().zip(impulse).for_each(|(k, &v)| k.re = v);
    forward.process(&mut kernel);
    let mut out = vec![0.0; input.len() + size];
    let mut buffer = vec![Complex::default(); size];
    for (index, chunk) in input.chunks(block).enumerate() {
        if chunk.iter().all(|&x| x == 0.0) {
            continue;
        }
        buffer.fill(Complex::default());
        buffer.iter_mut().zip(chunk).for_each(|(b, &x)| b.re = x);
        forward.process(&mut buffer);
        buffer.iter_mut().zip(&kernel).for_each(|(b, k)| *b *= k);
        inverse.process(&mut buffer);
        let start = index * block;
        for (o, b) in out[start..start + size].iter_mut().zip(&buffer) {
            *o += b.re / size as f64;
        }
    }
    out.truncate(input.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_impulse_is_reproducible_decaying_and_of_unit_energy() {
        let a = impulse(48_000.0, 0.7, 0.5);
        assert_eq!(a.len(), (48_000.0f64 * (0.6 + 0.7 * 2.6)) as usize);
        assert_eq!(a, impulse(48_000.0, 0.7, 0.5));
        assert_ne!(a, impulse(48_000.0, 0.7, 0.6), "another seed");
        let energy: f64 = a.iter().map(|s| f64::from(*s).powi(2)).sum();
        assert!((energy - 1.0).abs() < 1e-4);
        let head: f64 = a[..a.len() / 4].iter().map(|s| f64::from(*s).powi(2)).sum();
        assert!(head > 0.5, "most of the energy is early: {head}");
    }

    #[test]
    fn fft_convolution_equals_the_direct_sum() {
        let input: Vec<f64> = (0..5000)
            .map(|i| f64::from((i * 7919 % 13) as u8) - 6.0)
            .collect();
        let impulse: Vec<f64> = (0..700).map(|i| 1.0 / f64::from(i + 1)).collect();
        let fast = convolve(&input, &impulse);
        assert_eq!(fast.len(), input.len());
        for n in [0, 1, 699, 700, 2500, 4999] {
            let direct: f64 = (0..=n.min(699)).map(|k| impulse[k] * input[n - k]).sum();
            assert!(
                (fast[n] - direct).abs() < 1e-9,
                "{n}: {} vs {direct}",
                fast[n]
            );
        }
    }

    #[test]
    fn the_reverb_output_is_the_convolution_plus_the_dry_signal() {
        let chain = crate::chain::parse_chain(
            r#"{"version":1,"nodes":[{"type":"reverb","params":{"size":0.05,"wet":0.5,"dry":0.25}}]}"#,
        )
        .unwrap();
        let none = Automation::default();
        let mut reverb = Reverb::new(&chain.nodes[0], &none, 8000.0);
        let ir = reverb.impulse.clone();
        let mut plane = vec![0f32; 40_000];
        plane[3] = 1.0;
        reverb.run(
            &mut plane,
            Clock {
                rate: 8000.0,
                start: 0.0,
            },
        );
        assert!((f64::from(plane[3]) - (0.25 + 0.5 * ir[0])).abs() < 1e-6);
        for k in [1, 100, 1000, ir.len() - 2] {
            assert!(
                (f64::from(plane[3 + k]) - 0.5 * ir[k]).abs() < 1e-6,
                "tap {k}"
            );
        }
    }
}
