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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Buyers {
    pub buyers: i64,
    /// Ordered before the range too.
    pub returning: i64,
    /// Have two or more orders by the end of the range.
    pub repeat: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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

/// When a report's figures come from per-buyer summaries and when from the range's orders:
/// the summaries are cheaper unless a range needs too many buyers looked at one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportLimits {
    /// Buyers who ordered before and after a range are looked up one by one up to this
    /// many; beyond it the range's orders are aggregated instead.
    pub buyer_probes: i64,
    /// Candidates examined in the first round of the top-spender walk; each round doubles it.
    pub first_candidates: i64,
    /// Beyond this many candidates the walk gives way to aggregating the range's orders.
    pub max_candidates: i64,
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self {
            buyer_probes: 10_000,
            first_candidates: 128,
            max_candidates: 32_768,
        }
    }
}

/// `z (store_id, lo, hi)` as a CTE's VALUES, for queries that join it several times.
fn push_zones_cte(query: &mut QueryBuilder<'_, Postgres>, bounds: &[Bounds]) {
    query.push("WITH z AS (SELECT * FROM ");
    push_zones(query, bounds);
    query.push(") ");
}

/// New buyers are those whose first order is in the range, repeat ones among them have their
/// second in it too; returning buyers ordered before it and last ordered within it, or later
/// than it with an order within it (the only ones probed).
fn buyers_from_history(tenant: TenantId, bounds: &[Bounds]) -> QueryBuilder<'static, Postgres> {
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
fn buyers_from_range_orders(
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

/// A buyer's orders in a range, in one currency.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Leader {
    store_id: Uuid,
    customer_id: i64,
    orders: i64,
    spent: Decimal,
    last_order_at: DateTime<Utc>,
}

impl Leader {
    /// The ranking: most spent, then most orders, then a stable order.
    fn rank(a: &Leader, b: &Leader) -> std::cmp::Ordering {
        b.spent
            .cmp(&a.spent)
            .then(b.orders.cmp(&a.orders))
            .then(a.store_id.cmp(&b.store_id))
            .then(a.customer_id.cmp(&b.customer_id))
    }
}

/// A customer's name and email, when Xeno has the customer.
#[derive(Debug, sqlx::FromRow)]
struct Name {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
}

/// A candidate from the lifetime ranking, with what they did in the range.
#[derive(Debug, sqlx::FromRow)]
struct Candidate {
    store_id: Uuid,
    customer_id: i64,
    lifetime: Decimal,
    orders: i64,
    spent: Decimal,
    last_order_at: Option<DateTime<Utc>>,
}

/// The range's top spenders in `currency`, found by walking buyers from the largest lifetime
/// spend down (what anyone spent in a range is at most what they spent in all) and stopping
/// once the last leader spent more in the range than anyone left has in all. `None` when that
/// takes too many candidates.
async fn leaders_by_lifetime(
    conn: &mut PgConnection,
    tenant: TenantId,
    bounds: &[Bounds],
    currency: &str,
    limit: i64,
    limits: ReportLimits,
) -> Result<Option<Vec<Leader>>, StorageError> {
    let stores: Vec<Uuid> = bounds.iter().map(|b| b.store_id).collect();
    let mut leaders: Vec<Leader> = Vec::new();
    let mut after: Option<(Decimal, Uuid, i64)> = None;
    let (mut round, mut examined) = (limits.first_candidates.max(1), 0);
    loop {
        let mut query = QueryBuilder::new("");
        push_zones_cte(&mut query, bounds);
        query.push(
            ", candidates AS (
                SELECT b.store_id, b.customer_id, b.spent FROM buyer_spend b WHERE b.tenant_id = ",
        );
        query.push_bind(tenant.0);
        query.push(" AND b.currency = ");
        query.push_bind(currency);
        // As the column's own type (char(3)), so its indexes apply.
        query.push("::bpchar");
        query.push(" AND b.store_id = ANY(");
        query.push_bind(&stores);
        query.push(")");
        if let Some((spent, store, customer)) = after {
            query.push(" AND (b.spent, b.store_id, b.customer_id) < (");
            query.push_bind(spent);
            query.push(", ");
            query.push_bind(store);
            query.push(", ");
            query.push_bind(customer);
            query.push(")");
        }
        query.push(" ORDER BY b.spent DESC, b.store_id DESC, b.customer_id DESC LIMIT ");
        query.push_bind(round);
        query.push(
            ")
             SELECT c.store_id, c.customer_id, c.spent AS lifetime, r.orders, r.spent,
                    r.last_order_at
             FROM candidates c JOIN z ON z.store_id = c.store_id CROSS JOIN LATERAL (
                SELECT count(*) AS orders, COALESCE(sum(o.current_total_price), 0) AS spent,
                       max(o.processed_at) AS last_order_at
                FROM orders o WHERE o.tenant_id = ",
        );
        query.push_bind(tenant.0);
        query.push(
            " AND o.store_id = c.store_id AND o.customer_id = c.customer_id
                    AND o.processed_at >= z.lo AND o.processed_at < z.hi AND NOT o.test
                    AND o.currency = ",
        );
        query.push_bind(currency);
        query.push("::bpchar");
        query.push(") r ORDER BY c.spent DESC, c.store_id DESC, c.customer_id DESC");
        let candidates: Vec<Candidate> = query.build_query_as().fetch_all(&mut *conn).await?;
        let exhausted = (candidates.len() as i64) < round;
        let Some(last) = candidates.last() else {
            break;
        };
        let bound = last.lifetime;
        after = Some((last.lifetime, last.store_id, last.customer_id));
        for c in candidates {
            if let Some(last_order_at) = c.last_order_at {
                leaders.push(Leader {
                    store_id: c.store_id,
                    customer_id: c.customer_id,
                    orders: c.orders,
                    spent: c.spent,
                    last_order_at,
                });
            }
        }
        leaders.sort_by(Leader::rank);
        leaders.truncate(limit as usize);
        // Anyone not yet seen spent at most `bound` in all, so at most that in the range: if
        // the last leader spent more, nobody left can take a place (or tie for one).
        let settled = leaders.len() as i64 == limit && leaders[leaders.len() - 1].spent > bound;
        if exhausted || settled {
            break;
        }
        examined += round;
        if examined >= limits.max_candidates {
            return Ok(None);
        }
        round *= 2;
    }
    Ok(Some(leaders))
}

/// The range's top spenders in `currency` from all its orders.
async fn leaders_by_aggregate(
    conn: &mut PgConnection,
    tenant: TenantId,
    bounds: &[Bounds],
    currency: &str,
    limit: i64,
) -> Result<Vec<Leader>, StorageError> {
    let mut query = QueryBuilder::new(
        "SELECT o.store_id, o.customer_id, count(*) AS orders, sum(o.current_total_price) AS spent,
                max(o.processed_at) AS last_order_at
         FROM ",
    );
    push_range_orders(&mut query, tenant, bounds);
    query.push(" WHERE o.customer_id IS NOT NULL AND o.currency = ");
    query.push_bind(currency);
    query.push("::bpchar");
    query.push(" GROUP BY 1, 2 ORDER BY spent DESC, orders DESC, o.store_id, o.customer_id LIMIT ");
    query.push_bind(limit);
    Ok(query.build_query_as().fetch_all(conn).await?)
}

impl Db {
    /// A read transaction for a report, whose range's aggregates also get the memory to hash
    /// and sort in RAM rather than spilling to disk.
    async fn report_tx(&self, tenant: TenantId) -> Result<TenantTx, StorageError> {
        let mut tx = self.read_tx(tenant).await?;
        sqlx::query("SELECT set_config('work_mem', '64MB', true)")
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

    /// The biggest spenders in the range, `limit` per currency (spend in different
    /// currencies is never ranked together).
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
        let stores: Vec<Uuid> = bounds.iter().map(|b| b.store_id).collect();
        // The range's currencies, from its few rollup rows rather than from its orders.
        let currencies: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT currency::text FROM daily_sales WHERE tenant_id = $1 \
             AND store_id = ANY($2) AND day BETWEEN $3 AND $4 ORDER BY 1",
        )
        .bind(scope.tenant.0)
        .bind(&stores)
        .bind(scope.from)
        .bind(scope.to)
        .fetch_all(&mut *tx)
        .await?;
        let mut leaders = Vec::new();
        for currency in currencies {
            let found = match leaders_by_lifetime(
                &mut tx,
                scope.tenant,
                &bounds,
                &currency,
                limit,
                self.report_limits,
            )
            .await?
            {
                Some(found) => found,
                None => {
                    leaders_by_aggregate(&mut tx, scope.tenant, &bounds, &currency, limit).await?
                }
            };
            leaders.extend(found.into_iter().map(|l| (currency.clone(), l)));
        }
        // One row per leader, in the leaders' order (a customer may be unknown: None).
        let names: Vec<Name> = sqlx::query_as(
            "SELECT c.first_name, c.last_name, c.email \
             FROM unnest($2::uuid[], $3::bigint[]) WITH ORDINALITY AS l (store_id, customer_id, n) \
             LEFT JOIN customers c ON c.tenant_id = $1 AND c.store_id = l.store_id \
             AND c.customer_id = l.customer_id ORDER BY l.n",
        )
        .bind(scope.tenant.0)
        .bind(leaders.iter().map(|(_, l)| l.store_id).collect::<Vec<_>>())
        .bind(
            leaders
                .iter()
                .map(|(_, l)| l.customer_id)
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(leaders
            .into_iter()
            .zip(names)
            .map(|((currency, l), name)| TopCustomer {
                store_id: l.store_id,
                customer_id: l.customer_id,
                first_name: name.first_name,
                last_name: name.last_name,
                email: name.email,
                currency,
                orders: l.orders,
                spent: l.spent,
                last_order_at: l.last_order_at,
            })
            .collect())
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
                       sum(l.price * l.quantity - l.discount) AS revenue
                FROM ",
        );
        push_range_orders(&mut query, scope.tenant, &bounds);
        query.push(
            " JOIN order_line_items l ON l.tenant_id = o.tenant_id AND l.store_id = o.store_id
                AND l.order_id = o.order_id WHERE NOT l.gift_card GROUP BY 1, 2, 3),
             z AS (SELECT * FROM ",
        );
        push_zones(&mut query, &bounds);
        // Returns, on their own day: refunded lines, and what a cancellation takes back of
        // each line beyond its refunds (Shopify's sales definitions; see xeno_domain::sales).
        query.push(
            "),
             back AS (
                SELECT l.store_id, l.product_id, l.currency::text AS currency,
                       min(l.title) AS line_title, sum(b.amount) AS returns
                FROM (
                    SELECT rl.line_item_id, rl.store_id, rl.subtotal AS amount
                    FROM z CROSS JOIN LATERAL (SELECT r.* FROM refunds r WHERE r.tenant_id = ",
        );
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
                WHERE NOT l.gift_card GROUP BY 1, 2, 3),
             net AS (
                SELECT store_id, product_id, currency, min(line_title) AS line_title,
                       sum(orders)::bigint AS orders, sum(units)::bigint AS units,
                       sum(revenue) AS revenue
                FROM (SELECT store_id, product_id, currency, line_title, orders, units, revenue
                      FROM sold
                      UNION ALL
                      SELECT store_id, product_id, currency, line_title, 0, 0, -returns FROM back) u
                GROUP BY 1, 2, 3),
             ranked AS (
                SELECT s.*, row_number() OVER (PARTITION BY currency
                    ORDER BY {order}, store_id, product_id NULLS LAST) AS rank
                FROM net s)
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
