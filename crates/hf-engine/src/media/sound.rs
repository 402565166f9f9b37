//! How each sounding element is heard beyond its source: volume envelopes (GSAP tweens,
//! `volume` lanes), effect chains with their lanes, `<hf-audio-group>` buses and the root's
//! master bus, read from the page's media slots.

use super::automation::volume_gains;
use crate::RenderError;
use hf_audio_fx::Fx;
use hf_audio_fx::MAX_GAIN;
use hf_capture::{AudioGroupSlot, MediaSlot};
use hf_encode::{AudioBus, VolumeEnvelope};
use std::collections::HashMap;
use std::path::Path;

/// Envelopes, effects and buses by render id (or group id).
#[derive(Debug, Default)]
pub(crate) struct Sound {
    /// Gain at every render frame: replaces `data-volume`.
    pub envelopes: HashMap<String, Vec<f64>>,
    /// Each element's effects (enabled chains only).
    pub fx: HashMap<String, Fx>,
    /// The groups sounding elements feed, in the order first seen.
    pub groups: Vec<AudioBus>,
    /// The root composition's effects over the whole mix.
    pub master: Option<Fx>,
}

/// The render frames and rate lanes are sampled on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameGrid {
    pub fps: f64,
    pub frames: u64,
}

impl Sound {
    /// Read every slot's lanes and chain, its group's, and the `master` chain, on top of the
    /// GSAP-sampled `envelopes`. A lane or chain that cannot be read names `path` and the
    /// element.
    pub(crate) fn resolve(
        slots: &[MediaSlot],
        envelopes: HashMap<String, Vec<f64>>,
        master: Option<&str>,
        grid: FrameGrid,
        path: &Path,
    ) -> Result<Self, RenderError> {
        let unreadable = |element: String| {
            move |reason: String| RenderError::InvalidAudioFx {
                path: path.to_path_buf(),
                element,
                reason,
            }
        };
        let mut sound = Sound {
            envelopes,
            ..Sound::default()
        };
        for slot in slots.iter().filter(|s| !s.hidden) {
            sound.read_slot(slot, grid, path)?;
            if let Some(group) = &slot.group {
                if !sound.groups.iter().any(|g| g.id == group.id) {
                    let bus = bus(group, grid).map_err(unreadable(group.id.clone()))?;
                    sound.groups.push(bus);
                }
            }
        }
        sound.master = master
            .map(|chain| Fx::parse(chain, None))
            .transpose()
            .map_err(unreadable("master (the root composition)".into()))?
            .filter(|fx| !fx.is_empty());
        Ok(sound)
    }

    /// A slot's volume lane (replacing a GSAP tween's envelope) and its effects.
    fn read_slot(
        &mut self,
        slot: &MediaSlot,
        grid: FrameGrid,
        path: &Path,
    ) -> Result<(), RenderError> {
        if let Some(raw) = &slot.automation {
            let invalid = |_| {
                RenderError::InvalidAttribute {
                path: path.to_path_buf(),
                element: slot.id.clone(),
                attribute: "data-automation".into(),
                value: raw.chars().take(120).collect(),
                expected: "a JSON automation document such as \
                    {\"version\":1,\"lanes\":[{\"target\":\"volume\",\"points\":[{\"t\":0,\"v\":1}]}]}",
            }
            };
            if let Some(gains) =
                volume_gains(raw, slot.start, grid.fps, grid.frames).map_err(invalid)?
            {
                self.envelopes.insert(slot.id.clone(), gains);
            }
        }
        if let Some(chain) = &slot.fx_chain {
            let fx = Fx::parse(chain, slot.automation.as_deref()).map_err(|reason| {
                RenderError::InvalidAudioFx {
                    path: path.to_path_buf(),
                    element: slot.id.clone(),
                    reason,
                }
            })?;
            if !fx.is_empty() {
                self.fx.insert(slot.id.clone(), fx);
            }
        }
        Ok(())
    }
}

/// A group's bus: its volume (or `volume` lane on the composition's clock) and effects.
fn bus(group: &AudioGroupSlot, grid: FrameGrid) -> Result<AudioBus, String> {
    let envelope = match &group.automation {
        Some(raw) => volume_gains(raw, 0.0, grid.fps, grid.frames)
            .map_err(|e| format!("data-automation: {e}"))?
            .map(|gains| VolumeEnvelope {
                fps: grid.fps,
                gains: gains.iter().map(|&g| g as f32).collect(),
            }),
        None => None,
    };
    let fx = match &group.fx_chain {
        Some(chain) => {
            Some(Fx::parse(chain, group.automation.as_deref())?).filter(|fx| !fx.is_empty())
        }
        None => None,
    };
    Ok(AudioBus {
        id: group.id.clone(),
        volume: group.volume.clamp(0.0, MAX_GAIN),
        envelope,
        fx,
    })
}
