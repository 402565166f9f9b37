//! Walking, hashing and copying the files of plan and chunk directories.

use hf_core::IoError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A directory entry found by [`walk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Path relative to the walked directory, `/`-separated.
    pub(crate) relative: String,
    /// The full path.
    pub(crate) path: PathBuf,
    /// Size in bytes (0 for symlinks).
    pub(crate) bytes: u64,
    /// The target of a symlink (never followed).
    pub(crate) link: Option<PathBuf>,
}

/// Every file and symlink under `dir`, sorted by relative path; symlinks are not followed.
pub(crate) fn walk(dir: &Path) -> Result<Vec<Entry>, IoError> {
    let mut entries = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for item in std::fs::read_dir(&current).map_err(IoError::with("list", &current))? {
            let item = item.map_err(IoError::with("list", &current))?;
            let path = item.path();
            let meta = std::fs::symlink_metadata(&path).map_err(IoError::with("read", &path))?;
            if meta.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = relative_name(dir, &path);
            let link = if meta.file_type().is_symlink() {
                Some(std::fs::read_link(&path).map_err(IoError::with("read", &path))?)
            } else {
                None
            };
            let bytes = if link.is_some() { 0 } else { meta.len() };
            entries.push(Entry {
                relative,
                path,
                bytes,
                link,
            });
        }
    }
    entries.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(entries)
}

/// `path` relative to `dir`, with `/` separators.
fn relative_name(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The sha256 of the file at `path`, in hex.
pub(crate) fn file_sha256(path: &Path) -> Result<String, IoError> {
    let mut file = std::fs::File::open(path).map_err(IoError::with("read", path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(IoError::with("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Put a copy of the file `from` at `to`: a hard link when the file system allows, else a
/// byte copy.
pub(crate) fn link_or_copy(from: &Path, to: &Path) -> Result<(), IoError> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(IoError::with("copy a file to", to))
}

/// Copy the tree `from` into `to` (created), following symlinks, leaving out top-level
/// entries named in `skip` and any path in `exclude` (absolute).
pub(crate) fn copy_tree(
    from: &Path,
    to: &Path,
    skip: &[&str],
    exclude: &[PathBuf],
) -> Result<(), IoError> {
    let mut pending = vec![(from.to_path_buf(), to.to_path_buf(), true)];
    while let Some((source, target, top)) = pending.pop() {
        std::fs::create_dir_all(&target).map_err(IoError::with("create", &target))?;
        for item in std::fs::read_dir(&source).map_err(IoError::with("list", &source))? {
            let item = item.map_err(IoError::with("list", &source))?;
            let path = item.path();
            let name = item.file_name();
            if top && skip.iter().any(|s| name == *s) {
                continue;
            }
            let absolute = std::path::absolute(&path).unwrap_or(path.clone());
            if exclude.iter().any(|e| absolute.starts_with(e)) {
                continue;
            }
            // Symlinks are followed: the copy holds what the page loads.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                pending.push((path, target.join(&name), false));
            } else {
                std::fs::copy(&path, target.join(&name))
                    .map_err(IoError::with("copy a file to", &target.join(&name)))?;
            }
        }
    }
    Ok(())
}

/// Total bytes of the files under `dir` (0 when it does not exist).
pub(crate) fn tree_bytes(dir: &Path) -> Result<u64, IoError> {
    if !dir.exists() {
        return Ok(0);
    }
    Ok(walk(dir)?.iter().map(|e| e.bytes).sum())
}

/// A fresh directory beside `target` to build it in: `.<name>.<pid>-<nanos>.partial`, unique
/// to this call, so concurrent writers of the same target never share scratch space.
pub(crate) fn scratch_beside(target: &Path) -> Result<PathBuf, IoError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hf".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let scratch =
        target.with_file_name(format!(".{name}.{}-{nanos:09}.partial", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(IoError::with("create", &scratch))?;
    Ok(scratch)
}

/// Move the finished directory `built` to `target`. What is at `target` is replaced only when
/// `replaceable` says hf wrote it (a retried step); anything else is an error.
pub(crate) fn commit_dir(
    built: &Path,
    target: &Path,
    replaceable: impl Fn(&Path) -> bool,
) -> Result<(), crate::DistributedError> {
    if target.exists() {
        let empty = std::fs::read_dir(target).is_ok_and(|mut d| d.next().is_none());
        if !(target.is_dir() && (empty || replaceable(target))) {
            return Err(crate::DistributedError::OutputInUse {
                path: target.to_path_buf(),
                reason: "something other than hf's output is there".into(),
            });
        }
        std::fs::remove_dir_all(target).map_err(IoError::with("replace", target))?;
    }
    std::fs::rename(built, target).map_err(IoError::with("rename into place", target))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_are_sorted_and_do_not_follow_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::write(dir.path().join("b/c/z.txt"), b"zz").unwrap();
        std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
        std::os::unix::fs::symlink("a.txt", dir.path().join("link")).unwrap();
        let entries = walk(dir.path()).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.relative.as_str()).collect();
        assert_eq!(names, ["a.txt", "b/c/z.txt", "link"]);
        assert_eq!(entries[1].bytes, 2);
        assert_eq!(entries[2].link, Some(PathBuf::from("a.txt")));
        assert_eq!(
            file_sha256(&dir.path().join("a.txt")).unwrap(),
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
        );
    }

    #[test]
    fn copies_skip_top_level_names_and_excluded_paths() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        for path in [
            "index.html",
            "img/a.png",
            "node_modules/x.js",
            "plan/plan.json",
        ] {
            let path = from.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        copy_tree(&from, &to, &["node_modules"], &[from.join("plan")]).unwrap();
        let names: Vec<String> = walk(&to).unwrap().into_iter().map(|e| e.relative).collect();
        assert_eq!(names, ["img/a.png", "index.html"]);
    }
}
