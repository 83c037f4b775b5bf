//! Reads behind the insights API. Sums come from the daily rollups the write path keeps
//! (O(days) per range); figures about individual buyers come from the orders themselves
//! through covering indexes.
//!
//! A range is a pair of calendar dates, inclusive, read in each store's own time zone: for
//! a store in Tokyo, 2026-03-01 starts at 2026-03-01T00:00+09:00.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};

use crate::{Db, StorageError, TenantTx};

/// Whose data, and which days.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub tenant: TenantId,
    /// One store, or all of the tenant's.
    pub store: Option<StoreId>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A store as the figures see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScopeStore {
    pub store_id: Uuid,
    pub shop_domain: String,
    pub timezone: String,
    pub currency: Option<String>,
}

/// One store-local day's sales in one currency (all the tenant's stores in scope added up).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DaySales {
    pub day: NaiveDate,
    pub currency: String,
    pub orders: i64,
    pub gross: Decimal,
    pub discounts: Decimal,
    pub returns: Decimal,
    pub shipping: Decimal,
    pub taxes: Decimal,
    pub units: i64,
}

/// Customers who ordered in the range, counted per store (a customer id belongs to one shop).
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct Buyers {
    pub buyers: i64,
    /// Ordered before the range too.
    pub returning: i64,
    /// Have two or more orders by the end of the range.
    pub repeat: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TopCustomer {
    pub store_id: Uuid,
    pub customer_id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub currency: String,
    pub orders: i64,
    /// What the orders placed in the range came to, net of their refunds.
    pub spent: Decimal,
    pub last_order_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TopProduct {
    pub store_id: Uuid,
    pub product_id: Option<i64>,
    pub title: String,
    pub currency: String,
    pub orders: i64,
    pub units: i64,
    /// Line price × quantity less line discounts.
    pub revenue: Decimal,
}

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
}

/// A checkout not completed this long after its last update is abandoned (Shopify's own
/// abandoned-checkout emails default to the same wait).
pub const ABANDONED_AFTER_HOURS: i32 = 10;

/// Which way products are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductRank {
    Revenue,
    Units,
}

/// A store in scope and the instants its range starts and ends at, in its own zone.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Bounds {
    store_id: Uuid,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
}

/// PostgreSQL turns each store's local days into instants (the rollups' own rule).
async fn bounds(conn: &mut PgConnection, scope: &Scope) -> Result<Vec<Bounds>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT store_id, ($3::date::timestamp AT TIME ZONE COALESCE(iana_timezone, 'UTC')) AS lo, \
         (($4::date + 1)::timestamp AT TIME ZONE COALESCE(iana_timezone, 'UTC')) AS hi \
         FROM stores WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2) ORDER BY store_id",
    )
    .bind(scope.tenant.0)
    .bind(scope.store.map(|s| s.0))
    .bind(scope.from)
    .bind(scope.to)
    .fetch_all(conn)
    .await?)
}

/// `(VALUES (store, lo, hi), …) AS z (store_id, lo, hi)` with the bounds bound as constants:
/// joined laterally, each store's range walks the (store, time) index on its own.
fn push_zones(query: &mut QueryBuilder<'_, Postgres>, bounds: &[Bounds]) {
    query.push("(");
    query.push_values(bounds, |mut row, b| {
        row.push_bind(b.store_id).push_bind(b.lo).push_bind(b.hi);
    });
    query.push(") AS z (store_id, lo, hi)");
}

/// `z CROSS JOIN LATERAL (…) o`: the orders the reports count (not tests) in each store's
/// range.
fn push_range_orders(query: &mut QueryBuilder<'_, Postgres>, tenant: TenantId, bounds: &[Bounds]) {
    push_zones(query, bounds);
    query.push(" CROSS JOIN LATERAL (SELECT * FROM orders o WHERE o.tenant_id = ");
    query.push_bind(tenant.0);
    query.push(
        " AND o.store_id = z.store_id AND o.processed_at >= z.lo AND o.processed_at < z.hi \
         AND NOT o.test) o",
    );
}

impl Db {
    /// A tenant's transaction for a report: a range's aggregates get the memory to hash
    /// and sort in RAM rather than spilling to disk.
    async fn report_tx(&self, tenant: TenantId) -> Result<TenantTx, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "SELECT set_config('app.tenant_id', $1, true), set_config('work_mem', '64MB', true)",
        )
        .bind(tenant.0.to_string())
        .execute(&mut *tx)
        .await?;
        Ok(tx)
    }

    /// The tenant's data version: every write that can change a figure bumps it.
    pub async fn data_version(&self, tenant: TenantId) -> Result<i64, StorageError> {
        let mut tx = self.report_tx(tenant).await?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM data_versions WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(version.unwrap_or(0))
    }

    /// The stores a scope covers (none when the store is not the tenant's).
    pub async fn scope_stores(&self, scope: &Scope) -> Result<Vec<ScopeStore>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let stores = sqlx::query_as(
            "SELECT store_id, shop_domain, COALESCE(iana_timezone, 'UTC') AS timezone, currency::text AS currency \
             FROM stores WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2) ORDER BY shop_domain",
        )
        .bind(scope.tenant.0)
        .bind(scope.store.map(|s| s.0))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(stores)
    }

    /// Sales per day and currency, only days that have any.
    pub async fn daily_sales(&self, scope: &Scope) -> Result<Vec<DaySales>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let rows = sqlx::query_as(
            "SELECT day, currency::text AS currency, sum(orders)::bigint AS orders, sum(gross) AS gross, \
             sum(discounts) AS discounts, sum(returns) AS returns, sum(shipping) AS shipping, \
             sum(taxes) AS taxes, sum(units)::bigint AS units \
             FROM daily_sales WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2) \
             AND day BETWEEN $3 AND $4 GROUP BY day, currency ORDER BY day, currency",
        )
        .bind(scope.tenant.0)
        .bind(scope.store.map(|s| s.0))
        .bind(scope.from)
        .bind(scope.to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

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
    /// more than once. New buyers are those whose first order falls in the range (a range
    /// count); only buyers with several orders in the range are looked up one by one.
    pub async fn buyers(&self, scope: &Scope) -> Result<Buyers, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let bounds = bounds(&mut tx, scope).await?;
        if bounds.is_empty() {
            return Ok(Buyers::default());
        }
        let mut query = QueryBuilder::new(
            "WITH in_range AS MATERIALIZED (
                SELECT o.store_id, o.customer_id, count(*) AS orders, min(z.lo) AS lo FROM ",
        );
        push_range_orders(&mut query, scope.tenant, &bounds);
        query.push(
            " WHERE o.customer_id IS NOT NULL GROUP BY o.store_id, o.customer_id),
             counts AS (
                SELECT (SELECT count(*) FROM in_range) AS buyers,
                       (SELECT count(*) FROM ",
        );
        push_zones(&mut query, &bounds);
        query.push(" JOIN customer_first_orders f ON f.tenant_id = ");
        query.push_bind(scope.tenant.0);
        query.push(
            " AND f.store_id = z.store_id AND f.first_order_at >= z.lo AND f.first_order_at < z.hi)
                           AS new,
                       (SELECT count(*) FROM in_range b JOIN customer_first_orders f
                           ON f.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(
            " AND f.store_id = b.store_id AND f.customer_id = b.customer_id
                        WHERE b.orders > 1 AND f.first_order_at >= b.lo) AS new_repeat)
             SELECT buyers, buyers - new AS returning, buyers - new + new_repeat AS repeat
             FROM counts",
        );
        let buyers = query.build_query_as().fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(buyers)
    }

    /// The biggest spenders in the range, `limit` per currency (spend in different
    /// currencies is never ranked together). Each currency keeps only its leaders while it
    /// scans (a bounded sort), and only they are looked up in the customers table.
    pub async fn top_customers(
        &self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<TopCustomer>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let bounds = bounds(&mut tx, scope).await?;
        if bounds.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(
            "WITH spend AS MATERIALIZED (
                SELECT o.store_id, o.customer_id, o.currency, count(*) AS orders,
                       sum(o.current_total_price) AS spent, max(o.processed_at) AS last_order_at
                FROM ",
        );
        push_range_orders(&mut query, scope.tenant, &bounds);
        // The range's currencies, from its few rollup rows rather than from its orders.
        query.push(
            " WHERE o.customer_id IS NOT NULL GROUP BY 1, 2, 3),
             currencies AS (
                SELECT DISTINCT currency FROM daily_sales WHERE tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(" AND store_id = ANY(");
        query.push_bind(bounds.iter().map(|b| b.store_id).collect::<Vec<_>>());
        query.push(") AND day BETWEEN ");
        query.push_bind(scope.from);
        query.push(" AND ");
        query.push_bind(scope.to);
        query.push(
            "),
             leaders AS (
                SELECT l.*, row_number() OVER (PARTITION BY l.currency
                    ORDER BY l.spent DESC, l.orders DESC, l.store_id, l.customer_id) AS rank
                FROM currencies cur CROSS JOIN LATERAL (
                    SELECT s.* FROM spend s WHERE s.currency = cur.currency
                    ORDER BY s.spent DESC, s.orders DESC, s.store_id, s.customer_id LIMIT ",
        );
        query.push_bind(limit);
        query.push(
            ") l)
             SELECT r.store_id, r.customer_id, c.first_name, c.last_name, c.email,
                    r.currency::text AS currency, r.orders, r.spent, r.last_order_at
             FROM leaders r LEFT JOIN LATERAL (
                SELECT c.first_name, c.last_name, c.email FROM customers c WHERE c.tenant_id = ",
        );
        query.push_bind(scope.tenant.0);
        query.push(
            " AND c.store_id = r.store_id AND c.customer_id = r.customer_id) c ON true
             ORDER BY r.currency, r.rank",
        );
        let rows = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The best-selling products in the range, `limit` per currency.
    pub async fn top_products(
        &self,
        scope: &Scope,
        rank: ProductRank,
        limit: i64,
    ) -> Result<Vec<TopProduct>, StorageError> {
        let order = match rank {
            ProductRank::Revenue => "revenue DESC, units DESC",
            ProductRank::Units => "units DESC, revenue DESC",
        };
        let mut tx = self.report_tx(scope.tenant).await?;
        let bounds = bounds(&mut tx, scope).await?;
        if bounds.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(
            "WITH sold AS (
                SELECT l.store_id, l.product_id, l.currency::text AS currency, min(l.title) AS line_title,
                       count(DISTINCT l.order_id) AS orders, sum(l.quantity)::bigint AS units,
                       sum(l.price * l.quantity - l.total_discount) AS revenue
                FROM ",
        );
        push_range_orders(&mut query, scope.tenant, &bounds);
        query.push(
            " JOIN order_line_items l ON l.tenant_id = o.tenant_id AND l.store_id = o.store_id
                AND l.order_id = o.order_id WHERE NOT l.gift_card",
        );
        query.push(format!(
            " GROUP BY 1, 2, 3),
             ranked AS (
                SELECT s.*, row_number() OVER (PARTITION BY currency
                    ORDER BY {order}, store_id, product_id NULLS LAST) AS rank
                FROM sold s)
             SELECT r.store_id, r.product_id, COALESCE(p.title, r.line_title) AS title, r.currency,
                    r.orders, r.units, r.revenue
             FROM ranked r LEFT JOIN products p ON p.tenant_id = "
        ));
        query.push_bind(scope.tenant.0);
        query.push(" AND p.store_id = r.store_id AND p.product_id = r.product_id WHERE r.rank <= ");
        query.push_bind(limit);
        query.push(" ORDER BY r.currency, r.rank");
        let rows = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }

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
        query.push(") AS recovered FROM ");
        push_zones(&mut query, &bounds);
        query.push(" CROSS JOIN LATERAL (SELECT * FROM checkouts c WHERE c.tenant_id = ");
        query.push_bind(scope.tenant.0);
        query.push(
            " AND c.store_id = z.store_id AND c.created_at >= z.lo AND c.created_at < z.hi) c)
             SELECT currency, count(*) AS started, count(*) FILTER (WHERE completed) AS completed,
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

/// How many of a monthly cohort ordered again some months after their first order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CohortCell {
    /// The month of the customers' first order (its first day).
    pub cohort: NaiveDate,
    /// Months after the cohort month; 0 is the cohort itself.
    pub month_offset: i32,
    pub customers: i64,
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

/// Each store with its zone and the instant its day `to` ends.
const STORE_ZONES: &str = "zones AS (
    SELECT store_id, COALESCE(iana_timezone, 'UTC') AS tz,
           (($3::date + 1)::timestamp AT TIME ZONE COALESCE(iana_timezone, 'UTC')) AS hi
    FROM stores WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2))";

impl Db {
    /// Monthly acquisition cohorts (by first order, in the store's zone) whose month lies in
    /// the range, with how many of each ordered in each later month up to the range's end.
    pub async fn cohorts(&self, scope: &Scope) -> Result<Vec<CohortCell>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let rows = sqlx::query_as(&format!(
            "WITH {STORE_ZONES}, months AS (
                SELECT DISTINCT o.store_id, o.customer_id,
                       date_trunc('month', o.processed_at AT TIME ZONE z.tz)::date AS month
                FROM zones z JOIN orders o ON o.tenant_id = $1 AND o.store_id = z.store_id
                    AND o.processed_at < z.hi AND NOT o.test AND o.customer_id IS NOT NULL),
             firsts AS (
                SELECT store_id, customer_id, min(month) AS cohort FROM months GROUP BY 1, 2)
             SELECT f.cohort,
                    ((extract(year FROM m.month) - extract(year FROM f.cohort)) * 12
                      + extract(month FROM m.month) - extract(month FROM f.cohort))::int AS month_offset,
                    count(*) AS customers
             FROM firsts f JOIN months m ON m.store_id = f.store_id AND m.customer_id = f.customer_id
             WHERE f.cohort >= date_trunc('month', $4::date)::date
             GROUP BY 1, 2 ORDER BY 1, 2"
        ))
        .bind(scope.tenant.0)
        .bind(scope.store.map(|s| s.0))
        .bind(scope.to)
        .bind(scope.from)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Every buyer up to the end of the range with RFM scores: quintiles within the store
    /// (ties broken by customer id), recency by last order, frequency by order count,
    /// monetary by spend net of refunds.
    pub async fn rfm(&self, scope: &Scope) -> Result<Vec<RfmCustomer>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let rows = sqlx::query_as(&format!(
            "WITH {STORE_ZONES}, buyers AS (
                SELECT o.store_id, o.customer_id, min(o.currency::text) AS currency, count(*) AS orders,
                       sum(o.current_total_price) AS spent, max(o.processed_at) AS last_order_at
                FROM zones z JOIN orders o ON o.tenant_id = $1 AND o.store_id = z.store_id
                    AND o.processed_at < z.hi AND NOT o.test AND o.customer_id IS NOT NULL
                GROUP BY 1, 2)
             SELECT b.store_id, b.customer_id, c.email, c.first_name, c.last_name, b.currency, b.orders,
                    b.spent, b.last_order_at,
                    ntile(5) OVER (PARTITION BY b.store_id ORDER BY b.last_order_at, b.customer_id)::int AS recency,
                    ntile(5) OVER (PARTITION BY b.store_id ORDER BY b.orders, b.customer_id)::int AS frequency,
                    ntile(5) OVER (PARTITION BY b.store_id ORDER BY b.spent, b.customer_id)::int AS monetary
             FROM buyers b LEFT JOIN customers c ON c.tenant_id = $1 AND c.store_id = b.store_id
                 AND c.customer_id = b.customer_id
             ORDER BY b.store_id, b.customer_id"
        ))
        .bind(scope.tenant.0)
        .bind(scope.store.map(|s| s.0))
        .bind(scope.to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }
}
