//! A static file server on `127.0.0.1` for the compiled work dir, falling back to the project dir.
//! It serves files only: no path outside the two dirs (`..` is refused by `ServeDir`) and no
//! dotfile or dot-directory (`.env`, `.git/`), which a page has no business reading.

use crate::CaptureError;
use axum::response::IntoResponse;
use std::net::SocketAddr;
use std::path::Path;
use tower_http::services::ServeDir;

/// 404 for any path with a segment that starts with a dot (percent-encoded dots included).
async fn refuse_dotfiles(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    let hidden = path
        .split('/')
        .any(|segment| segment.starts_with('.') || segment.to_ascii_lowercase().starts_with("%2e"));
    if hidden {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// A running file server; stops when dropped.
pub struct FileServer {
    address: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FileServer {
    /// Serve `primary` first, then `fallback`, on an ephemeral loopback port.
    pub async fn start(primary: &Path, fallback: &Path) -> Result<Self, CaptureError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(CaptureError::Server)?;
        let address = listener.local_addr().map_err(CaptureError::Server)?;
        let service = ServeDir::new(primary).fallback(ServeDir::new(fallback));
        let app = axum::Router::new()
            .fallback_service(service)
            .layer(axum::middleware::from_fn(refuse_dotfiles));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(error) = served.await {
                tracing::warn!(%error, "file server stopped");
            }
        });
        Ok(FileServer {
            address,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.address, path.trim_start_matches('/'))
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn status(server: &FileServer, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(server.address)
            .await
            .unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        reply.lines().next().unwrap_or_default().to_string()
    }

    #[tokio::test]
    async fn serves_both_dirs_but_no_dotfiles_and_nothing_outside() {
        let root = tempfile::tempdir().unwrap();
        let (work, project) = (root.path().join("work"), root.path().join("project"));
        for dir in [&work, &project, &project.join(".git")] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(work.join("page.html"), "p").unwrap();
        std::fs::write(project.join("asset.txt"), "a").unwrap();
        std::fs::write(project.join(".env"), "SECRET=1").unwrap();
        std::fs::write(project.join(".git/config"), "c").unwrap();
        std::fs::write(root.path().join("outside.txt"), "o").unwrap();
        let server = FileServer::start(&work, &project).await.unwrap();
        assert_eq!(status(&server, "/page.html").await, "HTTP/1.1 200 OK");
        assert_eq!(status(&server, "/asset.txt").await, "HTTP/1.1 200 OK");
        for hidden in [
            "/.env",
            "/.git/config",
            "/%2eenv",
            "/x/../.env",
            "/../outside.txt",
        ] {
            let line = status(&server, hidden).await;
            assert!(line.starts_with("HTTP/1.1 4"), "{hidden}: {line}");
        }
    }
}
