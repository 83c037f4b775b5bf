//! Limits every request meets before a handler runs: a declared body too large is refused at
//! once (413, without reading it), and a request that runs past its deadline is answered 503
//! so a stuck dependency cannot hold connections and memory without bound.

use std::time::Duration;

use axum::extract::Request;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::routes::webhooks::{MAX_WEBHOOK_BYTES, WEBHOOK_PATH};
use crate::MAX_BODY_BYTES;

/// The longest a request may take (exports stream after their first bytes, so this bounds
/// the time to an answer, not a download).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

pub async fn enforce(request: Request, next: Next) -> Response {
    let limit = if request.uri().path() == WEBHOOK_PATH {
        MAX_WEBHOOK_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared.filter(|&length| length > limit as u64) {
        return ApiError::PayloadTooLarge(format!(
            "the body declares {length} bytes; this endpoint takes at most {limit}"
        ))
        .into_response();
    }
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(deadline = ?REQUEST_DEADLINE, "request abandoned at its deadline");
            ApiError::Unavailable {
                detail: format!(
                    "the request did not finish within {} s; try again shortly",
                    REQUEST_DEADLINE.as_secs()
                ),
                context: None,
            }
            .into_response()
        }
    }
}
