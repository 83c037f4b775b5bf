//! Acquisition cohorts and the per-customer figures RFM segments are scored on.

use super::*;

/// How many of a monthly cohort ordered again some months after their first order, how
/// often, and for how much (in one currency: a cohort's customers of stores in several
/// currencies make one cell per currency).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CohortCell {
    /// The month of the customers' first order (its first day).
    pub cohort: NaiveDate,
    /// Months after the cohort month; 0 is the cohort itself.
    pub month_offset: i32,
    pub currency: String,
    pub customers: i64,
    pub orders: i64,
    /// What those orders are worth now (net of refunds).
    pub revenue: Decimal,
}

/// A buyer's recency, frequency and monetary scores (quintiles within their store, 5 best).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RfmCustomer {
    pub store_id: Uuid,
    pub customer_id: i64,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub currency: String,
    pub orders: i64,
    pub spent: Decimal,
    pub last_order_at: DateTime<Utc>,
    pub recency: i32,
    pub frequency: i32,
    pub monetary: i32,
}

impl Db {
    /// Monthly acquisition cohorts (by first order, in the store's zone) whose month lies in
    /// the range, with how many of each ordered in each later month up to the range's end.
    pub async fn cohorts(&self, scope: &Scope) -> Result<Vec<CohortCell>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let bounds = bounds(&mut tx, scope).await?;
        if bounds.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new("");
        push_zones_cte(&mut query, &bounds);
        query.push(
            ", months AS (
                SELECT o.store_id, o.customer_id,
                       date_trunc('month', o.processed_at AT TIME ZONE z.tz)::date AS month,
                       min(o.currency::text) AS currency, count(*) AS orders,
                       sum(o.current_total_price) AS revenue
                FROM z JOIN orders o ON o.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(
            " AND o.store_id = z.store_id
                    AND o.processed_at < z.hi AND NOT o.test AND o.customer_id IS NOT NULL
                GROUP BY 1, 2, 3),
             firsts AS (
                SELECT store_id, customer_id, min(month) AS cohort FROM months GROUP BY 1, 2)
             SELECT f.cohort,
                    ((extract(year FROM m.month) - extract(year FROM f.cohort)) * 12
                      + extract(month FROM m.month) - extract(month FROM f.cohort))::int AS month_offset,
                    m.currency, count(*) AS customers, sum(m.orders)::bigint AS orders,
                    sum(m.revenue) AS revenue
             FROM firsts f JOIN months m ON m.store_id = f.store_id AND m.customer_id = f.customer_id
             WHERE f.cohort >= date_trunc('month', ",
        );
        query.push_bind(scope.from);
        query.push("::date)::date GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
        let rows = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Every buyer up to the end of the range with RFM scores: quintiles within the store
    /// (ties broken by customer id), recency by last order, frequency by order count,
    /// monetary by spend net of refunds.
    pub async fn rfm(&self, scope: &Scope) -> Result<Vec<RfmCustomer>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let bounds = bounds(&mut tx, scope).await?;
        if bounds.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new("");
        push_zones_cte(&mut query, &bounds);
        query.push(
            ", buyers AS (
                SELECT o.store_id, o.customer_id, min(o.currency::text) AS currency, count(*) AS orders,
                       sum(o.current_total_price) AS spent, max(o.processed_at) AS last_order_at
                FROM z JOIN orders o ON o.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(
            " AND o.store_id = z.store_id
                    AND o.processed_at < z.hi AND NOT o.test AND o.customer_id IS NOT NULL
                GROUP BY 1, 2)
             SELECT b.store_id, b.customer_id, c.email, c.first_name, c.last_name, b.currency, b.orders,
                    b.spent, b.last_order_at,
                    ntile(5) OVER (PARTITION BY b.store_id ORDER BY b.last_order_at, b.customer_id)::int AS recency,
                    ntile(5) OVER (PARTITION BY b.store_id ORDER BY b.orders, b.customer_id)::int AS frequency,
                    ntile(5) OVER (PARTITION BY b.store_id ORDER BY b.spent, b.customer_id)::int AS monetary
             FROM buyers b LEFT JOIN customers c ON c.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(
            " AND c.store_id = b.store_id AND c.customer_id = b.customer_id
             ORDER BY b.store_id, b.customer_id",
        );
        let rows = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }
}
