//! Products with their variants and tags.

use super::*;

pub(crate) const PRODUCT_COLUMNS: &str =
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
pub(crate) const TAG_SEPARATOR: &str = "\u{1f}";

pub(crate) fn joined_tags(tags: &[String]) -> String {
    tags.join(TAG_SEPARATOR)
}
