//! The initial backfill of a newly connected store: one bulk export per resource, streamed,
//! reassembled and written through the same upsert path as webhooks, with progress recorded.

use std::time::Duration;

use serde_json::Value;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_shopify::admin::AdminClient;
use xeno_shopify::bulk::{self, AsyncSink};
use xeno_shopify::ShopifyError;
use xeno_storage::records;
use xeno_storage::Db;

use crate::connect::{access_token, ConnectError, ShopifySettings};
use crate::secrets::Cipher;

/// Records written per transaction.
const BATCH: usize = 500;

/// Everything a backfill needs.
#[derive(Clone)]
pub struct Backfill {
    pub db: Db,
    pub cipher: Cipher,
    pub settings: std::sync::Arc<ShopifySettings>,
    pub http: reqwest::Client,
    /// How often to ask Shopify whether an export has finished.
    pub poll: Duration,
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
                Err(Failure::Storage(err))
                    if err.is_transient() && attempt + 1 < TRANSIENT_ATTEMPTS =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(Failure::Storage(err)) => return Err(storage(err)),
                Err(Failure::Mapping(err)) => return Err(err),
                Ok(()) => break,
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
    /// Writes one batch in one transaction.
    async fn write(&self, batch: &[(Value, Vec<Value>)]) -> Result<(), Failure> {
        let (tenant, store) = (self.tenant, self.store);
        let mut tx = self.job.db.tenant_tx(tenant).await?;
        match self.resource {
            Resource::Customers => {
                let records = batch
                    .iter()
                    .map(|(c, _)| bulk::customer(c))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_customers(&mut tx, tenant, store, &records).await?;
            }
            Resource::Products => {
                let records = batch
                    .iter()
                    .map(|(p, v)| bulk::product(p, v))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_products(&mut tx, tenant, store, &self.currency, &records).await?;
            }
            Resource::Orders => {
                let records = batch
                    .iter()
                    .map(|(o, l)| bulk::order(o, l))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_orders(&mut tx, tenant, store, &records).await?;
            }
            Resource::AbandonedCheckouts => {
                let records = batch
                    .iter()
                    .map(|(c, l)| bulk::abandoned_checkout(c, l))
                    .collect::<Result<Vec<_>, _>>()?;
                records::upsert_checkouts(&mut tx, tenant, store, &records).await?;
            }
        }
        tx.commit()
            .await
            .map_err(xeno_storage::StorageError::from)?;
        Ok(())
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
        let result = self.export_all(tenant, store, shop, currency, run).await;
        let error = result.as_ref().err().map(ToString::to_string);
        if let Some(error) = &error {
            tracing::warn!(%tenant, %store, error, "backfill failed");
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
    ) -> Result<(), ConnectError> {
        let mut written = 0_i64;
        for resource in [
            Resource::Customers,
            Resource::Products,
            Resource::Orders,
            Resource::AbandonedCheckouts,
        ] {
            self.db
                .sync_progress(tenant, run, resource.phase(), written)
                .await?;
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
            let admin = AdminClient::new(
                self.http.clone(),
                &self.settings.base_url(shop),
                &self.settings.api_version,
                &token,
            );
            let finished = admin
                .bulk_export(resource.query(), self.poll, |_| {})
                .await?;
            let Some(url) = finished.url else { continue };
            let writer = Writer {
                job: self,
                tenant,
                store,
                run,
                resource,
                currency: currency.to_owned(),
                written: &mut written,
                batches: 0,
            };
            bulk::stream_export(&self.http, &url, BATCH, writer).await?;
        }
        Ok(())
    }
}
