//! Xeno's PostgreSQL storage.
//!
//! Every tenant-owned row is reached through [`Db::tenant_tx`], which sets the transaction's
//! tenant for row-level security; the application's own `tenant_id` filters sit on top.
//!
//! One convention for who owns the transaction: an operation that stands alone (a read, a
//! report, a sign-in, a store's status) is a method on [`Db`] and opens its own; the writes
//! that callers compose into one transaction of theirs (the upsert path in [`records`],
//! shared by the worker and syncs, and the event settling around it) are functions taking
//! the caller's `&mut PgConnection`, so a batch commits or rolls back whole.

pub mod accounts;
pub mod api_keys;
pub mod audit;
mod error;
pub mod events;
pub mod export;
pub mod insights;
pub mod lists;
pub mod members;
pub mod predictions;
pub mod reconciliation;
pub mod records;
pub mod segment_tags;
pub mod sessions;
pub mod setup;
pub mod stores;
pub mod sync;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use xeno_domain::ids::TenantId;

pub use error::StorageError;

/// A transaction whose row-level security is bound to one tenant.
pub type TenantTx = Transaction<'static, Postgres>;

/// The service's connection pool, connected as the runtime role (no table ownership, no
/// superuser), so row-level security always applies.
#[derive(Debug, Clone)]
pub struct Db {
    pool: PgPool,
    /// A streaming replica for report and list reads (`DATABASE_READ_URL`), used for a
    /// tenant only while it has caught up with that tenant's latest write.
    replica: Option<PgPool>,
    /// Shop domain → store, briefly cached: webhook intake looks it up on every delivery.
    routes: Arc<Mutex<HashMap<String, (Instant, stores::StoreRoute)>>>,
    report_limits: insights::ReportLimits,
    /// When set, report reads join this exported snapshot (see [`Db::snapshot`]), on the
    /// pool that exported it.
    snapshot: Option<(Arc<str>, PgPool)>,
}

/// Report and list reads meant for the replica, by where they went: `replica`, or the
/// primary because the replica had not caught up with the tenant (`lagging`) or did not
/// answer (`unavailable`).
static REPLICA_READS: std::sync::LazyLock<Option<prometheus::IntCounterVec>> =
    std::sync::LazyLock::new(|| {
        prometheus::register_int_counter_vec!(
            "xeno_replica_reads_total",
            "Report and list reads meant for the read replica, by where they went",
            &["outcome"]
        )
        .ok()
    });

/// Counts a read meant for the replica: `replica`, `lagging` or `unavailable`.
pub fn count_replica_read(outcome: &'static str) {
    if let Some(reads) = REPLICA_READS.as_ref() {
        reads.with_label_values(&[outcome]).inc();
    }
}

/// Logs and counts a replica that did not answer (the read goes to the primary).
pub fn replica_unavailable(err: &dyn std::fmt::Display) {
    tracing::warn!(error = %err, "the read replica did not answer; reading the primary");
    count_replica_read("unavailable");
}

/// How long a cached shop route is trusted.
const ROUTE_TTL: Duration = Duration::from_secs(5);

impl Db {
    /// Connects lazily: the service starts even while PostgreSQL is down, and `/readyz` says so.
    pub fn connect_lazy(options: PgConnectOptions, max_connections: u32) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // Fail fast under pressure or outage: the caller answers 503, not a hung request.
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy_with(options);
        Self {
            pool,
            replica: None,
            routes: Arc::default(),
            report_limits: insights::ReportLimits::default(),
            snapshot: None,
        }
    }

    /// Sends report and list reads to a streaming replica (connected lazily, like the
    /// primary) while it has caught up with the tenant they read.
    pub fn with_replica(mut self, options: PgConnectOptions, max_connections: u32) -> Self {
        self.replica = Some(
            PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(3))
                .connect_lazy_with(options),
        );
        self
    }

    /// The same pool with other limits on how reports pick their method (both methods give
    /// the same figures; tests use this to exercise each).
    pub fn with_report_limits(mut self, limits: insights::ReportLimits) -> Self {
        self.report_limits = limits;
        self
    }

    /// Opens a transaction scoped to `tenant`: every tenant-owned table shows only its rows.
    pub async fn tenant_tx(&self, tenant: TenantId) -> Result<TenantTx, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(tenant.0.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// A tenant transaction for reads whose best plan depends on the values asked for
    /// (lists, reports). Every key leads with tenant_id and store_id, which a generic plan
    /// cannot tell apart from selective columns: each execution is planned with its real
    /// parameters. Writes keep cached plans: their keys are whole, and re-planning every
    /// foreign-key check (one per row written) tripled the cost of writing line items.
    pub async fn read_tx(&self, tenant: TenantId) -> Result<TenantTx, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// A read transaction for a list: on the replica when it has caught up with the tenant's
    /// latest write (its data version is the primary's), else on the primary, so a list is
    /// never older than what the tenant last wrote.
    pub(crate) async fn list_tx(&self, tenant: TenantId) -> Result<TenantTx, StorageError> {
        let Some(replica) = &self.replica else {
            return self.read_tx(tenant).await;
        };
        let wanted = self.data_version(tenant).await?;
        let attempt = async {
            let mut tx = replica.begin().await?;
            sqlx::query(
                "SELECT set_config('app.tenant_id', $1, true), \
                        set_config('plan_cache_mode', 'force_custom_plan', true)",
            )
            .bind(tenant.0.to_string())
            .execute(&mut *tx)
            .await?;
            let version: Option<i64> =
                sqlx::query_scalar("SELECT version FROM data_versions WHERE tenant_id = $1")
                    .bind(tenant.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            Ok::<_, sqlx::Error>((tx, version.unwrap_or(0)))
        };
        match attempt.await {
            Ok((tx, version)) if version >= wanted => {
                count_replica_read("replica");
                return Ok(tx);
            }
            Ok(_) => count_replica_read("lagging"),
            Err(err) => replica_unavailable(&err),
        }
        self.read_tx(tenant).await
    }

    /// Checks that PostgreSQL answers.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Refreshes the planner's statistics on the record tables: worth it while a bulk load
    /// grows them (the runtime role owns no table, so a function runs the ANALYZE).
    pub async fn refresh_statistics(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT xeno_refresh_statistics()")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The pool itself: for global directories no tenant owns, and for the worker's and
    /// acceptor's transactions, which set their tenants as they go.
    fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn cached_route(&self, shop: &str) -> Option<stores::StoreRoute> {
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        routes
            .get(shop)
            .filter(|(at, _)| at.elapsed() < ROUTE_TTL)
            .map(|(_, route)| route.clone())
    }

    fn cache_route(&self, shop: &str, route: Option<&stores::StoreRoute>) {
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match route {
            Some(route) => {
                routes.insert(shop.to_owned(), (Instant::now(), route.clone()));
            }
            None => {
                routes.remove(shop);
            }
        }
    }

    /// A listener on a notification channel, reconnecting as needed.
    pub async fn listen(&self, channel: &str) -> Result<sqlx::postgres::PgListener, StorageError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(channel).await?;
        Ok(listener)
    }
}
