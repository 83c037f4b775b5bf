//! The webhook event log's retention: applied events older than the retention period are
//! deleted, once when a worker starts and hourly after. Events not yet applied (pending,
//! retrying, dead) are kept whatever their age. Every worker process prunes; batches skip
//! rows another holds, so they never wait on each other.

use std::time::Duration;

use tokio::sync::watch;
use xeno_storage::Db;

use crate::metrics::EVENTS_PRUNED;

const EVERY: Duration = Duration::from_secs(3600);

pub async fn run(db: Db, keep_for: Duration, mut shutdown: watch::Receiver<bool>) {
    let Ok(keep_for) = chrono::Duration::from_std(keep_for) else {
        tracing::error!(
            ?keep_for,
            "the webhook retention is too long to compute; keeping every event"
        );
        return;
    };
    loop {
        match db.prune_webhook_events(chrono::Utc::now() - keep_for).await {
            Ok(0) => {}
            Ok(pruned) => {
                EVENTS_PRUNED.inc_by(pruned);
                tracing::info!(
                    pruned,
                    "deleted applied webhook events past their retention"
                );
            }
            Err(err) => {
                tracing::warn!(%err, "cannot prune the webhook event log; trying again in an hour")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}
