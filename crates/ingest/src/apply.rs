//! Applying webhook events: payloads become changes, and the changes of a whole batch go
//! through the one upsert path per entity in a few set-based statements.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::PgConnection;
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_domain::records::*;
use xeno_shopify::payload::{change, Change};
use xeno_storage::events::{mark_uninstalled, ClaimedEvent, Unchanged};
use xeno_storage::records::{self, RecordVersion, Resource};
use xeno_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The body is not JSON or not the shape its topic promises: retrying will not help.
    #[error("{0}")]
    Payload(String),
    /// A database error: worth retrying.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The order a refund belongs to has not arrived yet.
    #[error("order {0} is not here yet")]
    MissingOrder(i64),
    /// The delivery may not act on the store it was routed to (it names another shop, or
    /// comes out of turn): stored, never applied.
    #[error("rejected: {0}")]
    Rejected(String),
}

impl ApplyError {
    /// Whether another attempt could succeed: not for a payload Xeno cannot read or store,
    /// nor for a rejected delivery.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Payload(_) | Self::Rejected(_) => false,
            Self::Storage(err) => !err.is_refused_data(),
            Self::MissingOrder(_) => true,
        }
    }

    /// What the event log says, written for the merchant: database errors are described,
    /// never quoted (their text, with table and column names, stays in the logs).
    pub fn for_the_event_log(&self) -> String {
        match self {
            Self::Storage(err) if err.is_refused_data() => "a value in this delivery cannot be \
                stored (too long, out of range or missing where Xeno requires it); it is kept, \
                and can be replayed once Xeno accepts it"
                .to_owned(),
            Self::Storage(_) => {
                "Xeno's database could not store this delivery yet; it is retried".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// One store's share of a batch, gathered by kind.
#[derive(Default)]
struct StoreBatch {
    currency: String,
    customers: Vec<CustomerRecord>,
    products: Vec<ProductRecord>,
    orders: Vec<OrderRecord>,
    checkouts: Vec<CheckoutRecord>,
    carts: Vec<CartRecord>,
    deleted: BTreeMap<&'static str, Vec<i64>>,
    /// Refunds with the event that carried each.
    refunds: Vec<(Uuid, RefundRecord)>,
    /// Uninstalls and privacy requests, applied one by one in arrival order.
    singles: Vec<(String, Change)>,
    /// Each record version written, with its event: after the writes, the versions the
    /// guards left unwritten tell which events changed nothing.
    versions: BTreeMap<&'static str, Vec<(Uuid, RecordVersion)>>,
}

/// The versions a batch writes, by resource.
fn by_resource<'a>(
    versions: &'a BTreeMap<&'static str, Vec<(Uuid, RecordVersion)>>,
) -> Vec<(Resource, &'a [(Uuid, RecordVersion)])> {
    [
        Resource::Customer,
        Resource::Product,
        Resource::Order,
        Resource::Checkout,
    ]
    .into_iter()
    .filter_map(|r| Some((r, versions.get(resource_key(r))?.as_slice())))
    .collect()
}

impl StoreBatch {
    fn wrote(&mut self, resource: Resource, event: Uuid, version: RecordVersion) {
        self.versions
            .entry(resource_key(resource))
            .or_default()
            .push((event, version));
    }
}

fn resource_key(resource: Resource) -> &'static str {
    match resource {
        Resource::Customer => "customer",
        Resource::Product => "product",
        Resource::Order => "order",
        Resource::Checkout => "checkout",
    }
}

/// A tenant's events mapped to changes, ready to write: the CPU half of applying, which can
/// run while another batch writes.
pub struct Prepared {
    stores: BTreeMap<Uuid, StoreBatch>,
    /// Events whose payload cannot become a change.
    failed: Vec<(Uuid, ApplyError)>,
    /// Events known to change nothing before anything is written.
    unchanged: HashMap<Uuid, Unchanged>,
    /// Events whose payload lacked a date its record needs.
    dated_on_receipt: HashSet<Uuid>,
}

/// What applying a tenant's events came to: those that failed (with why), and those
/// applied that changed nothing (with why); the rest changed data.
#[derive(Debug, Default)]
pub struct Applied {
    pub failed: Vec<(Uuid, ApplyError)>,
    pub unchanged: HashMap<Uuid, Unchanged>,
    /// Applied events whose records were dated when received (the payload had no date).
    pub dated_on_receipt: HashSet<Uuid>,
}

/// Maps a tenant's events to changes, grouped by store and kind.
pub fn prepare(events: &[ClaimedEvent]) -> Prepared {
    let mut failed = Vec::new();
    let mut unchanged = HashMap::new();
    let mut dated_on_receipt = HashSet::new();
    let mut stores: BTreeMap<Uuid, StoreBatch> = BTreeMap::new();
    for event in events {
        let Some(payload) = &event.payload else {
            failed.push((
                event.event_id,
                ApplyError::Payload(
                    "the body is not valid JSON (or is nested more than 128 deep, or holds \\u0000, which PostgreSQL cannot store)"
                        .to_owned(),
                ),
            ));
            continue;
        };
        if let Err(why) = bound_to_store(event, payload) {
            failed.push((event.event_id, ApplyError::Rejected(why)));
            continue;
        }
        let change = match change(&event.topic, payload, event.received_at) {
            Ok(mapped) => {
                if mapped.dated_on_receipt {
                    dated_on_receipt.insert(event.event_id);
                }
                mapped.change
            }
            Err(err) => {
                failed.push((event.event_id, ApplyError::Payload(err.to_string())));
                continue;
            }
        };
        let batch = stores.entry(event.store_id).or_default();
        batch.currency = event.store_currency.clone().unwrap_or_default();
        // An uninstalled or disconnected store takes no more data; privacy requests apply.
        let ingesting = matches!(event.store_status.as_str(), "active" | "needs_reauth");
        // Two versions within one second are ordered by when Shopify made them.
        let version_at = event.triggered_at;
        let id = event.event_id;
        match change {
            Change::Customer(mut c) if ingesting => {
                c.version_at = version_at;
                batch.wrote(
                    Resource::Customer,
                    id,
                    (c.customer_id, c.updated_at, version_at),
                );
                batch.customers.push(c);
            }
            Change::Product(mut p) if ingesting => {
                p.version_at = version_at;
                batch.wrote(
                    Resource::Product,
                    id,
                    (p.product_id, p.updated_at, version_at),
                );
                batch.products.push(p);
            }
            Change::Order(mut o) if ingesting => {
                o.version_at = version_at;
                batch.wrote(Resource::Order, id, (o.order_id, o.updated_at, version_at));
                batch.orders.push(*o);
            }
            Change::Checkout(mut c) if ingesting => {
                c.version_at = version_at;
                batch.wrote(
                    Resource::Checkout,
                    id,
                    (c.checkout_id, c.updated_at, version_at),
                );
                batch.checkouts.push(c);
            }
            Change::Cart(c) if ingesting => batch.carts.push(c),
            Change::Refund(r) if ingesting => batch.refunds.push((event.event_id, r)),
            Change::CustomerDeleted(id) if ingesting => batch
                .deleted
                .entry(resource_key(Resource::Customer))
                .or_default()
                .push(id),
            Change::ProductDeleted(id) if ingesting => batch
                .deleted
                .entry(resource_key(Resource::Product))
                .or_default()
                .push(id),
            Change::OrderDeleted(id) if ingesting => batch
                .deleted
                .entry(resource_key(Resource::Order))
                .or_default()
                .push(id),
            Change::CheckoutDeleted(id) if ingesting => batch
                .deleted
                .entry(resource_key(Resource::Checkout))
                .or_default()
                .push(id),
            single @ (Change::AppUninstalled
            | Change::CustomerRedact { .. }
            | Change::CustomerDataRequest { .. }
            | Change::ShopRedact) => batch.singles.push((event.topic.clone(), single)),
            Change::Ignored => {
                unchanged.insert(id, Unchanged::Ignored);
            }
            // Data for a store that no longer ingests.
            _ => {
                unchanged.insert(id, Unchanged::StoreInactive);
            }
        }
    }
    Prepared {
        stores,
        failed,
        unchanged,
        dated_on_receipt,
    }
}

/// What a payload says of its shop: the privacy topics name it (`shop_id`, `shop_domain`),
/// and `app/uninstalled` is the shop itself (`id`, `myshopify_domain`).
#[derive(Debug, Default, serde::Deserialize)]
struct NamedShop {
    shop_id: Option<i64>,
    shop_domain: Option<String>,
    id: Option<i64>,
    myshopify_domain: Option<String>,
}

/// Checks a delivery may act on the store it was routed to. Shopify signs the body only:
/// the shop header is anyone's to set, so a body signed for one shop of the app could be
/// aimed at another. Where the payload names its shop, it must be the routed store's; a
/// shop/redact acts only on a store already uninstalled (Shopify sends it 48 hours after);
/// an app/uninstalled older than the store's latest install is stale.
fn bound_to_store(event: &ClaimedEvent, payload: &str) -> Result<(), String> {
    let names_shop = matches!(
        event.topic.as_str(),
        "app/uninstalled" | "shop/redact" | "customers/redact" | "customers/data_request"
    );
    if !names_shop {
        return Ok(());
    }
    let named: NamedShop = serde_json::from_str(payload).unwrap_or_default();
    let (domain, id) = if event.topic == "app/uninstalled" {
        (named.myshopify_domain, named.id)
    } else {
        (named.shop_domain, named.shop_id)
    };
    let Some(domain) = domain else {
        return Err(format!("the {} payload names no shop", event.topic));
    };
    if !domain.eq_ignore_ascii_case(&event.store_domain) {
        return Err(format!(
            "the payload is for {domain}, but was delivered for {}",
            event.store_domain
        ));
    }
    if let (Some(id), Some(ours)) = (id, event.store_shop_id) {
        if id != ours {
            return Err(format!(
                "the payload is for shop {id}, but {} is shop {ours}",
                event.store_domain
            ));
        }
    }
    if event.topic == "shop/redact" && event.store_status != "uninstalled" {
        return Err(
            "shop/redact for a store still installed (Shopify sends it 48 hours after uninstall)"
                .to_owned(),
        );
    }
    let made = event.triggered_at.unwrap_or(event.received_at);
    if let (true, Some(installed)) = (event.topic == "app/uninstalled", event.store_installed_at) {
        if made < installed {
            return Err(format!(
                "app/uninstalled from {made}, before the store was last installed ({installed})"
            ));
        }
    }
    Ok(())
}

/// Writes a tenant's prepared changes on `conn` (tenant already set), in as few statements
/// as the batch allows. Returns the events that could not be applied and those that changed
/// nothing, each with why; the rest changed data. A database error fails the whole call
/// (the caller then retries event by event).
pub async fn apply(
    conn: &mut PgConnection,
    tenant: TenantId,
    prepared: Prepared,
) -> Result<Applied, StorageError> {
    let Prepared {
        stores,
        mut failed,
        mut unchanged,
        dated_on_receipt,
    } = prepared;
    for (store_id, mut batch) in stores {
        let store = StoreId(store_id);
        // Versions already stored as they are: writing them again changes nothing.
        let versions = std::mem::take(&mut batch.versions);
        let mut duplicates = HashMap::new();
        for (resource, written) in by_resource(&versions) {
            let versions: Vec<RecordVersion> = written.iter().map(|(_, v)| *v).collect();
            for at in records::already_stored(conn, tenant, store, resource, &versions).await? {
                if let Some((event, _)) = written.get(at) {
                    duplicates.insert(*event, Unchanged::Duplicate);
                }
            }
        }
        // Deletes first or last does not matter: a tombstone outranks every version.
        let upsert = tracing::info_span!(
            "upsert",
            tenant = %tenant,
            store = %store,
            customers = batch.customers.len(),
            products = batch.products.len(),
            orders = batch.orders.len(),
            checkouts = batch.checkouts.len(),
            carts = batch.carts.len()
        );
        tracing::Instrument::instrument(
            async {
                records::upsert_customers(conn, tenant, store, &batch.customers).await?;
                records::upsert_products(conn, tenant, store, &batch.currency, &batch.products)
                    .await?;
                records::upsert_orders(conn, tenant, store, &batch.orders).await?;
                records::upsert_checkouts(conn, tenant, store, &batch.checkouts).await?;
                records::upsert_carts(conn, tenant, store, &batch.carts).await
            },
            upsert,
        )
        .await?;
        for resource in [
            Resource::Customer,
            Resource::Product,
            Resource::Order,
            Resource::Checkout,
        ] {
            if let Some(ids) = batch.deleted.get(resource_key(resource)) {
                records::delete(conn, tenant, store, resource, ids).await?;
            }
        }
        if !batch.refunds.is_empty() {
            let order_ids: Vec<i64> = batch.refunds.iter().map(|(_, r)| r.order_id).collect();
            let orders = records::order_facts(conn, tenant, store, &order_ids).await?;
            let mut ready = Vec::new();
            for (event_id, refund) in batch.refunds {
                match orders.get(&refund.order_id) {
                    Some(order) => ready.push((order.clone(), refund)),
                    None => failed.push((event_id, ApplyError::MissingOrder(refund.order_id))),
                }
            }
            records::insert_refunds(conn, tenant, store, &ready).await?;
        }
        for (topic, single) in batch.singles {
            apply_single(conn, tenant, store, &topic, single).await?;
        }
        // Then what the guards left unwritten (a deletion or erasure outranks a duplicate).
        unchanged.extend(duplicates);
        for (resource, written) in by_resource(&versions) {
            let versions: Vec<RecordVersion> = written.iter().map(|(_, v)| *v).collect();
            for (at, why) in records::unchanged_by(conn, tenant, store, resource, &versions).await?
            {
                if let Some((event, _)) = written.get(at) {
                    unchanged.insert(*event, why);
                }
            }
        }
    }
    Ok(Applied {
        failed,
        unchanged,
        dated_on_receipt,
    })
}

async fn apply_single(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    topic: &str,
    change: Change,
) -> Result<(), StorageError> {
    match change {
        Change::AppUninstalled => mark_uninstalled(conn, tenant, store).await,
        Change::CustomerRedact {
            customer_id,
            email,
            orders,
        } => {
            records::redact_customer(conn, tenant, store, customer_id, email.as_deref(), &orders)
                .await?;
            let note = serde_json::json!({ "redacted": true });
            records::record_privacy_request(
                conn,
                tenant,
                store,
                topic,
                customer_id,
                None,
                &orders,
                &note,
            )
            .await
        }
        Change::CustomerDataRequest {
            customer_id,
            email,
            orders,
            payload,
        } => {
            records::record_privacy_request(
                conn,
                tenant,
                store,
                topic,
                customer_id,
                email.as_deref(),
                &orders,
                &payload,
            )
            .await
        }
        Change::ShopRedact => {
            records::redact_shop(conn, tenant, store).await?;
            let note = serde_json::json!({ "redacted": true });
            records::record_privacy_request(conn, tenant, store, topic, None, None, &[], &note)
                .await
        }
        _ => Ok(()),
    }
}
