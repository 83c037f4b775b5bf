//! Buyers in a range: customers, first-time and returning, from history or the range's orders.

use super::*;

/// Customers who ordered in the range, counted per store (a customer id belongs to one shop).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Buyers {
    pub buyers: i64,
    /// Ordered before the range too.
    pub returning: i64,
    /// Have two or more orders by the end of the range.
    pub repeat: i64,
}

/// New buyers are those whose first order is in the range, repeat ones among them have their
/// second in it too; returning buyers ordered before it and last ordered within it, or later
/// than it with an order within it (the only ones probed).
pub(crate) fn buyers_from_history(
    tenant: TenantId,
    bounds: &[Bounds],
) -> QueryBuilder<'static, Postgres> {
    let mut query = QueryBuilder::new("");
    push_zones_cte(&mut query, bounds);
    query.push(
        ", counts AS (
            SELECT count(*) AS new, count(*) FILTER (WHERE h.second_order_at < z.hi) AS new_repeat
            FROM z JOIN buyer_history h ON h.tenant_id = ",
    );
    query.push_bind(tenant.0);
    query.push(
        " AND h.store_id = z.store_id AND h.first_order_at >= z.lo AND h.first_order_at < z.hi),
         returners AS (
            SELECT count(*) AS returned FROM z JOIN buyer_history h ON h.tenant_id = ",
    );
    query.push_bind(tenant.0);
    query.push(
        " AND h.store_id = z.store_id AND h.first_order_at < z.lo AND h.last_order_at >= z.lo
            WHERE h.last_order_at < z.hi OR EXISTS (
                SELECT 1 FROM orders o WHERE o.tenant_id = h.tenant_id AND o.store_id = h.store_id
                    AND o.customer_id = h.customer_id AND o.processed_at >= z.lo
                    AND o.processed_at < z.hi AND NOT o.test))
         SELECT new + returned AS buyers, returned AS returning, returned + new_repeat AS repeat
         FROM counts, returners",
    );
    query
}

/// The same figures from the range's orders: each buyer's orders in it, and whether their
/// first order came before it.
pub(crate) fn buyers_from_range_orders(
    tenant: TenantId,
    bounds: &[Bounds],
) -> QueryBuilder<'static, Postgres> {
    let mut query = QueryBuilder::new(
        "WITH in_range AS (
            SELECT o.store_id, o.customer_id, count(*) AS orders, min(z.lo) AS lo FROM ",
    );
    push_range_orders(&mut query, tenant, bounds);
    query.push(
        " WHERE o.customer_id IS NOT NULL GROUP BY o.store_id, o.customer_id),
         marked AS (
            SELECT b.orders, h.first_order_at < b.lo AS before
            FROM in_range b JOIN buyer_history h ON h.tenant_id = ",
    );
    query.push_bind(tenant.0);
    query.push(
        " AND h.store_id = b.store_id AND h.customer_id = b.customer_id)
         SELECT count(*) AS buyers, count(*) FILTER (WHERE before) AS returning,
                count(*) FILTER (WHERE before OR orders > 1) AS repeat
         FROM marked",
    );
    query
}

impl Db {
    /// Customers created by the end of the range, and those created within it.
    pub async fn customer_counts(&self, scope: &Scope) -> Result<(i64, i64), StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let counts = sqlx::query_as(
            "SELECT COALESCE(sum(new_customers), 0)::bigint, \
             COALESCE(sum(new_customers) FILTER (WHERE day >= $3), 0)::bigint \
             FROM daily_customers WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2) AND day <= $4",
        )
        .bind(scope.tenant.0)
        .bind(scope.store.map(|s| s.0))
        .bind(scope.from)
        .bind(scope.to)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Who bought in the range: how many, how many had bought before, how many have bought
    /// more than once. Counted from each buyer's history (first, second and last order):
    /// only buyers who ordered both before and after the range need a look at their orders.
    /// When those are many (a range long past), aggregating the range's orders is cheaper.
    pub async fn buyers(&self, scope: &Scope) -> Result<Buyers, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let bounds = bounds(&mut tx, scope).await?;
        if bounds.is_empty() {
            return Ok(Buyers::default());
        }
        let mut query = QueryBuilder::new("SELECT count(*) FROM ");
        push_zones(&mut query, &bounds);
        query.push(" JOIN buyer_history h ON h.tenant_id = ");
        query.push_bind(scope.tenant.0);
        query.push(
            " AND h.store_id = z.store_id AND h.last_order_at >= z.hi AND h.first_order_at < z.lo",
        );
        let straddling: i64 = query.build_query_scalar().fetch_one(&mut *tx).await?;
        let mut query = if straddling <= self.report_limits.buyer_probes {
            buyers_from_history(scope.tenant, &bounds)
        } else {
            buyers_from_range_orders(scope.tenant, &bounds)
        };
        let buyers = query.build_query_as().fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(buyers)
    }
}
