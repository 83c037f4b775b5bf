//! Group commit for webhook acceptance: concurrent deliveries are written together, one
//! transaction and one WAL flush for many events, and each request is answered only after
//! the commit that holds its event. Durability is unchanged; the per-commit limit is not.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;
use xeno_domain::ids::TenantId;
use xeno_storage::events::{accept_webhooks, NewEvent};
use xeno_storage::stores::StoreRoute;
use xeno_storage::{Db, StorageError};

struct Pending {
    route: StoreRoute,
    event: NewEvent,
    reply: oneshot::Sender<Result<bool, StorageError>>,
}

/// Accepts events through a few writer tasks that batch whatever is waiting.
#[derive(Clone)]
pub struct Acceptor {
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acceptor")
    }
}

impl Acceptor {
    /// Starts `writers` writer tasks, each committing up to `max_batch` events at a time.
    pub fn start(db: Db, writers: usize, max_batch: usize) -> Self {
        let (queue, receiver) = mpsc::channel::<Pending>(max_batch * writers * 4);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            let db = db.clone();
            let receiver = Arc::clone(&receiver);
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut receiver = receiver.lock().await;
                        let Some(first) = receiver.recv().await else {
                            return;
                        };
                        let mut batch = vec![first];
                        while batch.len() < max_batch {
                            match receiver.try_recv() {
                                Ok(next) => batch.push(next),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    write(&db, batch).await;
                }
            });
        }
        Self { queue }
    }

    /// Stores the event durably; true when it is new (false for a duplicate delivery).
    pub async fn accept(&self, route: StoreRoute, event: NewEvent) -> Result<bool, StorageError> {
        let (reply, answer) = oneshot::channel();
        let closed = || StorageError::Interrupted("webhook acceptance is shutting down".into());
        self.queue
            .send(Pending {
                route,
                event,
                reply,
            })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// Writes a batch, one call (one transaction) per tenant, and answers each request once its
/// tenant's call has committed (or failed: then it answers 503 and Shopify retries).
async fn write(db: &Db, batch: Vec<Pending>) {
    let mut by_tenant: BTreeMap<Uuid, Vec<Pending>> = BTreeMap::new();
    for pending in batch {
        by_tenant
            .entry(pending.route.tenant_id.0)
            .or_default()
            .push(pending);
    }
    for (tenant, mut batch) in by_tenant {
        // One order for every writer (the unique keys' order): concurrent batches holding the
        // same deliveries (Shopify's retries) wait for each other instead of deadlocking.
        batch.sort_by(|a, b| {
            (a.route.store_id.0, &a.event.webhook_id)
                .cmp(&(b.route.store_id.0, &b.event.webhook_id))
        });
        let tenant = TenantId(tenant);
        match insert(db, tenant, &batch).await {
            Ok(inserted) => answer(batch, inserted),
            // One delivery's fault must not fail its neighbours: each is tried alone.
            Err(err) if batch.len() > 1 => {
                tracing::warn!(error = %err, events = batch.len(), "a batch of webhooks failed; storing them one by one");
                for pending in batch {
                    let alone = [pending];
                    match insert(db, tenant, &alone).await {
                        Ok(inserted) => answer(alone, inserted),
                        Err(err) => fail(alone, &err),
                    }
                }
            }
            Err(err) => fail(batch, &err),
        }
    }
}

/// Answers each delivery of a stored batch: new, or a duplicate.
fn answer(batch: impl IntoIterator<Item = Pending>, mut inserted: HashSet<(Uuid, String)>) {
    for pending in batch {
        // The first of several identical deliveries in one batch is the stored one.
        let key = (pending.route.store_id.0, pending.event.webhook_id.clone());
        let _ = pending.reply.send(Ok(inserted.remove(&key)));
    }
}

/// Answers each delivery of a batch that could not be stored (503: Shopify retries).
fn fail(batch: impl IntoIterator<Item = Pending>, err: &StorageError) {
    tracing::warn!(error = %err, "accepting webhooks failed");
    for pending in batch {
        let _ = pending.reply.send(Err(StorageError::Interrupted(format!(
            "the delivery could not be stored: {err}"
        ))));
    }
}

async fn insert(
    db: &Db,
    tenant: TenantId,
    batch: &[Pending],
) -> Result<HashSet<(Uuid, String)>, StorageError> {
    let events: Vec<_> = batch
        .iter()
        .map(|pending| (pending.route.store_id, &pending.event))
        .collect();
    accept_webhooks(db, tenant, &events).await
}
