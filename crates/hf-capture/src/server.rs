//! A static file server on `127.0.0.1` for the compiled work dir, falling back to the project dir.
//! It serves files only: no path outside the two dirs (`..` is refused by `ServeDir`) and no
//! dotfile or dot-directory (`.env`, `.git/`), which a page has no business reading. And it
//! answers only hf's own browser: every request must carry the [`ACCESS_COOKIE`] with this
//! server's random token (hf sets it in the browser before loading the page), so another
//! process on the machine cannot read the project through the port.

use crate::CaptureError;
use axum::response::IntoResponse;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tower_http::services::ServeDir;

/// Whether a URL path names a dotfile or goes through a dot-directory (a segment that starts
/// with a dot, percent-encoded dots included).
pub fn names_hidden_file(path: &str) -> bool {
    path.split('/')
        .any(|segment| segment.starts_with('.') || segment.to_ascii_lowercase().starts_with("%2e"))
}

/// 404 for any path [`names_hidden_file`].
async fn refuse_dotfiles(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if names_hidden_file(request.uri().path()) {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// The cookie that carries a [`FileServer`]'s access token.
pub const ACCESS_COOKIE: &str = "hf-access";

/// 403 for a request without this server's access cookie.
async fn require_access_cookie(
    axum::extract::State(token): axum::extract::State<Arc<str>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let expected = format!("{ACCESS_COOKIE}={token}");
    let admitted = request
        .headers()
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .any(|cookie| cookie.trim() == expected);
    if !admitted {
        return axum::http::StatusCode::FORBIDDEN.into_response();
    }
    next.run(request).await
}

/// 32 random hex digits.
fn random_token() -> Result<String, CaptureError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| CaptureError::Server(std::io::Error::other(e)))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A running file server; stops when dropped.
pub struct FileServer {
    address: SocketAddr,
    token: Arc<str>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FileServer {
    /// Serve `primary` first, then `fallback`, on an ephemeral loopback port.
    pub async fn start(primary: &Path, fallback: &Path) -> Result<Self, CaptureError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(CaptureError::Server)?;
        let address = listener.local_addr().map_err(CaptureError::Server)?;
        let token: Arc<str> = random_token()?.into();
        let service = ServeDir::new(primary).fallback(ServeDir::new(fallback));
        let app = axum::Router::new()
            .fallback_service(service)
            .layer(axum::middleware::from_fn(refuse_dotfiles))
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&token),
                require_access_cookie,
            ));
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
            token,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.address, path.trim_start_matches('/'))
    }

    /// The token the [`ACCESS_COOKIE`] must carry.
    pub fn access_token(&self) -> &str {
        &self.token
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

    async fn status_with(server: &FileServer, path: &str, cookie: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(server.address)
            .await
            .unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        reply.lines().next().unwrap_or_default().to_string()
    }

    async fn status(server: &FileServer, path: &str) -> String {
        let cookie = format!("theme=dark; {ACCESS_COOKIE}={}", server.access_token());
        status_with(server, path, &cookie).await
    }

    #[tokio::test]
    async fn answers_only_requests_with_its_access_cookie() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("page.html"), "p").unwrap();
        let server = FileServer::start(root.path(), root.path()).await.unwrap();
        let other = FileServer::start(root.path(), root.path()).await.unwrap();
        assert_eq!(server.access_token().len(), 32);
        assert_ne!(server.access_token(), other.access_token());
        assert_eq!(status(&server, "/page.html").await, "HTTP/1.1 200 OK");
        let wrong = format!("{ACCESS_COOKIE}={}", other.access_token());
        for cookie in ["", "theme=dark", wrong.as_str()] {
            let line = status_with(&server, "/page.html", cookie).await;
            assert_eq!(line, "HTTP/1.1 403 Forbidden", "cookie {cookie:?}");
        }
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
