//! Shopify's privacy requests: redacting a customer or a whole shop, and the record of each.

use super::*;

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
    let redacted: Vec<i64> = sqlx::query_scalar(
        "UPDATE orders SET email = NULL \
         WHERE tenant_id = $1 AND store_id = $2 AND (customer_id = $3 OR order_id = ANY($4) \
             OR ($5::text IS NOT NULL AND lower(email) = lower($5))) RETURNING order_id",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(customer_id)
    .bind(order_ids)
    .bind(email)
    .fetch_all(&mut *conn)
    .await?;
    // An update of orders takes their product figures away; nothing they count changed.
    product_sales(conn, tenant, store, &redacted, 1).await?;
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
        "product_sales",
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
