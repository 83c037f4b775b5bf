//! Reconciliation with Shopify Analytics: each store's figures checked day by day against
//! Shopify's own, and a check on demand.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::ids::StoreId;
use xeno_domain::reconciliation::Mismatch;
use xeno_ingest::reconcile::Window;
use xeno_storage::reconciliation::ReconciliationRow;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::sync::active_store;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReconciliationQuery {
    /// One store; all of the tenant's when absent.
    store_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MismatchOut {
    day: NaiveDate,
    /// A ShopifyQL `sales` metric: `orders`, `gross_sales`, `discounts`, `returns`,
    /// `net_sales`, `shipping_charges`, `taxes` or `total_sales`.
    metric: String,
    #[schema(value_type = String)]
    xeno: Decimal,
    #[schema(value_type = String)]
    shopify: Decimal,
}

impl From<Mismatch> for MismatchOut {
    fn from(m: Mismatch) -> Self {
        Self {
            day: m.day,
            metric: m.metric.name().to_owned(),
            xeno: m.xeno,
            shopify: m.shopify,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationOut {
    store_id: Uuid,
    shop_domain: String,
    /// `matched`, `mismatched`, `not_checked` (the store has not granted `read_reports`),
    /// `failed`, or `pending` before the first check.
    status: String,
    /// One sentence for people: "Matches Shopify Analytics for 58 of 60 days".
    summary: String,
    checked_at: Option<DateTime<Utc>>,
    /// The days compared (whole days in the store's zone).
    window_from: Option<NaiveDate>,
    window_to: Option<NaiveDate>,
    days_checked: i32,
    days_matched: i32,
    /// Every day and metric that differs, with both values.
    mismatches: Vec<MismatchOut>,
    /// Why a store was not checked, or what failed.
    detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationList {
    data: Vec<ReconciliationOut>,
}

fn summary(row: &ReconciliationRow) -> String {
    match row.status.as_str() {
        "matched" | "mismatched" => format!(
            "Matches Shopify Analytics for {} of {} days",
            row.days_matched, row.days_checked
        ),
        "not_checked" => "Not checked: Shopify Analytics is not readable for this store".to_owned(),
        _ => "The last check could not read Shopify's figures".to_owned(),
    }
}

fn out(store_id: Uuid, shop_domain: String, row: Option<ReconciliationRow>) -> ReconciliationOut {
    let Some(row) = row else {
        return ReconciliationOut {
            store_id,
            shop_domain,
            status: "pending".to_owned(),
            summary: "Not checked yet: the first check runs after the store's first sync"
                .to_owned(),
            checked_at: None,
            window_from: None,
            window_to: None,
            days_checked: 0,
            days_matched: 0,
            mismatches: Vec::new(),
            detail: None,
        };
    };
    ReconciliationOut {
        store_id,
        shop_domain,
        summary: summary(&row),
        status: row.status,
        checked_at: Some(row.checked_at),
        window_from: row.window_from,
        window_to: row.window_to,
        days_checked: row.days_checked,
        days_matched: row.days_matched,
        mismatches: row
            .mismatches
            .0
            .into_iter()
            .map(MismatchOut::from)
            .collect(),
        detail: row.detail,
    }
}

/// How each store's daily figures compare with Shopify Analytics (ShopifyQL's `sales`),
/// as of its latest check: checked after every sync, over the whole history after a
/// backfill and the last 60 days otherwise.
#[utoipa::path(get, path = "/api/reconciliation", tag = "reconciliation",
    params(ReconciliationQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReconciliationList),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_reconciliations(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<ReconciliationQuery>,
) -> Result<Json<ReconciliationList>, ApiError> {
    let tenant = caller.tenant_id;
    let mut stores = state.db.list_stores(tenant).await?;
    if let Some(wanted) = query.store_id {
        stores.retain(|s| s.store_id == wanted);
        if stores.is_empty() {
            return Err(ApiError::NotFound("no such store".to_owned()));
        }
    }
    let mut checks = state
        .db
        .reconciliations(tenant, query.store_id.map(StoreId))
        .await?;
    let data = stores
        .into_iter()
        .map(|store| {
            let row = checks
                .iter()
                .position(|c| c.store_id == store.store_id)
                .map(|i| checks.swap_remove(i));
            out(store.store_id, store.shop_domain, row)
        })
        .collect();
    Ok(Json(ReconciliationList { data }))
}

/// Checks a store against Shopify Analytics now, over the last 60 whole days, and answers
/// the result (also kept as its latest check).
#[utoipa::path(post, path = "/api/reconciliation/{store_id}", tag = "reconciliation",
    params(("store_id" = Uuid, Path, description = "store id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReconciliationOut),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the store is not connected", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_reconciliation(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(store_id): ApiPath<Uuid>,
) -> Result<Json<ReconciliationOut>, ApiError> {
    let (tenant, store) = (caller.tenant_id, StoreId(store_id));
    let row = active_store(&state, tenant, store, "checking its figures").await?;
    state
        .backfill()
        .reconcile(
            tenant,
            store,
            Window::Trailing(state.shopify.reconcile_days),
        )
        .await
        .map_err(|err| ApiError::Internal(err.into()))?;
    let latest = state.db.reconciliations(tenant, Some(store)).await?.pop();
    Ok(Json(out(store_id, row.shop_domain, latest)))
}
