//! A static file server on `127.0.0.1` for the compiled work dir, falling back to the project dir.

use crate::CaptureError;
use std::net::SocketAddr;
use std::path::Path;
use tower_http::services::ServeDir;

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
        let app = axum::Router::new().fallback_service(service);
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
