//! Checkout figures: started, completed, abandoned, still open.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckoutFigures {
    pub currency: String,
    pub started: i64,
    pub completed: i64,
    pub abandoned: i64,
    pub abandoned_value: Decimal,
    pub completed_value: Decimal,
    /// Completed, but only after it had counted as abandoned.
    pub recovered: i64,
    pub recovered_value: Decimal,
    /// Completed and abandoned among checkouts begun after their store was connected: only
    /// abandoned checkouts can be exported from Shopify, so completions before are unknown.
    pub completed_known: i64,
    pub abandoned_known: i64,
    /// When the last of the stores in scope was connected: completions are known since.
    pub known_since: Option<DateTime<Utc>>,
}

/// A checkout not completed this long after its last update is abandoned (Shopify's own
/// abandoned-checkout emails default to the same wait).
pub const ABANDONED_AFTER_HOURS: i32 = 10;

impl Db {
    /// Checkouts started in the range, by currency: completed, abandoned, still open.
    pub async fn checkout_figures(
        &self,
        scope: &Scope,
    ) -> Result<Vec<CheckoutFigures>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let bounds = bounds(&mut tx, scope).await?;
        if bounds.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(
            "WITH started AS (
                SELECT c.currency::text AS currency, c.total_price, c.completed_at IS NOT NULL AS completed,
                       c.completed_at IS NULL AND c.updated_at < now() - make_interval(hours => ",
        );
        query.push_bind(ABANDONED_AFTER_HOURS);
        query.push(") AS abandoned, c.completed_at >= c.created_at + make_interval(hours => ");
        query.push_bind(ABANDONED_AFTER_HOURS);
        query.push(") AS recovered, c.created_at >= c.connected_at AS known, c.connected_at FROM ");
        push_zones(&mut query, &bounds);
        query.push(
            " CROSS JOIN LATERAL (SELECT c.*, s.created_at AS connected_at FROM checkouts c \
             JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id WHERE c.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(
            " AND c.store_id = z.store_id AND c.created_at >= z.lo AND c.created_at < z.hi) c)
             SELECT currency, count(*) AS started, count(*) FILTER (WHERE completed) AS completed,
                    count(*) FILTER (WHERE completed AND known) AS completed_known,
                    count(*) FILTER (WHERE abandoned AND known) AS abandoned_known,
                    max(connected_at) AS known_since,
                    count(*) FILTER (WHERE abandoned) AS abandoned,
                    COALESCE(sum(total_price) FILTER (WHERE abandoned), 0) AS abandoned_value,
                    COALESCE(sum(total_price) FILTER (WHERE completed), 0) AS completed_value,
                    count(*) FILTER (WHERE recovered) AS recovered,
                    COALESCE(sum(total_price) FILTER (WHERE recovered), 0) AS recovered_value
             FROM started GROUP BY currency ORDER BY currency",
        );
        let rows = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }
}
