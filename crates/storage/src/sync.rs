//! Sync runs: progress while they run, history after.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};

use crate::{Db, StorageError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SyncRun {
    pub run_id: Uuid,
    pub store_id: Uuid,
    pub kind: String,
    pub status: String,
    pub phase: String,
    pub records: i64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// What the run expects to write in all (Shopify's counts when it started).
    pub expected_records: Option<i64>,
    /// Exports read page by page because Shopify would not run a bulk export.
    pub paged_exports: i32,
    #[sqlx(flatten)]
    pub api: ApiUsage,
}

/// What a run's Admin API calls cost and waited for.
#[derive(Debug, Clone, Copy, Default, PartialEq, sqlx::FromRow)]
pub struct ApiUsage {
    pub api_calls: i64,
    /// Cost points Shopify charged.
    pub api_cost: f64,
    /// Waits for Shopify's cost bucket to refill, and their total.
    pub throttle_waits: i64,
    pub throttle_wait_ms: i64,
    /// `THROTTLED` answers (each waited out, never an error).
    pub throttled: i64,
    /// Calls repeated after a network failure, a 429 or a 5xx.
    pub retries: i64,
}

/// A running sync's hold on its store: a session advisory lock on a connection of its own,
/// held until the run is finished and the lease dropped. If the process running it dies,
/// PostgreSQL ends the connection and the lock with it, so the next sync of the store knows
/// at once that the run was interrupted (rather than waiting for it to look stale).
pub struct SyncLease {
    _conn: sqlx::PgConnection,
}

impl SyncLease {
    /// Gives the store back at once: a caller who reads the run as finished can start the
    /// next one straight away (dropping the lease frees it only when PostgreSQL notices the
    /// closed connection). Best effort: a lease whose connection failed is free already.
    pub async fn release(self) {
        let mut conn = self._conn;
        let _ = sqlx::query("SELECT pg_advisory_unlock_all()")
            .execute(&mut conn)
            .await;
        let _ = sqlx::Connection::close(conn).await;
    }
}

impl std::fmt::Debug for SyncLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncLease")
    }
}

/// Advisory-lock namespaces (the first key of the two-key form): sync leases, keyed by
/// `hashtext(store_id)` — `xeno_stores_due` (migration 0010) looks for them by the same
/// namespace and key — and the scheduler's lead.
const LEASE_NAMESPACE: i32 = 0x5853_594e;
const LEAD_NAMESPACE: i32 = 0x5853_4c44;

impl Db {
    /// Records a new running sync and takes the store's lease; `Conflict` while a live sync
    /// of the store holds it. A run still marked running whose lease is free was left by a
    /// process that died: it is closed as interrupted.
    pub async fn start_sync_run(
        &self,
        tenant: TenantId,
        store: StoreId,
        kind: &str,
    ) -> Result<(Uuid, SyncLease), StorageError> {
        let Some(conn) = self
            .try_session_lock(LEASE_NAMESPACE, &store.0.to_string())
            .await?
        else {
            return Err(StorageError::Conflict("a running sync of this store"));
        };
        let run_id = Uuid::now_v7();
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "UPDATE sync_runs SET status = 'failed', finished_at = now(), \
             error = 'interrupted: the process running it stopped' \
             WHERE tenant_id = $1 AND store_id = $2 AND status = 'running'",
        )
        .bind(tenant.0)
        .bind(store.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO sync_runs (tenant_id, store_id, run_id, kind, status, phase) VALUES ($1, $2, $3, $4, 'running', 'starting')",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(run_id)
        .bind(kind)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((run_id, SyncLease { _conn: conn }))
    }

    /// Records progress: the phase and the records written so far.
    pub async fn sync_progress(
        &self,
        tenant: TenantId,
        run: Uuid,
        phase: &str,
        records: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query("UPDATE sync_runs SET phase = $3, records = $4, updated_at = now() WHERE tenant_id = $1 AND run_id = $2")
            .bind(tenant.0)
            .bind(run)
            .bind(phase)
            .bind(records)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn finish_sync_run(
        &self,
        tenant: TenantId,
        run: Uuid,
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "UPDATE sync_runs SET status = CASE WHEN $3::text IS NULL THEN 'completed' ELSE 'failed' END, \
                 phase = CASE WHEN $3::text IS NULL THEN 'done' ELSE phase END, error = $3, \
                 finished_at = now(), updated_at = now() \
             WHERE tenant_id = $1 AND run_id = $2",
        )
        .bind(tenant.0)
        .bind(run)
        .bind(error)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records what the run's Admin API calls have cost so far.
    pub async fn record_api_usage(
        &self,
        tenant: TenantId,
        run: Uuid,
        usage: &ApiUsage,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "UPDATE sync_runs SET api_calls = $3, api_cost = $4, throttle_waits = $5, \
                 throttle_wait_ms = $6, throttled = $7, retries = $8, updated_at = now() \
             WHERE tenant_id = $1 AND run_id = $2",
        )
        .bind(tenant.0)
        .bind(run)
        .bind(usage.api_calls)
        .bind(usage.api_cost)
        .bind(usage.throttle_waits)
        .bind(usage.throttle_wait_ms)
        .bind(usage.throttled)
        .bind(usage.retries)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records how many records the run expects to write.
    pub async fn expect_records(
        &self,
        tenant: TenantId,
        run: Uuid,
        expected: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "UPDATE sync_runs SET expected_records = $3 WHERE tenant_id = $1 AND run_id = $2",
        )
        .bind(tenant.0)
        .bind(run)
        .bind(expected)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts an export the run read page by page.
    pub async fn count_paged_export(
        &self,
        tenant: TenantId,
        run: Uuid,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "UPDATE sync_runs SET paged_exports = paged_exports + 1, updated_at = now() \
             WHERE tenant_id = $1 AND run_id = $2",
        )
        .bind(tenant.0)
        .bind(run)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How far each resource's sync has got: the newest `updated_at` it has written.
    pub async fn watermarks(
        &self,
        tenant: TenantId,
        store: StoreId,
    ) -> Result<HashMap<String, DateTime<Utc>>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT resource, watermark FROM sync_state \
             WHERE tenant_id = $1 AND store_id = $2 AND watermark IS NOT NULL",
        )
        .bind(tenant.0)
        .bind(store.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows.into_iter().collect())
    }

    /// Advances a resource's watermark (never backwards), once what it covers is committed.
    pub async fn advance_watermark(
        &self,
        tenant: TenantId,
        store: StoreId,
        resource: &str,
        to: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "INSERT INTO sync_state (tenant_id, store_id, resource, watermark, last_success_at) \
             VALUES ($1, $2, $3, $4, now()) \
             ON CONFLICT (tenant_id, store_id, resource) DO UPDATE SET \
                 watermark = GREATEST(sync_state.watermark, EXCLUDED.watermark), \
                 last_success_at = now(), last_error = NULL, updated_at = now()",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(resource)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A store's runs, newest first. A run still marked running whose lease nobody holds was
    /// left by a process that stopped: it reads as failed and interrupted at once (the next
    /// sync of the store records it so).
    pub async fn sync_runs(
        &self,
        tenant: TenantId,
        store: StoreId,
        limit: i64,
    ) -> Result<Vec<SyncRun>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let runs = sqlx::query_as(
            "WITH runs AS (
                SELECT r.*, r.status = 'running' AND NOT EXISTS (
                    SELECT 1 FROM pg_locks l
                    WHERE l.locktype = 'advisory' AND l.granted
                      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND l.classid::bigint = $4 AND l.objsubid = 2
                      AND l.objid::bigint = (hashtext(r.store_id::text)::bigint & 4294967295)) AS orphaned
                FROM sync_runs r WHERE r.tenant_id = $1 AND r.store_id = $2
                ORDER BY r.started_at DESC LIMIT $3)
             SELECT run_id, store_id, kind,
                    CASE WHEN orphaned THEN 'failed' ELSE status END AS status,
                    phase, records, started_at, updated_at, finished_at,
                    CASE WHEN orphaned THEN 'interrupted: the process running it stopped' ELSE error END AS error,
                    expected_records, paged_exports, api_calls, api_cost, throttle_waits,
                    throttle_wait_ms, throttled, retries
             FROM runs ORDER BY started_at DESC",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(limit)
        .bind(i64::from(LEASE_NAMESPACE))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(runs)
    }
}

/// Scheduling syncs across tenants.
impl Db {
    /// Up to `limit` stores due for a sync (last one ended more than `every` ago), least
    /// recently synced first.
    pub async fn stores_due_for_sync(
        &self,
        every: std::time::Duration,
        limit: i32,
    ) -> Result<Vec<(TenantId, StoreId)>, StorageError> {
        let seconds = every.as_secs_f64();
        let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT tenant_id, store_id FROM xeno_stores_due(make_interval(secs => $1), $2)",
        )
        .bind(seconds)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(t, s)| (TenantId(t), StoreId(s)))
            .collect())
    }

    /// Tries to become the one scheduler: held as long as the returned connection lives.
    pub async fn try_lead(&self) -> Result<Option<sqlx::PgConnection>, StorageError> {
        self.try_session_lock(LEAD_NAMESPACE, "scheduler").await
    }

    /// A session advisory lock on a connection taken out of the pool, if it was free: held
    /// as long as the connection lives, so dropping it (or a crash) releases the lock.
    async fn try_session_lock(
        &self,
        namespace: i32,
        key: &str,
    ) -> Result<Option<sqlx::PgConnection>, StorageError> {
        let mut conn = self.pool().acquire().await?.detach();
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(namespace)
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        Ok(locked.then_some(conn))
    }
}

/// Syncs across tenants, as `/metrics` reports them.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct SyncHealth {
    pub running: i64,
    /// Seconds since the running sync that has gone longest without progress last made any.
    pub stalest_seconds: Option<f64>,
}

impl Db {
    pub async fn sync_health(&self) -> Result<SyncHealth, StorageError> {
        Ok(sqlx::query_as("SELECT * FROM xeno_sync_health()")
            .fetch_one(self.pool())
            .await?)
    }
}
