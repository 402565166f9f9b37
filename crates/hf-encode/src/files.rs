//! Outputs written beside their final path and renamed into place only when whole.

use crate::EncodeError;
use hf_core::IoError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file or directory being written at a hidden temporary path beside `output`. Dropped
/// without [`commit`](Self::commit), it is removed: a failed stage leaves nothing behind.
pub(crate) struct PendingOutput {
    temp: PathBuf,
    output: PathBuf,
    committed: bool,
}

impl PendingOutput {
    /// The pending output for `output`: `.<name>.<pid>-<n>.partial` in the same directory,
    /// unique to this call (two writers of one output never share a temporary file).
    pub(crate) fn new(output: &Path) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        PendingOutput {
            temp: output.with_file_name(format!(".{name}.{}-{n}.partial", std::process::id())),
            output: output.to_path_buf(),
            committed: false,
        }
    }

    /// Where to write meanwhile.
    pub(crate) fn path(&self) -> &Path {
        &self.temp
    }

    /// Rename the written file or directory into place. An empty directory already at the
    /// output (made by the caller to reserve it) is replaced.
    pub(crate) fn commit(mut self) -> Result<(), EncodeError> {
        if self.temp.is_dir() {
            let _ = std::fs::remove_dir(&self.output);
        }
        std::fs::rename(&self.temp, &self.output)
            .map_err(IoError::with("rename output to", &self.output))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}

/// The size of the file at `path`, in bytes.
pub(crate) fn file_size(path: &Path) -> Result<u64, EncodeError> {
    Ok(std::fs::metadata(path)
        .map_err(IoError::with("read size of", path))?
        .len())
}
