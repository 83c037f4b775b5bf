//! One customer, order or product with what its list leaves out.

use super::*;

impl Db {
    /// A customer with their latest `orders` orders, newest first; None when unknown.
    pub async fn customer_detail(
        &self,
        tenant: TenantId,
        store: StoreId,
        customer_id: i64,
        orders: i64,
    ) -> Result<Option<(CustomerItem, Vec<OrderItem>)>, StorageError> {
        let mut tx = self.list_tx(tenant).await?;
        let customer: Option<CustomerItem> = sqlx::query_as(
            "SELECT c.store_id, c.customer_id, c.email, c.first_name, c.last_name, c.state, c.tags,
                    c.created_at, c.updated_at, c.redacted_at IS NOT NULL AS redacted,
                    s.orders, s.spent, s.currency, s.last_order_at, NULL::text AS sort_key
             FROM customers c LEFT JOIN LATERAL (
                SELECT count(*) AS orders, COALESCE(sum(o.current_total_price), 0) AS spent,
                       min(o.currency::text) AS currency, max(o.processed_at) AS last_order_at
                FROM orders o WHERE o.tenant_id = c.tenant_id AND o.store_id = c.store_id
                    AND o.customer_id = c.customer_id AND NOT o.test) s ON true
             WHERE c.tenant_id = $1 AND c.store_id = $2 AND c.customer_id = $3",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(customer_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(customer) = customer else {
            return Ok(None);
        };
        let recent = sqlx::query_as(
            "SELECT store_id, order_id, name, email, customer_id, processed_at, cancelled_at,
                    currency::text AS currency, total_price, current_total_price, financial_status,
                    fulfillment_status, test, units, NULL::text AS sort_key
             FROM orders WHERE tenant_id = $1 AND store_id = $2 AND customer_id = $3
             ORDER BY processed_at DESC, order_id DESC LIMIT $4",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(customer_id)
        .bind(orders)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some((customer, recent)))
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineItem {
    pub line_item_id: i64,
    pub product_id: Option<i64>,
    pub title: String,
    pub variant_title: Option<String>,
    pub sku: Option<String>,
    pub quantity: i32,
    pub current_quantity: Option<i32>,
    pub price: Decimal,
    pub total_discount: Decimal,
    pub discount: Decimal,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Refund {
    pub refund_id: i64,
    pub created_at: DateTime<Utc>,
    pub amount: Decimal,
    pub line_subtotal: Decimal,
    pub line_tax: Decimal,
    pub note: Option<String>,
}

/// An order with what the list leaves out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderDetail {
    #[sqlx(flatten)]
    pub order: OrderItem,
    pub subtotal_price: Decimal,
    pub total_tax: Decimal,
    pub total_discounts: Decimal,
    pub total_shipping: Decimal,
    #[sqlx(skip)]
    pub line_items: Vec<LineItem>,
    #[sqlx(skip)]
    pub refunds: Vec<Refund>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Variant {
    pub variant_id: i64,
    pub title: Option<String>,
    pub sku: Option<String>,
    pub price: Decimal,
    pub currency: String,
    pub inventory_quantity: Option<i32>,
}

impl Db {
    pub async fn order_detail(
        &self,
        tenant: TenantId,
        store: StoreId,
        order_id: i64,
    ) -> Result<Option<OrderDetail>, StorageError> {
        let mut tx = self.list_tx(tenant).await?;
        let detail: Option<OrderDetail> = sqlx::query_as(
            "SELECT store_id, order_id, name, email, customer_id, processed_at, cancelled_at,
                    currency::text AS currency, total_price, current_total_price, financial_status,
                    fulfillment_status, test, units, NULL::text AS sort_key, subtotal_price, total_tax,
                    total_discounts, total_shipping
             FROM orders WHERE tenant_id = $1 AND store_id = $2 AND order_id = $3",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(order_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(mut detail) = detail else {
            return Ok(None);
        };
        detail.line_items = sqlx::query_as(
            "SELECT line_item_id, product_id, title, variant_title, sku, quantity, current_quantity, price,
                    total_discount, discount
             FROM order_line_items WHERE tenant_id = $1 AND store_id = $2 AND order_id = $3
             ORDER BY line_item_id",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(order_id)
        .fetch_all(&mut *tx)
        .await?;
        detail.refunds = sqlx::query_as(
            "SELECT refund_id, created_at, amount, line_subtotal, line_tax, note
             FROM refunds WHERE tenant_id = $1 AND store_id = $2 AND order_id = $3 ORDER BY created_at",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(order_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(detail))
    }

    pub async fn product_detail(
        &self,
        tenant: TenantId,
        store: StoreId,
        product_id: i64,
    ) -> Result<Option<(ProductItem, Vec<Variant>)>, StorageError> {
        let mut tx = self.list_tx(tenant).await?;
        let product: Option<ProductItem> = sqlx::query_as(
            "SELECT p.store_id, p.product_id, p.title, p.handle, p.vendor, p.product_type, p.status, p.tags,
                    p.created_at, p.updated_at, v.variants, v.min_price, v.max_price, NULL::text AS sort_key
             FROM products p LEFT JOIN LATERAL (
                SELECT count(*) AS variants, min(price) AS min_price, max(price) AS max_price
                FROM product_variants v WHERE v.tenant_id = p.tenant_id AND v.store_id = p.store_id
                    AND v.product_id = p.product_id) v ON true
             WHERE p.tenant_id = $1 AND p.store_id = $2 AND p.product_id = $3",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(product_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(product) = product else {
            return Ok(None);
        };
        let variants = sqlx::query_as(
            "SELECT variant_id, title, sku, price, currency::text AS currency, inventory_quantity
             FROM product_variants WHERE tenant_id = $1 AND store_id = $2 AND product_id = $3
             ORDER BY position NULLS LAST, variant_id",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(product_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some((product, variants)))
    }
}
