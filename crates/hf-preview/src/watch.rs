//! Live reload: a change under the project dir compiles the next generation (changes that
//! come within 300 ms of each other make one compile).

use crate::project::Project;
use crate::PreviewError;
use notify::{EventKind, RecursiveMode, Watcher};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Folders whose changes are not the composition's (outputs, dependencies, tools).
const IGNORED: [&str; 8] = [
    "node_modules",
    "renders",
    "snapshots",
    "outputs",
    "dist",
    "build",
    "coverage",
    "target",
];

/// Whether a change to `path` (under `project_dir`) is a change to the composition.
fn matters(path: &Path, project_dir: &Path) -> bool {
    let relative = path.strip_prefix(project_dir).unwrap_or(path);
    !relative.components().any(|c| {
        let name = c.as_os_str().to_string_lossy();
        name.starts_with('.') || IGNORED.contains(&name.as_ref())
    })
}

/// Whether `kind` changes a file (reads and metadata, such as access times, do not).
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(notify::event::ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        _ => false,
    }
}

/// Watch the project; the watcher stops when the returned value is dropped.
pub(crate) fn start(project: Arc<Project>) -> Result<notify::RecommendedWatcher, PreviewError> {
    let project_dir = project
        .options
        .project_dir
        .canonicalize()
        .unwrap_or_else(|_| project.options.project_dir.clone());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watched = project_dir.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if is_change(&event.kind) && event.paths.iter().any(|p| matters(p, &watched)) {
            let _ = tx.send(());
        }
    })
    .map_err(|e| watch_error(&project_dir, e))?;
    watcher
        .watch(&project_dir, RecursiveMode::Recursive)
        .map_err(|e| watch_error(&project_dir, e))?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            while rx.try_recv().is_ok() {}
            let generation = project.recompile().await;
            tracing::info!("preview: recompiled (generation {})", generation.number);
        }
    });
    Ok(watcher)
}

fn watch_error(path: &Path, error: notify::Error) -> PreviewError {
    PreviewError::Watch {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_dependencies_and_dotfiles_do_not_reload() {
        let project = Path::new("/p");
        assert!(matters(Path::new("/p/index.html"), project));
        assert!(matters(Path::new("/p/compositions/a.html"), project));
        for ignored in [
            "/p/.git/index",
            "/p/node_modules/x.js",
            "/p/renders/a.mp4",
            "/p/snapshots/f.png",
        ] {
            assert!(!matters(Path::new(ignored), project), "{ignored}");
        }
    }
}
