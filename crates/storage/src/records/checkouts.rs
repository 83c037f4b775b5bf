//! Abandoned checkouts and carts.

use super::*;

pub(crate) const CHECKOUT_COLUMNS: &str = "tenant_id, store_id, checkout_id, token, cart_token, email, customer_id, created_at, \
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
