//! The one upsert path per entity, shared by webhooks, backfill and sync.
//!
//! Order safety: a record whose `updated_at` is older than the stored one never overwrites
//! it, and a tombstone (a delete) is final. Each function runs on a connection inside a
//! tenant-scoped transaction.

use sqlx::{PgConnection, QueryBuilder};
use xeno_domain::ids::{StoreId, TenantId};
use xeno_domain::records::*;

use crate::StorageError;

/// Which table a tombstone speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Customer,
    Product,
    Order,
    Checkout,
}

impl Resource {
    fn name(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Product => "product",
            Self::Order => "order",
            Self::Checkout => "checkout",
        }
    }

    fn table_and_key(self) -> (&'static str, &'static str) {
        match self {
            Self::Customer => ("customers", "customer_id"),
            Self::Product => ("products", "product_id"),
            Self::Order => ("orders", "order_id"),
            Self::Checkout => ("checkouts", "checkout_id"),
        }
    }
}

const NOT_DELETED: &str =
    "NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.tenant_id = $1 AND t.store_id = $2 \
     AND t.resource = $3 AND t.resource_id = $4)";

/// Deletes a record for good: the row goes (children cascade) and a tombstone stays.
pub async fn delete(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    resource: Resource,
    id: i64,
) -> Result<(), StorageError> {
    let (table, key) = resource.table_and_key();
    sqlx::query(&format!(
        "DELETE FROM {table} WHERE tenant_id = $1 AND store_id = $2 AND {key} = $3"
    ))
    .bind(tenant.0)
    .bind(store.0)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO tombstones (tenant_id, store_id, resource, resource_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(resource.name())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const CUSTOMER_INSERT: &str = "INSERT INTO customers (tenant_id, store_id, customer_id, email, phone, first_name, \
     last_name, state, verified_email, tags, currency, email_marketing_state, default_address, created_at, updated_at) \
     SELECT $1, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 WHERE ";

fn bind_customer<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    tenant: TenantId,
    store: StoreId,
    c: &'q CustomerRecord,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(tenant.0)
        .bind(store.0)
        .bind(Resource::Customer.name())
        .bind(c.customer_id)
        .bind(&c.email)
        .bind(&c.phone)
        .bind(&c.first_name)
        .bind(&c.last_name)
        .bind(&c.state)
        .bind(c.verified_email)
        .bind(&c.tags)
        .bind(&c.currency)
        .bind(&c.email_marketing_state)
        .bind(&c.default_address)
        .bind(c.created_at)
        .bind(c.updated_at)
}

/// Inserts or updates a customer unless what is stored is newer or deleted. True if written.
pub async fn upsert_customer(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    customer: &CustomerRecord,
) -> Result<bool, StorageError> {
    let sql = format!(
        "{CUSTOMER_INSERT}{NOT_DELETED} \
         ON CONFLICT (tenant_id, store_id, customer_id) DO UPDATE SET \
             email = EXCLUDED.email, phone = EXCLUDED.phone, first_name = EXCLUDED.first_name, \
             last_name = EXCLUDED.last_name, state = EXCLUDED.state, verified_email = EXCLUDED.verified_email, \
             tags = EXCLUDED.tags, currency = EXCLUDED.currency, email_marketing_state = EXCLUDED.email_marketing_state, \
             default_address = EXCLUDED.default_address, created_at = EXCLUDED.created_at, \
             updated_at = EXCLUDED.updated_at, ingested_at = now() \
         WHERE customers.updated_at <= EXCLUDED.updated_at AND customers.redacted_at IS NULL"
    );
    let written = bind_customer(sqlx::query(&sql), tenant, store, customer)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(written > 0)
}

/// Inserts a customer known only from an embedded snapshot, never overwriting a full record.
pub async fn insert_customer_if_absent(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    customer: &CustomerRecord,
) -> Result<(), StorageError> {
    let sql = format!("{CUSTOMER_INSERT}{NOT_DELETED} ON CONFLICT DO NOTHING");
    bind_customer(sqlx::query(&sql), tenant, store, customer)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Inserts or updates a product and, when it was written, replaces its variants.
pub async fn upsert_product(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    currency: &str,
    product: &ProductRecord,
) -> Result<bool, StorageError> {
    let written = sqlx::query(&format!(
        "INSERT INTO products (tenant_id, store_id, product_id, title, handle, vendor, product_type, status, tags, \
             created_at, updated_at, published_at) \
         SELECT $1, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 WHERE {NOT_DELETED} \
         ON CONFLICT (tenant_id, store_id, product_id) DO UPDATE SET \
             title = EXCLUDED.title, handle = EXCLUDED.handle, vendor = EXCLUDED.vendor, \
             product_type = EXCLUDED.product_type, status = EXCLUDED.status, tags = EXCLUDED.tags, \
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
             published_at = EXCLUDED.published_at, ingested_at = now() \
         WHERE products.updated_at <= EXCLUDED.updated_at"
    ))
    .bind(tenant.0)
    .bind(store.0)
    .bind(Resource::Product.name())
    .bind(product.product_id)
    .bind(&product.title)
    .bind(&product.handle)
    .bind(&product.vendor)
    .bind(&product.product_type)
    .bind(&product.status)
    .bind(&product.tags)
    .bind(product.created_at)
    .bind(product.updated_at)
    .bind(product.published_at)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if !written {
        return Ok(false);
    }
    sqlx::query(
        "DELETE FROM product_variants WHERE tenant_id = $1 AND store_id = $2 AND product_id = $3",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(product.product_id)
    .execute(&mut *conn)
    .await?;
    if !product.variants.is_empty() {
        let mut insert = QueryBuilder::new(
            "INSERT INTO product_variants (tenant_id, store_id, variant_id, product_id, title, sku, price, \
             compare_at_price, currency, position, inventory_quantity, created_at, updated_at) ",
        );
        insert.push_values(&product.variants, |mut row, v| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(v.variant_id)
                .push_bind(product.product_id)
                .push_bind(&v.title)
                .push_bind(&v.sku)
                .push_bind(v.price)
                .push_bind(v.compare_at_price)
                .push_bind(currency)
                .push_bind(v.position)
                .push_bind(v.inventory_quantity)
                .push_bind(v.created_at)
                .push_bind(v.updated_at);
        });
        // A variant moved between products keeps its id: the newest product wins.
        insert.push(
            " ON CONFLICT (tenant_id, store_id, variant_id) DO UPDATE SET product_id = EXCLUDED.product_id, \
             title = EXCLUDED.title, sku = EXCLUDED.sku, price = EXCLUDED.price, \
             compare_at_price = EXCLUDED.compare_at_price, position = EXCLUDED.position, \
             inventory_quantity = EXCLUDED.inventory_quantity, updated_at = EXCLUDED.updated_at",
        );
        insert.build().execute(&mut *conn).await?;
    }
    Ok(true)
}

/// Inserts or updates an order and, when it was written, replaces its line items and adds
/// its refunds. The embedded customer is added if unknown.
pub async fn upsert_order(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    order: &OrderRecord,
) -> Result<bool, StorageError> {
    if let Some(customer) = &order.customer {
        insert_customer_if_absent(conn, tenant, store, customer).await?;
    }
    let customer_id = order.customer.as_ref().map(|c| c.customer_id);
    let written = sqlx::query(&format!(
        "INSERT INTO orders (tenant_id, store_id, order_id, name, order_number, email, customer_id, created_at, \
             updated_at, processed_at, cancelled_at, cancel_reason, closed_at, currency, presentment_currency, \
             total_price, subtotal_price, total_tax, total_discounts, total_line_items_price, total_shipping, \
             current_total_price, current_subtotal_price, current_total_tax, current_total_discounts, \
             financial_status, fulfillment_status, test, source_name, tags) \
         SELECT $1, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
             $23, $24, $25, $26, $27, $28, $29, $30, $31 WHERE {NOT_DELETED} \
         ON CONFLICT (tenant_id, store_id, order_id) DO UPDATE SET \
             name = EXCLUDED.name, order_number = EXCLUDED.order_number, email = EXCLUDED.email, \
             customer_id = EXCLUDED.customer_id, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
             processed_at = EXCLUDED.processed_at, cancelled_at = EXCLUDED.cancelled_at, \
             cancel_reason = EXCLUDED.cancel_reason, closed_at = EXCLUDED.closed_at, currency = EXCLUDED.currency, \
             presentment_currency = EXCLUDED.presentment_currency, total_price = EXCLUDED.total_price, \
             subtotal_price = EXCLUDED.subtotal_price, total_tax = EXCLUDED.total_tax, \
             total_discounts = EXCLUDED.total_discounts, total_line_items_price = EXCLUDED.total_line_items_price, \
             total_shipping = EXCLUDED.total_shipping, current_total_price = EXCLUDED.current_total_price, \
             current_subtotal_price = EXCLUDED.current_subtotal_price, current_total_tax = EXCLUDED.current_total_tax, \
             current_total_discounts = EXCLUDED.current_total_discounts, financial_status = EXCLUDED.financial_status, \
             fulfillment_status = EXCLUDED.fulfillment_status, test = EXCLUDED.test, \
             source_name = EXCLUDED.source_name, tags = EXCLUDED.tags, ingested_at = now() \
         WHERE orders.updated_at <= EXCLUDED.updated_at"
    ))
    .bind(tenant.0)
    .bind(store.0)
    .bind(Resource::Order.name())
    .bind(order.order_id)
    .bind(&order.name)
    .bind(order.order_number)
    .bind(&order.email)
    .bind(customer_id)
    .bind(order.created_at)
    .bind(order.updated_at)
    .bind(order.processed_at)
    .bind(order.cancelled_at)
    .bind(&order.cancel_reason)
    .bind(order.closed_at)
    .bind(&order.currency)
    .bind(&order.presentment_currency)
    .bind(order.total_price)
    .bind(order.subtotal_price)
    .bind(order.total_tax)
    .bind(order.total_discounts)
    .bind(order.total_line_items_price)
    .bind(order.total_shipping)
    .bind(order.current_total_price)
    .bind(order.current_subtotal_price)
    .bind(order.current_total_tax)
    .bind(order.current_total_discounts)
    .bind(&order.financial_status)
    .bind(&order.fulfillment_status)
    .bind(order.test)
    .bind(&order.source_name)
    .bind(&order.tags)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if !written {
        return Ok(false);
    }
    sqlx::query(
        "DELETE FROM order_line_items WHERE tenant_id = $1 AND store_id = $2 AND order_id = $3",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(order.order_id)
    .execute(&mut *conn)
    .await?;
    if !order.line_items.is_empty() {
        let mut insert = QueryBuilder::new(
            "INSERT INTO order_line_items (tenant_id, store_id, line_item_id, order_id, product_id, variant_id, \
             title, variant_title, sku, vendor, quantity, current_quantity, price, total_discount, currency, \
             gift_card, taxable) ",
        );
        insert.push_values(&order.line_items, |mut row, l| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(l.line_item_id)
                .push_bind(order.order_id)
                .push_bind(l.product_id)
                .push_bind(l.variant_id)
                .push_bind(&l.title)
                .push_bind(&l.variant_title)
                .push_bind(&l.sku)
                .push_bind(&l.vendor)
                .push_bind(l.quantity)
                .push_bind(l.current_quantity)
                .push_bind(l.price)
                .push_bind(l.total_discount)
                .push_bind(&order.currency)
                .push_bind(l.gift_card)
                .push_bind(l.taxable);
        });
        insert.build().execute(&mut *conn).await?;
    }
    for refund in &order.refunds {
        insert_refund(conn, tenant, store, &order.currency, refund).await?;
    }
    Ok(true)
}

/// Adds a refund and its lines. Refunds never change, so a known refund is left alone.
/// The order must exist (a refund that arrives first is retried after it).
pub async fn insert_refund(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    currency: &str,
    refund: &RefundRecord,
) -> Result<bool, StorageError> {
    let inserted = sqlx::query(
        "INSERT INTO refunds (tenant_id, store_id, refund_id, order_id, created_at, processed_at, amount, currency, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(refund.refund_id)
    .bind(refund.order_id)
    .bind(refund.created_at)
    .bind(refund.processed_at)
    .bind(refund.amount)
    .bind(currency)
    .bind(&refund.note)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if inserted && !refund.lines.is_empty() {
        let mut insert = QueryBuilder::new(
            "INSERT INTO refund_line_items (tenant_id, store_id, refund_id, line_item_id, quantity, subtotal, \
             total_tax, currency) ",
        );
        insert.push_values(&refund.lines, |mut row, l| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(refund.refund_id)
                .push_bind(l.line_item_id)
                .push_bind(l.quantity)
                .push_bind(l.subtotal)
                .push_bind(l.total_tax)
                .push_bind(currency);
        });
        insert.push(" ON CONFLICT DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(inserted)
}

/// The currency of an order already stored (refund webhooks do not repeat it).
pub async fn order_currency(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    order_id: i64,
) -> Result<Option<String>, StorageError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT currency::text FROM orders WHERE tenant_id = $1 AND store_id = $2 AND order_id = $3",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(c,)| c))
}

pub async fn upsert_checkout(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    checkout: &CheckoutRecord,
) -> Result<bool, StorageError> {
    let written = sqlx::query(&format!(
        "INSERT INTO checkouts (tenant_id, store_id, checkout_id, token, cart_token, email, customer_id, created_at, \
             updated_at, completed_at, currency, total_price, subtotal_price, line_items, abandoned_checkout_url) \
         SELECT $1, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 WHERE {NOT_DELETED} \
         ON CONFLICT (tenant_id, store_id, checkout_id) DO UPDATE SET \
             token = EXCLUDED.token, cart_token = EXCLUDED.cart_token, email = EXCLUDED.email, \
             customer_id = EXCLUDED.customer_id, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
             completed_at = EXCLUDED.completed_at, currency = EXCLUDED.currency, total_price = EXCLUDED.total_price, \
             subtotal_price = EXCLUDED.subtotal_price, line_items = EXCLUDED.line_items, \
             abandoned_checkout_url = EXCLUDED.abandoned_checkout_url, ingested_at = now() \
         WHERE checkouts.updated_at <= EXCLUDED.updated_at"
    ))
    .bind(tenant.0)
    .bind(store.0)
    .bind(Resource::Checkout.name())
    .bind(checkout.checkout_id)
    .bind(&checkout.token)
    .bind(&checkout.cart_token)
    .bind(&checkout.email)
    .bind(checkout.customer_id)
    .bind(checkout.created_at)
    .bind(checkout.updated_at)
    .bind(checkout.completed_at)
    .bind(&checkout.currency)
    .bind(checkout.total_price)
    .bind(checkout.subtotal_price)
    .bind(&checkout.line_items)
    .bind(&checkout.abandoned_checkout_url)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(written > 0)
}

pub async fn upsert_cart(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    cart: &CartRecord,
) -> Result<bool, StorageError> {
    let written = sqlx::query(
        "INSERT INTO carts (tenant_id, store_id, cart_token, line_items, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, store_id, cart_token) DO UPDATE SET line_items = EXCLUDED.line_items, \
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, ingested_at = now() \
         WHERE carts.updated_at <= EXCLUDED.updated_at",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(&cart.cart_token)
    .bind(&cart.line_items)
    .bind(cart.created_at)
    .bind(cart.updated_at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(written > 0)
}

/// `customers/redact`: erases the customer's personal data everywhere; order totals stay,
/// anonymous, so the shop's figures do not change.
pub async fn redact_customer(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    customer_id: Option<i64>,
    email: Option<&str>,
    order_ids: &[i64],
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE customers SET email = NULL, phone = NULL, first_name = NULL, last_name = NULL, \
             default_address = NULL, tags = '{}', redacted_at = now() \
         WHERE tenant_id = $1 AND store_id = $2 AND customer_id = $3",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE orders SET email = NULL \
         WHERE tenant_id = $1 AND store_id = $2 AND (customer_id = $3 OR order_id = ANY($4) \
             OR ($5::text IS NOT NULL AND lower(email) = lower($5)))",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(customer_id)
    .bind(order_ids)
    .bind(email)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE checkouts SET email = NULL, abandoned_checkout_url = NULL \
         WHERE tenant_id = $1 AND store_id = $2 AND (customer_id = $3 \
             OR ($4::text IS NOT NULL AND lower(email) = lower($4)))",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(customer_id)
    .bind(email)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `shop/redact`: erases the store's data.
pub async fn redact_shop(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
) -> Result<(), StorageError> {
    for table in [
        "refund_line_items",
        "refunds",
        "order_line_items",
        "orders",
        "product_variants",
        "products",
        "customers",
        "checkouts",
        "carts",
        "tombstones",
        "sync_state",
    ] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND store_id = $2"
        ))
        .bind(tenant.0)
        .bind(store.0)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records a privacy request so the merchant can act on it.
#[allow(clippy::too_many_arguments)]
pub async fn record_privacy_request(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    topic: &str,
    customer_id: Option<i64>,
    email: Option<&str>,
    order_ids: &[i64],
    payload: &serde_json::Value,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO privacy_requests (tenant_id, store_id, request_id, topic, customer_id, email, order_ids, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(uuid::Uuid::now_v7())
    .bind(topic)
    .bind(customer_id)
    .bind(email)
    .bind(order_ids)
    .bind(payload)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
