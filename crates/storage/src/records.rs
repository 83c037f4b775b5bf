//! The one upsert path per entity, shared by webhooks, backfill and sync.
//!
//! Order safety: a record whose `updated_at` is older than the stored one never overwrites
//! it, and a tombstone (a delete) is final. Each function runs on a connection inside a
//! tenant-scoped transaction.

use sqlx::{PgConnection, QueryBuilder};
use xeno_domain::ids::{StoreId, TenantId};
use xeno_domain::records::*;
use xeno_domain::sales::OrderSales;

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
    pub fn name(self) -> &'static str {
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

/// Rows per statement: PostgreSQL takes at most 65,535 parameters, and orders have 30 columns.
const CHUNK: usize = 1000;

/// The newest version of each record in a batch (a batch may hold several versions).
fn newest<T: Clone, K: Ord + Copy, V: Ord>(
    records: &[T],
    key: impl Fn(&T) -> K,
    version: impl Fn(&T) -> V,
) -> Vec<T> {
    let mut by_key: std::collections::BTreeMap<K, &T> = std::collections::BTreeMap::new();
    for record in records {
        let entry = by_key.entry(key(record)).or_insert(record);
        if version(record) >= version(entry) {
            *entry = record;
        }
    }
    by_key.into_values().cloned().collect()
}

/// `INSERT INTO {table} ({columns}) SELECT v.* FROM (VALUES …) v ({columns}) WHERE {not deleted}`:
/// the start of a guarded multi-row upsert.
fn guarded_insert<'a>(
    table: &str,
    columns: &str,
    resource: Resource,
    key: &str,
) -> (QueryBuilder<'a, sqlx::Postgres>, String) {
    let head = QueryBuilder::new(format!("INSERT INTO {table} ({columns}) SELECT v.* FROM ("));
    let tail = format!(
        ") AS v ({columns}) WHERE NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.tenant_id = v.tenant_id \
         AND t.store_id = v.store_id AND t.resource = '{}' AND t.resource_id = v.{key})",
        resource.name()
    );
    (head, tail)
}

/// Deletes records for good: the rows go (children cascade) and tombstones stay.
pub async fn delete(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    resource: Resource,
    ids: &[i64],
) -> Result<(), StorageError> {
    if ids.is_empty() {
        return Ok(());
    }
    let (table, key) = resource.table_and_key();
    if resource == Resource::Order {
        // Line items have no foreign key to cascade through (see the migrations).
        delete_line_items(conn, tenant, store, ids).await?;
    }
    sqlx::query(&format!(
        "DELETE FROM {table} WHERE tenant_id = $1 AND store_id = $2 AND {key} = ANY($3)"
    ))
    .bind(tenant.0)
    .bind(store.0)
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO tombstones (tenant_id, store_id, resource, resource_id) \
         SELECT $1, $2, $3, unnest($4::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(resource.name())
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ids of stored records not updated since `before`, written here before `ingested_before`
/// (and, when given, created at or after `created_since`): the candidates a complete export
/// must account for.
pub async fn ids_unchanged_since(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    resource: Resource,
    before: chrono::DateTime<chrono::Utc>,
    ingested_before: chrono::DateTime<chrono::Utc>,
    created_since: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<i64>, StorageError> {
    let (table, key) = resource.table_and_key();
    Ok(sqlx::query_scalar(&format!(
        "SELECT {key} FROM {table} WHERE tenant_id = $1 AND store_id = $2 AND updated_at < $3 \
         AND ingested_at < $4 AND ($5::timestamptz IS NULL OR created_at >= $5)"
    ))
    .bind(tenant.0)
    .bind(store.0)
    .bind(before)
    .bind(ingested_before)
    .bind(created_since)
    .fetch_all(conn)
    .await?)
}

/// How many records of `resource` the store has.
pub async fn count(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    resource: Resource,
) -> Result<i64, StorageError> {
    let (table, _) = resource.table_and_key();
    Ok(sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {table} WHERE tenant_id = $1 AND store_id = $2"
    ))
    .bind(tenant.0)
    .bind(store.0)
    .fetch_one(conn)
    .await?)
}

const CUSTOMER_COLUMNS: &str = "tenant_id, store_id, customer_id, email, phone, first_name, last_name, state, \
     verified_email, tags, currency, email_marketing_state, default_address, created_at, updated_at, version_at";

async fn write_customers(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    customers: &[CustomerRecord],
    overwrite: bool,
) -> Result<(), StorageError> {
    let customers = newest(
        customers,
        |c| c.customer_id,
        |c| version(c.updated_at, c.version_at),
    );
    for chunk in customers.chunks(CHUNK) {
        let (mut insert, tail) = guarded_insert(
            "customers",
            CUSTOMER_COLUMNS,
            Resource::Customer,
            "customer_id",
        );
        insert.push_values(chunk, |mut row, c| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(c.customer_id)
                .push_bind(&c.email)
                .push_bind(&c.phone)
                .push_bind(&c.first_name)
                .push_bind(&c.last_name)
                .push_bind(&c.state)
                .push_bind(c.verified_email)
                .push_bind(&c.tags)
                .push_bind(&c.currency)
                .push_bind(&c.email_marketing_state)
                .push_bind(&c.default_address)
                .push_bind(c.created_at)
                .push_bind(c.updated_at)
                .push_bind(c.version_at);
        });
        insert.push(&tail);
        if overwrite {
            insert.push(
                " ON CONFLICT (tenant_id, store_id, customer_id) DO UPDATE SET \
                 email = EXCLUDED.email, phone = EXCLUDED.phone, first_name = EXCLUDED.first_name, \
                 last_name = EXCLUDED.last_name, state = EXCLUDED.state, verified_email = EXCLUDED.verified_email, \
                 tags = EXCLUDED.tags, currency = EXCLUDED.currency, email_marketing_state = EXCLUDED.email_marketing_state, \
                 default_address = EXCLUDED.default_address, created_at = EXCLUDED.created_at, \
                 updated_at = EXCLUDED.updated_at, version_at = EXCLUDED.version_at, ingested_at = now() \
                 WHERE (customers.updated_at, COALESCE(customers.version_at, '-infinity')) \
                     <= (EXCLUDED.updated_at, COALESCE(EXCLUDED.version_at, '-infinity')) \
                 AND customers.redacted_at IS NULL",
            );
        } else {
            insert.push(" ON CONFLICT DO NOTHING");
        }
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inserts or updates customers unless what is stored is newer, deleted or redacted.
pub async fn upsert_customers(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    customers: &[CustomerRecord],
) -> Result<(), StorageError> {
    write_customers(conn, tenant, store, customers, true).await
}

/// Inserts customers known only from embedded snapshots, never overwriting a full record.
pub async fn insert_customers_if_absent(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    customers: &[CustomerRecord],
) -> Result<(), StorageError> {
    write_customers(conn, tenant, store, customers, false).await
}

/// Runs a guarded upsert and returns the keys it wrote.
async fn written_keys(
    conn: &mut PgConnection,
    mut query: QueryBuilder<'_, sqlx::Postgres>,
) -> Result<Vec<i64>, StorageError> {
    Ok(query
        .build_query_scalar::<i64>()
        .fetch_all(&mut *conn)
        .await?)
}

const PRODUCT_COLUMNS: &str =
    "tenant_id, store_id, product_id, title, handle, vendor, product_type, status, tags, \
     created_at, updated_at, published_at, version_at";

/// Inserts or updates products and, for those written, replaces their variants.
pub async fn upsert_products(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    currency: &str,
    products: &[ProductRecord],
) -> Result<(), StorageError> {
    let products = newest(
        products,
        |p| p.product_id,
        |p| version(p.updated_at, p.version_at),
    );
    for chunk in products.chunks(CHUNK) {
        let (mut insert, tail) =
            guarded_insert("products", PRODUCT_COLUMNS, Resource::Product, "product_id");
        insert.push_values(chunk, |mut row, p| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(p.product_id)
                .push_bind(&p.title)
                .push_bind(&p.handle)
                .push_bind(&p.vendor)
                .push_bind(&p.product_type)
                .push_bind(&p.status)
                .push_bind(&p.tags)
                .push_bind(p.created_at)
                .push_bind(p.updated_at)
                .push_bind(p.published_at)
                .push_bind(p.version_at);
        });
        insert.push(&tail);
        insert.push(
            " ON CONFLICT (tenant_id, store_id, product_id) DO UPDATE SET \
             title = EXCLUDED.title, handle = EXCLUDED.handle, vendor = EXCLUDED.vendor, \
             product_type = EXCLUDED.product_type, status = EXCLUDED.status, tags = EXCLUDED.tags, \
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
             published_at = EXCLUDED.published_at, version_at = EXCLUDED.version_at, ingested_at = now() \
             WHERE (products.updated_at, COALESCE(products.version_at, '-infinity')) \
                 <= (EXCLUDED.updated_at, COALESCE(EXCLUDED.version_at, '-infinity')) \
             RETURNING product_id",
        );
        let written = written_keys(conn, insert).await?;
        if written.is_empty() {
            continue;
        }
        sqlx::query("DELETE FROM product_variants WHERE tenant_id = $1 AND store_id = $2 AND product_id = ANY($3)")
            .bind(tenant.0)
            .bind(store.0)
            .bind(&written)
            .execute(&mut *conn)
            .await?;
        let variants: Vec<(i64, &VariantRecord)> = chunk
            .iter()
            .filter(|p| written.contains(&p.product_id))
            .flat_map(|p| p.variants.iter().map(move |v| (p.product_id, v)))
            .collect();
        for variants in variants.chunks(CHUNK) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO product_variants (tenant_id, store_id, variant_id, product_id, title, sku, price, \
                 compare_at_price, currency, position, inventory_quantity, created_at, updated_at) ",
            );
            insert.push_values(variants, |mut row, (product_id, v)| {
                row.push_bind(tenant.0)
                    .push_bind(store.0)
                    .push_bind(v.variant_id)
                    .push_bind(*product_id)
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
    }
    Ok(())
}

/// Joins a record's tags for binding as one array element per record (PostgreSQL cannot
/// unnest an array of arrays); SQL splits them again. Tags never hold control characters.
const TAG_SEPARATOR: &str = "\u{1f}";

fn joined_tags(tags: &[String]) -> String {
    tags.join(TAG_SEPARATOR)
}

/// Inserts or updates orders; for those written, replaces their line items and adds their
/// refunds. Embedded customers are added if unknown. Both statements bind one array per
/// column, so their text never changes and PostgreSQL plans them once per connection.
pub async fn upsert_orders(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    orders: &[OrderRecord],
) -> Result<(), StorageError> {
    let embedded: Vec<CustomerRecord> = orders.iter().filter_map(|o| o.customer.clone()).collect();
    insert_customers_if_absent(conn, tenant, store, &embedded).await?;
    let orders = newest(
        orders,
        |o| o.order_id,
        |o| version(o.updated_at, o.version_at),
    );
    for chunk in orders.chunks(CHUNK) {
        let sales: Vec<OrderSales> = chunk.iter().map(OrderSales::of).collect();
        let written: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO orders (tenant_id, store_id, order_id, name, order_number, email, customer_id, \
                 created_at, updated_at, processed_at, cancelled_at, cancel_reason, closed_at, currency, \
                 presentment_currency, total_price, subtotal_price, total_tax, total_discounts, \
                 total_line_items_price, total_shipping, current_total_price, current_subtotal_price, \
                 current_total_tax, current_total_discounts, financial_status, fulfillment_status, test, \
                 source_name, tags, units, gross_sales, line_discounts, cancelled_returns, \
                 cancelled_shipping, cancelled_taxes, version_at) \
             SELECT $1, $2, v.order_id, v.name, v.order_number, v.email, v.customer_id, v.created_at, \
                 v.updated_at, v.processed_at, v.cancelled_at, v.cancel_reason, v.closed_at, v.currency, \
                 v.presentment_currency, v.total_price, v.subtotal_price, v.total_tax, v.total_discounts, \
                 v.total_line_items_price, v.total_shipping, v.current_total_price, v.current_subtotal_price, \
                 v.current_total_tax, v.current_total_discounts, v.financial_status, v.fulfillment_status, \
                 v.test, v.source_name, string_to_array(v.tags, chr(31)), v.units, v.gross_sales, \
                 v.line_discounts, v.cancelled_returns, v.cancelled_shipping, v.cancelled_taxes, v.version_at \
             FROM UNNEST($3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], \
                 $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::text[], \
                 $13::timestamptz[], $14::text[], $15::text[], $16::numeric[], $17::numeric[], \
                 $18::numeric[], $19::numeric[], $20::numeric[], $21::numeric[], $22::numeric[], \
                 $23::numeric[], $24::numeric[], $25::numeric[], $26::text[], $27::text[], $28::boolean[], \
                 $29::text[], $30::text[], $31::integer[], $32::numeric[], $33::numeric[], \
                 $34::numeric[], $35::numeric[], $36::numeric[], $37::timestamptz[]) \
                 AS v (order_id, name, order_number, email, customer_id, created_at, updated_at, \
                       processed_at, cancelled_at, cancel_reason, closed_at, currency, presentment_currency, \
                       total_price, subtotal_price, total_tax, total_discounts, total_line_items_price, \
                       total_shipping, current_total_price, current_subtotal_price, current_total_tax, \
                       current_total_discounts, financial_status, fulfillment_status, test, source_name, \
                       tags, units, gross_sales, line_discounts, cancelled_returns, cancelled_shipping, \
                       cancelled_taxes, version_at) \
             WHERE NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.tenant_id = $1 AND t.store_id = $2 \
                 AND t.resource = 'order' AND t.resource_id = v.order_id) \
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
             source_name = EXCLUDED.source_name, tags = EXCLUDED.tags, units = EXCLUDED.units, \
             gross_sales = EXCLUDED.gross_sales, line_discounts = EXCLUDED.line_discounts, \
             cancelled_returns = EXCLUDED.cancelled_returns, cancelled_shipping = EXCLUDED.cancelled_shipping, \
             cancelled_taxes = EXCLUDED.cancelled_taxes, version_at = EXCLUDED.version_at, ingested_at = now() \
             WHERE (orders.updated_at, COALESCE(orders.version_at, '-infinity')) \
                 <= (EXCLUDED.updated_at, COALESCE(EXCLUDED.version_at, '-infinity')) \
             RETURNING order_id",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(chunk.iter().map(|o| o.order_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.name.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.order_number).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.email.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.customer.as_ref().map(|c| c.customer_id)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.created_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.updated_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.processed_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.cancelled_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.cancel_reason.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.closed_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.currency.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.presentment_currency.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.subtotal_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_tax).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_discounts).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_line_items_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_shipping).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.current_total_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.current_subtotal_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.current_total_tax).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.current_total_discounts).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.financial_status.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.fulfillment_status.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.test).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.source_name.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| joined_tags(&o.tags)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.line_items.iter().map(|l| l.quantity).sum::<i32>()).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.gross).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.discounts).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.cancelled_returns).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.cancelled_shipping).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.cancelled_taxes).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.version_at).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?;
        if written.is_empty() {
            continue;
        }
        delete_line_items(conn, tenant, store, &written).await?;
        let fresh: Vec<&OrderRecord> = chunk
            .iter()
            .filter(|o| written.contains(&o.order_id))
            .collect();
        let lines: Vec<(&OrderRecord, &LineItemRecord)> = fresh
            .iter()
            .flat_map(|o| o.line_items.iter().map(move |l| (*o, l)))
            .collect();
        insert_line_items(conn, tenant, store, &lines).await?;
        let refunds: Vec<(OrderFacts, RefundRecord)> = fresh
            .iter()
            .flat_map(|o| {
                let facts = OrderFacts {
                    currency: o.currency.clone(),
                    test: o.test,
                };
                o.refunds.iter().map(move |r| (facts.clone(), r.clone()))
            })
            .collect();
        insert_refunds(conn, tenant, store, &refunds).await?;
    }
    Ok(())
}

/// What a refund takes from its order: its currency, and whether the order is a test
/// (refunds of test orders are not returns in the reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub currency: String,
    pub test: bool,
}

/// Removes the line items of these orders.
async fn delete_line_items(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    order_ids: &[i64],
) -> Result<(), StorageError> {
    sqlx::query(
        "DELETE FROM order_line_items WHERE tenant_id = $1 AND store_id = $2 AND order_id = ANY($3)",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(order_ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts line items (of orders just written, whose old lines are gone), binding one array
/// per column like the orders themselves.
async fn insert_line_items(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    lines: &[(&OrderRecord, &LineItemRecord)],
) -> Result<(), StorageError> {
    if lines.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO order_line_items (tenant_id, store_id, line_item_id, order_id, product_id, variant_id, \
             title, variant_title, sku, vendor, quantity, current_quantity, price, total_discount, currency, \
             gift_card, taxable, discount) \
         SELECT $1, $2, v.* FROM UNNEST($3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::integer[], $12::integer[], $13::numeric[], \
             $14::numeric[], $15::text[], $16::boolean[], $17::boolean[], $18::numeric[]) AS v",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(lines.iter().map(|(_, l)| l.line_item_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|(o, _)| o.order_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.product_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.variant_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.title.as_str()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.variant_title.as_deref()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.sku.as_deref()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.vendor.as_deref()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.quantity).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.current_quantity).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.price).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.total_discount).collect::<Vec<_>>())
    .bind(lines.iter().map(|(o, _)| o.currency.as_str()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.gift_card).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.taxable).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.discount).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds refunds and their lines. Refunds never change, so known ones are left alone.
/// Their orders must exist.
pub async fn insert_refunds(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    refunds: &[(OrderFacts, RefundRecord)],
) -> Result<(), StorageError> {
    for chunk in refunds.chunks(CHUNK) {
        let mut insert = QueryBuilder::new(
            "INSERT INTO refunds (tenant_id, store_id, refund_id, order_id, created_at, processed_at, amount, \
             currency, note, line_subtotal, line_tax, test_order, shipping, shipping_tax) ",
        );
        insert.push_values(chunk, |mut row, (order, r)| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(r.refund_id)
                .push_bind(r.order_id)
                .push_bind(r.created_at)
                .push_bind(r.processed_at)
                .push_bind(r.amount)
                .push_bind(&order.currency)
                .push_bind(&r.note)
                .push_bind(
                    r.lines
                        .iter()
                        .map(|l| l.subtotal)
                        .sum::<rust_decimal::Decimal>(),
                )
                .push_bind(
                    r.lines
                        .iter()
                        .map(|l| l.total_tax)
                        .sum::<rust_decimal::Decimal>(),
                )
                .push_bind(order.test)
                .push_bind(r.shipping)
                .push_bind(r.shipping_tax);
        });
        insert.push(" ON CONFLICT DO NOTHING RETURNING refund_id");
        let inserted = written_keys(conn, insert).await?;
        let lines: Vec<(&String, &RefundRecord, &RefundLineRecord)> = chunk
            .iter()
            .filter(|(_, r)| inserted.contains(&r.refund_id))
            .flat_map(|(o, r)| r.lines.iter().map(move |l| (&o.currency, r, l)))
            .collect();
        for lines in lines.chunks(CHUNK) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO refund_line_items (tenant_id, store_id, refund_id, line_item_id, quantity, subtotal, \
                 total_tax, currency) ",
            );
            insert.push_values(lines, |mut row, (currency, r, l)| {
                row.push_bind(tenant.0)
                    .push_bind(store.0)
                    .push_bind(r.refund_id)
                    .push_bind(l.line_item_id)
                    .push_bind(l.quantity)
                    .push_bind(l.subtotal)
                    .push_bind(l.total_tax)
                    .push_bind(*currency);
            });
            insert.push(" ON CONFLICT DO NOTHING");
            insert.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// What refunds need from the given orders, for those that are stored (refund webhooks do
/// not repeat it).
pub async fn order_facts(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    order_ids: &[i64],
) -> Result<std::collections::HashMap<i64, OrderFacts>, StorageError> {
    let rows: Vec<(i64, String, bool)> = sqlx::query_as(
        "SELECT order_id, currency::text, test FROM orders WHERE tenant_id = $1 AND store_id = $2 AND order_id = ANY($3)",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(order_ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, currency, test)| (id, OrderFacts { currency, test }))
        .collect())
}

const CHECKOUT_COLUMNS: &str = "tenant_id, store_id, checkout_id, token, cart_token, email, customer_id, created_at, \
     updated_at, completed_at, currency, total_price, subtotal_price, line_items, abandoned_checkout_url, version_at";

pub async fn upsert_checkouts(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    checkouts: &[CheckoutRecord],
) -> Result<(), StorageError> {
    let checkouts = newest(
        checkouts,
        |c| c.checkout_id,
        |c| version(c.updated_at, c.version_at),
    );
    for chunk in checkouts.chunks(CHUNK) {
        let (mut insert, tail) = guarded_insert(
            "checkouts",
            CHECKOUT_COLUMNS,
            Resource::Checkout,
            "checkout_id",
        );
        insert.push_values(chunk, |mut row, c| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(c.checkout_id)
                .push_bind(&c.token)
                .push_bind(&c.cart_token)
                .push_bind(&c.email)
                .push_bind(c.customer_id)
                .push_bind(c.created_at)
                .push_bind(c.updated_at)
                .push_bind(c.completed_at)
                .push_bind(&c.currency)
                .push_bind(c.total_price)
                .push_bind(c.subtotal_price)
                .push_bind(&c.line_items)
                .push_bind(&c.abandoned_checkout_url)
                .push_bind(c.version_at);
        });
        insert.push(&tail);
        insert.push(
            " ON CONFLICT (tenant_id, store_id, checkout_id) DO UPDATE SET \
             token = EXCLUDED.token, cart_token = EXCLUDED.cart_token, email = EXCLUDED.email, \
             customer_id = EXCLUDED.customer_id, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
             completed_at = EXCLUDED.completed_at, currency = EXCLUDED.currency, total_price = EXCLUDED.total_price, \
             subtotal_price = EXCLUDED.subtotal_price, line_items = EXCLUDED.line_items, \
             abandoned_checkout_url = EXCLUDED.abandoned_checkout_url, version_at = EXCLUDED.version_at, \
             ingested_at = now() \
             WHERE (checkouts.updated_at, COALESCE(checkouts.version_at, '-infinity')) \
                 <= (EXCLUDED.updated_at, COALESCE(EXCLUDED.version_at, '-infinity'))",
        );
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn upsert_carts(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    carts: &[CartRecord],
) -> Result<(), StorageError> {
    let mut by_token: std::collections::BTreeMap<&str, &CartRecord> =
        std::collections::BTreeMap::new();
    for cart in carts {
        let entry = by_token.entry(cart.cart_token.as_str()).or_insert(cart);
        if cart.updated_at >= entry.updated_at {
            *entry = cart;
        }
    }
    let carts: Vec<&CartRecord> = by_token.into_values().collect();
    for chunk in carts.chunks(CHUNK) {
        let mut insert =
            QueryBuilder::new("INSERT INTO carts (tenant_id, store_id, cart_token, line_items, created_at, updated_at) ");
        insert.push_values(chunk, |mut row, c| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(&c.cart_token)
                .push_bind(&c.line_items)
                .push_bind(c.created_at)
                .push_bind(c.updated_at);
        });
        insert.push(
            " ON CONFLICT (tenant_id, store_id, cart_token) DO UPDATE SET line_items = EXCLUDED.line_items, \
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, ingested_at = now() \
             WHERE carts.updated_at <= EXCLUDED.updated_at",
        );
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
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
