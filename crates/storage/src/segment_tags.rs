//! Predictive segments kept in step with a Shopify customer tag: which are switched on per
//! store, what a run would change (the dry run), and what each run did.

use chrono::{DateTime, Utc};
use xeno_domain::ids::{StoreId, TenantId, UserId};

use crate::error::is_unique_violation;
use crate::predictions::{segment_rule, RANKED};
use crate::{Db, StorageError};

/// A segment's tag sync as the API shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct TagSync {
    pub segment: String,
    pub tag: String,
    pub created_at: DateTime<Utc>,
    /// Switched off: the next run removes the tag, then the sync is gone.
    pub removing: bool,
    pub last_run_at: Option<DateTime<Utc>>,
    pub added: i32,
    pub removed: i32,
    pub last_error: Option<String>,
    /// Customers carrying the tag because Xeno put it there.
    pub tagged: i64,
}

/// What a run would do: customers to tag, and customers to untag (Shopify ids).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TagPlan {
    pub tag: String,
    pub add: Vec<i64>,
    pub remove: Vec<i64>,
}

/// How switching a sync on went.
#[derive(Debug, PartialEq, Eq)]
pub enum SwitchOn {
    /// On (or already on with this tag).
    On,
    UnknownSegment,
    /// The segment syncs to another tag already.
    OtherTag(String),
    /// Another segment of the store uses this tag.
    TagTaken,
}

impl Db {
    /// The store's tag syncs, by segment.
    pub async fn segment_tag_syncs(
        &self,
        tenant: TenantId,
        store: StoreId,
    ) -> Result<Vec<TagSync>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query_as(
            "SELECT s.segment, s.tag, s.created_at, s.removing, s.last_run_at, s.added, s.removed,
                    s.last_error,
                    (SELECT count(*) FROM segment_tagged t WHERE t.tenant_id = s.tenant_id
                        AND t.store_id = s.store_id AND t.segment = s.segment) AS tagged
             FROM segment_tag_syncs s WHERE s.tenant_id = $1 AND s.store_id = $2
             ORDER BY s.segment",
        )
        .bind(tenant.0)
        .bind(store.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Switches a segment's tag sync on (again, if it was being switched off).
    pub async fn switch_segment_tag_on(
        &self,
        tenant: TenantId,
        store: StoreId,
        segment: &str,
        tag: &str,
        by: Option<UserId>,
    ) -> Result<SwitchOn, StorageError> {
        if segment_rule(segment).is_none() {
            return Ok(SwitchOn::UnknownSegment);
        }
        let mut tx = self.tenant_tx(tenant).await?;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT tag FROM segment_tag_syncs WHERE tenant_id = $1 AND store_id = $2 AND segment = $3 FOR UPDATE",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(segment)
        .fetch_optional(&mut *tx)
        .await?;
        match existing {
            Some(other) if other != tag => return Ok(SwitchOn::OtherTag(other)),
            Some(_) => {
                sqlx::query(
                    "UPDATE segment_tag_syncs SET removing = false \
                     WHERE tenant_id = $1 AND store_id = $2 AND segment = $3",
                )
                .bind(tenant.0)
                .bind(store.0)
                .bind(segment)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                let added = sqlx::query(
                    "INSERT INTO segment_tag_syncs (tenant_id, store_id, segment, tag, created_by) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(tenant.0)
                .bind(store.0)
                .bind(segment)
                .bind(tag)
                .bind(by.map(|u| u.0))
                .execute(&mut *tx)
                .await;
                match added {
                    Err(err)
                        if is_unique_violation(
                            &err,
                            "segment_tag_syncs_tenant_id_store_id_tag_key",
                        ) =>
                    {
                        return Ok(SwitchOn::TagTaken)
                    }
                    other => other?,
                };
            }
        }
        tx.commit().await?;
        Ok(SwitchOn::On)
    }

    /// Switches a segment's tag sync off: the next run takes the tag off. False when it was
    /// not on.
    pub async fn switch_segment_tag_off(
        &self,
        tenant: TenantId,
        store: StoreId,
        segment: &str,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let changed = sqlx::query(
            "UPDATE segment_tag_syncs SET removing = true \
             WHERE tenant_id = $1 AND store_id = $2 AND segment = $3",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(segment)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// Whether any store of the tenant on `shop` has a tag sync (so connecting it asks
    /// Shopify for `write_customers`).
    pub async fn wants_customer_writes(
        &self,
        tenant: TenantId,
        shop: &str,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let wanted = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM segment_tag_syncs t JOIN stores s \
                 ON s.tenant_id = t.tenant_id AND s.store_id = t.store_id \
             WHERE t.tenant_id = $1 AND s.shop_domain = $2 AND NOT t.removing)",
        )
        .bind(tenant.0)
        .bind(shop)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(wanted)
    }

    /// What a run would change for a segment's tag: its customers not yet tagged, and those
    /// tagged who are no longer in it (everyone tagged, when it is switched off). Tagged means
    /// Xeno tagged them, or Xeno's copy of the customer shows the tag (someone else put it
    /// there: the tag follows the segment alone). `None` when the segment has no tag sync.
    pub async fn segment_tag_plan(
        &self,
        tenant: TenantId,
        store: StoreId,
        segment: &str,
    ) -> Result<Option<TagPlan>, StorageError> {
        let Some(rule) = segment_rule(segment) else {
            return Ok(None);
        };
        let mut tx = self.read_tx(tenant).await?;
        let sync: Option<(String, bool)> = sqlx::query_as(
            "SELECT tag, removing FROM segment_tag_syncs WHERE tenant_id = $1 AND store_id = $2 AND segment = $3",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(segment)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((tag, removing)) = sync else {
            return Ok(None);
        };
        // Members are the segment's customers Xeno still has (a deleted one is not tagged).
        let changes: Vec<(i64, bool)> = sqlx::query_as(&format!(
            "WITH {RANKED},
             members AS (
                SELECT r.customer_id FROM ranked r JOIN customers c ON c.tenant_id = $1
                    AND c.store_id = $2 AND c.customer_id = r.customer_id
                WHERE ({rule}) AND NOT $4),
             tagged AS (
                SELECT customer_id FROM segment_tagged
                WHERE tenant_id = $1 AND store_id = $2 AND segment = $3
                UNION
                SELECT customer_id FROM customers
                WHERE tenant_id = $1 AND store_id = $2
                    AND EXISTS (SELECT 1 FROM unnest(tags) t WHERE lower(t) = lower($5)))
             (SELECT customer_id, true FROM members EXCEPT SELECT customer_id, true FROM tagged)
             UNION ALL
             (SELECT customer_id, false FROM tagged EXCEPT SELECT customer_id, false FROM members)
             ORDER BY 1"
        ))
        .bind(tenant.0)
        .bind(store.0)
        .bind(segment)
        .bind(removing)
        .bind(&tag)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let (add, remove): (Vec<_>, Vec<_>) = changes.into_iter().partition(|(_, add)| *add);
        Ok(Some(TagPlan {
            tag,
            add: add.into_iter().map(|(id, _)| id).collect(),
            remove: remove.into_iter().map(|(id, _)| id).collect(),
        }))
    }

    /// Records that Shopify now has (or no longer has) the segment's tag on a customer.
    pub async fn mark_tagged(
        &self,
        tenant: TenantId,
        store: StoreId,
        segment: &str,
        customer: i64,
        tagged: bool,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let statement = if tagged {
            "INSERT INTO segment_tagged (tenant_id, store_id, segment, customer_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM segment_tagged \
             WHERE tenant_id = $1 AND store_id = $2 AND segment = $3 AND customer_id = $4"
        };
        sqlx::query(statement)
            .bind(tenant.0)
            .bind(store.0)
            .bind(segment)
            .bind(customer)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records how a run went. A sync switched off whose tags are all gone is forgotten.
    pub async fn finish_tag_run(
        &self,
        tenant: TenantId,
        store: StoreId,
        segment: &str,
        (added, removed): (i32, i32),
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "UPDATE segment_tag_syncs SET last_run_at = now(), added = $4, removed = $5, last_error = $6 \
             WHERE tenant_id = $1 AND store_id = $2 AND segment = $3",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(segment)
        .bind(added)
        .bind(removed)
        .bind(error)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM segment_tag_syncs s WHERE s.tenant_id = $1 AND s.store_id = $2 \
                 AND s.segment = $3 AND s.removing AND NOT EXISTS (SELECT 1 FROM segment_tagged t \
                 WHERE t.tenant_id = s.tenant_id AND t.store_id = s.store_id AND t.segment = s.segment)",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(segment)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
