//! Customer-lifetime predictions: each store's fit, and refitting it now.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::ids::StoreId;
use xeno_storage::predictions::{FitRow, PredictionRow};

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// BG/NBD: purchase rates ~ Gamma(r, α) per week; drop-out after each purchase ~ Beta(a, b).
#[derive(Debug, Serialize, ToSchema)]
pub struct BgNbdOut {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    log_likelihood: f64,
}

/// Gamma-Gamma: spend per purchase.
#[derive(Debug, Serialize, ToSchema)]
pub struct GammaGammaOut {
    p: f64,
    q: f64,
    gamma: f64,
    log_likelihood: f64,
}

/// A store's latest fit.
#[derive(Debug, Serialize, ToSchema)]
pub struct FitOut {
    store_id: Uuid,
    fitted_at: DateTime<Utc>,
    /// `fitted`, or `insufficient` (too few repeat customers: `reason` says how many).
    status: String,
    reason: Option<String>,
    /// Customers with at least one order, and those with repeat purchases (on another day).
    customers: i64,
    repeaters: i64,
    bgnbd: Option<BgNbdOut>,
    gamma_gamma: Option<GammaGammaOut>,
    /// The monthly rate future spend is discounted at in `clv_365`.
    monthly_discount: f64,
    /// What existing customers are expected to spend in the next 90 days, in the store's
    /// currency (their expected orders times expected order value, summed).
    #[schema(value_type = Option<String>)]
    expected_revenue_90: Option<Decimal>,
}

impl From<FitRow> for FitOut {
    fn from(f: FitRow) -> Self {
        let bgnbd = match (f.r, f.alpha, f.a, f.b, f.bgnbd_log_likelihood) {
            (Some(r), Some(alpha), Some(a), Some(b), Some(log_likelihood)) => Some(BgNbdOut {
                r,
                alpha,
                a,
                b,
                log_likelihood,
            }),
            _ => None,
        };
        let gamma_gamma = match (f.p, f.q, f.gamma, f.gamma_gamma_log_likelihood) {
            (Some(p), Some(q), Some(gamma), Some(log_likelihood)) => Some(GammaGammaOut {
                p,
                q,
                gamma,
                log_likelihood,
            }),
            _ => None,
        };
        Self {
            store_id: f.store_id,
            fitted_at: f.fitted_at,
            status: f.status,
            reason: f.reason,
            customers: f.customers,
            repeaters: f.repeaters,
            bgnbd,
            gamma_gamma,
            monthly_discount: f.monthly_discount,
            expected_revenue_90: None,
        }
    }
}

/// One customer's predictions from their store's latest fit.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPredictions {
    /// The probability they are still a customer (0–1).
    pub(crate) p_alive: f64,
    /// Orders expected in the next 30, 90 and 365 days.
    pub(crate) expected_orders_30: f64,
    pub(crate) expected_orders_90: f64,
    pub(crate) expected_orders_365: f64,
    /// Expected spend per order, in the store's currency.
    #[schema(value_type = String)]
    pub(crate) expected_order_value: Decimal,
    /// Expected spend over the next year, discounted monthly.
    #[schema(value_type = String)]
    pub(crate) clv_365: Decimal,
}

impl From<PredictionRow> for CustomerPredictions {
    fn from(p: PredictionRow) -> Self {
        Self {
            p_alive: p.p_alive,
            expected_orders_30: p.expected_orders_30,
            expected_orders_90: p.expected_orders_90,
            expected_orders_365: p.expected_orders_365,
            expected_order_value: p.expected_order_value,
            clv_365: p.clv_365,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// One store; all of the tenant's when absent.
    store_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FitList {
    data: Vec<FitOut>,
}

/// Each store's latest customer-lifetime fit (refitted daily and after every backfill).
#[utoipa::path(get, path = "/api/predictions/summary", tag = "insights",
    params(SummaryQuery),
    security(("bearer" = [])),
    responses((status = 200, body = FitList)))]
pub async fn get_prediction_summary(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<SummaryQuery>,
) -> Result<Json<FitList>, ApiError> {
    let fits = state
        .db
        .prediction_fits(caller.tenant_id, query.store_id.map(StoreId))
        .await?;
    let mut data = Vec::with_capacity(fits.len());
    for fit in fits {
        let store = StoreId(fit.store_id);
        let fitted = fit.status == "fitted";
        let mut out = FitOut::from(fit);
        if fitted {
            out.expected_revenue_90 = Some(
                state
                    .db
                    .expected_revenue_90(caller.tenant_id, store)
                    .await?,
            );
        }
        data.push(out);
    }
    Ok(Json(FitList { data }))
}

/// Refit a store's customer-lifetime models now, and answer the fit.
#[utoipa::path(post, path = "/api/predictions/{store_id}", tag = "insights",
    params(("store_id" = Uuid, Path, description = "store id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = FitOut),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refit_predictions(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(store_id): ApiPath<Uuid>,
) -> Result<Json<FitOut>, ApiError> {
    let store = StoreId(store_id);
    state
        .db
        .get_store(caller.tenant_id, store)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such store".to_owned()))?;
    let fit = xeno_ingest::predictions::refit(
        &state.db,
        caller.tenant_id,
        store,
        state.shopify.clv_monthly_discount,
    )
    .await?;
    Ok(Json(fit.into()))
}

/// A predictive segment of a store's customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictiveSegmentOut {
    /// `likely_to_return` (0.5 or more orders expected in 90 days), `high_value_at_risk` (the
    /// top fifth by spend with less than even odds of still being a customer), `one_and_done`
    /// (one order, under 0.25 expected in a year).
    segment: String,
    customers: i64,
    /// Their expected value over the next year, in the store's currency.
    #[schema(value_type = String)]
    clv_365: Decimal,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SegmentsQuery {
    store_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PredictiveSegments {
    store_id: Uuid,
    data: Vec<PredictiveSegmentOut>,
}

/// A store's customers in predictive segments, from its latest fit (empty before one).
#[utoipa::path(get, path = "/api/predictions/segments", tag = "insights",
    params(SegmentsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PredictiveSegments),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_predictive_segments(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<SegmentsQuery>,
) -> Result<Json<PredictiveSegments>, ApiError> {
    let store = StoreId(query.store_id);
    state
        .db
        .get_store(caller.tenant_id, store)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such store".to_owned()))?;
    let rows = state
        .db
        .predictive_segments(caller.tenant_id, store)
        .await?;
    Ok(Json(PredictiveSegments {
        store_id: query.store_id,
        data: rows
            .into_iter()
            .map(|r| PredictiveSegmentOut {
                segment: r.segment,
                customers: r.customers,
                clv_365: r.clv_365,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SegmentMembersQuery {
    store_id: Uuid,
    /// `likely_to_return`, `high_value_at_risk` or `one_and_done`.
    segment: String,
    /// Rows per page, 1 to 250 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PredictiveMember {
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    customer_id: i64,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    orders: i64,
    #[schema(value_type = String)]
    spent: Decimal,
    chance_alive: f64,
    expected_orders_365: f64,
    #[schema(value_type = String)]
    predicted_value_365: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PredictiveMembers {
    store_id: Uuid,
    segment: String,
    data: Vec<PredictiveMember>,
    next_cursor: Option<String>,
}

/// A predictive segment's customers, the highest expected value first.
#[utoipa::path(get, path = "/api/predictions/segments/customers", tag = "insights",
    params(SegmentMembersQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PredictiveMembers),
        (status = 400, description = "a bad cursor or limit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such store or segment", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_predictive_segment_customers(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<SegmentMembersQuery>,
) -> Result<Json<PredictiveMembers>, ApiError> {
    let store = StoreId(query.store_id);
    state
        .db
        .get_store(caller.tenant_id, store)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such store".to_owned()))?;
    let limit = i64::from(crate::paging::page_limit(query.limit)?);
    let after = query
        .cursor
        .as_deref()
        .map(crate::paging::decode_cursor::<(Decimal, i64)>)
        .transpose()?;
    let rows = state
        .db
        .predictive_segment_members(caller.tenant_id, store, &query.segment, after, limit + 1)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(
                "no such segment: likely_to_return, high_value_at_risk or one_and_done".to_owned(),
            )
        })?;
    let more = rows.len() as i64 > limit;
    let data: Vec<PredictiveMember> = rows
        .into_iter()
        .take(limit as usize)
        .map(|m| PredictiveMember {
            customer_id: m.customer_id,
            email: m.email,
            first_name: m.first_name,
            last_name: m.last_name,
            orders: m.orders,
            spent: m.spent,
            chance_alive: m.p_alive,
            expected_orders_365: m.expected_orders_365,
            predicted_value_365: m.clv_365,
        })
        .collect();
    let next_cursor = match (more, data.last()) {
        (true, Some(last)) => Some(crate::paging::encode_cursor(&(
            last.predicted_value_365,
            last.customer_id,
        ))),
        _ => None,
    };
    Ok(Json(PredictiveMembers {
        store_id: query.store_id,
        segment: query.segment,
        data,
        next_cursor,
    }))
}
