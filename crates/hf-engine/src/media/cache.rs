//! The frame cache: extracted video frames stored by content (source bytes and extraction
//! settings), shared by renders, bounded on disk, linked beside the compiled page.

use super::{frames_dir, MediaPlan, VideoPlan};
use crate::RenderError;
use hf_core::{extracted_frame_name, Fps, IoError};
use hf_encode::{extract_stage, ExtractInput};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bump when extracted images change for the same inputs, so older cached frames are not used.
const FRAME_CACHE_VERSION: u32 = 2;
/// Default bound of the frame cache on disk; `HF_FRAME_CACHE_MB` overrides it.
const DEFAULT_FRAME_CACHE_MB: u64 = 2048;
/// Cache entries used this recently are never pruned (another render may be reading them).
const FRAME_CACHE_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// The cache entry of a video's frames: the source's content, where frame 0 starts, the rate
/// and the image kind decide the images.
fn frame_cache_key(
    source: &Path,
    media_start: f64,
    fps: Fps,
    alpha: bool,
    shrink_to: Option<(u32, u32)>,
) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(source)?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    hasher.update(
        format!("|v{FRAME_CACHE_VERSION}|{media_start:.9}|{fps}|{alpha}|{shrink_to:?}").as_bytes(),
    );
    Ok(hex::encode(hasher.finalize()))
}

/// One frame cache entry this render needs: every video with the same source, media start and
/// image kind shares it.
struct CacheEntry<'a> {
    dir: PathBuf,
    video: &'a VideoPlan,
    alpha: bool,
    /// Frames any of its videos shows.
    frames: BTreeSet<u64>,
}

/// Extract the entry's frames that are not cached yet; returns how many were decoded.
fn fill_entry(entry: &CacheEntry<'_>, fps: Fps) -> Result<u64, RenderError> {
    let missing: Vec<u64> = entry
        .frames
        .iter()
        .copied()
        .filter(|&k| {
            !entry
                .dir
                .join(extracted_frame_name(k, entry.alpha))
                .is_file()
        })
        .collect();
    tracing::debug!(
        source = %entry.video.source.path.display(),
        cached = entry.frames.len() - missing.len(),
        extracting = missing.len(),
        "video frames"
    );
    if !missing.is_empty() {
        extract_stage(&ExtractInput {
            source: entry.video.source.path.clone(),
            media_start: entry.video.timing.media_start,
            fps,
            frames: missing.clone(),
            output_dir: entry.dir.clone(),
            alpha: entry.alpha,
            shrink_to: entry.video.shrink_to,
        })?;
    }
    let used = entry.dir.join(".used");
    std::fs::write(&used, b"").map_err(IoError::with("write", &used))?;
    Ok(missing.len() as u64)
}

/// Remove the least recently used entries of the frame cache until it fits `limit_bytes`,
/// keeping `in_use` and anything used within `min_age`.
pub(crate) fn prune_frame_cache(
    cache_root: &Path,
    limit_bytes: u64,
    in_use: &[PathBuf],
    min_age: std::time::Duration,
) {
    let Ok(entries) = std::fs::read_dir(cache_root.join("frames")) else {
        return;
    };
    let mut found: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let dir = e.path();
            let used = std::fs::metadata(dir.join(".used"))
                .or_else(|_| e.metadata())
                .and_then(|m| m.modified())
                .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
            let size = std::fs::read_dir(&dir)
                .map(|files| {
                    files
                        .flatten()
                        .filter_map(|f| f.metadata().ok())
                        .map(|m| m.len())
                        .sum()
                })
                .unwrap_or(0);
            (used, size, dir)
        })
        .collect();
    let mut total: u64 = found.iter().map(|(_, size, _)| size).sum();
    found.sort();
    let now = std::time::SystemTime::now();
    for (used, size, dir) in found {
        if total <= limit_bytes {
            break;
        }
        let recent = now.duration_since(used).unwrap_or_default() < min_age;
        if recent || in_use.contains(&dir) {
            continue;
        }
        if std::fs::remove_dir_all(&dir).is_ok() {
            tracing::debug!(dir = %dir.display(), size, "pruned frame cache entry");
            total -= size;
        }
    }
}

/// The frame cache bound in bytes (`HF_FRAME_CACHE_MB`, default 2 GiB).
pub(crate) fn frame_cache_limit() -> u64 {
    std::env::var("HF_FRAME_CACHE_MB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_FRAME_CACHE_MB)
        * 1024
        * 1024
}

/// The cache entries `plan`'s videos need under `cache_root`, and each video's entry.
fn cache_entries<'a>(
    plan: &'a MediaPlan,
    cache_root: &Path,
    fps: Fps,
) -> Result<(Vec<CacheEntry<'a>>, Vec<Option<usize>>), RenderError> {
    let mut entries: Vec<CacheEntry<'a>> = Vec::new();
    let mut entry_of = Vec::new();
    for video in &plan.videos {
        if video.hdr {
            // The encoder decodes HDR videos itself.
            entry_of.push(None);
            continue;
        }
        let alpha = video.alpha();
        let key = frame_cache_key(
            &video.source.path,
            video.timing.media_start,
            fps,
            alpha,
            video.shrink_to,
        )
        .map_err(IoError::with("read", &video.source.path))?;
        let dir = cache_root.join("frames").join(key);
        let index = match entries.iter().position(|e| e.dir == dir) {
            Some(index) => index,
            None => {
                entries.push(CacheEntry {
                    dir,
                    video,
                    alpha,
                    frames: BTreeSet::new(),
                });
                entries.len() - 1
            }
        };
        entries[index].frames.extend(&video.frames);
        entry_of.push(Some(index));
    }
    Ok((entries, entry_of))
}

/// Link the frames of the `index`th video (the cache entry `target`) beside the compiled page,
/// where [`MediaPlan::video_frames`] says the page finds them.
fn link_frames(
    compiled_dir: &Path,
    index: usize,
    video: &VideoPlan,
    target: &Path,
) -> Result<(), IoError> {
    let prefix = frames_dir(index, &video.source.render_id);
    let link = compiled_dir.join(prefix.trim_end_matches('/'));
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent).map_err(IoError::with("create", parent))?;
    }
    // A resumed work dir may hold the link from the interrupted run.
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(target, &link).map_err(IoError::with("link", &link))
}

/// The extract stage for every video through the frame cache under `cache_root` (one entry
/// per source, media start and image kind, filled in parallel), linked beside the compiled
/// page. Returns how many source frames were decoded and how many came from the cache.
pub(crate) fn extract_videos(
    plan: &MediaPlan,
    compiled_dir: &Path,
    cache_root: &Path,
    fps: Fps,
) -> Result<(u64, u64), RenderError> {
    if plan.videos.is_empty() {
        return Ok((0, 0));
    }
    // The links beside the page must resolve from there: no relative cache paths.
    let cache_root =
        &std::path::absolute(cache_root).map_err(IoError::with("resolve", cache_root))?;
    let (entries, entry_of) = cache_entries(plan, cache_root, fps)?;
    let decoded: Vec<Result<u64, RenderError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = entries
            .iter()
            .map(|entry| scope.spawn(move || fill_entry(entry, fps)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an extract thread does not panic"))
            .collect()
    });
    let extracted = decoded.into_iter().sum::<Result<u64, RenderError>>()?;
    for (index, (video, entry)) in plan.videos.iter().zip(&entry_of).enumerate() {
        if let Some(entry) = entry {
            link_frames(compiled_dir, index, video, &entries[*entry].dir)?;
        }
    }
    let in_use: Vec<PathBuf> = entries.iter().map(|e| e.dir.clone()).collect();
    prune_frame_cache(
        cache_root,
        frame_cache_limit(),
        &in_use,
        FRAME_CACHE_MIN_AGE,
    );
    let needed: u64 = entries.iter().map(|e| e.frames.len() as u64).sum();
    Ok((extracted, needed - extracted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pruning_removes_least_recently_used_entries_until_the_cache_fits() {
        let root = tempfile::tempdir().unwrap();
        let frames = root.path().join("frames");
        let entry = |name: &str, bytes: usize| {
            let dir = frames.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("000000.jpg"), vec![0u8; bytes]).unwrap();
            std::fs::write(dir.join(".used"), b"").unwrap();
            std::thread::sleep(Duration::from_millis(20));
            dir
        };
        let oldest = entry("a", 1000);
        let in_use = entry("b", 1000);
        let newer = entry("c", 1000);
        let newest = entry("d", 1000);
        // 4000 bytes against a 2500-byte bound: "a" goes, "b" is in use, then "c" goes.
        prune_frame_cache(
            root.path(),
            2500,
            std::slice::from_ref(&in_use),
            Duration::ZERO,
        );
        assert!(!oldest.exists());
        assert!(in_use.exists());
        assert!(!newer.exists());
        assert!(newest.exists());
        // Recently used entries are kept whatever the bound.
        prune_frame_cache(root.path(), 0, &[], Duration::from_secs(600));
        assert!(in_use.exists() && newest.exists());
    }

    #[test]
    fn cache_keys_follow_content_and_extraction_settings() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
        std::fs::write(&a, b"same bytes").unwrap();
        std::fs::write(&b, b"same bytes").unwrap();
        let key = |path: &Path, start: f64, fps: u32, alpha: bool| {
            frame_cache_key(path, start, Fps::whole(fps), alpha, None).unwrap()
        };
        assert_eq!(key(&a, 0.0, 30, false), key(&b, 0.0, 30, false));
        assert_ne!(key(&a, 0.0, 30, false), key(&a, 0.5, 30, false));
        assert_ne!(key(&a, 0.0, 30, false), key(&a, 0.0, 25, false));
        assert_ne!(key(&a, 0.0, 30, false), key(&a, 0.0, 30, true));
        assert_ne!(
            key(&a, 0.0, 30, false),
            frame_cache_key(&a, 0.0, Fps::whole(30), false, Some((960, 540))).unwrap()
        );
        std::fs::write(&b, b"other bytes").unwrap();
        assert_ne!(key(&a, 0.0, 30, false), key(&b, 0.0, 30, false));
    }
}
