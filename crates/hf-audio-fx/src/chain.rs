//! `data-fx-chain`: `{"version":1,"nodes":[{type, id?, enabled?, params, fromPreset?,
//! presetAmount?}]}`, read as HyperFrames reads it (unknown types and bad JSON refused,
//! parameters clamped into range or defaulted).

use crate::registry::{EffectKind, ParamDef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A parsed effect chain: its nodes in signal order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FxChain {
    /// Every node, bypassed ones included (lanes may name them).
    pub nodes: Vec<FxNode>,
}

/// One effect of a chain, parameters normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FxNode {
    /// The effect.
    pub kind: EffectKind,
    /// Stable handle automation lanes address (`fx.<id>.<param>`).
    pub id: Option<String>,
    /// `false`: bypassed, out of the signal path.
    pub enabled: bool,
    /// The preset that wrote the node: consecutive nodes of one preset share a wet/dry blend.
    pub preset: Option<String>,
    /// The preset's wet amount (0..1), read from the first node of a run; 1 when absent.
    pub preset_amount: Option<f64>,
    /// Numeric parameters, every one present and within its range.
    pub numbers: BTreeMap<String, f64>,
    /// Choice parameters (`poles`, a saturation curve, a phaser waveform).
    pub choices: BTreeMap<String, String>,
}

impl FxNode {
    /// The numeric parameter `key` (0 when the effect has none such).
    pub fn number(&self, key: &str) -> f64 {
        self.numbers.get(key).copied().unwrap_or(0.0)
    }

    /// The choice parameter `key` (empty when the effect has none such).
    pub fn choice(&self, key: &str) -> &str {
        self.choices.get(key).map_or("", String::as_str)
    }
}

/// A number, or a string holding one (as JavaScript's `Number` reads it, trimmed).
pub(crate) fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if !s.trim().is_empty() => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// Parse a `data-fx-chain` value. The error says what is wrong with it.
pub fn parse_chain(raw: &str) -> Result<FxChain, String> {
    let doc: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON ({e})"))?;
    let Value::Object(doc) = doc else {
        return Err("not a JSON object".into());
    };
    if doc.get("version").and_then(Value::as_f64) != Some(1.0) {
        return Err(format!(
            "unsupported chain version {}",
            doc.get("version").unwrap_or(&Value::Null)
        ));
    }
    let nodes = doc
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or("no `nodes` array")?;
    let nodes = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| parse_node(i, node))
        .collect::<Result<_, _>>()?;
    Ok(FxChain { nodes })
}

fn parse_node(index: usize, node: &Value) -> Result<FxNode, String> {
    let Value::Object(node) = node else {
        return Err(format!("node {index} is not an object"));
    };
    let kind = node
        .get("type")
        .and_then(Value::as_str)
        .and_then(EffectKind::from_id)
        .ok_or_else(|| {
            format!(
                "node {index} has an unknown effect type {}",
                node.get("type").unwrap_or(&Value::Null)
            )
        })?;
    let text = |key: &str| {
        node.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let empty = serde_json::Map::new();
    let params = node
        .get("params")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let (numbers, choices) = normalize_params(kind, params);
    Ok(FxNode {
        kind,
        id: text("id"),
        enabled: node.get("enabled") != Some(&Value::Bool(false)),
        preset: text("fromPreset"),
        preset_amount: node
            .get("presetAmount")
            .and_then(Value::as_f64)
            .map(|a| a.clamp(0.0, 1.0)),
        numbers,
        choices,
    })
}

type Params = (BTreeMap<String, f64>, BTreeMap<String, String>);

/// Every parameter of `kind`: numbers clamped into range (default when unreadable), choices
/// kept when they are one of the options (default otherwise).
fn normalize_params(kind: EffectKind, raw: &serde_json::Map<String, Value>) -> Params {
    let mut numbers = BTreeMap::new();
    let mut choices = BTreeMap::new();
    for param in kind.params() {
        match param {
            ParamDef::Number(p) => {
                let value = raw
                    .get(p.key)
                    .and_then(number)
                    .map_or(p.default, |v| v.clamp(p.min, p.max));
                numbers.insert(p.key.to_string(), value);
            }
            ParamDef::Choice(p) => {
                let value = raw
                    .get(p.key)
                    .and_then(Value::as_str)
                    .filter(|v| p.options.contains(v))
                    .unwrap_or(p.default);
                choices.insert(p.key.to_string(), value.to_string());
            }
        }
    }
    (numbers, choices)
}

/// The one node of a chain holding `json` (a node object), for tests.
#[cfg(test)]
pub(crate) fn test_node(json: &str) -> FxNode {
    parse_chain(&format!(r#"{{"version":1,"nodes":[{json}]}}"#))
        .expect("a readable test chain")
        .nodes
        .remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_clamped_defaulted_and_choices_checked() {
        let chain = parse_chain(
            r#"{"version":1,"nodes":[
                {"type":"highpass","id":"n1","params":{"frequency":5,"q":"2.5","poles":"1"}},
                {"type":"saturate","enabled":false,"params":{"type":"fuzz","output":99}},
                {"type":"gain","fromPreset":"voice-clean","presetAmount":3}
            ]}"#,
        )
        .unwrap();
        let [hp, sat, gain] = &chain.nodes[..] else {
            panic!("three nodes")
        };
        assert_eq!(hp.id.as_deref(), Some("n1"));
        assert_eq!(hp.number("frequency"), 20.0, "clamped up to the minimum");
        assert_eq!(hp.number("q"), 2.5, "numeric strings are read");
        assert_eq!(hp.choice("poles"), "1");
        assert!(hp.enabled && !sat.enabled);
        assert_eq!(
            sat.choice("type"),
            "tanh",
            "an unknown curve is the default"
        );
        assert_eq!(sat.number("output"), 24.0);
        assert_eq!(sat.number("threshold"), -6.0, "absent is the default");
        assert_eq!(gain.preset.as_deref(), Some("voice-clean"));
        assert_eq!(gain.preset_amount, Some(1.0));
    }

    #[test]
    fn unreadable_chains_say_why() {
        assert!(parse_chain("{").unwrap_err().starts_with("not JSON"));
        assert_eq!(
            parse_chain(r#"{"version":2,"nodes":[]}"#).unwrap_err(),
            "unsupported chain version 2"
        );
        assert_eq!(
            parse_chain(r#"{"version":1}"#).unwrap_err(),
            "no `nodes` array"
        );
        assert_eq!(
            parse_chain(r#"{"version":1,"nodes":[{"type":"flanger"}]}"#).unwrap_err(),
            "node 0 has an unknown effect type \"flanger\""
        );
    }
}
