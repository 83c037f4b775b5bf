//! The dashboard: the built single-page app, served at `/`. Client-side routes fall back to
//! `index.html`; hashed assets are cached for a year, `index.html` never.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;
use crate::state::AppState;

/// Anything no API route matched.
pub async fn dashboard(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let is_api = path.starts_with("/api/") || path == "/api";
    if is_api || !matches!(*request.method(), Method::GET | Method::HEAD) {
        return ApiError::NotFound("no such route".to_owned()).into_response();
    }
    let index = state.web_dir.join("index.html");
    if !index.is_file() {
        return (
            StatusCode::NOT_FOUND,
            Html(
                "<!doctype html><title>Xeno</title><p>The dashboard is not built. Run \
                 <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code>, or use \
                 the API at <a href=\"/api/docs\">/api/docs</a>.</p>",
            ),
        )
            .into_response();
    }
    let immutable = path.starts_with("/assets/");
    let served = ServeDir::new(&state.web_dir)
        .fallback(ServeFile::new(index))
        .oneshot(request)
        .await;
    let mut response = match served {
        Ok(response) => response.into_response(),
        Err(err) => return ApiError::Internal(anyhow::anyhow!("{err}")).into_response(),
    };
    let cache = if immutable && response.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
