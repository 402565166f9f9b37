//! Exact rational frame rates.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A frame rate as an exact rational `num/den` (e.g. `30/1`, `30000/1001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fps {
    /// Numerator (frames).
    pub num: u32,
    /// Denominator (seconds).
    pub den: u32,
}

/// The fastest frame rate hf renders.
pub const MAX_FPS: u64 = 240;

impl Fps {
    /// An integer frame rate.
    pub const fn whole(fps: u32) -> Self {
        Fps { num: fps, den: 1 }
    }

    /// Frames per second as a float.
    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// The duration of one frame in seconds.
    pub fn frame_duration(self) -> f64 {
        f64::from(self.den) / f64::from(self.num)
    }

    /// The time of frame `index` in seconds: `index * den / num`.
    pub fn frame_time(self, index: u64) -> f64 {
        index as f64 * f64::from(self.den) / f64::from(self.num)
    }

    /// Frames in `duration` seconds: `duration * fps` rounded when within 1e-3 of an integer
    /// (so 5 s at 30000/1001 is 150 frames, not 151), otherwise rounded up.
    pub fn frame_count(self, duration: f64) -> u64 {
        let exact = duration * self.as_f64();
        let nearest = exact.round();
        if (exact - nearest).abs() < 1e-3 {
            nearest.max(0.0) as u64
        } else {
            exact.ceil().max(0.0) as u64
        }
    }

    /// Whether the rate is usable: neither part zero, at most 240 frames per second
    /// (HyperFrames' range).
    pub fn is_valid(self) -> bool {
        self.num != 0 && self.den != 0 && u64::from(self.num) <= MAX_FPS * u64::from(self.den)
    }
}

impl fmt::Display for Fps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

impl FromStr for Fps {
    type Err = String;

    /// Parses integers (`30`) and rationals (`30000/1001`); decimals such as `29.97`, zero and
    /// negative rates are rejected.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("invalid frame rate `{s}`: use an integer such as 30 or a rational such as 30000/1001")
        };
        let s = s.trim();
        let (num, den) = match s.split_once('/') {
            Some((n, d)) => (
                n.trim().parse::<u32>().map_err(|_| bad())?,
                d.trim().parse::<u32>().map_err(|_| bad())?,
            ),
            None => (s.parse::<u32>().map_err(|_| bad())?, 1),
        };
        let fps = Fps { num, den };
        if !fps.is_valid() {
            return Err(bad());
        }
        Ok(fps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn frame_times_are_exact_multiples(num in 1u32..240_000, den in 1u32..1002, index in 0u64..1_000_000) {
            prop_assume!(num <= MAX_FPS as u32 * den);
            let fps = Fps { num, den };
            let t = fps.frame_time(index);
            // The frame index recovered from its time is the index itself.
            prop_assert_eq!((t * fps.as_f64() + 1e-6).floor() as u64, index);
            // Times increase strictly with the index.
            prop_assert!(fps.frame_time(index + 1) > t);
        }

        #[test]
        fn frame_count_covers_the_duration(num in 1u32..240_000, den in 1u32..1002, millis in 1u64..600_000) {
            prop_assume!(num <= MAX_FPS as u32 * den);
            let fps = Fps { num, den };
            let duration = millis as f64 / 1000.0;
            let n = fps.frame_count(duration);
            let exact = duration * fps.as_f64();
            // Never more than one frame past the exact count, never short by more than 1e-3.
            prop_assert!(n as f64 >= exact - 1e-3);
            prop_assert!((n as f64) < exact + 1.0);
            // The last frame starts inside the duration.
            if n > 0 {
                prop_assert!(fps.frame_time(n - 1) < duration + 1e-9);
            }
        }
    }

    #[test]
    fn frame_count_examples() {
        assert_eq!(Fps::whole(30).frame_count(5.0), 150);
        assert_eq!(
            Fps {
                num: 30000,
                den: 1001
            }
            .frame_count(5.0),
            150
        );
        assert_eq!(
            Fps {
                num: 30000,
                den: 1001
            }
            .frame_count(10.01),
            300
        );
        assert_eq!(Fps::whole(30).frame_count(1.01), 31);
        assert_eq!(Fps::whole(24).frame_count(0.0), 0);
    }

    #[test]
    fn parses_integers_and_rationals() {
        assert_eq!("30".parse::<Fps>().unwrap(), Fps::whole(30));
        assert_eq!(
            "30000/1001".parse::<Fps>().unwrap(),
            Fps {
                num: 30000,
                den: 1001
            }
        );
        assert_eq!(
            "30000/1001".parse::<Fps>().unwrap().to_string(),
            "30000/1001"
        );
        assert!("0".parse::<Fps>().is_err());
        assert!("30/0".parse::<Fps>().is_err());
        assert!("abc".parse::<Fps>().is_err());
        assert!("29.97".parse::<Fps>().is_err());
    }
}
