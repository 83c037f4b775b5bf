//! Predictive segments kept in step with Shopify customer tags, at the end of each sync
//! (after the refit that moves customers between segments). Each customer's tag is one
//! `tagsAdd` or `tagsRemove` call, paced by the shop's cost bucket like every other call of
//! the run; each accepted call is recorded at once, so a run that stops (the service
//! stopping, Shopify failing) resumes where it was at the next sync.

use std::sync::Arc;

use xeno_domain::ids::{StoreId, TenantId};
use xeno_shopify::admin::CallLedger;

use crate::backfill::Backfill;
use crate::connect::ConnectError;

/// The scope tagging needs; asked for only once a segment's tag sync is switched on.
pub const WRITE_CUSTOMERS: &str = "write_customers";

impl Backfill {
    /// Runs every tag sync of the store. A sync that cannot finish records why and leaves
    /// the rest for next time; it never fails the store's sync.
    pub(crate) async fn sync_segment_tags(
        &self,
        tenant: TenantId,
        store: StoreId,
        shop: &str,
        ledger: &Arc<CallLedger>,
    ) -> Result<(), ConnectError> {
        let syncs = self.db.segment_tag_syncs(tenant, store).await?;
        if syncs.is_empty() {
            return Ok(());
        }
        let granted = self
            .db
            .get_store(tenant, store)
            .await?
            .is_some_and(|s| s.scopes.iter().any(|scope| scope == WRITE_CUSTOMERS));
        let admin = if granted {
            Some(self.admin(tenant, store, shop, ledger).await?)
        } else {
            None
        };
        for sync in syncs {
            let Some(plan) = self
                .db
                .segment_tag_plan(tenant, store, &sync.segment)
                .await?
            else {
                continue;
            };
            let Some(admin) = &admin else {
                let why = "Shopify has not granted write_customers: connect the store again to allow tagging";
                self.db
                    .finish_tag_run(tenant, store, &sync.segment, (0, 0), Some(why))
                    .await?;
                continue;
            };
            let (mut added, mut removed) = (0_i32, 0_i32);
            let mut error = None;
            // Removals first: a customer who left the segment stops being targeted soonest.
            let steps = plan
                .remove
                .iter()
                .map(|id| (*id, false))
                .chain(plan.add.iter().map(|id| (*id, true)));
            for (customer, add) in steps {
                if self.stopping.is_set() {
                    error =
                        Some("interrupted: the service stopped; the next sync resumes".to_owned());
                    break;
                }
                match admin.tag_customer(customer, &plan.tag, add).await {
                    Ok(found) => {
                        // A customer Shopify no longer has carries no tag either way.
                        self.db
                            .mark_tagged(tenant, store, &sync.segment, customer, add && found)
                            .await?;
                        if add && found {
                            added += 1;
                        } else if !add {
                            removed += 1;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(%tenant, %store, segment = sync.segment, error = %err, "tagging stopped; the next sync resumes");
                        error = Some(err.to_string());
                        break;
                    }
                }
            }
            tracing::info!(%tenant, %store, segment = sync.segment, tag = plan.tag, added, removed, "segment tags in step with Shopify");
            self.db
                .finish_tag_run(
                    tenant,
                    store,
                    &sync.segment,
                    (added, removed),
                    error.as_deref(),
                )
                .await?;
        }
        Ok(())
    }
}
