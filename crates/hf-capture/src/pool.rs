//! The browsers of a render: launched concurrently, each with its own profile, replaced when
//! one dies, and all showing the same extracted video frames.

use crate::{CaptureError, CaptureSession, SessionOptions, VideoFrames};
use hf_core::Fps;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What every browser of a pool shares.
struct Shared {
    /// Options of every session; each gets its own profile dir.
    options: SessionOptions,
    /// Where the `profile-N` dirs go.
    profiles: PathBuf,
    opened: AtomicUsize,
    video_frames: Mutex<Arc<VideoFrames>>,
}

impl Shared {
    /// Open one more session, with a profile of its own and the pool's video frames.
    async fn open(&self) -> Result<CaptureSession, CaptureError> {
        let n = self.opened.fetch_add(1, Ordering::Relaxed);
        let options = SessionOptions {
            user_data_dir: self.profiles.join(format!("profile-{n}")),
            ..self.options.clone()
        };
        let mut session = CaptureSession::open(&options).await?;
        session.set_video_frames(self.video_frames());
        Ok(session)
    }

    fn video_frames(&self) -> Arc<VideoFrames> {
        Arc::clone(&self.video_frames.lock().expect("video frames lock"))
    }
}

/// The browsers of a render. It starts with one (the probe browser, which loads the page
/// first and tells the duration), grows to the worker count with browsers launched
/// concurrently, and hands its sessions to the workers with a [`BrowserRestarter`].
pub struct BrowserPool {
    shared: Arc<Shared>,
    idle: Vec<CaptureSession>,
    first_launch: Duration,
}

impl BrowserPool {
    /// Launch the first browser with `options` (its profile and those of later browsers go
    /// under `profiles`) and load the page.
    pub async fn start(options: SessionOptions, profiles: PathBuf) -> Result<Self, CaptureError> {
        let shared = Arc::new(Shared {
            options,
            profiles,
            opened: AtomicUsize::new(0),
            video_frames: Mutex::new(Arc::default()),
        });
        let started = Instant::now();
        let first = shared.open().await?;
        Ok(BrowserPool {
            shared,
            idle: vec![first],
            first_launch: started.elapsed(),
        })
    }

    /// The first browser's session (the page facts, media slots and calibration come from it).
    pub fn first(&mut self) -> &mut CaptureSession {
        self.idle.first_mut().expect("a pool has its first session")
    }

    /// How long launching the first browser and loading the page took.
    pub fn first_launch(&self) -> Duration {
        self.first_launch
    }

    /// Launch browsers concurrently until the pool has `count`.
    pub async fn grow_to(&mut self, count: usize) -> Result<(), CaptureError> {
        let more = count.saturating_sub(self.idle.len());
        let opened = futures::future::try_join_all((0..more).map(|_| self.shared.open())).await?;
        self.idle.extend(opened);
        Ok(())
    }

    /// Show `frames` in place of `<video>` elements, in every session from now on (also in
    /// sessions launched or restarted later).
    pub fn set_video_frames(&mut self, frames: Arc<VideoFrames>) {
        *self.shared.video_frames.lock().expect("video frames lock") = Arc::clone(&frames);
        for session in &mut self.idle {
            session.set_video_frames(Arc::clone(&frames));
        }
    }

    /// Time the first `frames` frames (at most two) on the first session and return the
    /// average cost of one. The frames are kept: the first session captures them again for
    /// free when its first segment starts at frame 0, so the page only ever moves forward.
    pub async fn calibrate(
        &mut self,
        frames: u64,
        fps: Fps,
        limit: Duration,
    ) -> Result<Duration, CaptureError> {
        let timed = frames.min(2);
        if timed == 0 {
            return Ok(Duration::ZERO);
        }
        let started = Instant::now();
        let session = self.first();
        for index in 0..timed {
            session
                .prefetch_frame(index, fps.frame_time(index), limit)
                .await?;
        }
        Ok(started.elapsed() / timed as u32)
    }

    /// The sessions, first one first, and what replaces those whose browser dies.
    pub fn into_workers(self) -> (Vec<CaptureSession>, BrowserRestarter) {
        (self.idle, BrowserRestarter(self.shared))
    }
}

/// Replaces the session of a browser that died with a fresh one of the same pool.
#[derive(Clone)]
pub struct BrowserRestarter(Arc<Shared>);

impl BrowserRestarter {
    /// Close `dead` and open a fresh session in its place.
    pub async fn restart(&self, dead: CaptureSession) -> Result<CaptureSession, CaptureError> {
        dead.close().await;
        self.0.open().await
    }
}
