//! Liveness and readiness.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use prometheus::Gauge;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use xeno_storage::events::Backlog;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyOut {
    status: &'static str,
    /// Each dependency: `ok`, `not_configured` or why it failed.
    checks: serde_json::Value,
}

/// The process is alive and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = HealthOut)))]
pub async fn get_health() -> Json<HealthOut> {
    Json(HealthOut { status: "ok" })
}

/// Ready to serve: PostgreSQL answers, and Redis too when configured.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = ReadyOut),
        (status = 503, description = "a dependency is down; `context.checks` says which", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_readiness(State(state): State<AppState>) -> Result<Json<ReadyOut>, ApiError> {
    let (postgres, redis) = tokio::join!(check_postgres(&state), check_redis(&state));
    let checks = json!({ "postgres": postgres, "redis": redis });
    let failed: Vec<&str> = [("postgres", &postgres), ("redis", &redis)]
        .into_iter()
        .filter(|(_, status)| !matches!(status.as_str(), "ok" | "not_configured"))
        .map(|(name, _)| name)
        .collect();
    if failed.is_empty() {
        Ok(Json(ReadyOut {
            status: "ready",
            checks,
        }))
    } else {
        Err(ApiError::Unavailable {
            detail: format!("unreachable: {}", failed.join(", ")),
            context: Some(json!({ "checks": checks })),
        })
    }
}

/// The backlog as gauges outside the process registry: they appear only in scrapes that
/// could read it.
fn backlog_families(backlog: &Backlog) -> prometheus::Result<Vec<prometheus::proto::MetricFamily>> {
    use prometheus::core::Collector;
    let gauges = [
        (
            "xeno_webhook_events_due",
            "Webhook events due to be applied now",
            backlog.due as f64,
        ),
        (
            "xeno_webhook_events_oldest_due_seconds",
            "How long the oldest webhook event due to be applied has waited since it was received",
            backlog.oldest_due_seconds.unwrap_or(0.0),
        ),
        (
            "xeno_webhook_events_retrying",
            "Failed webhook events waiting for their next attempt",
            backlog.retrying as f64,
        ),
        (
            "xeno_webhook_events_dead",
            "Webhook events dead-lettered after their last attempt (replayable)",
            backlog.dead as f64,
        ),
    ];
    let mut families = Vec::with_capacity(gauges.len());
    for (name, help, value) in gauges {
        let gauge = Gauge::new(name, help)?;
        gauge.set(value);
        families.extend(gauge.collect());
    }
    Ok(families)
}

async fn check_postgres(state: &AppState) -> String {
    match tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(err)) => format!("error: {err}"),
        Err(_) => "error: timed out".to_owned(),
    }
}

async fn check_redis(state: &AppState) -> String {
    let Some(client) = &state.redis else {
        return "not_configured".to_owned();
    };
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(CHECK_TIMEOUT, ping).await {
        Ok(Ok(_)) => "ok".to_owned(),
        Ok(Err(err)) => format!("error: {err}"),
        Err(_) => "error: timed out".to_owned(),
    }
}

/// Prometheus metrics in the text exposition format: the process's counters, and the
/// webhook backlog read from PostgreSQL at each scrape (left out when it cannot be read).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn get_prometheus_metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    if let Some(token) = &state.metrics_token {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let matches: bool =
            subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), token.as_bytes()).into();
        if !matches {
            return Err(ApiError::Unauthenticated(
                "/metrics needs the bearer token configured in XENO_METRICS_TOKEN",
            ));
        }
    }
    use prometheus::Encoder;
    let mut families = prometheus::gather();
    match tokio::time::timeout(CHECK_TIMEOUT, state.db.webhook_backlog()).await {
        Ok(Ok(backlog)) => families
            .extend(backlog_families(&backlog).map_err(|err| ApiError::Internal(err.into()))?),
        Ok(Err(err)) => tracing::warn!(%err, "cannot read the webhook backlog for /metrics"),
        Err(_) => tracing::warn!("reading the webhook backlog for /metrics timed out"),
    }
    match tokio::time::timeout(CHECK_TIMEOUT, state.db.reconciliation_mismatched_days()).await {
        Ok(Ok(days)) => {
            use prometheus::core::Collector;
            let gauge = Gauge::new(
                "xeno_reconciliation_mismatched_days",
                "Days whose figures differ from Shopify Analytics in each store's latest check",
            )
            .map_err(|err| ApiError::Internal(err.into()))?;
            gauge.set(days as f64);
            families.extend(gauge.collect());
        }
        Ok(Err(err)) => tracing::warn!(%err, "cannot read reconciliation results for /metrics"),
        Err(_) => tracing::warn!("reading reconciliation results for /metrics timed out"),
    }
    let encoder = prometheus::TextEncoder::new();
    let mut out = Vec::new();
    encoder
        .encode(&families, &mut out)
        .map_err(|err| ApiError::Internal(err.into()))?;
    let text = String::from_utf8(out).map_err(|err| ApiError::Internal(err.into()))?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    ))
}
