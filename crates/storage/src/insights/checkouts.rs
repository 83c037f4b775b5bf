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
    /// Checkouts started in the range, by currency: completed, abandoned, still open. Read
    /// from the daily checkout rollup; only checkouts updated in the last hours (not yet
    /// abandoned) are looked at one by one.
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
            "WITH days AS (
                SELECT store_id, currency::text AS currency, sum(started) AS started,
                       sum(completed) AS completed, sum(completed_value) AS completed_value,
                       sum(completed_known) AS completed_known, sum(open) AS open,
                       sum(open_value) AS open_value, sum(open_known) AS open_known,
                       sum(recovered) AS recovered, sum(recovered_value) AS recovered_value
                FROM checkout_days WHERE tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        if let Some(store) = scope.store {
            query.push(" AND store_id = ").push_bind(store.0);
        }
        query.push(" AND day >= ").push_bind(scope.from);
        query.push(" AND day <= ").push_bind(scope.to);
        // Not completed and updated within the wait: still open, not abandoned.
        query.push(
            " GROUP BY 1, 2),
             waiting AS (
                SELECT c.store_id, c.currency::text AS currency, count(*) AS n,
                       sum(c.total_price) AS value, count(*) FILTER (WHERE c.known) AS known
                FROM ",
        );
        push_zones(&mut query, &bounds);
        query.push(
            " CROSS JOIN LATERAL (SELECT c.*, c.created_at >= s.created_at AS known FROM checkouts c \
             JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id WHERE c.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(
            " AND c.store_id = z.store_id AND c.updated_at >= now() - make_interval(hours => ",
        );
        query.push_bind(ABANDONED_AFTER_HOURS);
        query.push(
            ") AND c.completed_at IS NULL AND c.created_at >= z.lo AND c.created_at < z.hi) c
                GROUP BY 1, 2)
             SELECT d.currency, sum(d.started)::bigint AS started,
                    sum(d.completed)::bigint AS completed,
                    sum(d.completed_known)::bigint AS completed_known,
                    sum(d.open_known - COALESCE(w.known, 0))::bigint AS abandoned_known,
                    max(s.created_at) FILTER (WHERE d.started > 0) AS known_since,
                    sum(d.open - COALESCE(w.n, 0))::bigint AS abandoned,
                    sum(d.open_value - COALESCE(w.value, 0)) AS abandoned_value,
                    sum(d.completed_value) AS completed_value,
                    sum(d.recovered)::bigint AS recovered,
                    sum(d.recovered_value) AS recovered_value
             FROM days d
             JOIN stores s ON s.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(
            " AND s.store_id = d.store_id
             LEFT JOIN waiting w ON w.store_id = d.store_id AND w.currency = d.currency
             GROUP BY d.currency HAVING sum(d.started) > 0 ORDER BY d.currency",
        );
        let rows = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }
}
