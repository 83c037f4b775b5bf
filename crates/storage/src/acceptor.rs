//! Group commit for webhook acceptance: concurrent deliveries are written together, one
//! transaction and one WAL flush for many events, and each request is answered only after
//! the commit that holds its event. Durability is unchanged; the per-commit limit is not.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

use crate::events::{set_tenant, NewEvent, EVENTS_CHANNEL};
use crate::stores::StoreRoute;
use crate::{Db, StorageError};

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
        let closed = || StorageError::Unavailable(sqlx::Error::PoolClosed);
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

async fn write(db: &Db, batch: Vec<Pending>) {
    match insert_all(db, &batch).await {
        Ok(mut inserted) => {
            for pending in batch {
                // The first of several identical deliveries in one batch is the stored one.
                let key = (pending.route.store_id.0, pending.event.webhook_id.clone());
                let _ = pending.reply.send(Ok(inserted.remove(&key)));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, events = batch.len(), "accepting a batch of webhooks failed");
            // Nothing was committed: every request answers 503 and Shopify retries.
            let reason = err.to_string();
            for pending in batch {
                let _ = pending
                    .reply
                    .send(Err(StorageError::Unavailable(sqlx::Error::Protocol(
                        reason.clone(),
                    ))));
            }
        }
    }
}

async fn insert_all(db: &Db, batch: &[Pending]) -> Result<HashSet<(Uuid, String)>, StorageError> {
    let mut tx = db.pool().begin().await?;
    let mut tenants: Vec<_> = batch.iter().map(|p| p.route.tenant_id).collect();
    tenants.sort_by_key(|t| t.0);
    tenants.dedup();
    let mut inserted = HashSet::new();
    for tenant in tenants {
        set_tenant(&mut tx, tenant).await?;
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO webhook_events (tenant_id, store_id, event_id, webhook_id, shopify_event_id, topic, \
             api_version, triggered_at, body, payload) ",
        );
        insert.push_values(
            batch.iter().filter(|p| p.route.tenant_id == tenant),
            |mut row, p| {
                row.push_bind(tenant.0)
                    .push_bind(p.route.store_id.0)
                    .push_bind(Uuid::now_v7())
                    .push_bind(&p.event.webhook_id)
                    .push_bind(&p.event.shopify_event_id)
                    .push_bind(&p.event.topic)
                    .push_bind(&p.event.api_version)
                    .push_bind(p.event.triggered_at)
                    .push_bind(&p.event.body)
                    .push_bind(&p.event.payload)
                    .push_unseparated("::jsonb");
            },
        );
        insert.push(" ON CONFLICT (tenant_id, store_id, webhook_id) DO NOTHING RETURNING store_id, webhook_id");
        let rows: Vec<(Uuid, String)> = insert.build_query_as().fetch_all(&mut *tx).await?;
        inserted.extend(rows);
    }
    if !inserted.is_empty() {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(EVENTS_CHANNEL)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(inserted)
}
