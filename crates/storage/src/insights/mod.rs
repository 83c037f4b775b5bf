//! Reads behind the insights API. Sums come from the daily rollups the write path keeps
//! (O(days) per range); figures about individual buyers come from the orders themselves
//! through covering indexes.
//!
//! A range is a pair of calendar dates, inclusive, read in each store's own time zone: for
//! a store in Tokyo, 2026-03-01 starts at 2026-03-01T00:00+09:00.

mod buyers;
mod checkouts;
mod cohorts;
mod leaders;
mod products;
mod sales;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};

use crate::{Db, StorageError, TenantTx};

pub use self::buyers::*;
pub use self::checkouts::*;
pub use self::cohorts::*;
pub use self::leaders::*;
pub use self::products::*;
pub(crate) use self::sales::{SalesRow, SALES_COLUMNS};

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

/// A store in scope, its zone, and the instants its range starts and ends at in that zone:
/// the one way a report turns store-local days into instants.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Bounds {
    pub(crate) store_id: Uuid,
    pub(crate) tz: String,
    pub(crate) lo: DateTime<Utc>,
    pub(crate) hi: DateTime<Utc>,
}

/// PostgreSQL turns each store's local days into instants (the rollups' own rule).
pub(crate) async fn bounds(
    conn: &mut PgConnection,
    scope: &Scope,
) -> Result<Vec<Bounds>, StorageError> {
    Ok(sqlx::query_as(
        "SELECT store_id, COALESCE(iana_timezone, 'UTC') AS tz, \
         ($3::date::timestamp AT TIME ZONE COALESCE(iana_timezone, 'UTC')) AS lo, \
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

/// `(VALUES (store, tz, lo, hi), …) AS z (store_id, tz, lo, hi)` with the bounds bound as
/// constants: joined laterally, each store's range walks the (store, time) index on its own.
pub(crate) fn push_zones(query: &mut QueryBuilder<'_, Postgres>, bounds: &[Bounds]) {
    query.push("(");
    query.push_values(bounds, |mut row, b| {
        row.push_bind(b.store_id)
            .push_bind(b.tz.clone())
            .push_bind(b.lo)
            .push_bind(b.hi);
    });
    query.push(") AS z (store_id, tz, lo, hi)");
}

/// `z CROSS JOIN LATERAL (…) o`: the orders the reports count (not tests) in each store's
/// range.
pub(crate) fn push_range_orders(
    query: &mut QueryBuilder<'_, Postgres>,
    tenant: TenantId,
    bounds: &[Bounds],
) {
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
    /// A range with at most this many orders (in a currency) is aggregated at once: for a
    /// small shop that is cheaper than walking the summaries (15 ms against 150 ms for a
    /// year of 11,000 orders).
    pub aggregate_below: i64,
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self {
            buyer_probes: 10_000,
            first_candidates: 128,
            max_candidates: 32_768,
            aggregate_below: 20_000,
        }
    }
}

/// `z (store_id, lo, hi)` as a CTE's VALUES, for queries that join it several times.
pub(crate) fn push_zones_cte(query: &mut QueryBuilder<'_, Postgres>, bounds: &[Bounds]) {
    query.push("WITH z AS (SELECT * FROM ");
    push_zones(query, bounds);
    query.push(") ");
}

/// One moment of the database that several reads share, so that figures read in parallel
/// (a dashboard's totals, series and leaders) agree with each other even while writes land.
/// Opened by [`Db::snapshot`]; reads join it through [`Db::at`]. It holds a connection: keep
/// it until every read that joins it has begun, then drop it.
pub struct Snapshot {
    _exporter: sqlx::Transaction<'static, Postgres>,
    id: Arc<str>,
    pool: sqlx::PgPool,
}

impl Db {
    /// Exports the primary's current snapshot for reads to share.
    pub async fn snapshot(&self) -> Result<Snapshot, StorageError> {
        Self::export_snapshot(self.pool()).await
    }

    /// Exports the replica's current snapshot, when there is a replica. Whether it has
    /// caught up with a tenant is for the caller to check (its data version).
    pub async fn replica_snapshot(&self) -> Result<Option<Snapshot>, StorageError> {
        match &self.replica {
            Some(replica) => Self::export_snapshot(replica).await.map(Some),
            None => Ok(None),
        }
    }

    async fn export_snapshot(pool: &sqlx::PgPool) -> Result<Snapshot, StorageError> {
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await?;
        // PostgreSQL's ids are hex and dashes; anything else is not spliced into SQL.
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(StorageError::Interrupted(format!(
                "unexpected snapshot id {id:?}"
            )));
        }
        Ok(Snapshot {
            _exporter: tx,
            id: id.into(),
            pool: pool.clone(),
        })
    }

    /// This database, with its report reads joined to `snapshot` (on the server that
    /// exported it).
    pub fn at(&self, snapshot: &Snapshot) -> Db {
        let mut db = self.clone();
        db.snapshot = Some((Arc::clone(&snapshot.id), snapshot.pool.clone()));
        db
    }

    /// A read transaction for a report (in the shared snapshot, when there is one), whose
    /// range's aggregates also get the memory to hash and sort in RAM rather than spilling
    /// to disk.
    pub(crate) async fn report_tx(&self, tenant: TenantId) -> Result<TenantTx, StorageError> {
        let mut tx = match &self.snapshot {
            None => self.read_tx(tenant).await?,
            Some((id, pool)) => {
                let mut tx = pool.begin().await?;
                // Both must come before the transaction's first query.
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&format!("SET TRANSACTION SNAPSHOT '{id}'"))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "SELECT set_config('app.tenant_id', $1, true), \
                            set_config('plan_cache_mode', 'force_custom_plan', true)",
                )
                .bind(tenant.0.to_string())
                .execute(&mut *tx)
                .await?;
                tx
            }
        };
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
}
