//! Insights: the dashboard's figures, top products and checkouts.
//!
//! Conventions (Shopify's sales reports): days are each store's local days; orders are
//! dated by `processed_at`; gross sales = line price × quantity; discounts = line and order
//! discounts; returns = refunded line value net of its discount, dated on the refund's day;
//! net sales = gross − discounts − returns; taxes = order taxes less refunded taxes (on the
//! refund's day); total sales = net sales + shipping + taxes + duties + additional fees
//! (tips are not sales). Test and deleted orders are
//! left out; cancelled orders count on their day and are reversed by their refunds. Money is
//! a decimal string with its currency and never summed across currencies.

mod checkouts;
mod cohorts;
mod products;
mod sales;
mod segments;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_domain::money;
use xeno_domain::report::{self, month_index, rate, relative_change, round4};
use xeno_domain::rfm::Segment;
use xeno_domain::sales::{CurrencyDay, DaySales};
use xeno_storage::insights::{ProductGrouping, ProductRank, Scope};
use xeno_storage::Db;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;

pub use self::checkouts::*;
pub use self::cohorts::*;
pub use self::products::*;
pub use self::sales::*;
pub use self::segments::*;

/// The longest range one call may cover.
pub(crate) const MAX_DAYS: i64 = 3 * 366;
/// The range when none is given: the last 30 days.
pub(crate) const DEFAULT_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    #[default]
    Day,
    /// ISO weeks, from Monday.
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// The equally long period just before the range.
    PreviousPeriod,
    /// The same days a year earlier.
    PreviousYear,
}

impl From<Compare> for report::Comparison {
    fn from(compare: Compare) -> Self {
        match compare {
            Compare::PreviousPeriod => report::Comparison::PreviousPeriod,
            Compare::PreviousYear => report::Comparison::PreviousYear,
        }
    }
}

/// A range of days and the stores it covers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First day, `YYYY-MM-DD`, in each store's time zone (default: 29 days before `to`).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) from: Option<NaiveDate>,
    /// Last day, inclusive (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    pub(crate) store_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreZone {
    pub(crate) store_id: Uuid,
    pub(crate) shop_domain: String,
    /// The IANA zone its days are read in.
    pub(crate) timezone: String,
    pub(crate) currency: Option<String>,
}

pub(crate) const RANGE_ERRORS: &str =
    "a malformed or inverted range, or one longer than three years";

/// Answers from the cache when the tenant's data has not changed since; computes and
/// stores otherwise. The version is read (on the primary) before the figures, so what is
/// stored under a version is never older than that version. With a read replica, the figures
/// are read there when its snapshot has reached that version, else on the primary: a
/// replica that lags never serves stale figures as fresh.
pub(crate) async fn cached<T, F, Fut>(
    state: &AppState,
    scope: &Scope,
    key: &str,
    compute: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: FnOnce(Db) -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let cache_key = |version: i64| format!("xeno:insights:1:{}:{version}:{key}", scope.tenant.0);
    let version = state.db.data_version(scope.tenant).await?;
    let body: Arc<[u8]> = match state.cache.get(&cache_key(version)).await {
        Some(body) => body,
        None => {
            // Every read of the answer shares one snapshot, and the answer is cached under
            // that snapshot's version: figures agree, and a key never holds another's data.
            let (snapshot, version) = report_snapshot(&state.db, scope.tenant, version).await?;
            let db = state.db.at(&snapshot);
            let value = compute(db).await?;
            drop(snapshot);
            let body: Arc<[u8]> = serde_json::to_vec(&value)
                .map_err(|err| ApiError::Internal(err.into()))?
                .into();
            state.cache.put(&cache_key(version), &body).await;
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body.to_vec()).into_response())
}

/// A snapshot for a report at `wanted` or later, and its version: the replica's when it has
/// one that has caught up, the primary's otherwise.
async fn report_snapshot(
    db: &Db,
    tenant: xeno_domain::ids::TenantId,
    wanted: i64,
) -> Result<(xeno_storage::insights::Snapshot, i64), ApiError> {
    let replica = db.replica_snapshot().await.unwrap_or_else(|err| {
        xeno_storage::replica_unavailable(&err);
        None
    });
    if let Some(snapshot) = replica {
        match db.at(&snapshot).data_version(tenant).await {
            Ok(version) if version >= wanted => {
                xeno_storage::count_replica_read("replica");
                return Ok((snapshot, version));
            }
            Ok(_) => xeno_storage::count_replica_read("lagging"),
            Err(err) => xeno_storage::replica_unavailable(&err),
        }
    }
    let snapshot = db.snapshot().await?;
    let version = db.at(&snapshot).data_version(tenant).await?;
    Ok((snapshot, version))
}

pub(crate) fn scope(
    tenant: TenantId,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    store: Option<Uuid>,
) -> Result<Scope, ApiError> {
    let to = to.unwrap_or_else(|| Utc::now().date_naive());
    let from = from.unwrap_or_else(|| to - Duration::days(DEFAULT_DAYS - 1));
    if from > to {
        return Err(ApiError::BadRequest(format!(
            "`from` ({from}) is after `to` ({to})"
        )));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::BadRequest(format!(
            "the range covers more than {MAX_DAYS} days; ask for a shorter one"
        )));
    }
    Ok(Scope {
        tenant,
        store: store.map(StoreId),
        from,
        to,
    })
}

pub(crate) fn limit(asked: Option<u32>, default: i64) -> Result<i64, ApiError> {
    match asked {
        None => Ok(default),
        Some(n @ 1..=100) => Ok(i64::from(n)),
        Some(n) => Err(ApiError::BadRequest(format!(
            "`limit` must be between 1 and 100, not {n}"
        ))),
    }
}

/// The stores in scope; a store that is not the caller's is 404.
pub(crate) async fn scope_stores(db: &Db, scope: &Scope) -> Result<Vec<StoreZone>, ApiError> {
    let stores = db.scope_stores(scope).await?;
    if stores.is_empty() && scope.store.is_some() {
        return Err(ApiError::NotFound("no such store".to_owned()));
    }
    Ok(stores
        .into_iter()
        .map(|s| StoreZone {
            store_id: s.store_id,
            shop_domain: s.shop_domain,
            timezone: s.timezone,
            currency: s.currency,
        })
        .collect())
}

impl From<Granularity> for report::Bucket {
    fn from(granularity: Granularity) -> Self {
        match granularity {
            Granularity::Day => Self::Day,
            Granularity::Week => Self::Week,
            Granularity::Month => Self::Month,
        }
    }
}
