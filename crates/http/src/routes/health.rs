//! Liveness and readiness.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use prometheus::{Gauge, IntGaugeVec};
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

/// Ready to serve when PostgreSQL answers. Redis is optional (a shared cache and limits):
/// without it the service is `degraded`, still ready, and says so.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "`ready`, or `degraded` when Redis is configured but down", body = ReadyOut),
        (status = 503, description = "PostgreSQL is down; `context.checks` says why", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_readiness(State(state): State<AppState>) -> Result<Json<ReadyOut>, ApiError> {
    let (postgres, redis) = tokio::join!(check_postgres(&state), check_redis(&state));
    let checks = json!({ "postgres": postgres, "redis": redis });
    if postgres != "ok" {
        return Err(ApiError::Unavailable {
            detail: "unreachable: postgres".to_owned(),
            context: Some(json!({ "checks": checks })),
        });
    }
    let status = if matches!(redis.as_str(), "ok" | "not_configured") {
        "ready"
    } else {
        "degraded"
    };
    Ok(Json(ReadyOut { status, checks }))
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

/// `xeno_dependency_up{dependency}`: 1 when it answered this scrape's check, 0 when not;
/// absent when not configured.
fn dependency_families(
    checks: [(&str, &str); 2],
) -> prometheus::Result<Vec<prometheus::proto::MetricFamily>> {
    use prometheus::core::Collector;
    let gauge = IntGaugeVec::new(
        prometheus::Opts::new(
            "xeno_dependency_up",
            "Whether a dependency answered at this scrape: 1 up, 0 down (absent: not configured)",
        ),
        &["dependency"],
    )?;
    for (dependency, status) in checks {
        if status != "not_configured" {
            gauge
                .with_label_values(&[dependency])
                .set(i64::from(status == "ok"));
        }
    }
    Ok(gauge.collect())
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
    if !state.metrics_here {
        return Err(ApiError::NotFound(
            "metrics are served on their own address (XENO_METRICS_BIND)".to_owned(),
        ));
    }
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
    // Each scrape checks the dependencies afresh, so the gauges are never stale.
    let (postgres, redis) = tokio::join!(check_postgres(&state), check_redis(&state));
    families.extend(
        dependency_families([("postgres", &postgres), ("redis", &redis)])
            .map_err(|err| ApiError::Internal(err.into()))?,
    );
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
    match tokio::time::timeout(CHECK_TIMEOUT, state.db.sync_health()).await {
        Ok(Ok(health)) => {
            use prometheus::core::Collector;
            for (name, help, value) in [
                ("xeno_syncs_running", "Syncs running now, every tenant", health.running as f64),
                (
                    "xeno_sync_stalest_seconds",
                    "Seconds the running sync longest without progress has been still (0: none running)",
                    health.stalest_seconds.unwrap_or(0.0),
                ),
            ] {
                let gauge = Gauge::new(name, help).map_err(|err| ApiError::Internal(err.into()))?;
                gauge.set(value);
                families.extend(gauge.collect());
            }
        }
        Ok(Err(err)) => tracing::warn!(%err, "cannot read sync health for /metrics"),
        Err(_) => tracing::warn!("reading sync health for /metrics timed out"),
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
