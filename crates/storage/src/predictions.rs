//! Customer-lifetime predictions: each store's purchase histories in, its fit and each
//! customer's predictions out.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};

use crate::{Db, StorageError};

/// One customer's purchases, by day in the store's zone (several orders on one day are one
/// purchase, as the models count them): not test orders, not cancelled ones.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PurchaseHistory {
    pub customer_id: i64,
    /// Purchase days after the first.
    pub repeat_days: i64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// What the repeat purchases were worth on average (net of refunds); none without any.
    pub repeat_mean_value: Option<Decimal>,
}

/// A store's histories as of today in its zone.
#[derive(Debug, Clone)]
pub struct StoreHistories {
    pub today: NaiveDate,
    pub histories: Vec<PurchaseHistory>,
}

/// A fit as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FitRow {
    pub store_id: Uuid,
    pub fitted_at: DateTime<Utc>,
    pub observed_until: DateTime<Utc>,
    pub status: String,
    pub reason: Option<String>,
    pub customers: i64,
    pub repeaters: i64,
    pub r: Option<f64>,
    pub alpha: Option<f64>,
    pub a: Option<f64>,
    pub b: Option<f64>,
    pub bgnbd_log_likelihood: Option<f64>,
    pub p: Option<f64>,
    pub q: Option<f64>,
    pub gamma: Option<f64>,
    pub gamma_gamma_log_likelihood: Option<f64>,
    /// The monthly rate the lifetime values discount future spend at.
    pub monthly_discount: f64,
}

/// A predictive segment's size and expected value.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PredictiveSegment {
    pub segment: String,
    pub customers: i64,
    pub clv_365: Decimal,
}

/// One customer's predictions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PredictionRow {
    pub customer_id: i64,
    pub p_alive: f64,
    pub expected_orders_30: f64,
    pub expected_orders_90: f64,
    pub expected_orders_365: f64,
    pub expected_order_value: Decimal,
    pub clv_365: Decimal,
}

/// Each store customer with a prediction, their spend and orders, and their spend's fifth.
pub(crate) const RANKED: &str = "spend AS (
        SELECT customer_id, sum(spent) AS spent, sum(orders) AS orders FROM buyer_spend
        WHERE tenant_id = $1 AND store_id = $2 GROUP BY 1),
     ranked AS (
        SELECT p.*, s.orders, s.spent, ntile(5) OVER (ORDER BY s.spent DESC, p.customer_id) AS fifth
        FROM customer_predictions p JOIN spend s USING (customer_id)
        WHERE p.tenant_id = $1 AND p.store_id = $2)";

/// The predictive segments, each a rule over `ranked`: likely to return (half an order or
/// more expected in 90 days), high value at risk (the top fifth by spend, less than even odds
/// of still being a customer), one and done (one order, under a quarter expected in a year).
pub const SEGMENT_RULES: [(&str, &str); 3] = [
    ("likely_to_return", "expected_orders_90 >= 0.5"),
    ("high_value_at_risk", "fifth = 1 AND p_alive < 0.5"),
    ("one_and_done", "orders = 1 AND expected_orders_365 < 0.25"),
];

/// The rule (over `ranked`) of the predictive segment `name`, if there is one.
pub(crate) fn segment_rule(name: &str) -> Option<&'static str> {
    SEGMENT_RULES
        .iter()
        .find(|(segment, _)| *segment == name)
        .map(|(_, rule)| *rule)
}

/// A customer of a predictive segment.
#[derive(Debug, sqlx::FromRow)]
pub struct SegmentMember {
    pub customer_id: i64,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub orders: i64,
    pub spent: Decimal,
    pub p_alive: f64,
    pub expected_orders_365: f64,
    pub clv_365: Decimal,
}

impl Db {
    pub async fn purchase_histories(
        &self,
        tenant: TenantId,
        store: StoreId,
    ) -> Result<StoreHistories, StorageError> {
        let mut tx = self.read_tx(tenant).await?;
        let today: NaiveDate = sqlx::query_scalar(
            "SELECT (now() AT TIME ZONE COALESCE(iana_timezone, 'UTC'))::date FROM stores \
             WHERE tenant_id = $1 AND store_id = $2",
        )
        .bind(tenant.0)
        .bind(store.0)
        .fetch_one(&mut *tx)
        .await?;
        let histories = sqlx::query_as(
            "WITH zone AS (SELECT COALESCE(iana_timezone, 'UTC') AS tz FROM stores
                           WHERE tenant_id = $1 AND store_id = $2),
                  days AS (
                    SELECT o.customer_id, (o.processed_at AT TIME ZONE zone.tz)::date AS day,
                           sum(o.current_total_price) AS value
                    FROM orders o, zone
                    WHERE o.tenant_id = $1 AND o.store_id = $2 AND NOT o.test
                      AND o.customer_id IS NOT NULL AND o.cancelled_at IS NULL
                    GROUP BY 1, 2),
                  ranked AS (
                    SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY day) AS n FROM days)
             SELECT customer_id, count(*) - 1 AS repeat_days, min(day) AS first_day,
                    max(day) AS last_day, avg(value) FILTER (WHERE n > 1) AS repeat_mean_value
             FROM ranked GROUP BY customer_id ORDER BY customer_id",
        )
        .bind(tenant.0)
        .bind(store.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StoreHistories { today, histories })
    }

    /// Replaces the store's fit and predictions with these, in one transaction.
    pub async fn save_predictions(
        &self,
        tenant: TenantId,
        store: StoreId,
        fit: &FitRow,
        predictions: &[PredictionRow],
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "INSERT INTO prediction_fits (tenant_id, store_id, fitted_at, observed_until, status, reason,
                 customers, repeaters, r, alpha, a, b, bgnbd_log_likelihood, p, q, gamma,
                 gamma_gamma_log_likelihood, monthly_discount)
             VALUES ($1, $2, now(), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (tenant_id, store_id) DO UPDATE SET fitted_at = now(),
                 observed_until = EXCLUDED.observed_until, status = EXCLUDED.status,
                 reason = EXCLUDED.reason, customers = EXCLUDED.customers,
                 repeaters = EXCLUDED.repeaters, r = EXCLUDED.r, alpha = EXCLUDED.alpha,
                 a = EXCLUDED.a, b = EXCLUDED.b,
                 bgnbd_log_likelihood = EXCLUDED.bgnbd_log_likelihood, p = EXCLUDED.p,
                 q = EXCLUDED.q, gamma = EXCLUDED.gamma,
                 gamma_gamma_log_likelihood = EXCLUDED.gamma_gamma_log_likelihood,
                 monthly_discount = EXCLUDED.monthly_discount",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(fit.observed_until)
        .bind(&fit.status)
        .bind(&fit.reason)
        .bind(fit.customers)
        .bind(fit.repeaters)
        .bind(fit.r)
        .bind(fit.alpha)
        .bind(fit.a)
        .bind(fit.b)
        .bind(fit.bgnbd_log_likelihood)
        .bind(fit.p)
        .bind(fit.q)
        .bind(fit.gamma)
        .bind(fit.gamma_gamma_log_likelihood)
        .bind(fit.monthly_discount)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM customer_predictions WHERE tenant_id = $1 AND store_id = $2")
            .bind(tenant.0)
            .bind(store.0)
            .execute(&mut *tx)
            .await?;
        for chunk in predictions.chunks(5_000) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO customer_predictions (tenant_id, store_id, customer_id, p_alive,
                     expected_orders_30, expected_orders_90, expected_orders_365,
                     expected_order_value, clv_365) ",
            );
            insert.push_values(chunk, |mut row, p| {
                row.push_bind(tenant.0)
                    .push_bind(store.0)
                    .push_bind(p.customer_id)
                    .push_bind(p.p_alive)
                    .push_bind(p.expected_orders_30)
                    .push_bind(p.expected_orders_90)
                    .push_bind(p.expected_orders_365)
                    .push_bind(p.expected_order_value)
                    .push_bind(p.clv_365);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's latest fits (one store's, or every store's).
    pub async fn prediction_fits(
        &self,
        tenant: TenantId,
        store: Option<StoreId>,
    ) -> Result<Vec<FitRow>, StorageError> {
        let mut tx = self.read_tx(tenant).await?;
        let rows = sqlx::query_as(
            "SELECT store_id, fitted_at, observed_until, status, reason, customers, repeaters, r, alpha,
                    a, b, bgnbd_log_likelihood, p, q, gamma, gamma_gamma_log_likelihood,
                    monthly_discount
             FROM prediction_fits WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2)
             ORDER BY store_id",
        )
        .bind(tenant.0)
        .bind(store.map(|s| s.0))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// What the store's existing customers are expected to spend in the next 90 days (their
    /// expected orders times expected order value, summed).
    pub async fn expected_revenue_90(
        &self,
        tenant: TenantId,
        store: StoreId,
    ) -> Result<Decimal, StorageError> {
        let mut tx = self.read_tx(tenant).await?;
        let total: Option<Decimal> = sqlx::query_scalar(
            "SELECT sum(expected_orders_90::numeric * expected_order_value) FROM customer_predictions \
             WHERE tenant_id = $1 AND store_id = $2",
        )
        .bind(tenant.0)
        .bind(store.0)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(total.unwrap_or_default().round_dp(2))
    }

    /// The store's customers in each predictive segment: likely to return (0.5 or more orders
    /// expected in 90 days), high value at risk (the top fifth by spend, less than even odds
    /// of still being a customer), one and done (one order, under 0.25 expected in a year);
    /// each with their expected value over the next year.
    pub async fn predictive_segments(
        &self,
        tenant: TenantId,
        store: StoreId,
    ) -> Result<Vec<PredictiveSegment>, StorageError> {
        let placed = SEGMENT_RULES
            .iter()
            .map(|(name, rule)| {
                format!("SELECT '{name}' AS segment, clv_365 FROM ranked WHERE {rule}")
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let names = SEGMENT_RULES
            .iter()
            .map(|(name, _)| format!("('{name}')"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut tx = self.read_tx(tenant).await?;
        let rows = sqlx::query_as(&format!(
            "WITH {RANKED}, placed AS ({placed})
             SELECT names.segment, count(placed.segment) AS customers,
                    COALESCE(sum(placed.clv_365), 0) AS clv_365
             FROM (VALUES {names}) names (segment)
             LEFT JOIN placed USING (segment) GROUP BY names.segment ORDER BY names.segment"
        ))
        .bind(tenant.0)
        .bind(store.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// A predictive segment's customers, the highest expected value first, `limit` after
    /// `after` (the last row's value and id). `None` when there is no such segment.
    pub async fn predictive_segment_members(
        &self,
        tenant: TenantId,
        store: StoreId,
        segment: &str,
        after: Option<(Decimal, i64)>,
        limit: i64,
    ) -> Result<Option<Vec<SegmentMember>>, StorageError> {
        let Some(rule) = segment_rule(segment) else {
            return Ok(None);
        };
        let (after_value, after_id) = after.map_or((None, None), |(v, id)| (Some(v), Some(id)));
        let mut tx = self.read_tx(tenant).await?;
        let rows = sqlx::query_as(&format!(
            "WITH {RANKED}
             SELECT r.customer_id, c.email, c.first_name, c.last_name, r.orders::bigint AS orders, r.spent,
                    r.p_alive, r.expected_orders_365, r.clv_365
             FROM ranked r JOIN customers c ON c.tenant_id = $1 AND c.store_id = $2
                 AND c.customer_id = r.customer_id
             WHERE ({rule}) AND ($3::numeric IS NULL OR (r.clv_365, r.customer_id) < ($3, $4))
             ORDER BY r.clv_365 DESC, r.customer_id DESC LIMIT $5"
        ))
        .bind(tenant.0)
        .bind(store.0)
        .bind(after_value)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(rows))
    }

    pub async fn customer_prediction(
        &self,
        tenant: TenantId,
        store: StoreId,
        customer_id: i64,
    ) -> Result<Option<PredictionRow>, StorageError> {
        let mut tx = self.read_tx(tenant).await?;
        let row = sqlx::query_as(
            "SELECT customer_id, p_alive, expected_orders_30, expected_orders_90, expected_orders_365,
                    expected_order_value, clv_365
             FROM customer_predictions WHERE tenant_id = $1 AND store_id = $2 AND customer_id = $3",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(customer_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }
}
