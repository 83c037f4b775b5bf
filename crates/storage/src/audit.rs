//! The audit log: who did what to a tenant, when and from where. The service only adds and
//! reads entries (the runtime role has no UPDATE or DELETE on the table).

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;
use xeno_domain::ids::TenantId;

use crate::{Db, StorageError};

/// One entry to add.
#[derive(Debug)]
pub struct AuditEntry<'a> {
    pub actor_user: Option<Uuid>,
    pub actor_key: Option<Uuid>,
    /// What was done, as `resource.verb` (`store.disconnect`, `member.role`…).
    pub action: &'a str,
    /// What it was done to (a store, member, key or event id), if anything.
    pub subject: Option<String>,
    pub detail: Value,
    pub address: Option<String>,
}

/// An entry as the API lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub audit_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_user: Option<Uuid>,
    pub actor_email: Option<String>,
    pub actor_key: Option<Uuid>,
    pub action: String,
    pub subject: Option<String>,
    pub detail: sqlx::types::Json<Value>,
    pub address: Option<String>,
}

impl Db {
    pub async fn record_audit(
        &self,
        tenant: TenantId,
        entry: &AuditEntry<'_>,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "INSERT INTO audit_events (tenant_id, audit_id, actor_user, actor_key, action, subject, detail, address, actor_email) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT email FROM people WHERE user_id = $3))",
        )
        .bind(tenant.0)
        .bind(Uuid::now_v7())
        .bind(entry.actor_user)
        .bind(entry.actor_key)
        .bind(entry.action)
        .bind(&entry.subject)
        .bind(sqlx::types::Json(&entry.detail))
        .bind(&entry.address)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Entries newest first, up to `limit`, after `after` (the last entry of the page before).
    pub async fn list_audit(
        &self,
        tenant: TenantId,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StorageError> {
        let (after_at, after_id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
        let mut tx = self.read_tx(tenant).await?;
        let rows = sqlx::query_as(
            "SELECT a.audit_id, a.at, a.actor_user, a.actor_email, a.actor_key, a.action, \
                 a.subject, a.detail, a.address \
             FROM audit_events a \
             WHERE a.tenant_id = $1 AND ($2::timestamptz IS NULL OR (a.at, a.audit_id) < ($2, $3)) \
             ORDER BY a.at DESC, a.audit_id DESC LIMIT $4",
        )
        .bind(tenant.0)
        .bind(after_at)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Deletes audit entries older than `cutoff`, every tenant's; answers how many.
    pub async fn prune_audit(&self, cutoff: DateTime<Utc>) -> Result<u64, StorageError> {
        let pruned: i64 = sqlx::query_scalar("SELECT xeno_prune_audit($1)")
            .bind(cutoff)
            .fetch_one(self.pool())
            .await?;
        Ok(pruned.max(0) as u64)
    }
}
