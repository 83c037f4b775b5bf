//! Where an export's records go: written through the upsert path in batches (retrying
//! transient failures), or only counted present (for finding deletions).

use super::*;

pub(crate) struct Writer<'a> {
    pub(crate) job: &'a Backfill,
    pub(crate) tenant: TenantId,
    pub(crate) store: StoreId,
    pub(crate) run: uuid::Uuid,
    pub(crate) resource: Resource,
    pub(crate) currency: String,
    pub(crate) written: &'a mut i64,
    /// Batches written in this phase.
    pub(crate) batches: u32,
    /// A statistics refresh running beside the writing, if any.
    pub(crate) refreshing: Option<tokio::task::JoinHandle<()>>,
    /// When the export was asked for, by our clock.
    pub(crate) asked_at: DateTime<Utc>,
    /// The records in the export so far.
    pub(crate) present: Presence,
    /// The newest `updated_at` written: the resource's next watermark.
    pub(crate) newest: Option<DateTime<Utc>>,
}

pub(crate) fn storage(err: xeno_storage::StorageError) -> ShopifyError {
    ShopifyError::Refused(format!("storing the backfill failed: {err}"))
}

/// Attempts per batch when PostgreSQL reports a deadlock with concurrent webhook applies.
pub(crate) const TRANSIENT_ATTEMPTS: u32 = 5;

impl AsyncSink for Writer<'_> {
    async fn accept(&mut self, batch: Vec<(Value, Vec<Value>)>) -> Result<(), ShopifyError> {
        if self.job.stopping.is_set() {
            return Err(ShopifyError::Interrupted(STOPPING));
        }
        let mut attempt = 0;
        loop {
            match self.write(&batch).await {
                Ok(written) => {
                    for (id, created_at, updated_at) in written {
                        self.present.add(id, created_at);
                        self.newest = Some(self.newest.map_or(updated_at, |n| n.max(updated_at)));
                    }
                    break;
                }
                Err(Failure::Storage(err))
                    if err.is_transient() && attempt + 1 < TRANSIENT_ATTEMPTS =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(Failure::Storage(err)) => return Err(storage(err)),
                Err(Failure::Mapping(err)) => return Err(err),
            }
        }
        *self.written += batch.len() as i64;
        self.batches += 1;
        // Statistics as the tables grow (after 1, 2, 4, 8, … batches): a handful of ANALYZEs
        // keep every foreign-key check and upsert on a good plan. The first few, while plans
        // change most, before writing on; later ones (of larger tables, so slower) beside
        // the writing, one at a time.
        if self.batches.is_power_of_two() {
            if self.batches <= 8 {
                self.job.db.refresh_statistics().await.map_err(storage)?;
            } else if self
                .refreshing
                .as_ref()
                .is_none_or(tokio::task::JoinHandle::is_finished)
            {
                let db = self.job.db.clone();
                self.refreshing = Some(tokio::spawn(async move {
                    if let Err(err) = db.refresh_statistics().await {
                        tracing::warn!(error = %err, "refreshing planner statistics failed");
                    }
                }));
            }
        }
        self.job
            .db
            .sync_progress(self.tenant, self.run, self.resource.phase(), *self.written)
            .await
            .map_err(storage)?;
        Ok(())
    }
}

/// The ids in an export, and the oldest creation time among them.
#[derive(Default)]
pub(crate) struct Presence {
    pub(crate) ids: HashSet<i64>,
    pub(crate) oldest: Option<DateTime<Utc>>,
}

impl Presence {
    pub(crate) fn add(&mut self, id: i64, created_at: DateTime<Utc>) {
        self.ids.insert(id);
        self.oldest = Some(self.oldest.map_or(created_at, |o| o.min(created_at)));
    }
}

impl AsyncSink for Presence {
    async fn accept(&mut self, batch: Vec<(Value, Vec<Value>)>) -> Result<(), ShopifyError> {
        for (node, _) in &batch {
            let (id, created_at) = bulk::presence(node)?;
            self.add(id, created_at);
        }
        Ok(())
    }
}

pub(crate) enum Failure {
    Storage(xeno_storage::StorageError),
    Mapping(ShopifyError),
}

impl From<xeno_storage::StorageError> for Failure {
    fn from(err: xeno_storage::StorageError) -> Self {
        Self::Storage(err)
    }
}

impl From<ShopifyError> for Failure {
    fn from(err: ShopifyError) -> Self {
        Self::Mapping(err)
    }
}

impl Writer<'_> {
    /// A record as of this export: versions Shopify made within the same second are ordered
    /// by when the export was asked for.
    pub(crate) fn stamped<T>(
        &self,
        mut record: T,
        version_at: impl Fn(&mut T) -> &mut Option<DateTime<Utc>>,
    ) -> T {
        *version_at(&mut record) = Some(self.asked_at);
        record
    }

    /// Writes one batch in one transaction; returns each record's id and creation time.
    pub(crate) async fn write(
        &self,
        batch: &[(Value, Vec<Value>)],
    ) -> Result<Vec<(i64, DateTime<Utc>, DateTime<Utc>)>, Failure> {
        let (tenant, store) = (self.tenant, self.store);
        let mut tx = self.job.db.tenant_tx(tenant).await?;
        let written = match self.resource {
            Resource::Customers => {
                let records = batch
                    .iter()
                    .map(|(c, _)| bulk::customer(c).map(|c| self.stamped(c, |c| &mut c.version_at)))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_customers(&mut tx, tenant, store, &records).await?;
                records
                    .iter()
                    .map(|c| (c.customer_id, c.created_at, c.updated_at))
                    .collect()
            }
            Resource::Products => {
                let records = batch
                    .iter()
                    .map(|(p, v)| {
                        bulk::product(p, v).map(|p| self.stamped(p, |p| &mut p.version_at))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_products(&mut tx, tenant, store, &self.currency, &records).await?;
                records
                    .iter()
                    .map(|p| (p.product_id, p.created_at, p.updated_at))
                    .collect()
            }
            Resource::Orders => {
                let records = batch
                    .iter()
                    .map(|(o, l)| bulk::order(o, l).map(|o| self.stamped(o, |o| &mut o.version_at)))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_orders(&mut tx, tenant, store, &records).await?;
                records
                    .iter()
                    .map(|o| (o.order_id, o.created_at, o.updated_at))
                    .collect()
            }
            Resource::AbandonedCheckouts => {
                let records = batch
                    .iter()
                    .map(|(c, l)| {
                        bulk::abandoned_checkout(c, l)
                            .map(|c| self.stamped(c, |c| &mut c.version_at))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_checkouts(&mut tx, tenant, store, &records).await?;
                records
                    .iter()
                    .map(|c| (c.checkout_id, c.created_at, c.updated_at))
                    .collect()
            }
        };
        tx.commit()
            .await
            .map_err(xeno_storage::StorageError::from)?;
        Ok(written)
    }
}
