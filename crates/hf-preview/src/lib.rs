//! `hf preview`: a local web server that shows a composition in a small player page.
//!
//! The page the player shows is the compile stage's page with hf's own runtime, seeked with
//! the runtime's `__hf.seek(frame / fps)` as the renderer seeks it, so frame N in the player is
//! frame N of `hf render` (Chrome's raster aside). The project is compiled into a numbered
//! generation dir (`project.rs`); a file change or new variable values compile the next one
//! and tell the player over server-sent events (`watch.rs`, `routes.rs`), which reloads and
//! keeps its frame. `player.html` is the whole user interface.
//!
//! The server listens on `127.0.0.1` unless told otherwise and serves only the compiled page,
//! the project's files (no dotfiles) and the player.

mod project;
mod routes;
mod watch;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// What to preview and where to serve it.
#[derive(Debug, Clone)]
pub struct PreviewOptions {
    /// The project directory.
    pub project_dir: PathBuf,
    /// The entry page relative to the project (`-c`); `None`: `index.html`.
    pub composition: Option<PathBuf>,
    /// Initial variable values (`--variables`).
    pub variables: Option<serde_json::Map<String, serde_json::Value>>,
    /// The address to listen on.
    pub host: IpAddr,
    /// The first port to try; the next 100 are tried when it is taken. 0: any free port.
    pub port: u16,
}

/// Why the preview could not start.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The project directory is not there.
    #[error("project directory {0} does not exist")]
    ProjectNotFound(PathBuf),
    /// No port in the range could be bound.
    #[error("cannot listen on {host} ports {first}-{last}: {reason}; choose another with --port")]
    NoPort {
        /// The address.
        host: IpAddr,
        /// The first port tried.
        first: u16,
        /// The last port tried.
        last: u16,
        /// The last bind error.
        reason: String,
    },
    /// The file watcher could not start.
    #[error("cannot watch {path} for changes: {reason}")]
    Watch {
        /// The project directory.
        path: PathBuf,
        /// notify's error.
        reason: String,
    },
    /// Another I/O failure (the scratch dir, the server).
    #[error("preview: {0}")]
    Io(#[from] std::io::Error),
}

/// A bound, compiled preview, ready to serve.
pub struct Preview {
    listener: tokio::net::TcpListener,
    project: Arc<project::Project>,
}

impl Preview {
    /// Compile the project once and bind the server's port.
    pub async fn bind(options: PreviewOptions) -> Result<Preview, PreviewError> {
        if !options.project_dir.is_dir() {
            return Err(PreviewError::ProjectNotFound(options.project_dir));
        }
        let listener = bind(options.host, options.port).await?;
        let project = Arc::new(project::Project::new(options)?);
        project.recompile().await;
        Ok(Preview { listener, project })
    }

    /// The address the server listens on.
    pub fn address(&self) -> Result<SocketAddr, PreviewError> {
        Ok(self.listener.local_addr()?)
    }

    /// Serve until `shutdown` completes, recompiling on every change under the project dir.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), PreviewError> {
        let _watcher = watch::start(Arc::clone(&self.project))?;
        let app = routes::router(Arc::clone(&self.project));
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

/// Bind `host:port`, else the next free port of the 100 after it (`port` 0: any).
async fn bind(host: IpAddr, port: u16) -> Result<tokio::net::TcpListener, PreviewError> {
    let last = if port == 0 {
        0
    } else {
        port.saturating_add(100)
    };
    let mut reason = String::new();
    for candidate in port..=last {
        match tokio::net::TcpListener::bind((host, candidate)).await {
            Ok(listener) => return Ok(listener),
            Err(error) => reason = error.to_string(),
        }
    }
    Err(PreviewError::NoPort {
        host,
        first: port,
        last,
        reason,
    })
}
