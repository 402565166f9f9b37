//! The preview's routes: the player under `/__hf_preview/`, its API and events, and every
//! other path from the newest compiled generation, then the project dir (no dotfiles).

use crate::project::Project;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use serde_json::{Map, Value};
use std::convert::Infallible;
use std::sync::Arc;
use tower::ServiceExt;
use tower_http::services::ServeDir;

const PLAYER: &str = include_str!("player.html");

/// The preview's router for `project`.
pub(crate) fn router(project: Arc<Project>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/__hf_preview/") }))
        .route("/__hf_preview/", get(|| async { Html(PLAYER) }))
        .route("/__hf_preview/api/composition", get(composition))
        .route("/__hf_preview/api/variables", post(variables))
        .route("/__hf_preview/events", get(events))
        .fallback(files)
        .layer(axum::middleware::map_response(no_store))
        .with_state(project)
}

/// Nothing the preview serves may come from a cache: files change under it.
async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn composition(State(project): State<Arc<Project>>) -> Json<Value> {
    Json(project.describe(&project.current()))
}

/// New variable values: compile with them; answers the new generation's description.
async fn variables(
    State(project): State<Arc<Project>>,
    Json(values): Json<Map<String, Value>>,
) -> Json<Value> {
    let generation = project.set_values(values).await;
    Json(project.describe(&generation))
}

/// Server-sent events: `reload` with each new generation's number.
async fn events(
    State(project): State<Arc<Project>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = project.published.subscribe();
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(number) => {
                    let event = Event::default().event("reload").data(number.to_string());
                    return Some((Ok(event), receiver));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A file of the newest generation, else of the project; 404 for dotfiles.
async fn files(State(project): State<Arc<Project>>, request: Request) -> Response {
    if hf_capture::names_hidden_file(request.uri().path()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let generation = project.current();
    let service =
        ServeDir::new(&generation.dir).fallback(ServeDir::new(&project.options.project_dir));
    match service.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
