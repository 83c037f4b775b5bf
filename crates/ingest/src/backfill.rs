//! The initial backfill of a newly connected store, and "sync now": one bulk export per
//! resource, streamed, reassembled and written through the same upsert path as webhooks,
//! with progress recorded. Stored records an export no longer holds were deleted at Shopify
//! (and their webhook missed): they are deleted here too, tombstones and all.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use serde_json::Value;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_shopify::admin::{AdminClient, CallCounts, CallLedger};
use xeno_shopify::breaker::Breakers;
use xeno_shopify::bulk::{self, AsyncSink};
use xeno_shopify::ShopifyError;
use xeno_storage::records;
use xeno_storage::sync::ApiUsage;
use xeno_storage::Db;

use crate::connect::{access_token, ConnectError, ShopifySettings};
use crate::secrets::Cipher;

/// Records written per transaction.
const BATCH: usize = 500;

/// How far Shopify's clock may be from ours. A record changed this close to an export's
/// start may be missing from it without being deleted, so it is left for the next sync.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Everything a backfill needs.
#[derive(Clone)]
pub struct Backfill {
    pub db: Db,
    pub cipher: Cipher,
    pub settings: std::sync::Arc<ShopifySettings>,
    pub http: reqwest::Client,
    /// How often to ask Shopify whether an export has finished.
    pub poll: Duration,
    /// Each shop's circuit breaker, shared by every sync of this process.
    pub breakers: Breakers,
}

#[derive(Clone, Copy)]
enum Resource {
    Customers,
    Products,
    Orders,
    AbandonedCheckouts,
}

impl Resource {
    fn phase(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Products => "products",
            Self::Orders => "orders",
            Self::AbandonedCheckouts => "abandoned_checkouts",
        }
    }

    /// The records whose absence from a complete export means they were deleted (abandoned
    /// checkouts are not: a completed one leaves that export and stays a checkout).
    fn deletable(self) -> Option<records::Resource> {
        match self {
            Self::Customers => Some(records::Resource::Customer),
            Self::Products => Some(records::Resource::Product),
            Self::Orders => Some(records::Resource::Order),
            Self::AbandonedCheckouts => None,
        }
    }

    fn query(self) -> &'static str {
        match self {
            Self::Customers => bulk::CUSTOMERS,
            Self::Products => bulk::PRODUCTS,
            Self::Orders => bulk::ORDERS,
            Self::AbandonedCheckouts => bulk::ABANDONED_CHECKOUTS,
        }
    }
}

struct Writer<'a> {
    job: &'a Backfill,
    tenant: TenantId,
    store: StoreId,
    run: uuid::Uuid,
    resource: Resource,
    currency: String,
    written: &'a mut i64,
    /// Batches written in this phase.
    batches: u32,
    /// Ids in the export so far, and the oldest creation time among them.
    seen: HashSet<i64>,
    oldest: Option<DateTime<Utc>>,
}

fn storage(err: xeno_storage::StorageError) -> ShopifyError {
    ShopifyError::Refused(format!("storing the backfill failed: {err}"))
}

/// Attempts per batch when PostgreSQL reports a deadlock with concurrent webhook applies.
const TRANSIENT_ATTEMPTS: u32 = 5;

impl AsyncSink for Writer<'_> {
    async fn accept(&mut self, batch: Vec<(Value, Vec<Value>)>) -> Result<(), ShopifyError> {
        let mut attempt = 0;
        loop {
            match self.write(&batch).await {
                Ok(written) => {
                    for (id, created_at) in written {
                        self.seen.insert(id);
                        self.oldest = Some(self.oldest.map_or(created_at, |o| o.min(created_at)));
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
        // keep every foreign-key check and upsert on a good plan.
        if self.batches.is_power_of_two() {
            self.job.db.refresh_statistics().await.map_err(storage)?;
        }
        self.job
            .db
            .sync_progress(self.tenant, self.run, self.resource.phase(), *self.written)
            .await
            .map_err(storage)?;
        Ok(())
    }
}

enum Failure {
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
    /// Writes one batch in one transaction; returns each record's id and creation time.
    async fn write(
        &self,
        batch: &[(Value, Vec<Value>)],
    ) -> Result<Vec<(i64, DateTime<Utc>)>, Failure> {
        let (tenant, store) = (self.tenant, self.store);
        let mut tx = self.job.db.tenant_tx(tenant).await?;
        let written = match self.resource {
            Resource::Customers => {
                let records = batch
                    .iter()
                    .map(|(c, _)| bulk::customer(c))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_customers(&mut tx, tenant, store, &records).await?;
                records
                    .iter()
                    .map(|c| (c.customer_id, c.created_at))
                    .collect()
            }
            Resource::Products => {
                let records = batch
                    .iter()
                    .map(|(p, v)| bulk::product(p, v))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_products(&mut tx, tenant, store, &self.currency, &records).await?;
                records
                    .iter()
                    .map(|p| (p.product_id, p.created_at))
                    .collect()
            }
            Resource::Orders => {
                let records = batch
                    .iter()
                    .map(|(o, l)| bulk::order(o, l))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_orders(&mut tx, tenant, store, &records).await?;
                records.iter().map(|o| (o.order_id, o.created_at)).collect()
            }
            Resource::AbandonedCheckouts => {
                let records = batch
                    .iter()
                    .map(|(c, l)| bulk::abandoned_checkout(c, l))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_checkouts(&mut tx, tenant, store, &records).await?;
                records
                    .iter()
                    .map(|c| (c.checkout_id, c.created_at))
                    .collect()
            }
        };
        tx.commit()
            .await
            .map_err(xeno_storage::StorageError::from)?;
        Ok(written)
    }
}

impl Backfill {
    /// Runs the whole backfill for a store, recording it as a sync run.
    pub async fn run(
        &self,
        tenant: TenantId,
        store: StoreId,
        shop: &str,
        currency: &str,
    ) -> Result<(), ConnectError> {
        let run = self.db.start_sync_run(tenant, store, "backfill").await?;
        self.run_started(tenant, store, shop, currency, run).await
    }

    /// Runs a backfill whose sync run the caller has started (and so knows the id of).
    pub async fn run_started(
        &self,
        tenant: TenantId,
        store: StoreId,
        shop: &str,
        currency: &str,
        run: uuid::Uuid,
    ) -> Result<(), ConnectError> {
        // Every Admin API client of the run paces against one view of the shop's cost bucket
        // and adds to one account of what the calls cost.
        let ledger = Arc::new(CallLedger::default());
        let result = self
            .export_all(tenant, store, shop, currency, run, &ledger)
            .await;
        self.db
            .record_api_usage(tenant, run, &usage(ledger.counts()))
            .await?;
        let error = result.as_ref().err().map(ToString::to_string);
        if let Some(error) = &error {
            tracing::warn!(%tenant, %store, error, "backfill failed");
        }
        // A refused token will not work on the next attempt either: the merchant must
        // authorise Xeno again, and the store says so.
        if let Err(ConnectError::Shopify(ShopifyError::Unauthorized { status, .. })) = &result {
            let why = format!("Shopify refused the access token ({status}); reconnect the store");
            self.db
                .set_store_status(tenant, store, "needs_reauth", Some(&why))
                .await?;
        }
        self.db
            .finish_sync_run(tenant, run, error.as_deref())
            .await?;
        result
    }

    async fn export_all(
        &self,
        tenant: TenantId,
        store: StoreId,
        shop: &str,
        currency: &str,
        run: uuid::Uuid,
        ledger: &Arc<CallLedger>,
    ) -> Result<(), ConnectError> {
        let mut written = 0_i64;
        self.heal_subscriptions(tenant, store, shop, ledger).await?;
        for resource in [
            Resource::Customers,
            Resource::Products,
            Resource::Orders,
            Resource::AbandonedCheckouts,
        ] {
            self.db
                .sync_progress(tenant, run, resource.phase(), written)
                .await?;
            self.db
                .record_api_usage(tenant, run, &usage(ledger.counts()))
                .await?;
            // A fresh client per export: an expiring token may have been refreshed meanwhile.
            let admin = self.admin(tenant, store, shop, ledger).await?;
            let started = Utc::now();
            let finished = admin
                .bulk_export(resource.query(), self.poll, |_| {})
                .await?;
            let mut writer = Writer {
                job: self,
                tenant,
                store,
                run,
                resource,
                currency: currency.to_owned(),
                written: &mut written,
                batches: 0,
                seen: HashSet::new(),
                oldest: None,
            };
            // No URL: the export finished with nothing in it.
            if let Some(url) = &finished.url {
                writer = bulk::stream_export(&self.http, url, BATCH, writer).await?;
            }
            let (seen, oldest) = (writer.seen, writer.oldest);
            if let Some(kind) = resource.deletable() {
                self.delete_missing(tenant, store, kind, &seen, oldest, started)
                    .await?;
            }
        }
        Ok(())
    }

    /// An Admin API client with the store's current access token (refreshed when due).
    async fn admin(
        &self,
        tenant: TenantId,
        store: StoreId,
        shop: &str,
        ledger: &Arc<CallLedger>,
    ) -> Result<AdminClient, ConnectError> {
        let token = access_token(
            &self.db,
            &self.cipher,
            &self.settings,
            &self.http,
            tenant,
            store,
            shop,
        )
        .await?;
        Ok(AdminClient::new(
            self.http.clone(),
            &self.settings.base_url(shop),
            &self.settings.api_version,
            &token,
        )
        .with_ledger(Arc::clone(ledger))
        .with_breaker(self.breakers.for_shop(shop)))
    }

    /// Re-creates webhook subscriptions Shopify dropped (it deletes one whose deliveries keep
    /// failing); the export that follows repairs what their absence missed.
    async fn heal_subscriptions(
        &self,
        tenant: TenantId,
        store: StoreId,
        shop: &str,
        ledger: &Arc<CallLedger>,
    ) -> Result<(), ConnectError> {
        let admin = self.admin(tenant, store, shop, ledger).await?;
        let restored = crate::connect::subscribe_all(&admin, &self.settings).await?;
        if restored > 0 {
            tracing::warn!(%tenant, %store, restored, "re-created missing webhook subscriptions");
        }
        Ok(())
    }

    /// Deletes stored records of `kind` that a complete export did not hold. Only records
    /// unchanged since before the export began (less the clock skew) qualify, and orders only
    /// within the span the export covered (without `read_all_orders` Shopify shows 60 days).
    async fn delete_missing(
        &self,
        tenant: TenantId,
        store: StoreId,
        kind: records::Resource,
        seen: &HashSet<i64>,
        oldest: Option<DateTime<Utc>>,
        started: DateTime<Utc>,
    ) -> Result<(), ConnectError> {
        let created_since = match kind {
            // An empty orders export proves nothing about older orders.
            records::Resource::Order => match oldest {
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
            started - CLOCK_SKEW,
            created_since,
        )
        .await?;
        let gone: Vec<i64> = stored.into_iter().filter(|id| !seen.contains(id)).collect();
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

/// A ledger's counts as a sync run records them.
fn usage(counts: CallCounts) -> ApiUsage {
    let whole = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    ApiUsage {
        api_calls: whole(counts.calls),
        api_cost: counts.cost,
        throttle_waits: whole(counts.throttle_waits),
        throttle_wait_ms: i64::try_from(counts.throttle_wait.as_millis()).unwrap_or(i64::MAX),
        throttled: whole(counts.throttled),
        retries: whole(counts.retries),
    }
}
