//! A failed file operation, shared by every stage's error type.

use std::path::{Path, PathBuf};

/// A file operation that failed: what was attempted, on which path, and why.
///
/// Displays as `cannot {action} {path}: {source}`, e.g. `cannot write /out/a.mp4: No space
/// left on device (os error 28)`.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct IoError {
    /// What was attempted, as a verb phrase that reads before the path (`read`, `create a work
    /// dir in`, `rename output to`).
    pub action: &'static str,
    /// The path involved.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

impl IoError {
    /// An [`IoError`] for `action` on `path`.
    pub fn new(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoError {
            action,
            path: path.into(),
            source,
        }
    }

    /// Whether it failed because the file system is full (ENOSPC).
    pub fn is_disk_full(&self) -> bool {
        self.source.kind() == std::io::ErrorKind::StorageFull
    }

    /// A closure for `map_err` that wraps an `io::Error` with `action` and `path`.
    pub fn with(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| IoError {
            action,
            path,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_name_the_action_and_the_path() {
        let error =
            IoError::with("write", Path::new("/out/a.mp4"))(std::io::Error::other("disk full"));
        assert_eq!(error.to_string(), "cannot write /out/a.mp4: disk full");
    }
}
