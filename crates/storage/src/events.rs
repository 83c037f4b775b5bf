//! Webhook events: durable acceptance on the hot path, claiming and settling by the worker,
//! the event log and replay.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};

use crate::{Db, StorageError};

/// The channel the worker listens on; every accepted event notifies it (the acceptance
/// function in the migrations names it too).
pub const EVENTS_CHANNEL: &str = "xeno_webhook_events";

/// A verified delivery, as received.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub webhook_id: String,
    pub shopify_event_id: Option<String>,
    pub topic: String,
    pub api_version: Option<String>,
    pub triggered_at: Option<DateTime<Utc>>,
    /// The body as JSON text, already checked to be JSON PostgreSQL accepts; PostgreSQL
    /// parses it into the `payload` column (parsing it here too would be wasted work).
    pub payload: Option<String>,
    /// The raw bytes, kept only when they did not parse (the worker then fails the event).
    pub body: Option<Vec<u8>>,
    /// The accepting request's W3C `traceparent`, when tracing is on.
    pub trace_parent: Option<String>,
}

/// An event claimed for applying, with what applying needs from its store.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedEvent {
    pub event_id: Uuid,
    pub store_id: Uuid,
    pub topic: String,
    /// The payload's JSON text (`None` when the body was not JSON).
    pub payload: Option<String>,
    pub attempts: i32,
    pub received_at: DateTime<Utc>,
    /// X-Shopify-Triggered-At: when Shopify made the change (orders two versions of a
    /// record within one second).
    pub triggered_at: Option<DateTime<Utc>>,
    pub store_currency: Option<String>,
    pub store_status: String,
    /// The store the delivery was routed to, for payloads that name their shop.
    pub store_domain: String,
    pub store_shop_id: Option<i64>,
    pub store_installed_at: Option<DateTime<Utc>>,
    /// The accepting request's W3C `traceparent`, when it was traced.
    pub trace_parent: Option<String>,
}

/// One line of the event log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub event_id: Uuid,
    pub store_id: Uuid,
    pub webhook_id: String,
    pub shopify_event_id: Option<String>,
    pub topic: String,
    pub api_version: Option<String>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub processed_at: Option<DateTime<Utc>>,
    /// For an applied event that changed nothing, why (an [`Unchanged`] code).
    pub outcome: Option<String>,
    /// The payload lacked a date its record needs; it was dated when received.
    pub dated_on_receipt: bool,
}

/// Filters for the event log; `after` is the last row of the previous page.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub status: Option<String>,
    pub topic: Option<String>,
    pub store_id: Option<Uuid>,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Binds the rest of a transaction to `tenant` for row-level security.
pub async fn set_tenant(conn: &mut PgConnection, tenant: TenantId) -> Result<(), StorageError> {
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.0.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The webhook backlog across tenants (for monitoring).
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct Backlog {
    /// Events due to be applied now (new, or failed and due for their retry).
    pub due: i64,
    /// How long the oldest due event has waited since it was received; `None` when none is.
    pub oldest_due_seconds: Option<f64>,
    /// Failed events waiting for their next attempt.
    pub retrying: i64,
    /// Events dead-lettered after their last attempt (replayable).
    pub dead: i64,
}

impl Db {
    /// The webhook backlog across tenants, as it is now.
    pub async fn webhook_backlog(&self) -> Result<Backlog, StorageError> {
        Ok(sqlx::query_as("SELECT * FROM xeno_webhook_backlog()")
            .fetch_one(self.pool())
            .await?)
    }

    /// Deletes applied events received before `cutoff`, in batches that are each their own
    /// short transaction (workers are never held up for long); returns how many went.
    pub async fn prune_webhook_events(&self, cutoff: DateTime<Utc>) -> Result<u64, StorageError> {
        const BATCH: i32 = 10_000;
        let mut pruned = 0;
        loop {
            let deleted: i64 = sqlx::query_scalar("SELECT xeno_prune_webhook_events($1, $2)")
                .bind(cutoff)
                .bind(BATCH)
                .fetch_one(self.pool())
                .await?;
            pruned += deleted.max(0) as u64;
            if deleted < i64::from(BATCH) {
                return Ok(pruned);
            }
        }
    }

    /// Opens the worker's transaction and claims up to `batch` due events across tenants.
    /// They stay locked until the transaction ends.
    pub async fn claim_events(
        &self,
        batch: i32,
    ) -> Result<(Transaction<'static, Postgres>, Vec<(TenantId, Uuid)>), StorageError> {
        let mut tx = self.pool().begin().await?;
        let claimed: Vec<(Uuid, Uuid)> =
            sqlx::query_as("SELECT tenant_id, event_id FROM xeno_claim_webhook_events($1)")
                .bind(batch)
                .fetch_all(&mut *tx)
                .await?;
        Ok((
            tx,
            claimed.into_iter().map(|(t, e)| (TenantId(t), e)).collect(),
        ))
    }

    pub async fn list_events(
        &self,
        tenant: TenantId,
        filter: &EventFilter,
    ) -> Result<Vec<EventRow>, StorageError> {
        let mut tx = self.read_tx(tenant).await?;
        let (after_at, after_id) = filter
            .after
            .map_or((None, None), |(at, id)| (Some(at), Some(id)));
        let rows = sqlx::query_as(
            "SELECT event_id, store_id, webhook_id, shopify_event_id, topic, api_version, triggered_at, received_at, \
                 status, attempts, next_attempt_at, last_error, processed_at, outcome, dated_on_receipt \
             FROM webhook_events \
             WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR topic = $3) \
                 AND ($4::uuid IS NULL OR store_id = $4) \
                 AND ($5::timestamptz IS NULL OR (received_at, event_id) < ($5, $6)) \
             ORDER BY received_at DESC, event_id DESC LIMIT $7",
        )
        .bind(tenant.0)
        .bind(&filter.status)
        .bind(&filter.topic)
        .bind(filter.store_id)
        .bind(after_at)
        .bind(after_id)
        .bind(filter.limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Queues an event to be applied again. False if the tenant has no such event.
    pub async fn replay_event(
        &self,
        tenant: TenantId,
        event_id: Uuid,
    ) -> Result<Option<EventRow>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row = sqlx::query_as(
            "UPDATE webhook_events SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL, \
                 outcome = NULL, dated_on_receipt = false \
             WHERE tenant_id = $1 AND event_id = $2 \
             RETURNING event_id, store_id, webhook_id, shopify_event_id, topic, api_version, triggered_at, \
                 received_at, status, attempts, next_attempt_at, last_error, processed_at, outcome, \
                 dated_on_receipt",
        )
        .bind(tenant.0)
        .bind(event_id)
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_some() {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(EVENTS_CHANNEL)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(row)
    }
}

/// Reads claimed events under their tenant (the tenant must already be set).
pub async fn load_events(
    conn: &mut PgConnection,
    tenant: TenantId,
    event_ids: &[Uuid],
) -> Result<Vec<ClaimedEvent>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT e.event_id, e.store_id, e.topic, e.payload::text AS payload, e.attempts, e.received_at, \
             e.triggered_at, s.currency::text AS store_currency, s.status AS store_status, \
             s.shop_domain AS store_domain, s.shopify_shop_id AS store_shop_id, \
             s.installed_at AS store_installed_at, e.trace_parent \
         FROM webhook_events e JOIN stores s ON s.tenant_id = e.tenant_id AND s.store_id = e.store_id \
         WHERE e.tenant_id = $1 AND e.event_id = ANY($2) ORDER BY e.received_at, e.event_id",
    )
    .bind(tenant.0)
    .bind(event_ids)
    .fetch_all(conn)
    .await?)
}

/// Marks events applied (in the same transaction as their effect).
pub async fn finish_events(
    conn: &mut PgConnection,
    tenant: TenantId,
    done: &[Settled],
) -> Result<(), StorageError> {
    if done.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = done.iter().map(|d| d.event_id).collect();
    let outcomes: Vec<Option<&str>> = done
        .iter()
        .map(|d| d.unchanged.map(Unchanged::code))
        .collect();
    let dated: Vec<bool> = done.iter().map(|d| d.dated_on_receipt).collect();
    sqlx::query(
        "UPDATE webhook_events e SET status = 'done', attempts = e.attempts + 1, processed_at = now(), \
         last_error = NULL, outcome = x.outcome, dated_on_receipt = x.dated \
         FROM unnest($2::uuid[], $3::text[], $4::boolean[]) AS x (event_id, outcome, dated) \
         WHERE e.tenant_id = $1 AND e.event_id = x.event_id",
    )
    .bind(tenant.0)
    .bind(&ids)
    .bind(&outcomes)
    .bind(&dated)
    .execute(conn)
    .await?;
    Ok(())
}

/// An applied event as the event log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub event_id: Uuid,
    /// Why it changed nothing, if it did not.
    pub unchanged: Option<Unchanged>,
    /// Its payload lacked a date the record needs; when it was received stands in.
    pub dated_on_receipt: bool,
}

/// Why an applied event changed nothing: shown in the event log, counted per store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unchanged {
    /// The same version of the record was already stored (the same change delivered again).
    Duplicate,
    /// A newer version of the record was already stored.
    Stale,
    /// The record was deleted in Shopify: its tombstone outranks every version.
    Deleted,
    /// The customer's personal data was erased on request and stays erased.
    Redacted,
    /// A topic Xeno does not use.
    Ignored,
    /// The store no longer takes data (uninstalled or disconnected).
    StoreInactive,
}

impl Unchanged {
    pub const ALL: [Self; 6] = [
        Self::Duplicate,
        Self::Stale,
        Self::Deleted,
        Self::Redacted,
        Self::Ignored,
        Self::StoreInactive,
    ];

    /// The stored (and API) spelling.
    pub fn code(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Deleted => "deleted",
            Self::Redacted => "redacted",
            Self::Ignored => "ignored",
            Self::StoreInactive => "store_inactive",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.code() == code)
    }
}

/// Records a failed attempt: retried at `retry_at`, or dead-lettered when `None`.
pub async fn fail_event(
    conn: &mut PgConnection,
    tenant: TenantId,
    event_id: Uuid,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE webhook_events SET attempts = attempts + 1, last_error = $3, \
             status = CASE WHEN $4::timestamptz IS NULL THEN 'dead' ELSE 'failed' END, \
             next_attempt_at = COALESCE($4, next_attempt_at) \
         WHERE tenant_id = $1 AND event_id = $2",
    )
    .bind(tenant.0)
    .bind(event_id)
    .bind(error)
    .bind(retry_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks an event rejected: it will never be applied (it stays visible in the event log).
pub async fn reject_event(
    conn: &mut PgConnection,
    tenant: TenantId,
    event_id: Uuid,
    why: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE webhook_events SET attempts = attempts + 1, last_error = $3, status = 'rejected', \
             processed_at = now() \
         WHERE tenant_id = $1 AND event_id = $2",
    )
    .bind(tenant.0)
    .bind(event_id)
    .bind(why)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a store uninstalled from inside the worker's transaction.
pub async fn mark_uninstalled(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE stores SET status = 'uninstalled', status_reason = 'the app was uninstalled from the shop', \
             uninstalled_at = now(), access_token = NULL, refresh_token = NULL, updated_at = now() \
         WHERE tenant_id = $1 AND store_id = $2",
    )
    .bind(tenant.0)
    .bind(store.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores one tenant's deliveries in one round trip and returns the (store, webhook id) of
/// those that were new: the function sets the tenant, inserts, notifies the worker (on
/// [`EVENTS_CHANNEL`]) and, called outside a transaction, commits.
pub async fn accept_webhooks(
    db: &Db,
    tenant: TenantId,
    events: &[(StoreId, &NewEvent)],
) -> Result<HashSet<(Uuid, String)>, StorageError> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT store_id, webhook_id FROM xeno_accept_webhooks($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tenant.0)
    .bind(events.iter().map(|(store, _)| store.0).collect::<Vec<_>>())
    .bind(events.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>())
    .bind(events.iter().map(|(_, e)| e.webhook_id.as_str()).collect::<Vec<_>>())
    .bind(events.iter().map(|(_, e)| e.shopify_event_id.as_deref()).collect::<Vec<_>>())
    .bind(events.iter().map(|(_, e)| e.topic.as_str()).collect::<Vec<_>>())
    .bind(events.iter().map(|(_, e)| e.api_version.as_deref()).collect::<Vec<_>>())
    .bind(events.iter().map(|(_, e)| e.triggered_at).collect::<Vec<_>>())
    .bind(events.iter().map(|(_, e)| e.body.as_deref()).collect::<Vec<_>>())
    .bind(events.iter().map(|(_, e)| e.payload.as_deref()).collect::<Vec<_>>())
    .bind(events.iter().map(|(_, e)| e.trace_parent.as_deref()).collect::<Vec<_>>())
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().collect())
}
