//! Webhook intake (the hot path: verify, store, answer) and the event log with replay.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_ingest::metrics::WEBHOOKS_RECEIVED;
use xeno_shopify::signature::verify_webhook;
use xeno_storage::events::{EventFilter, EventRow, NewEvent};

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::paging::{decode_cursor, encode_cursor, page_limit};
use crate::state::AppState;
use crate::throttle::{refused, Limit};

/// Shopify's largest payloads (orders with hundreds of lines) stay well under this.
pub const MAX_WEBHOOK_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// False when this delivery was a duplicate of one already stored.
    stored: bool,
}

/// A header in either spelling: `X-Shopify-Topic` (classic) or `Shopify-Topic` (events).
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(format!("x-shopify-{name}"))
        .or_else(|| headers.get(format!("shopify-{name}")))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Where Shopify delivers webhooks (the route below names it too).
pub const WEBHOOK_PATH: &str = "/api/webhooks/shopify";

/// Receive any webhook topic. The HMAC is checked over the raw body before anything is
/// parsed; the event is committed before the 200. Nothing else happens here.
#[utoipa::path(post, path = "/api/webhooks/shopify", tag = "webhooks",
    request_body(content = String, content_type = "application/json", description = "Shopify's payload, signed in X-Shopify-Hmac-Sha256"),
    responses(
        (status = 200, description = "stored (or a duplicate, or a shop Xeno does not serve)", body = Accepted),
        (status = 400, description = "a required header is missing", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "the HMAC does not verify; nothing stored", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "the shop's deliveries are over their quota; Shopify will retry", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the database is down; Shopify will retry", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Accepted>, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "webhook bodies are limited to {MAX_WEBHOOK_BYTES} bytes"
            ))
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })?;
    let signature = header(&headers, "hmac-sha256").ok_or(ApiError::Unauthenticated(
        "X-Shopify-Hmac-Sha256 is missing",
    ))?;
    let shop = header(&headers, "shop-domain")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let route = if shop.is_empty() {
        None
    } else {
        state.db.route_shop(&shop).await?
    };
    // The app's secrets, and a custom app's own secret for its store.
    let store_secret = route
        .as_ref()
        .and_then(|r| r.webhook_secret.as_ref())
        .and_then(|(key_id, sealed)| state.cipher.open(key_id, sealed).ok());
    let mut secrets: Vec<&str> = Vec::with_capacity(3);
    if let Some(app) = &state.shopify.app {
        secrets.push(&app.api_secret);
    }
    if let Some(previous) = &state.shopify.previous_secret {
        secrets.push(previous);
    }
    if let Some(secret) = &store_secret {
        secrets.push(secret);
    }
    if !verify_webhook(&secrets, &body, signature) {
        WEBHOOKS_RECEIVED.with_label_values(&["rejected"]).inc();
        return Err(ApiError::Unauthenticated(
            "the webhook's HMAC does not verify",
        ));
    }
    let topic = header(&headers, "topic")
        .ok_or_else(|| ApiError::BadRequest("X-Shopify-Topic is missing".to_owned()))?;
    let webhook_id = header(&headers, "webhook-id")
        .ok_or_else(|| ApiError::BadRequest("X-Shopify-Webhook-Id is missing".to_owned()))?;
    // Shopify's ids and topics are short; anything longer cannot be one of its deliveries
    // (and could not be indexed), so it never reaches a batch with others.
    for (name, value) in [
        ("X-Shopify-Topic", Some(topic)),
        ("X-Shopify-Webhook-Id", Some(webhook_id)),
        ("X-Shopify-Event-Id", header(&headers, "event-id")),
        ("X-Shopify-API-Version", header(&headers, "api-version")),
    ] {
        if value.is_some_and(|v| v.len() > MAX_HEADER_CHARS) {
            return Err(ApiError::BadRequest(format!(
                "{name} is longer than {MAX_HEADER_CHARS} characters"
            )));
        }
    }
    let triggered_at = header(&headers, "triggered-at")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    if let Some(at) = triggered_at {
        let max_age = chrono::Duration::from_std(state.shopify.webhook_max_age)
            .unwrap_or(chrono::Duration::MAX);
        if Utc::now() - at > max_age {
            WEBHOOKS_RECEIVED.with_label_values(&["stale"]).inc();
            return Err(ApiError::BadRequest(format!(
                "X-Shopify-Triggered-At ({at}) is older than Shopify retries a delivery: a replay"
            )));
        }
    }
    let Some(route) = route.filter(|r| r.accepting) else {
        // Shops Xeno does not (or no longer) serve: 200 so Shopify stops, and counted.
        WEBHOOKS_RECEIVED.with_label_values(&["unrouted"]).inc();
        tracing::info!(
            shop,
            topic,
            "webhook for a shop Xeno does not serve; acknowledged"
        );
        return Ok(Json(Accepted { stored: false }));
    };
    // A shop's deliveries share a generous quota, so one shop's flood cannot starve the
    // others; Shopify retries a 429 later.
    if let Some(allowance) = state.throttle.take(Limit::ShopWebhooks, &shop).await {
        if let Some(wait) = allowance.retry_after {
            WEBHOOKS_RECEIVED.with_label_values(&["throttled"]).inc();
            return Err(refused(wait));
        }
    }
    // A body that is not JSON keeps its raw bytes (the worker then fails it, visibly):
    // nothing accepted is dropped, and nothing is stored twice.
    let payload = json_text(&body);
    // Accepting is a span of its own (under the request's), with the tenant and store; the
    // worker's span that applies the delivery links back to it.
    let span = tracing::info_span!(
        "webhook.accept",
        tenant = %route.tenant_id,
        store = %route.store_id,
        shop = %shop,
        topic = %topic
    );
    let event = NewEvent {
        trace_parent: xeno_ingest::tracing_links::trace_parent(&span),
        body: payload.is_none().then(|| body.to_vec()),
        payload,
        webhook_id: webhook_id.to_owned(),
        shopify_event_id: header(&headers, "event-id").map(str::to_owned),
        topic: topic.to_owned(),
        api_version: header(&headers, "api-version").map(str::to_owned),
        triggered_at,
    };
    let stored = tracing::Instrument::instrument(state.acceptor.accept(route, event), span).await?;
    let outcome = if stored { "stored" } else { "duplicate" };
    WEBHOOKS_RECEIVED.with_label_values(&[outcome]).inc();
    Ok(Json(Accepted { stored }))
}

/// The longest topic, id or version a delivery may carry.
const MAX_HEADER_CHARS: usize = 255;

/// The body as text when it is JSON Xeno can apply (stored verbatim; PostgreSQL checks it
/// again as `json`). PostgreSQL's text cannot hold the NUL character, which JSON allows, so
/// such a body is kept raw and fails at once instead of failing every retry.
fn json_text(body: &[u8]) -> Option<String> {
    if nesting_depth(body) > MAX_JSON_DEPTH {
        return None;
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(body).ok()?;
    let text = std::str::from_utf8(body).ok()?;
    (!text.contains("\\u0000")).then(|| text.to_owned())
}

/// Deeper JSON than this is kept raw (PostgreSQL's parser would exhaust its stack on it, and
/// fail every delivery batched with it); Shopify's payloads nest a few levels.
const MAX_JSON_DEPTH: usize = 128;

/// How deep a JSON text nests arrays and objects (brackets inside strings do not count).
fn nesting_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0_usize, 0_usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in body {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `pending`, `done`, `failed` (will retry) or `dead` (gave up).
    status: Option<String>,
    topic: Option<String>,
    store_id: Option<Uuid>,
    cursor: Option<String>,
    /// Rows per page, 1 to 250 (default 50).
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    id: Uuid,
    store_id: Uuid,
    webhook_id: String,
    shopify_event_id: Option<String>,
    topic: String,
    api_version: Option<String>,
    triggered_at: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    processed_at: Option<DateTime<Utc>>,
    /// For an applied event that changed nothing, why: `duplicate` (the same version was
    /// already stored), `stale` (a newer version was already stored), `deleted` (the record was deleted in Shopify), `redacted` (the customer was
    /// erased on request), `ignored` (a topic Xeno does not use), `store_inactive` (the
    /// store no longer takes data). Absent when it changed data.
    #[schema(value_type = Option<String>, example = "stale")]
    outcome: Option<String>,
    /// The payload lacked a date its record needs (Shopify's test notifications send
    /// `null`), so the record is dated when the webhook was received.
    dated_on_receipt: bool,
}

impl From<EventRow> for EventOut {
    fn from(e: EventRow) -> Self {
        Self {
            id: e.event_id,
            store_id: e.store_id,
            webhook_id: e.webhook_id,
            shopify_event_id: e.shopify_event_id,
            topic: e.topic,
            api_version: e.api_version,
            triggered_at: e.triggered_at,
            received_at: e.received_at,
            status: e.status,
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at,
            last_error: e.last_error,
            processed_at: e.processed_at,
            outcome: e.outcome,
            dated_on_receipt: e.dated_on_receipt,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    data: Vec<EventOut>,
    next_cursor: Option<String>,
}

/// Where a page of the event log stopped.
#[derive(Debug, Serialize, Deserialize)]
struct EventCursor {
    received_at: DateTime<Utc>,
    id: Uuid,
}

/// The webhook event log, newest first: see failures and dead letters. Applied events stay
/// for the configured retention (30 days unless set); events not applied stay until they are.
#[utoipa::path(get, path = "/api/webhooks/events", tag = "webhooks",
    params(EventsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = EventPage),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_webhook_events(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = i64::from(page_limit(query.limit)?);
    if let Some(status) = &query.status {
        if !matches!(
            status.as_str(),
            "pending" | "done" | "failed" | "dead" | "rejected"
        ) {
            return Err(ApiError::invalid(
                "status",
                "must be pending, done, failed, dead or rejected",
            ));
        }
    }
    let after = match &query.cursor {
        Some(text) => {
            let cursor: EventCursor = decode_cursor(text)?;
            Some((cursor.received_at, cursor.id))
        }
        None => None,
    };
    let rows = state
        .db
        .list_events(
            caller.tenant_id,
            &EventFilter {
                status: query.status,
                topic: query.topic,
                store_id: query.store_id,
                after,
                limit: limit + 1,
            },
        )
        .await?;
    let more = rows.len() as i64 > limit;
    let data: Vec<EventOut> = rows
        .into_iter()
        .take(limit as usize)
        .map(EventOut::from)
        .collect();
    let next_cursor = if more {
        data.last().map(|e| {
            encode_cursor(&EventCursor {
                received_at: e.received_at,
                id: e.id,
            })
        })
    } else {
        None
    };
    Ok(Json(EventPage { data, next_cursor }))
}

/// Apply an event again (after fixing what made it fail).
#[utoipa::path(post, path = "/api/webhooks/events/{id}/replay", tag = "webhooks",
    params(("id" = Uuid, Path, description = "event id")),
    security(("bearer" = [])),
    responses(
        (status = 202, body = EventOut),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replay_webhook_event(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<EventOut>), ApiError> {
    let event = state
        .db
        .replay_event(caller.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such event".to_owned()))?;
    crate::audit::record(
        &state,
        &caller,
        "event.replay",
        Some(id.to_string()),
        serde_json::json!({ "topic": event.topic }),
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(event.into())))
}
