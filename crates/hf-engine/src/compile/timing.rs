//! Clip start resolution: `data-start` is a number of seconds or a reference to another clip,
//! `"<id>"`, `"<id> + N"` or `"<id> - N"`, meaning the end of that clip plus the offset.
//! Checked at compile time so a typo or a cycle is an error, not a silently misplaced clip.

use std::collections::HashMap;

/// A parsed `data-start`.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// Seconds.
    Absolute(f64),
    /// The end of clip `id` plus `offset` seconds.
    After {
        /// The referenced clip's id.
        id: String,
        /// Seconds added to its end.
        offset: f64,
    },
}

/// Parse a `data-start` value; `None` when it is neither a number nor a reference.
pub fn parse_start(raw: &str) -> Option<Start> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Some(Start::Absolute(0.0));
    }
    if let Ok(seconds) = raw.parse::<f64>() {
        return seconds.is_finite().then_some(Start::Absolute(seconds));
    }
    let (id, offset) = match raw.find(['+', '-']).filter(|&i| {
        // A '-' inside an id (`intro-card`) is part of the id unless surrounded by spaces.
        raw[..i].ends_with(' ') || raw[i + 1..].starts_with(' ') || raw[i..].starts_with('+')
    }) {
        Some(i) => {
            let number: f64 = raw[i + 1..].trim().parse().ok()?;
            let sign = if raw[i..].starts_with('-') { -1.0 } else { 1.0 };
            (raw[..i].trim(), sign * number)
        }
        None => (raw, 0.0),
    };
    let valid = !id.is_empty()
        && id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    valid.then(|| Start::After {
        id: id.to_string(),
        offset,
    })
}

/// One timed element as written.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedClip {
    /// Its `id`, if any.
    pub id: Option<String>,
    /// Its `data-start`.
    pub start: String,
    /// Its `data-duration` (or `data-end - start`), if known.
    pub duration: Option<f64>,
    /// Its tag name (`div`, `video`...).
    pub tag: String,
    /// Its `data-track-index` (0 when absent).
    pub track: i64,
}

/// Why a start does not resolve.
#[derive(Debug, Clone, PartialEq)]
pub enum StartError {
    /// Not a number nor a reference.
    Invalid {
        /// Index of the clip.
        clip: usize,
    },
    /// The reference names no clip.
    UnknownReference {
        /// Index of the clip.
        clip: usize,
        /// The id it names.
        reference: String,
    },
    /// References form a cycle; the ids in order.
    Cycle {
        /// Index of the clip.
        clip: usize,
        /// `a -> b -> a`.
        chain: Vec<String>,
    },
}

/// Resolve every clip's start in seconds.
pub fn resolve_starts(clips: &[TimedClip]) -> Result<Vec<f64>, StartError> {
    let by_id: HashMap<&str, usize> = clips
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.id.as_deref().map(|id| (id, i)))
        .collect();
    let mut resolved: Vec<Option<f64>> = vec![None; clips.len()];
    for index in 0..clips.len() {
        let mut stack: Vec<usize> = Vec::new();
        resolve_one(index, clips, &by_id, &mut resolved, &mut stack)?;
    }
    Ok(resolved.into_iter().map(|s| s.unwrap_or(0.0)).collect())
}

fn resolve_one(
    index: usize,
    clips: &[TimedClip],
    by_id: &HashMap<&str, usize>,
    resolved: &mut Vec<Option<f64>>,
    stack: &mut Vec<usize>,
) -> Result<f64, StartError> {
    if let Some(start) = resolved[index] {
        return Ok(start);
    }
    if let Some(position) = stack.iter().position(|&i| i == index) {
        let mut chain: Vec<String> = stack[position..]
            .iter()
            .map(|&i| clips[i].id.clone().unwrap_or_default())
            .collect();
        chain.push(clips[index].id.clone().unwrap_or_default());
        return Err(StartError::Cycle {
            clip: stack[position],
            chain,
        });
    }
    let start = match parse_start(&clips[index].start) {
        None => return Err(StartError::Invalid { clip: index }),
        Some(Start::Absolute(seconds)) => seconds,
        Some(Start::After { id, offset }) => {
            let Some(&target) = by_id.get(id.as_str()) else {
                return Err(StartError::UnknownReference {
                    clip: index,
                    reference: id,
                });
            };
            stack.push(index);
            let target_start = resolve_one(target, clips, by_id, resolved, stack)?;
            stack.pop();
            target_start + clips[target].duration.unwrap_or(0.0) + offset
        }
    };
    resolved[index] = Some(start);
    Ok(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn clip(id: &str, start: &str, duration: f64) -> TimedClip {
        TimedClip {
            id: Some(id.into()),
            start: start.into(),
            duration: Some(duration),
            tag: "div".into(),
            track: 0,
        }
    }

    #[test]
    fn parses_the_forms() {
        assert_eq!(parse_start("1.5"), Some(Start::Absolute(1.5)));
        assert_eq!(
            parse_start("intro"),
            Some(Start::After {
                id: "intro".into(),
                offset: 0.0
            })
        );
        assert_eq!(
            parse_start("intro + 0.5"),
            Some(Start::After {
                id: "intro".into(),
                offset: 0.5
            })
        );
        assert_eq!(
            parse_start("intro - 1"),
            Some(Start::After {
                id: "intro".into(),
                offset: -1.0
            })
        );
        assert_eq!(
            parse_start("intro-card"),
            Some(Start::After {
                id: "intro-card".into(),
                offset: 0.0
            })
        );
        assert_eq!(
            parse_start("intro+2"),
            Some(Start::After {
                id: "intro".into(),
                offset: 2.0
            })
        );
        assert_eq!(parse_start("1s"), None);
    }

    #[test]
    fn errors_name_the_problem() {
        let cycle = resolve_starts(&[clip("a", "b", 1.0), clip("b", "a + 1", 1.0)]).unwrap_err();
        assert_eq!(
            cycle,
            StartError::Cycle {
                clip: 0,
                chain: vec!["a".into(), "b".into(), "a".into()]
            }
        );
        let unknown = resolve_starts(&[clip("a", "nope + 1", 1.0)]).unwrap_err();
        assert_eq!(
            unknown,
            StartError::UnknownReference {
                clip: 0,
                reference: "nope".into()
            }
        );
    }

    proptest! {
        /// A chain c0 <- c1 <- ... where each starts `gap` after the previous one ends resolves
        /// to the running sum, in any declaration order.
        #[test]
        fn chains_resolve_to_running_sums(
            durations in prop::collection::vec(0.1f64..5.0, 1..8),
            gaps in prop::collection::vec(-1.0f64..1.0, 8),
            first in 0.0f64..3.0,
            reverse in any::<bool>(),
        ) {
            let mut clips: Vec<TimedClip> = durations.iter().enumerate().map(|(i, d)| {
                let start = if i == 0 { format!("{first}") } else {
                    let gap = gaps[i];
                    if gap < 0.0 { format!("c{} - {}", i - 1, -gap) } else { format!("c{} + {}", i - 1, gap) }
                };
                clip(&format!("c{i}"), &start, *d)
            }).collect();
            if reverse { clips.reverse(); }
            let starts = resolve_starts(&clips).unwrap();
            let mut expected = first;
            for (i, duration) in durations.iter().enumerate() {
                let at = clips.iter().position(|c| c.id.as_deref() == Some(&format!("c{i}"))).unwrap();
                prop_assert!((starts[at] - expected).abs() < 1e-9);
                expected += duration + gaps.get(i + 1).copied().unwrap_or(0.0);
            }
        }

        /// Any ring of references is reported as a cycle.
        #[test]
        fn rings_are_cycles(n in 1usize..6) {
            let clips: Vec<TimedClip> = (0..n).map(|i| clip(&format!("c{i}"), &format!("c{}", (i + 1) % n), 1.0)).collect();
            let is_cycle = matches!(resolve_starts(&clips), Err(StartError::Cycle { .. }));
            prop_assert!(is_cycle);
        }
    }
}
