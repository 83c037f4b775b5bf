//! Backfill and sync progress and history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_ingest::backfill::SyncKind;
use xeno_ingest::connect::DELETIONS_HELD;
use xeno_storage::stores::StoreRow;
use xeno_storage::sync::SyncRun;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoreQuery {
    store_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRunOut {
    id: Uuid,
    store_id: Uuid,
    /// `backfill` or `incremental`.
    kind: String,
    /// `running`, `completed` or `failed`.
    status: String,
    /// What it is doing: `customers`, `products`, `orders`, `abandoned_checkouts`, `done`.
    phase: String,
    /// Records written so far.
    records: i64,
    /// Records the run expects to write in all (Shopify's counts when it started), the share
    /// written so far (0 to 1), and while it runs, the seconds left at its pace so far.
    expected_records: Option<i64>,
    progress: Option<f64>,
    eta_seconds: Option<f64>,
    started_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    /// Seconds taken (so far, while running).
    duration_seconds: f64,
    error: Option<String>,
    /// Admin API calls answered, and the cost points Shopify charged for them.
    api_calls: i64,
    api_cost: f64,
    /// Waits for Shopify's cost bucket to refill (paced ahead of a call, or after a
    /// `THROTTLED` answer) and the seconds they took.
    throttle_waits: i64,
    throttle_wait_seconds: f64,
    /// `THROTTLED` answers received; each was waited out and retried, never an error.
    throttled: i64,
    /// Calls repeated after a network failure, a 429 or a 5xx.
    retries: i64,
    /// Exports read page by page because Shopify would not run a bulk export for them.
    paged_exports: i32,
    /// The run stopped rather than delete more records than a sync deletes unconfirmed:
    /// sync again with `confirm_deletions=true` if Shopify really no longer has them.
    deletions_to_confirm: bool,
}

impl From<SyncRun> for SyncRunOut {
    fn from(run: SyncRun) -> Self {
        let end = run.finished_at.unwrap_or_else(Utc::now);
        let elapsed = (end - run.started_at).num_milliseconds() as f64 / 1000.0;
        let progress = run
            .expected_records
            .filter(|expected| *expected > 0)
            .map(|expected| (run.records as f64 / expected as f64).min(1.0));
        let eta_seconds = match (run.status.as_str(), progress) {
            ("running", Some(done)) if done > 0.0 => Some(elapsed * (1.0 - done) / done),
            _ => None,
        };
        Self {
            id: run.run_id,
            store_id: run.store_id,
            kind: run.kind,
            status: run.status,
            phase: run.phase,
            records: run.records,
            expected_records: run.expected_records,
            progress,
            eta_seconds,
            duration_seconds: elapsed,
            started_at: run.started_at,
            updated_at: run.updated_at,
            finished_at: run.finished_at,
            deletions_to_confirm: run
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with(DELETIONS_HELD)),
            error: run.error,
            api_calls: run.api.api_calls,
            api_cost: run.api.api_cost,
            throttle_waits: run.api.throttle_waits,
            throttle_wait_seconds: run.api.throttle_wait_ms as f64 / 1000.0,
            throttled: run.api.throttled,
            retries: run.api.retries,
            paged_exports: run.paged_exports,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRunList {
    data: Vec<SyncRunOut>,
}

/// The store's latest sync run: phase and records while it runs, outcome after.
#[utoipa::path(get, path = "/api/sync/status", tag = "sync",
    params(StoreQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SyncRunOut),
        (status = 404, description = "no such store, or it has not synced yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_sync_status(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<StoreQuery>,
) -> Result<Json<SyncRunOut>, ApiError> {
    let runs = state
        .db
        .sync_runs(caller.tenant_id, StoreId(query.store_id), 1)
        .await?;
    runs.into_iter()
        .next()
        .map(|run| Json(run.into()))
        .ok_or_else(|| ApiError::NotFound("no sync run for this store".to_owned()))
}

/// The store's sync runs, newest first.
#[utoipa::path(get, path = "/api/sync/runs", tag = "sync",
    params(StoreQuery),
    security(("bearer" = [])),
    responses((status = 200, body = SyncRunList)))]
pub async fn list_sync_runs(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<StoreQuery>,
) -> Result<Json<SyncRunList>, ApiError> {
    let runs = state
        .db
        .sync_runs(caller.tenant_id, StoreId(query.store_id), 100)
        .await?;
    Ok(Json(SyncRunList {
        data: runs.into_iter().map(SyncRunOut::from).collect(),
    }))
}

/// Which sync to run now.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// What changed since the last sync (the default once a full sync has completed).
    Incremental,
    /// Every record.
    Full,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// `incremental` (the default: what changed since the last sync, plus deletions) or
    /// `full` (every record). A store that has never completed a full sync gets one.
    mode: Option<SyncMode>,
    /// Delete what Shopify no longer has even beyond `XENO_SYNC_MAX_DELETE_PERCENT` of a
    /// store's records (a sync that would stops and asks for this).
    confirm_deletions: Option<bool>,
}

/// The caller's store, connected: 404 for no such store, 409 (saying why) for one that is
/// not active, before `doing` something that needs Shopify.
pub(crate) async fn active_store(
    state: &AppState,
    tenant: TenantId,
    store: StoreId,
    doing: &str,
) -> Result<StoreRow, ApiError> {
    let row = state
        .db
        .get_store(tenant, store)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such store".to_owned()))?;
    if row.status != "active" {
        return Err(ApiError::Conflict(format!(
            "the store is {}; reconnect it before {doing}{}",
            row.status.replace('_', " "),
            row.status_reason
                .as_deref()
                .map(|why| format!(" ({why})"))
                .unwrap_or_default()
        )));
    }
    Ok(row)
}

/// Syncs the store now from Shopify, upserted through the same path as webhooks (what
/// changed is corrected, what was deleted is deleted, nothing is duplicated). One sync per
/// store at a time.
#[utoipa::path(post, path = "/api/sync/{store_id}", tag = "sync",
    params(("store_id" = Uuid, Path, description = "store id"), StartQuery),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "started; follow it at /api/sync/status", body = SyncRunOut),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a sync is running, or the store is not connected", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_sync(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(store_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> Result<(StatusCode, Json<SyncRunOut>), ApiError> {
    let (tenant, store) = (caller.tenant_id, StoreId(store_id));
    let row = active_store(&state, tenant, store, "syncing").await?;
    let mut backfill = state.backfill();
    backfill.deletions_confirmed = query.confirm_deletions.unwrap_or(false);
    let asked = query.mode.map(|mode| match mode {
        SyncMode::Incremental => SyncKind::Incremental,
        SyncMode::Full => SyncKind::Full,
    });
    let kind = backfill
        .kind_for(tenant, store, asked)
        .await
        .map_err(|err| ApiError::Internal(err.into()))?;
    let (run, lease) = state
        .db
        .start_sync_run(tenant, store, kind.as_str())
        .await
        .map_err(|err| match err {
            xeno_storage::StorageError::Conflict(_) => {
                ApiError::Conflict("a sync of this store is already running".to_owned())
            }
            other => other.into(),
        })?;
    let currency = row.currency.clone().unwrap_or_default();
    let shop = row.shop_domain.clone();
    tokio::spawn(async move {
        if let Err(err) = backfill
            .run_started(tenant, store, &shop, &currency, run, kind, lease)
            .await
        {
            tracing::warn!(%tenant, %store, error = %err, "sync failed");
        }
    });
    let runs = state.db.sync_runs(tenant, store, 1).await?;
    let started = runs
        .into_iter()
        .find(|r| r.run_id == run)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the sync run vanished")))?;
    crate::audit::record(
        &state,
        &caller,
        "sync.start",
        Some(store_id.to_string()),
        serde_json::json!({ "kind": kind.as_str(), "run": run }),
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(started.into())))
}
