//! The one upsert path per entity, shared by webhooks, backfill and sync.
//!
//! Order safety: a record whose `updated_at` is older than the stored one never overwrites
//! it, and a tombstone (a delete) is final. Each function runs on a connection inside a
//! tenant-scoped transaction.

mod checkouts;
mod customers;
mod orders;
mod privacy;
mod products;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};
use xeno_domain::ids::{StoreId, TenantId};
use xeno_domain::records::*;
use xeno_domain::sales::OrderSales;

use crate::events::Unchanged;
use crate::StorageError;

pub use self::checkouts::*;
pub use self::customers::*;
pub use self::orders::*;
pub use self::privacy::*;
pub use self::products::*;

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

    pub(crate) fn table_and_key(self) -> (&'static str, &'static str) {
        match self {
            Self::Customer => ("customers", "customer_id"),
            Self::Product => ("products", "product_id"),
            Self::Order => ("orders", "order_id"),
            Self::Checkout => ("checkouts", "checkout_id"),
        }
    }
}

/// Rows per statement: PostgreSQL takes at most 65,535 parameters, and orders have 30 columns.
pub(crate) const CHUNK: usize = 1000;

/// The newest version of each record in a batch (a batch may hold several versions).
pub(crate) fn newest<T: Clone, K: Ord + Copy, V: Ord>(
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
pub(crate) fn guarded_insert<'a>(
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

/// A record's id and version: `updated_at`, then when Shopify made it (`version_at`).
pub type RecordVersion = (i64, DateTime<Utc>, Option<DateTime<Utc>>);

/// Which of these versions (`id`, `updated_at`, `version_at`) a guarded write just left
/// unwritten, and why: answered as positions in `versions` (one id may come twice).
pub async fn unchanged_by(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    resource: Resource,
    versions: &[RecordVersion],
) -> Result<Vec<(usize, Unchanged)>, StorageError> {
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let (table, key) = resource.table_and_key();
    // Only customers are erased on request.
    let redacted = if resource == Resource::Customer {
        "r.redacted_at IS NOT NULL"
    } else {
        "false"
    };
    let ids: Vec<i64> = versions.iter().map(|v| v.0).collect();
    let updated: Vec<DateTime<Utc>> = versions.iter().map(|v| v.1).collect();
    let made: Vec<Option<DateTime<Utc>>> = versions.iter().map(|v| v.2).collect();
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as(&format!(
        "SELECT x.ord - 1, CASE \
             WHEN EXISTS (SELECT 1 FROM tombstones t WHERE t.tenant_id = $1 AND t.store_id = $2 \
                 AND t.resource = $3 AND t.resource_id = x.id) THEN 'deleted' \
             WHEN {redacted} THEN 'redacted' \
             WHEN (r.updated_at, COALESCE(r.version_at, '-infinity')) \
                 > (x.updated_at, COALESCE(x.version_at, '-infinity')) THEN 'stale' END AS why \
         FROM unnest($4::bigint[], $5::timestamptz[], $6::timestamptz[]) WITH ORDINALITY \
             AS x (id, updated_at, version_at, ord) \
         LEFT JOIN {table} r ON r.tenant_id = $1 AND r.store_id = $2 AND r.{key} = x.id"
    ))
    .bind(tenant.0)
    .bind(store.0)
    .bind(resource.name())
    .bind(&ids)
    .bind(&updated)
    .bind(&made)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(at, why)| Some((usize::try_from(at).ok()?, Unchanged::from_code(&why?)?)))
        .collect())
}

/// Which of these versions are already stored exactly (before a write): positions in
/// `versions` whose record holds that very version, so writing it changes nothing.
pub async fn already_stored(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    resource: Resource,
    versions: &[RecordVersion],
) -> Result<Vec<usize>, StorageError> {
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let (table, key) = resource.table_and_key();
    let ids: Vec<i64> = versions.iter().map(|v| v.0).collect();
    let updated: Vec<DateTime<Utc>> = versions.iter().map(|v| v.1).collect();
    let made: Vec<Option<DateTime<Utc>>> = versions.iter().map(|v| v.2).collect();
    let at: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT x.ord - 1 FROM unnest($3::bigint[], $4::timestamptz[], $5::timestamptz[]) \
             WITH ORDINALITY AS x (id, updated_at, version_at, ord) \
         JOIN {table} r ON r.tenant_id = $1 AND r.store_id = $2 AND r.{key} = x.id \
         WHERE r.updated_at = x.updated_at AND r.version_at IS NOT DISTINCT FROM x.version_at"
    ))
    .bind(tenant.0)
    .bind(store.0)
    .bind(&ids)
    .bind(&updated)
    .bind(&made)
    .fetch_all(&mut *conn)
    .await?;
    Ok(at
        .into_iter()
        .filter_map(|at| usize::try_from(at).ok())
        .collect())
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
        // Their figures leave the product rollup while their lines and refunds are there to
        // say what they were; line items have no foreign key to cascade through.
        lock_orders(conn, tenant, store, ids).await?;
        product_sales(conn, tenant, store, ids, -1).await?;
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
