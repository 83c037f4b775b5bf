//! Backfill and sync progress and history.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::ids::StoreId;
use xeno_storage::sync::SyncRun;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
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
    started_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    /// Seconds taken (so far, while running).
    duration_seconds: f64,
    error: Option<String>,
}

impl From<SyncRun> for SyncRunOut {
    fn from(run: SyncRun) -> Self {
        let end = run.finished_at.unwrap_or_else(Utc::now);
        Self {
            id: run.run_id,
            store_id: run.store_id,
            kind: run.kind,
            status: run.status,
            phase: run.phase,
            records: run.records,
            duration_seconds: (end - run.started_at).num_milliseconds() as f64 / 1000.0,
            started_at: run.started_at,
            updated_at: run.updated_at,
            finished_at: run.finished_at,
            error: run.error,
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
pub async fn status(
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
pub async fn runs(
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
