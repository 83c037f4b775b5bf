//! Sync runs: progress while they run, history after.

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

/// A run that has not reported progress for this long was left by a process that died.
const STALLED_AFTER_MINUTES: i32 = 30;

impl Db {
    /// Records a new running sync; `Conflict` while another runs for the store.
    pub async fn start_sync_run(
        &self,
        tenant: TenantId,
        store: StoreId,
        kind: &str,
    ) -> Result<Uuid, StorageError> {
        let run_id = Uuid::now_v7();
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "UPDATE sync_runs SET status = 'failed', finished_at = now(), \
             error = format('interrupted: no progress for %s minutes', $3::int) \
             WHERE tenant_id = $1 AND store_id = $2 AND status = 'running' \
             AND updated_at < now() - make_interval(mins => $3)",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(STALLED_AFTER_MINUTES)
        .execute(&mut *tx)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO sync_runs (tenant_id, store_id, run_id, kind, status, phase) VALUES ($1, $2, $3, $4, 'running', 'starting')",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(run_id)
        .bind(kind)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(err) if crate::error::is_unique_violation(&err, "sync_runs_one_running") => {
                return Err(StorageError::Conflict("a running sync of this store"));
            }
            other => other?,
        };
        tx.commit().await?;
        Ok(run_id)
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

    /// A store's runs, newest first.
    pub async fn sync_runs(
        &self,
        tenant: TenantId,
        store: StoreId,
        limit: i64,
    ) -> Result<Vec<SyncRun>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let runs = sqlx::query_as(
            "SELECT run_id, store_id, kind, status, phase, records, started_at, updated_at, finished_at, error, \
             api_calls, api_cost, throttle_waits, throttle_wait_ms, throttled, retries \
             FROM sync_runs WHERE tenant_id = $1 AND store_id = $2 ORDER BY started_at DESC LIMIT $3",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(limit)
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

    /// Tries to become the one scheduler: a session advisory lock, held as long as the
    /// returned connection lives. The connection leaves the pool, so dropping it (or a
    /// crash) ends the session and releases the lock.
    pub async fn try_lead(&self, key: i64) -> Result<Option<sqlx::PgConnection>, StorageError> {
        let mut conn = self.pool().acquire().await?.detach();
        let leading: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        Ok(leading.then_some(conn))
    }
}
