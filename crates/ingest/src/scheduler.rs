//! Scheduled syncs: one leader among any number of workers (a PostgreSQL advisory lock)
//! starts a sync for each active store whose last one ended more than an interval ago,
//! least recently synced first, a few at a time. A sync exports what changed since the
//! store's watermarks through the upsert path (a full export where it has none; see
//! [`crate::backfill`]). At most one runs per store: its lease, a PostgreSQL advisory lock
//! held by the process running it. A run left by a crashed process is closed as soon as the
//! next sync of its store takes the lease the crash released, and resumes from the
//! watermarks its finished exports committed.

use std::time::Duration;

use sqlx::Connection;
use tokio::sync::watch;
use tokio::task::JoinSet;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_storage::StorageError;

use crate::backfill::Backfill;

/// Syncs running at once, across all stores.
const CONCURRENT_SYNCS: usize = 2;
/// How often the leader looks for due stores (and a follower for a vacant lead).
const TICK: Duration = Duration::from_secs(5);

/// How long running syncs get to reach a batch boundary when the process stops.
const STOP_WAIT: Duration = Duration::from_secs(20);

pub async fn run(backfill: Backfill, every: Duration, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(every_seconds = every.as_secs(), "sync scheduler started");
    loop {
        match backfill.db.try_lead().await {
            Ok(Some(lead)) => {
                tracing::info!("leading the sync schedule");
                lead_while_held(&backfill, every, lead, &mut shutdown).await;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "cannot reach PostgreSQL for the sync lead"),
        }
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

async fn lead_while_held(
    backfill: &Backfill,
    every: Duration,
    mut lead: sqlx::PgConnection,
    shutdown: &mut watch::Receiver<bool>,
) {
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        // The lock lives as long as this session: if it is gone, so is the lead.
        if let Err(err) = lead.ping().await {
            tracing::warn!(error = %err, "lost the sync lead");
            return;
        }
        let room = CONCURRENT_SYNCS.saturating_sub(running.len());
        if room > 0 {
            match backfill.db.stores_due_for_sync(every, room as i32).await {
                Ok(due) => {
                    for (tenant, store) in due {
                        if let Err(err) = start(backfill, tenant, store, &mut running).await {
                            tracing::warn!(%tenant, %store, error = %err, "cannot start a scheduled sync");
                        }
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot list the stores due a sync"),
            }
        }
        let stopping = tokio::select! {
            () = tokio::time::sleep(TICK) => false,
            _ = shutdown.wait_for(|stop| *stop) => true,
        };
        if stopping {
            // Each stops at its next batch and records itself as interrupted; one that is
            // stuck waiting on Shopify is cut off.
            let stopped = async { while running.join_next().await.is_some() {} };
            if tokio::time::timeout(STOP_WAIT, stopped).await.is_err() {
                running.abort_all();
            }
            return;
        }
    }
}

async fn start(
    backfill: &Backfill,
    tenant: TenantId,
    store: StoreId,
    running: &mut JoinSet<()>,
) -> Result<(), StorageError> {
    let Some(row) = backfill.db.get_store(tenant, store).await? else {
        return Ok(());
    };
    let kind = match backfill.kind_for(tenant, store, None).await {
        Ok(kind) => kind,
        Err(err) => {
            tracing::warn!(%tenant, %store, error = %err, "cannot tell which sync is due");
            return Ok(());
        }
    };
    let (run, lease) = match backfill
        .db
        .start_sync_run(tenant, store, kind.as_str())
        .await
    {
        Ok(started) => started,
        // Started elsewhere (sync now) since we looked.
        Err(StorageError::Conflict(_)) => return Ok(()),
        Err(err) => return Err(err),
    };
    let job = backfill.clone();
    let (shop, currency) = (row.shop_domain, row.currency.unwrap_or_default());
    running.spawn(async move {
        if let Err(err) = job
            .run_started(tenant, store, &shop, &currency, run, kind, lease)
            .await
        {
            tracing::warn!(%tenant, %store, error = %err, "scheduled sync failed");
        }
    });
    Ok(())
}
