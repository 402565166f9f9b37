//! The media stages of a render: which source frames each `<video>` shows (extracted before
//! capture), and which elements sound (mixed alongside capture).

use crate::compile::media::{MediaKind, MediaSource};
use crate::RenderError;
use hf_capture::{MediaSlot, VideoFrameSource, VideoFrames};
use hf_encode::{extract_stage, AudioTrack, ExtractInput, Fps, VideoTiming, VolumeEnvelope};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// A video's slot and the source frames the render shows of it.
#[derive(Debug, Clone)]
pub(crate) struct VideoPlan {
    pub source: MediaSource,
    pub timing: VideoTiming,
    /// Extract at this smaller size (the box it is shown in leaves the rest unseen).
    pub shrink_to: Option<(u32, u32)>,
    /// Source frame indices shown at some render frame, ascending.
    pub frames: Vec<u64>,
}

/// What the media stages do for one render.
#[derive(Debug, Clone, Default)]
pub(crate) struct MediaPlan {
    pub videos: Vec<VideoPlan>,
    pub audio: Vec<AudioTrack>,
}

/// Match the page's slots to the compiled sources and work out frames and tracks for a render
/// of `frames` frames at `fps` lasting `duration` seconds. `envelopes` holds the sampled volume
/// of elements a GSAP tween animates (it replaces their `data-volume`).
pub(crate) fn plan_media(
    sources: &[MediaSource],
    slots: &[MediaSlot],
    envelopes: &HashMap<String, Vec<f64>>,
    fps: Fps,
    frames: u64,
    duration: f64,
) -> MediaPlan {
    let mut plan = MediaPlan::default();
    for slot in slots.iter().filter(|s| !s.hidden) {
        let Some(source) = sources.iter().find(|s| s.render_id == slot.id) else {
            continue;
        };
        let end = slot.end.unwrap_or(duration).min(duration);
        if end <= slot.start {
            continue;
        }
        if source.kind != MediaKind::Audio && source.info.video.is_some() {
            let timing = VideoTiming::new(
                slot.start,
                end,
                slot.media_start,
                slot.rate,
                slot.looped,
                source.info.duration_seconds,
                fps,
            );
            let shown: BTreeSet<u64> = (0..frames)
                .filter_map(|i| timing.frame_at(fps.frame_time(i)))
                .collect();
            if !shown.is_empty() {
                plan.videos.push(VideoPlan {
                    source: source.clone(),
                    timing,
                    shrink_to: shrink_size(source, slot),
                    frames: shown.into_iter().collect(),
                });
            }
        }
        if source.sounds && source.info.audio.is_some() {
            // A slot that opens before the render starts begins mid-source.
            let skipped = (-slot.start).max(0.0);
            plan.audio.push(AudioTrack {
                element: source.element_id.clone(),
                source: source.path.clone(),
                start_seconds: slot.start.max(0.0),
                duration_seconds: end - slot.start.max(0.0),
                media_start: slot.media_start + skipped * slot.rate,
                rate: slot.rate,
                volume: slot.volume,
                looped: slot.looped,
                envelope: envelopes.get(&slot.id).map(|gains| VolumeEnvelope {
                    fps: fps.as_f64(),
                    gains: gains.iter().map(|&g| g as f32).collect(),
                }),
            });
        }
    }
    plan
}

/// Headroom over the largest size a video was seen at, for videos a transform scales up during
/// their slot (the sampled frames may miss the peak).
const SCALED_HEADROOM: f64 = 1.1;

/// The size a video's frames are extracted at when that is smaller than its source: the source
/// aspect ratio kept and both sides at least the box it fills. The box is the element's layout
/// box, so the page draws each frame one to one (no resampling, which Chrome pays for on every
/// new frame), unless the video is shown larger at some point of its slot: then the largest
/// size seen, with [`SCALED_HEADROOM`]. `None`: keep the source size.
fn shrink_size(source: &MediaSource, slot: &MediaSlot) -> Option<(u32, u32)> {
    let video = source.info.video.as_ref()?;
    if video.rotation % 180 != 0 || video.alpha || slot.width < 1.0 || slot.height < 1.0 {
        return None;
    }
    let scaled_up = slot.shown_width > slot.width * 1.01 || slot.shown_height > slot.height * 1.01;
    let (box_width, box_height) = if scaled_up {
        (
            slot.shown_width * SCALED_HEADROOM,
            slot.shown_height * SCALED_HEADROOM,
        )
    } else {
        (slot.width, slot.height)
    };
    let (width, height) = (f64::from(video.width), f64::from(video.height));
    let factor = (box_width / width).max(box_height / height);
    let even = |v: f64| ((v.ceil() as u32).max(2) + 1) & !1;
    let size = (even(width * factor), even(height * factor));
    (size.0 < video.width && size.1 < video.height).then_some(size)
}

/// Directory (relative to the compiled page) of the extracted frames of the `index`th video.
fn frames_dir(index: usize, render_id: &str) -> String {
    let safe: String = render_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // The index keeps ids that differ only in characters replaced here apart.
    format!("__hf_frames/{index}-{safe}/")
}

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
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
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
fn fill_entry(entry: &CacheEntry, fps: Fps) -> Result<u64, RenderError> {
    let missing: Vec<u64> = entry
        .frames
        .iter()
        .copied()
        .filter(|&k| {
            !entry
                .dir
                .join(hf_encode::media::extracted_frame_name(k, entry.alpha))
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
    std::fs::write(entry.dir.join(".used"), b"").map_err(|source| RenderError::Io {
        action: "write",
        path: entry.dir.join(".used"),
        source,
    })?;
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

/// The extract stage for every video through the frame cache under `cache_root` (one entry
/// per source, media start and image kind, filled in parallel), linked beside the compiled
/// page. Returns the table the capture sessions pass to each seek, how many source frames were
/// decoded and how many came from the cache.
pub(crate) fn extract_videos(
    plan: &MediaPlan,
    compiled_dir: &Path,
    cache_root: &Path,
    fps: Fps,
) -> Result<(VideoFrames, u64, u64), RenderError> {
    if plan.videos.is_empty() {
        return Ok((VideoFrames::default(), 0, 0));
    }
    // The links beside the page must resolve from there: no relative cache paths.
    let cache_root = &std::path::absolute(cache_root).map_err(|source| RenderError::Io {
        action: "resolve",
        path: cache_root.to_path_buf(),
        source,
    })?;
    let mut entries: Vec<CacheEntry> = Vec::new();
    let mut entry_of = Vec::new();
    for video in &plan.videos {
        let alpha = video.source.info.video.as_ref().is_some_and(|v| v.alpha);
        let key = frame_cache_key(
            &video.source.path,
            video.timing.media_start,
            fps,
            alpha,
            video.shrink_to,
        )
        .map_err(|source| RenderError::Io {
            action: "read",
            path: video.source.path.clone(),
            source,
        })?;
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
        entry_of.push(index);
    }
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
    let mut videos = Vec::new();
    for (video, &index) in plan.videos.iter().zip(&entry_of) {
        let entry = &entries[index];
        let prefix = frames_dir(videos.len(), &video.source.render_id);
        let link = compiled_dir.join(prefix.trim_end_matches('/'));
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| RenderError::Io {
                action,
                path,
                source,
            }
        };
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        // A resumed work dir may hold the link from the interrupted run.
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&entry.dir, &link).map_err(io("link", &link))?;
        videos.push(VideoFrameSource {
            render_id: video.source.render_id.clone(),
            timing: video.timing,
            url_prefix: prefix,
            alpha: entry.alpha,
        });
    }
    let in_use: Vec<PathBuf> = entries.iter().map(|e| e.dir.clone()).collect();
    prune_frame_cache(
        cache_root,
        frame_cache_limit(),
        &in_use,
        FRAME_CACHE_MIN_AGE,
    );
    let needed: u64 = entries.iter().map(|e| e.frames.len() as u64).sum();
    Ok((VideoFrames { videos }, extracted, needed - extracted))
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

    fn source(width: u32, height: u32, rotation: u32) -> MediaSource {
        MediaSource {
            render_id: "v".into(),
            element_id: "v".into(),
            kind: MediaKind::Video,
            src: "v.mp4".into(),
            path: "v.mp4".into(),
            info: hf_encode::MediaInfo {
                duration_seconds: 1.0,
                video: Some(hf_encode::media::VideoStreamInfo {
                    codec: "h264".into(),
                    width,
                    height,
                    alpha: false,
                    frames: 30,
                    rotation,
                }),
                audio: None,
            },
            sounds: false,
        }
    }

    #[test]
    fn videos_are_extracted_at_the_size_they_are_shown_at() {
        let slot = |width: f64, height: f64, shown_width: f64, shown_height: f64| MediaSlot {
            id: "v".into(),
            start: 0.0,
            end: None,
            media_start: 0.0,
            rate: 1.0,
            looped: false,
            volume: 1.0,
            hidden: false,
            width,
            height,
            shown_width,
            shown_height,
        };
        let hd = source(1920, 1080, 0);
        // A 1080p source in a quarter-frame box: exactly the box, drawn one to one.
        assert_eq!(
            shrink_size(&hd, &slot(960.0, 540.0, 960.0, 540.0)),
            Some((960, 540))
        );
        // Letterboxed (contain) in a tall box: the taller side decides, aspect kept.
        assert_eq!(
            shrink_size(&hd, &slot(400.0, 600.0, 400.0, 600.0)),
            Some((1068, 600))
        );
        // Scaled up to 1.5x by a tween at some point: the largest size seen, plus headroom.
        assert_eq!(
            shrink_size(&hd, &slot(640.0, 360.0, 960.0, 540.0)),
            Some((1056, 594))
        );
        // Odd boxes round up to even sizes.
        assert_eq!(
            shrink_size(&hd, &slot(641.0, 361.0, 641.0, 361.0)),
            Some((642, 362))
        );
        // Boxes as large as the source (or larger once scaled), rotated sources and unknown
        // boxes keep the source size.
        assert_eq!(
            shrink_size(&hd, &slot(1920.0, 1080.0, 1920.0, 1080.0)),
            None
        );
        assert_eq!(
            shrink_size(&hd, &slot(1800.0, 1013.0, 2400.0, 1350.0)),
            None
        );
        assert_eq!(
            shrink_size(&source(1920, 1080, 90), &slot(480.0, 270.0, 480.0, 270.0)),
            None
        );
        assert_eq!(shrink_size(&hd, &slot(0.0, 0.0, 0.0, 0.0)), None);
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
