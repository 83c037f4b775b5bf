//! Deletions a complete export proves: stored records it no longer holds go, unless they are
//! more than a sync deletes unconfirmed.

use xeno_domain::ids::{StoreId, TenantId};
use xeno_storage::records;

use super::writer::Presence;
use super::Backfill;
use super::Cutoff;
use crate::connect::ConnectError;

/// So few deletions need no confirmation whatever the share (a small catalogue loses a
/// product or two).
pub(crate) const UNGUARDED_DELETIONS: usize = 10;

impl Backfill {
    /// Deletes stored records of `kind` that a complete export did not hold. Only records
    /// within its cutoff qualify, and orders only within the span the export covered
    /// (without `read_all_orders` Shopify shows 60 days).
    pub(crate) async fn delete_missing(
        &self,
        tenant: TenantId,
        store: StoreId,
        kind: records::Resource,
        present: &Presence,
        cutoff: Cutoff,
    ) -> Result<(), ConnectError> {
        let created_since = match kind {
            // An empty orders export proves nothing about older orders.
            records::Resource::Order => match present.oldest {
                Some(oldest) => Some(oldest),
                None => return Ok(()),
            },
            _ => None,
        };
        let mut tx = self.db.tenant_tx(tenant).await?;
        let stored = records::ids_unchanged_since(
            &mut tx,
            tenant,
            store,
            kind,
            cutoff.changed_before,
            cutoff.ingested_before,
            created_since,
        )
        .await?;
        let gone: Vec<i64> = stored
            .into_iter()
            .filter(|id| !present.ids.contains(id))
            .collect();
        if !self.deletions_confirmed && gone.len() > UNGUARDED_DELETIONS {
            let stored = records::count(&mut tx, tenant, store, kind).await?;
            let stored = u64::try_from(stored).unwrap_or(0).max(1);
            let limit = self.settings.max_delete_percent;
            let percent = (gone.len() as u64 * 100).div_ceil(stored);
            if percent > limit {
                return Err(ConnectError::TooManyDeletions {
                    resource: kind.name(),
                    gone: gone.len(),
                    stored,
                    percent,
                    limit,
                });
            }
        }
        if !gone.is_empty() {
            records::delete(&mut tx, tenant, store, kind, &gone).await?;
            tracing::info!(%tenant, %store, resource = ?kind, deleted = gone.len(),
                "deleted records Shopify no longer has");
        }
        tx.commit()
            .await
            .map_err(xeno_storage::StorageError::from)?;
        Ok(())
    }
}
