//! The plan directory: what `hf plan` writes and every later step reads. Self-contained (the
//! compiled page, the project's files, the extracted video frames, the mixed audio) and
//! sealed by `planHash`, a sha256 over every byte a chunk worker reads and the settings.
//!
//! ```text
//! PLAN_DIR/plan.json       PlanFile: format, planHash, hf and libav versions, chunks, sizes, the RenderPlan
//! PLAN_DIR/compiled/       the compiled page, its runtime, fonts, fetched assets, video frames
//! PLAN_DIR/project/        the project's own files (served after compiled/)
//! PLAN_DIR/audio.f32       the audio mix, when the render has sound
//! ```

use crate::files::{file_sha256, walk};
use crate::DistributedError;
use hf_engine::{ChunkSpec, RenderPlan};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `plan.json`'s `format`.
pub const PLAN_FORMAT: &str = "hf-plan-dir-v1";

/// The plan file's name in a plan directory.
pub const PLAN_FILE: &str = "plan.json";

/// What starts every planHash (no other renderer's plan hashes the same).
const HASH_PREFIX: &[u8] = b"hf-plan-hash-v1\0";

/// This build of hf, as plans record it.
pub fn hf_version() -> String {
    format!("hf {}", env!("CARGO_PKG_VERSION"))
}

/// Bytes of a plan directory, by part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSize {
    /// The compiled page, its runtime, fonts and fetched assets.
    pub compiled: u64,
    /// The extracted video frames.
    pub video_frames: u64,
    /// The project's own files.
    pub project: u64,
    /// The audio mix.
    pub audio: u64,
}

impl PlanSize {
    /// All of it.
    pub fn total(&self) -> u64 {
        self.compiled + self.video_frames + self.project + self.audio
    }
}

impl std::fmt::Display for PlanSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "compiled page {} bytes, video frames {}, project files {}, audio {}",
            self.compiled, self.video_frames, self.project, self.audio
        )
    }
}

/// `plan.json`: the plan and everything that seals it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanFile {
    /// [`PLAN_FORMAT`].
    pub format: String,
    /// sha256 (hex) over the plan directory's files and the fields below.
    pub plan_hash: String,
    /// The hf build that planned ([`hf_version`]); chunks and assemble must match it.
    pub hf_version: String,
    /// The libav build that planned; chunks and assemble must match it.
    pub libav: String,
    /// The chunks, whole runs of the plan's segment grid.
    pub chunks: Vec<ChunkSpec>,
    /// Bytes by part.
    pub size: PlanSize,
    /// The render.
    pub plan: RenderPlan,
}

impl PlanFile {
    /// The planHash of `dir` holding this plan: its files (but `plan.json`) by relative path
    /// and content hash, then the plan, the chunks and the versions.
    pub(crate) fn hash(&self, dir: &Path) -> Result<String, DistributedError> {
        let mut hasher = Sha256::new();
        hasher.update(HASH_PREFIX);
        for entry in walk(dir)? {
            if entry.relative == PLAN_FILE {
                continue;
            }
            hasher.update(entry.relative.as_bytes());
            hasher.update(b"\0");
            match &entry.link {
                // hf never writes links into a plan; one there changes the hash.
                Some(target) => hasher.update(format!("link:{}", target.display()).as_bytes()),
                None => hasher.update(file_sha256(&entry.path)?.as_bytes()),
            }
            hasher.update(b"\0");
        }
        let plan = serde_json::to_string(&self.plan).expect("a plan serialises");
        let chunks = serde_json::to_string(&self.chunks).expect("chunks serialise");
        for part in [plan, chunks, self.hf_version.clone(), self.libav.clone()] {
            hasher.update(part.as_bytes());
            hasher.update(b"\0");
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// Write it as `dir/plan.json`.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), DistributedError> {
        let path = dir.join(PLAN_FILE);
        let text = serde_json::to_string_pretty(self).expect("a plan serialises");
        std::fs::write(&path, text).map_err(hf_core::IoError::with("write", &path))?;
        Ok(())
    }

    /// The chunk `index` names, as given (a flag or an environment variable).
    pub fn chunk(&self, index: &str) -> Result<ChunkSpec, DistributedError> {
        let out_of_range = || DistributedError::ChunkIndexOutOfRange {
            index: index.to_string(),
            last: self.chunks.len().saturating_sub(1),
        };
        let k: usize = index.trim().parse().map_err(|_| out_of_range())?;
        self.chunks.get(k).copied().ok_or_else(out_of_range)
    }
}

/// Read `dir/plan.json` and check it before anything uses it: a plan this hf reads, made by
/// this hf and libav build, whose files hash to its planHash.
pub fn read_plan(dir: &Path) -> Result<PlanFile, DistributedError> {
    let path = dir.join(PLAN_FILE);
    let text =
        std::fs::read_to_string(&path).map_err(|_| DistributedError::MissingPlanArtifact {
            path: path.clone(),
            what: "the plan file",
        })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| DistributedError::PlanFormatUnsupported {
            path: path.clone(),
            reason: format!("not JSON: {e}"),
        })?;
    let format = value["format"].as_str().unwrap_or("none");
    if format != PLAN_FORMAT {
        return Err(DistributedError::PlanFormatUnsupported {
            path,
            reason: format!("format {format}, this hf reads {PLAN_FORMAT}"),
        });
    }
    let plan: PlanFile =
        serde_json::from_value(value).map_err(|e| DistributedError::PlanFormatUnsupported {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    check_versions(&plan)?;
    check_artifacts(dir, &plan.plan)?;
    let actual = plan.hash(dir)?;
    if actual != plan.plan_hash {
        return Err(DistributedError::PlanHashMismatch {
            dir: dir.to_path_buf(),
            expected: plan.plan_hash.clone(),
            actual,
        });
    }
    Ok(plan)
}

/// What every step reads is there: the compiled page, and the audio mix of a plan with sound.
fn check_artifacts(dir: &Path, plan: &RenderPlan) -> Result<(), DistributedError> {
    let page = dir.join(&plan.page.dir).join("index.html");
    if !page.is_file() {
        return Err(DistributedError::MissingPlanArtifact {
            path: page,
            what: "the compiled page",
        });
    }
    match audio_path(dir, plan) {
        Some(audio) if !audio.is_file() => Err(DistributedError::MissingPlanArtifact {
            path: audio,
            what: "the audio mix of a plan with sound",
        }),
        _ => Ok(()),
    }
}

/// The plan was made by this hf and this libav.
fn check_versions(plan: &PlanFile) -> Result<(), DistributedError> {
    let here = hf_version();
    if plan.hf_version != here {
        return Err(DistributedError::VersionMismatch {
            what: "hf",
            plan: plan.hf_version.clone(),
            here,
        });
    }
    let here = hf_encode::libav_versions();
    if plan.libav != here {
        return Err(DistributedError::VersionMismatch {
            what: "libav",
            plan: plan.libav.clone(),
            here,
        });
    }
    Ok(())
}

/// Where a plan's audio mix is, when it has sound.
fn audio_path(dir: &Path, plan: &RenderPlan) -> Option<PathBuf> {
    plan.audio.as_ref().map(|audio| dir.join(&audio.mix))
}
