//! Syncs of a store: one bulk export per resource, streamed, reassembled and written through
//! the same upsert path as webhooks, with progress recorded.
//!
//! A **full** sync (a new store's backfill, or when asked) exports every record. An
//! **incremental** sync exports only what changed since each resource's watermark (the
//! newest `updated_at` a sync has committed, minus a safety overlap), which is what repairs
//! missed webhooks cheaply. Either way, stored records the shop no longer has were deleted
//! at Shopify (and their webhook missed): an ids-only export finds them, and they are deleted
//! here too, tombstones and all. A watermark only advances once its export is committed, so a
//! sync cut short resumes from the last one that finished.

mod deletions;
mod writer;

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

use serde_json::Value;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_shopify::admin::{AdminClient, CallCounts, CallLedger};
use xeno_shopify::breaker::Breakers;
use xeno_shopify::bulk::{self, AsyncSink};
use xeno_shopify::paged::{self, PageSizes, PagedExport};
use xeno_shopify::ShopifyError;
use xeno_storage::records;
use xeno_storage::sync::{ApiUsage, SyncLease};
use xeno_storage::Db;

use crate::connect::{access_token, ConnectError, ShopifySettings};
use crate::reconcile::Window;
use crate::secrets::Cipher;

use self::writer::*;

/// Records written per transaction.
pub(crate) const BATCH: usize = 500;

/// How far Shopify's clock may be from ours: the overlap of an incremental export with the
/// previous one, and, when Shopify does not say when an export started, how long before our
/// own start a record must have last changed for its absence to mean it was deleted.
pub(crate) const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Shopify's timestamps have whole seconds: a record stamped within a second of an export's
/// start may postdate it.
pub(crate) const SNAPSHOT_MARGIN: chrono::Duration = chrono::Duration::seconds(1);

/// Which stored records an export that lacks them proves deleted: those last changed before
/// it began (by Shopify's clock when it says, by ours less the clock skew otherwise) and
/// written here before it was asked for (a record a webhook brought in since may postdate it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cutoff {
    pub(crate) changed_before: DateTime<Utc>,
    pub(crate) ingested_before: DateTime<Utc>,
}

/// The cutoff of an export asked for at `asked` (our clock) that began at `began` (Shopify's).
pub(crate) fn deletion_cutoff(began: Option<DateTime<Utc>>, asked: DateTime<Utc>) -> Cutoff {
    Cutoff {
        changed_before: began.map_or(asked - CLOCK_SKEW, |at| at - SNAPSHOT_MARGIN),
        ingested_before: asked,
    }
}

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
    /// Deletions beyond `settings.max_delete_percent` were confirmed for this sync.
    pub deletions_confirmed: bool,
    /// Set when the process begins to stop: running syncs stop at their next batch.
    pub stopping: Stopping,
}

/// Raised once when the process begins to stop (SIGTERM): a sync checks it before each
/// batch, so it stops between two committed batches and records itself as interrupted; the
/// next sync resumes from the watermarks already committed.
#[derive(Debug, Clone, Default)]
pub struct Stopping(Arc<std::sync::atomic::AtomicBool>);

impl Stopping {
    pub fn stop(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// What a run stopped by [`Stopping`] records as its error (after "interrupted: ").
pub const STOPPING: &str =
    "the service was stopping; the next sync resumes from what this one committed";

/// What a sync exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    /// Every record.
    Full,
    /// What changed since each resource's watermark.
    Incremental,
}

impl SyncKind {
    /// As sync runs record it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "backfill",
            Self::Incremental => "incremental",
        }
    }
}

/// An export as a bulk document and as pages of the same fields.
pub(crate) type Export = (&'static str, &'static LazyLock<PagedExport>);

#[derive(Clone, Copy)]
pub(crate) enum Resource {
    Customers,
    Products,
    Orders,
    AbandonedCheckouts,
}

impl Resource {
    pub(crate) fn phase(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Products => "products",
            Self::Orders => "orders",
            Self::AbandonedCheckouts => "abandoned_checkouts",
        }
    }

    /// The records whose absence from a complete export means they were deleted, and the
    /// ids-only export that lists them, bulk and paged (abandoned checkouts have none: a
    /// completed one leaves that export and stays a checkout).
    pub(crate) fn deletion(self) -> Option<(records::Resource, Export)> {
        match self {
            Self::Customers => Some((
                records::Resource::Customer,
                (bulk::CUSTOMER_IDS, &paged::CUSTOMER_IDS),
            )),
            Self::Products => Some((
                records::Resource::Product,
                (bulk::PRODUCT_IDS, &paged::PRODUCT_IDS),
            )),
            Self::Orders => Some((
                records::Resource::Order,
                (bulk::ORDER_IDS, &paged::ORDER_IDS),
            )),
            Self::AbandonedCheckouts => None,
        }
    }

    /// The resource's export, bulk and paged.
    pub(crate) fn export(self) -> Export {
        match self {
            Self::Customers => (bulk::CUSTOMERS, &paged::CUSTOMERS),
            Self::Products => (bulk::PRODUCTS, &paged::PRODUCTS),
            Self::Orders => (bulk::ORDERS, &paged::ORDERS),
            Self::AbandonedCheckouts => (bulk::ABANDONED_CHECKOUTS, &paged::ABANDONED_CHECKOUTS),
        }
    }

    const ALL: [Resource; 4] = [
        Resource::Customers,
        Resource::Products,
        Resource::Orders,
        Resource::AbandonedCheckouts,
    ];
}

impl Backfill {
    /// Runs a full sync of a store (a new store's backfill), recording it as a sync run.
    pub async fn run(
        &self,
        tenant: TenantId,
        store: StoreId,
        shop: &str,
        currency: &str,
    ) -> Result<(), ConnectError> {
        let kind = SyncKind::Full;
        let (run, lease) = self.db.start_sync_run(tenant, store, kind.as_str()).await?;
        self.run_started(tenant, store, shop, currency, run, kind, lease)
            .await
    }

    /// The sync a store should have: incremental once a sync has committed a watermark
    /// (unless a full one is asked for), full before.
    pub async fn kind_for(
        &self,
        tenant: TenantId,
        store: StoreId,
        asked: Option<SyncKind>,
    ) -> Result<SyncKind, ConnectError> {
        if asked == Some(SyncKind::Full) {
            return Ok(SyncKind::Full);
        }
        // Resources without a watermark (a first sync cut short) are exported in full.
        let marks = self.db.watermarks(tenant, store).await?;
        Ok(if marks.is_empty() {
            SyncKind::Full
        } else {
            SyncKind::Incremental
        })
    }

    /// Runs a sync whose run the caller has started (and so holds the lease of).
    #[allow(clippy::too_many_arguments)]
    pub async fn run_started(
        &self,
        tenant: TenantId,
        store: StoreId,
        shop: &str,
        currency: &str,
        run: uuid::Uuid,
        kind: SyncKind,
        lease: SyncLease,
    ) -> Result<(), ConnectError> {
        let span = tracing::info_span!(
            "sync.run",
            tenant = %tenant,
            store = %store,
            shop,
            kind = kind.as_str(),
            run = %run
        );
        let traced = async move {
            // Every Admin API client of the run paces against one view of the shop's cost bucket
            // and adds to one account of what the calls cost.
            let ledger = Arc::new(CallLedger::default());
            let result = self
                .export_all(tenant, store, shop, currency, run, kind, &ledger)
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
                let why =
                    format!("Shopify refused the access token ({status}); reconnect the store");
                self.db
                    .set_store_status(tenant, store, "needs_reauth", Some(&why))
                    .await?;
            }
            if result.is_ok() {
                // Shopify's figures beside ours, before the run reports itself done (so its
                // check is there when it does): the whole history after a full export, the
                // trailing window after an incremental one. A failed check never fails the sync.
                let window = match kind {
                    SyncKind::Full => Window::History,
                    SyncKind::Incremental => Window::Trailing(self.settings.reconcile_days),
                };
                if let Err(err) = self.reconcile(tenant, store, window).await {
                    tracing::warn!(%tenant, %store, error = %err, "cannot reconcile with Shopify Analytics");
                }
                // The customer-lifetime models: refitted after a backfill, else daily.
                let full = kind == SyncKind::Full;
                if let Err(err) = crate::predictions::refit_if_due(
                    &self.db,
                    tenant,
                    store,
                    full,
                    self.settings.clv_monthly_discount,
                )
                .await
                {
                    tracing::warn!(%tenant, %store, error = %err, "cannot refit the customer-lifetime models");
                }
                // Segments switched on for Shopify tags follow the refit.
                if let Err(err) = self.sync_segment_tags(tenant, store, shop, &ledger).await {
                    tracing::warn!(%tenant, %store, error = %err, "cannot keep segment tags in step");
                }
            }
            self.db
                .finish_sync_run(tenant, run, error.as_deref())
                .await?;
            lease.release().await;
            result
        };
        tracing::Instrument::instrument(traced, span).await
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn export_all(
        &self,
        tenant: TenantId,
        store: StoreId,
        shop: &str,
        currency: &str,
        run: uuid::Uuid,
        kind: SyncKind,
        ledger: &Arc<CallLedger>,
    ) -> Result<(), ConnectError> {
        let mut written = 0_i64;
        let admin = self.admin(tenant, store, shop, ledger).await?;
        self.heal_subscriptions(tenant, store, &admin).await?;
        let marks = match kind {
            SyncKind::Full => Default::default(),
            SyncKind::Incremental => self.db.watermarks(tenant, store).await?,
        };
        let since_of =
            |resource: Resource| marks.get(resource.phase()).map(|mark| *mark - CLOCK_SKEW);
        // What the run will write, for its progress and ETA; without it the run just goes on.
        let counts = admin
            .sync_counts(Resource::ALL.map(|r| since_of(r).map(bulk::updated_search)))
            .await;
        match counts {
            Ok(counts) => {
                let expected = counts.iter().sum::<u64>();
                self.db
                    .expect_records(tenant, run, i64::try_from(expected).unwrap_or(i64::MAX))
                    .await?;
            }
            Err(err) => {
                tracing::warn!(%tenant, %store, error = %err, "Shopify did not say how many records to expect");
            }
        }
        // Once Shopify refuses a bulk export, the rest of the run pages.
        let mut paging = false;
        // Where Shopify runs several exports of a shop at once, every resource's starts now:
        // Shopify prepares the later ones while the earlier ones are written.
        let mut early: Vec<Option<Result<bulk::Started, ShopifyError>>> = Vec::new();
        let early_since = Utc::now();
        if admin.concurrent_exports() > Resource::ALL.len() {
            for resource in Resource::ALL {
                let document = bulk_document(resource.export().0, since_of(resource));
                early.push(Some(admin.start_bulk_export(&document, self.poll).await));
            }
        }
        for (i, resource) in Resource::ALL.into_iter().enumerate() {
            self.db
                .sync_progress(tenant, run, resource.phase(), written)
                .await?;
            self.db
                .record_api_usage(tenant, run, &usage(ledger.counts()))
                .await?;
            // A fresh client per export: an expiring token may have been refreshed meanwhile.
            let admin = self.admin(tenant, store, shop, ledger).await?;
            let early_export = early.get_mut(i).and_then(Option::take);
            // When the export was asked for, by our clock.
            let started = if early_export.is_some() {
                early_since
            } else {
                Utc::now()
            };
            let since = since_of(resource);
            let writer = Writer {
                job: self,
                tenant,
                store,
                run,
                resource,
                currency: currency.to_owned(),
                written: &mut written,
                batches: 0,
                refreshing: None,
                asked_at: started,
                present: Presence::default(),
                newest: None,
            };
            let how = Exporting {
                admin: &admin,
                since,
                tenant,
                run,
            };
            let (writer, began) = self
                .export(&how, resource.export(), early_export, &mut paging, writer)
                .await?;
            let (present, newest) = (writer.present, writer.newest);
            // Not past the export's start: a record changed while it ran may have been read
            // before the change, and the next sync must look again.
            if let Some(newest) = newest {
                let mark = newest.min(began.unwrap_or(started));
                self.db
                    .advance_watermark(tenant, store, resource.phase(), mark)
                    .await?;
            }
            let Some((kind, ids)) = resource.deletion() else {
                continue;
            };
            let (present, cutoff) = match since {
                // A full export holds every record: what it lacks was deleted.
                None => (present, deletion_cutoff(began, started)),
                Some(_) => {
                    let started = Utc::now();
                    let every = Exporting { since: None, ..how };
                    let (present, began) = self
                        .export(&every, ids, None, &mut paging, Presence::default())
                        .await?;
                    (present, deletion_cutoff(began, started))
                }
            };
            self.delete_missing(tenant, store, kind, &present, cutoff)
                .await?;
        }
        Ok(())
    }

    /// Streams one export into `sink`: through a bulk operation (`started` already, or
    /// started now), or page by page when Shopify will not run one (and then for the rest of
    /// the run: `paging`). Returns the sink and, when Shopify says, when the export began by
    /// its clock.
    pub(crate) async fn export<S: AsyncSink>(
        &self,
        how: &Exporting<'_>,
        (document, pages): Export,
        started: Option<Result<bulk::Started, ShopifyError>>,
        paging: &mut bool,
        sink: S,
    ) -> Result<(S, Option<DateTime<Utc>>), ConnectError> {
        if !*paging {
            let started = match started {
                Some(started) => started,
                None => {
                    let document = bulk_document(document, how.since);
                    how.admin.start_bulk_export(&document, self.poll).await
                }
            };
            let finished = match started {
                Ok(started) => how.admin.finish_bulk_export(&started, self.poll).await,
                Err(err) => Err(err),
            };
            match finished {
                Ok(finished) => {
                    // No URL: the export finished with nothing in it.
                    let sink = match &finished.url {
                        Some(url) => bulk::stream_export(&self.http, url, BATCH, sink).await?,
                        None => sink,
                    };
                    return Ok((sink, finished.created_at));
                }
                Err(ShopifyError::BulkUnavailable(why)) => {
                    tracing::warn!(tenant = %how.tenant, why, "Shopify will not run a bulk export; paging instead");
                    *paging = true;
                }
                Err(err) => return Err(err.into()),
            }
        }
        let search = how.since.map(bulk::updated_search);
        let exported = how
            .admin
            .paged_export(pages, search.as_deref(), PageSizes::default(), sink)
            .await?;
        self.db.count_paged_export(how.tenant, how.run).await?;
        Ok(exported)
    }

    /// An Admin API client with the store's current access token (refreshed when due).
    pub(crate) async fn admin(
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
    pub(crate) async fn heal_subscriptions(
        &self,
        tenant: TenantId,
        store: StoreId,
        admin: &AdminClient,
    ) -> Result<(), ConnectError> {
        let restored = crate::connect::subscribe_all(admin, &self.settings).await?;
        if restored > 0 {
            tracing::warn!(%tenant, %store, restored, "re-created missing webhook subscriptions");
        }
        Ok(())
    }
}

/// A bulk export document, limited to what changed since `since` when given.
pub(crate) fn bulk_document(document: &str, since: Option<DateTime<Utc>>) -> String {
    match since {
        Some(since) => bulk::updated_since(document, since),
        None => document.to_owned(),
    }
}

/// What an export is read with and for.
#[derive(Clone, Copy)]
pub(crate) struct Exporting<'a> {
    admin: &'a AdminClient,
    /// Only what changed since then (everything without).
    since: Option<DateTime<Utc>>,
    tenant: TenantId,
    run: uuid::Uuid,
}

/// A ledger's counts as a sync run records them.
pub(crate) fn usage(counts: CallCounts) -> ApiUsage {
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
