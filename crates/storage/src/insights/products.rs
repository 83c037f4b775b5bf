//! Best-selling products per currency, net of allocated discounts and returns.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TopProduct {
    pub store_id: Uuid,
    pub product_id: Option<i64>,
    /// With [`ProductGrouping::Variant`]: the variant, and its title (its option values).
    pub variant_id: Option<i64>,
    pub variant_title: Option<String>,
    pub title: String,
    pub currency: String,
    pub orders: i64,
    pub units: i64,
    /// Line price × quantity less line discounts.
    pub revenue: Decimal,
}

/// Whether sales are summed per product or per variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProductGrouping {
    #[default]
    Product,
    Variant,
}

/// Which way products are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductRank {
    Revenue,
    Units,
}

impl Db {
    /// The best-selling products (or variants) in the range, `limit` per currency; with
    /// `only`, just those products (store, product id), each one that sold.
    pub async fn top_products(
        &self,
        scope: &Scope,
        (grouping, rank): (ProductGrouping, ProductRank),
        limit: i64,
        only: Option<&[(Uuid, i64)]>,
    ) -> Result<Vec<TopProduct>, StorageError> {
        // Per variant, lines are told apart by their variant too; per product, not at all.
        let (variant, variant_title) = match grouping {
            ProductGrouping::Product => ("NULL::bigint", "NULL::text"),
            ProductGrouping::Variant => ("l.variant_id", "min(l.variant_title)"),
        };
        let order = match rank {
            ProductRank::Revenue => "revenue DESC, units DESC",
            ProductRank::Units => "units DESC, revenue DESC",
        };
        let mut tx = self.report_tx(scope.tenant).await?;
        let bounds = bounds(&mut tx, scope).await?;
        if bounds.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(format!(
            "WITH sold AS (
                SELECT l.store_id, l.product_id, {variant} AS variant_id, l.currency::text AS currency,
                       min(l.title) AS line_title, {variant_title} AS line_variant_title,
                       count(DISTINCT l.order_id) AS orders, sum(l.quantity)::bigint AS units,
                       sum(l.price * l.quantity - l.discount) AS revenue
                FROM "
        ));
        push_range_orders(&mut query, scope.tenant, &bounds);
        query.push(
            " JOIN order_line_items l ON l.tenant_id = o.tenant_id AND l.store_id = o.store_id
                AND l.order_id = o.order_id WHERE NOT l.gift_card GROUP BY 1, 2, 3, 4),
             z AS (SELECT * FROM ",
        );
        push_zones(&mut query, &bounds);
        // Returns, on their own day: refunded lines, and what a cancellation takes back of
        // each line beyond its refunds (Shopify's sales definitions; see xeno_domain::sales).
        query.push(format!(
            "),
             back AS (
                SELECT l.store_id, l.product_id, {variant} AS variant_id, l.currency::text AS currency,
                       min(l.title) AS line_title, {variant_title} AS line_variant_title,
                       sum(b.amount) AS returns
                FROM (
                    SELECT rl.line_item_id, rl.store_id, rl.subtotal AS amount
                    FROM z CROSS JOIN LATERAL (SELECT r.* FROM refunds r WHERE r.tenant_id = "
        ));
        query.push_bind(scope.tenant.0);
        query.push(
            " AND r.store_id = z.store_id AND r.created_at >= z.lo AND r.created_at < z.hi
                        AND NOT r.test_order) r
                    JOIN refund_line_items rl ON rl.tenant_id = r.tenant_id
                        AND rl.store_id = r.store_id AND rl.refund_id = r.refund_id
                    UNION ALL
                    SELECT l.line_item_id, l.store_id,
                           GREATEST(l.price * l.quantity - l.discount - COALESCE(f.refunded, 0), 0)
                    FROM z CROSS JOIN LATERAL (SELECT o.* FROM orders o WHERE o.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(
            " AND o.store_id = z.store_id AND o.cancelled_at >= z.lo AND o.cancelled_at < z.hi
                        AND NOT o.test) o
                    JOIN order_line_items l ON l.tenant_id = o.tenant_id AND l.store_id = o.store_id
                        AND l.order_id = o.order_id
                    LEFT JOIN LATERAL (
                        SELECT sum(rl.subtotal) AS refunded FROM refunds r
                        JOIN refund_line_items rl ON rl.tenant_id = r.tenant_id
                            AND rl.store_id = r.store_id AND rl.refund_id = r.refund_id
                        WHERE r.tenant_id = o.tenant_id AND r.store_id = o.store_id
                            AND r.order_id = o.order_id AND rl.line_item_id = l.line_item_id) f ON true
                ) b
                JOIN order_line_items l ON l.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(format!(
            " AND l.store_id = b.store_id AND l.line_item_id = b.line_item_id
                WHERE NOT l.gift_card GROUP BY 1, 2, 3, 4),
             net AS (
                SELECT store_id, product_id, variant_id, currency, min(line_title) AS line_title,
                       min(line_variant_title) AS line_variant_title,
                       sum(orders)::bigint AS orders, sum(units)::bigint AS units,
                       sum(revenue) AS revenue
                FROM (SELECT store_id, product_id, variant_id, currency, line_title,
                             line_variant_title, orders, units, revenue
                      FROM sold
                      UNION ALL
                      SELECT store_id, product_id, variant_id, currency, line_title,
                             line_variant_title, 0, 0, -returns FROM back) u
                GROUP BY 1, 2, 3, 4),
             ranked AS (
                SELECT s.*, row_number() OVER (PARTITION BY currency
                    ORDER BY {order}, store_id, product_id NULLS LAST, variant_id NULLS LAST) AS rank
                FROM net s)
             SELECT r.store_id, r.product_id, r.variant_id, COALESCE(p.title, r.line_title) AS title,
                    COALESCE(v.title, r.line_variant_title) AS variant_title, r.currency,
                    r.orders, r.units, r.revenue
             FROM ranked r LEFT JOIN products p ON p.tenant_id = "
        ));
        query.push_bind(scope.tenant.0);
        query.push(" AND p.store_id = r.store_id AND p.product_id = r.product_id");
        query.push(" LEFT JOIN product_variants v ON v.tenant_id = ");
        query.push_bind(scope.tenant.0);
        query.push(" AND v.store_id = r.store_id AND v.variant_id = r.variant_id WHERE r.rank <= ");
        query.push_bind(limit);
        if let Some(only) = only {
            let (stores, ids): (Vec<Uuid>, Vec<i64>) = only.iter().copied().unzip();
            query.push(" AND (r.store_id, r.product_id) IN (SELECT * FROM unnest(");
            query.push_bind(stores);
            query.push("::uuid[], ");
            query.push_bind(ids);
            query.push("::bigint[]))");
        }
        query.push(" ORDER BY r.currency, r.rank");
        let rows = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }
}
