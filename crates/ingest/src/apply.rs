//! Applying one webhook event: the payload becomes a change, the change goes through the
//! one upsert path per entity.

use sqlx::PgConnection;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_shopify::payload::{change, Change};
use xeno_storage::events::{mark_uninstalled, ClaimedEvent};
use xeno_storage::records::{self, Resource};
use xeno_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The body is not JSON or not the shape its topic promises: retrying will not help.
    #[error("{0}")]
    Payload(String),
    /// A database error or a missing parent: worth retrying.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The order a refund belongs to has not arrived yet.
    #[error("order {0} is not here yet")]
    MissingOrder(i64),
}

impl ApplyError {
    /// Whether another attempt could succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Payload(_))
    }
}

/// Applies `event` on `conn` (inside the worker's transaction, tenant already set).
pub async fn apply_event(
    conn: &mut PgConnection,
    tenant: TenantId,
    event: &ClaimedEvent,
) -> Result<(), ApplyError> {
    let store = StoreId(event.store_id);
    let Some(payload) = &event.payload else {
        return Err(ApplyError::Payload("the body is not valid JSON".to_owned()));
    };
    let change = change(&event.topic, payload, event.received_at)
        .map_err(|err| ApplyError::Payload(err.to_string()))?;
    // An uninstalled or disconnected store takes no more data; privacy requests still apply.
    let ingesting = matches!(event.store_status.as_str(), "active" | "needs_reauth");
    let currency = event.store_currency.clone().unwrap_or_default();
    match change {
        Change::Customer(c) if ingesting => {
            records::upsert_customer(conn, tenant, store, &c).await?;
        }
        Change::CustomerDeleted(id) if ingesting => {
            records::delete(conn, tenant, store, Resource::Customer, id).await?
        }
        Change::Product(p) if ingesting => {
            records::upsert_product(conn, tenant, store, &currency, &p).await?;
        }
        Change::ProductDeleted(id) if ingesting => {
            records::delete(conn, tenant, store, Resource::Product, id).await?
        }
        Change::Order(o) if ingesting => {
            records::upsert_order(conn, tenant, store, &o).await?;
        }
        Change::OrderDeleted(id) if ingesting => {
            records::delete(conn, tenant, store, Resource::Order, id).await?
        }
        Change::Refund(r) if ingesting => {
            let Some(currency) = records::order_currency(conn, tenant, store, r.order_id).await?
            else {
                return Err(ApplyError::MissingOrder(r.order_id));
            };
            records::insert_refund(conn, tenant, store, &currency, &r).await?;
        }
        Change::Checkout(c) if ingesting => {
            records::upsert_checkout(conn, tenant, store, &c).await?;
        }
        Change::CheckoutDeleted(id) if ingesting => {
            records::delete(conn, tenant, store, Resource::Checkout, id).await?
        }
        Change::Cart(c) if ingesting => {
            records::upsert_cart(conn, tenant, store, &c).await?;
        }
        Change::AppUninstalled => mark_uninstalled(conn, tenant, store).await?,
        Change::CustomerRedact {
            customer_id,
            email,
            orders,
        } => {
            records::redact_customer(conn, tenant, store, customer_id, email.as_deref(), &orders)
                .await?;
            records::record_privacy_request(
                conn,
                tenant,
                store,
                &event.topic,
                customer_id,
                None,
                &orders,
                &serde_json::json!({ "redacted": true }),
            )
            .await?;
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
                &event.topic,
                customer_id,
                email.as_deref(),
                &orders,
                &payload,
            )
            .await?;
        }
        Change::ShopRedact => {
            records::redact_shop(conn, tenant, store).await?;
            records::record_privacy_request(
                conn,
                tenant,
                store,
                &event.topic,
                None,
                None,
                &[],
                &serde_json::json!({ "redacted": true }),
            )
            .await?;
        }
        // Ignored topics, and data for a store that no longer ingests.
        _ => {}
    }
    Ok(())
}
