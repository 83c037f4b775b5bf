//! The logs' retention: applied webhook events and audit entries older than their retention
//! periods are deleted, once when a worker starts and hourly after. Events not yet applied
//! (pending, retrying, dead) are kept whatever their age. Every worker process prunes; batches skip
//! rows another holds, so they never wait on each other.

use std::time::Duration;

use tokio::sync::watch;
use xeno_storage::Db;

use crate::metrics::EVENTS_PRUNED;

const EVERY: Duration = Duration::from_secs(3600);

/// How long each log is kept; `None`: for ever.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    pub webhook_events: Option<Duration>,
    pub audit: Option<Duration>,
}

pub async fn run(db: Db, retention: Retention, mut shutdown: watch::Receiver<bool>) {
    let cutoff = |keep_for: Option<Duration>| {
        keep_for
            .and_then(|keep| chrono::Duration::from_std(keep).ok())
            .map(|keep| chrono::Utc::now() - keep)
    };
    loop {
        if let Some(cutoff) = cutoff(retention.webhook_events) {
            match db.prune_webhook_events(cutoff).await {
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
        }
        if let Some(cutoff) = cutoff(retention.audit) {
            match db.prune_audit(cutoff).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "deleted audit entries past their retention"),
                Err(err) => {
                    tracing::warn!(%err, "cannot prune the audit log; trying again in an hour")
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}
