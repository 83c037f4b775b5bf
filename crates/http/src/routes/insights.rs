//! Insights: the dashboard's figures, top products and checkouts.
//!
//! Conventions (Shopify's sales reports): days are each store's local days; orders are
//! dated by `processed_at`; gross sales = line price × quantity; discounts = line and order
//! discounts; returns = refunded line value net of its discount, dated on the refund's day;
//! net sales = gross − discounts − returns; taxes = order taxes less refunded taxes (on the
//! refund's day); total sales = net sales + shipping + taxes. Test and deleted orders are
//! left out; cancelled orders count on their day and are reversed by their refunds. Money is
//! a decimal string with its currency and never summed across currencies.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_domain::money;
use xeno_domain::rfm::Segment;
use xeno_storage::insights::{DaySales, ProductRank, Scope};

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// The longest range one call may cover.
const MAX_DAYS: i64 = 3 * 366;
/// The range when none is given: the last 30 days.
const DEFAULT_DAYS: i64 = 30;

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
    PreviousPeriod,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    #[default]
    Revenue,
    Units,
}

/// A range of days and the stores it covers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First day, `YYYY-MM-DD`, in each store's time zone (default: 29 days before `to`).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    from: Option<NaiveDate>,
    /// Last day, inclusive (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    store_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// First day, `YYYY-MM-DD`, in each store's time zone (default: 29 days before `to`).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    from: Option<NaiveDate>,
    /// Last day, inclusive (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    store_id: Option<Uuid>,
    /// Buckets of the time series (default `day`).
    granularity: Option<Granularity>,
    /// `previous_period`: also the same figures for the equally long period just before.
    compare: Option<Compare>,
    /// Top customers per currency, 1–100 (default 5).
    limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductsQuery {
    /// First day, `YYYY-MM-DD`, in each store's time zone (default: 29 days before `to`).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    from: Option<NaiveDate>,
    /// Last day, inclusive (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    store_id: Option<Uuid>,
    /// Rank by `revenue` (default) or `units`.
    sort: Option<ProductSort>,
    /// Products per currency, 1–100 (default 10).
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreZone {
    store_id: Uuid,
    shop_domain: String,
    /// The IANA zone its days are read in.
    timezone: String,
    currency: Option<String>,
}

/// Sales in one currency.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct CurrencySales {
    currency: String,
    orders: i64,
    units_sold: i64,
    #[schema(value_type = String)]
    gross_sales: Decimal,
    #[schema(value_type = String)]
    discounts: Decimal,
    #[schema(value_type = String)]
    returns: Decimal,
    #[schema(value_type = String)]
    net_sales: Decimal,
    #[schema(value_type = String)]
    shipping: Decimal,
    #[schema(value_type = String)]
    taxes: Decimal,
    #[schema(value_type = String)]
    total_sales: Decimal,
    /// (gross sales − discounts) / orders, rounded to the currency's minor unit.
    #[schema(value_type = String)]
    average_order_value: Decimal,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Totals {
    /// Orders placed in the range, every currency.
    orders: i64,
    units_sold: i64,
    /// Customers that exist at the end of the range.
    customers: i64,
    /// First-time buyers: customers whose first order is in the range (Shopify's "new
    /// customers").
    new_customers: i64,
    /// Customer accounts created in the range, whether or not they ordered.
    accounts_created: i64,
    /// Customers who ordered in the range (per store).
    buyers: i64,
    /// Buyers who had ordered before the range.
    returning_buyers: i64,
    /// Share of buyers with two or more orders by the end of the range (0–1).
    repeat_purchase_rate: f64,
    sales: Vec<CurrencySales>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodSales {
    currency: String,
    orders: i64,
    #[schema(value_type = String)]
    gross_sales: Decimal,
    #[schema(value_type = String)]
    net_sales: Decimal,
    #[schema(value_type = String)]
    total_sales: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Period {
    /// The bucket's first day (clipped to the range).
    start: NaiveDate,
    orders: i64,
    sales: Vec<PeriodSales>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopCustomer {
    store_id: Uuid,
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    customer_id: i64,
    /// Null when Shopify withholds protected customer data, or after erasure.
    name: Option<String>,
    email: Option<String>,
    currency: String,
    orders: i64,
    /// What the customer's orders in the range came to, net of refunds.
    #[schema(value_type = String)]
    spent: Decimal,
    last_order_at: chrono::DateTime<Utc>,
}

/// Relative change against the previous period (0.25 = up 25%); null when the previous
/// figure is zero.
#[derive(Debug, Serialize, ToSchema)]
pub struct Change {
    orders: Option<f64>,
    customers: Option<f64>,
    /// First-time buyers.
    new_customers: Option<f64>,
    buyers: Option<f64>,
    repeat_purchase_rate: Option<f64>,
    sales: Vec<CurrencyChange>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyChange {
    currency: String,
    orders: Option<f64>,
    gross_sales: Option<f64>,
    net_sales: Option<f64>,
    total_sales: Option<f64>,
    average_order_value: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Previous {
    from: NaiveDate,
    to: NaiveDate,
    totals: Totals,
    change: Change,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    from: NaiveDate,
    to: NaiveDate,
    granularity: Granularity,
    stores: Vec<StoreZone>,
    totals: Totals,
    series: Vec<Period>,
    /// The biggest spenders, ranked within each currency.
    top_customers: Vec<TopCustomer>,
    previous: Option<Previous>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopProduct {
    store_id: Uuid,
    /// Null for custom line items that are no product.
    #[serde(serialize_with = "crate::shopify_id::optional")]
    #[schema(value_type = Option<String>)]
    product_id: Option<i64>,
    title: String,
    currency: String,
    orders: i64,
    units: i64,
    /// Net sales of the product in the range, as Shopify's sales report counts them: line
    /// price × quantity less each line's whole discount (its share of order-level code
    /// discounts included) for orders placed in the range, less returns dated in the range
    /// (refunded lines, and what cancellations took back); gift cards left out. `orders` and
    /// `units` count what was ordered in the range.
    #[schema(value_type = String)]
    revenue: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopProducts {
    from: NaiveDate,
    to: NaiveDate,
    /// Ranked within each currency.
    data: Vec<TopProduct>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyCheckouts {
    currency: String,
    /// Checkouts created in the range.
    started: i64,
    completed: i64,
    /// Not completed 10 hours after their last update.
    abandoned: i64,
    /// Neither completed nor abandoned yet (updated in the last 10 hours).
    open: i64,
    /// abandoned / (completed + abandoned) among checkouts begun since their store was
    /// connected (Shopify exports abandoned checkouts only, so earlier completions are
    /// unknown); null when there are none.
    abandonment_rate: Option<f64>,
    /// Since when completions are known for every store in this currency: checkouts begun
    /// earlier count as started and abandoned, but not in the rate.
    completions_known_since: Option<DateTime<Utc>>,
    #[schema(value_type = String)]
    abandoned_value: Decimal,
    #[schema(value_type = String)]
    completed_value: Decimal,
    /// Completed 10 hours or more after they began: abandoned first, then won back.
    recovered: i64,
    #[schema(value_type = String)]
    recovered_value: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checkouts {
    from: NaiveDate,
    to: NaiveDate,
    data: Vec<CurrencyCheckouts>,
}

const RANGE_ERRORS: &str = "a malformed or inverted range, or one longer than three years";

/// The dashboard: totals, time series, top customers, and optionally the previous period.
#[utoipa::path(get, path = "/api/metrics/dashboard", tag = "insights",
    params(DashboardQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Dashboard),
        (status = 400, description = RANGE_ERRORS, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_dashboard(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<DashboardQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(caller.tenant_id, query.from, query.to, query.store_id)?;
    let limit = limit(query.limit, 5)?;
    let granularity = query.granularity.unwrap_or_default();
    let key = format!(
        "dashboard:{}:{}:{:?}:{granularity:?}:{:?}:{limit}",
        scope.from, scope.to, scope.store, query.compare
    );
    cached(&state, &scope, &key, || async {
        let before = query.compare.map(|Compare::PreviousPeriod| {
            let days = (scope.to - scope.from).num_days() + 1;
            Scope {
                from: scope.from - Duration::days(days),
                to: scope.from - Duration::days(1),
                ..scope
            }
        });
        let (stores, (totals, days), top, previous) = tokio::try_join!(
            scope_stores(&state, &scope),
            load_totals(&state, &scope),
            async { Ok::<_, ApiError>(state.db.top_customers(&scope, limit).await?) },
            async {
                match &before {
                    None => Ok(None),
                    Some(before) => Ok(Some(load_totals(&state, before).await?.0)),
                }
            },
        )?;
        let previous = before.zip(previous).map(|(before, previous)| Previous {
            from: before.from,
            to: before.to,
            change: change(&totals, &previous),
            totals: previous,
        });
        Ok(Dashboard {
            from: scope.from,
            to: scope.to,
            granularity,
            stores,
            totals,
            series: series_of(&days, scope.from, scope.to, granularity),
            top_customers: top
                .into_iter()
                .map(|c| TopCustomer {
                    name: full_name(c.first_name, c.last_name),
                    store_id: c.store_id,
                    customer_id: c.customer_id,
                    email: c.email,
                    currency: c.currency,
                    orders: c.orders,
                    spent: c.spent,
                    last_order_at: c.last_order_at,
                })
                .collect(),
            previous,
        })
    })
    .await
}

/// Best-selling products in the range, by revenue or units.
#[utoipa::path(get, path = "/api/metrics/products", tag = "insights",
    params(ProductsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TopProducts),
        (status = 400, description = RANGE_ERRORS, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_top_products(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<ProductsQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(caller.tenant_id, query.from, query.to, query.store_id)?;
    let limit = limit(query.limit, 10)?;
    let sort = query.sort.unwrap_or_default();
    let key = format!(
        "products:{}:{}:{:?}:{sort:?}:{limit}",
        scope.from, scope.to, scope.store
    );
    cached(&state, &scope, &key, || async {
        scope_stores(&state, &scope).await?;
        let rank = match sort {
            ProductSort::Revenue => ProductRank::Revenue,
            ProductSort::Units => ProductRank::Units,
        };
        let rows = state.db.top_products(&scope, rank, limit).await?;
        Ok(TopProducts {
            from: scope.from,
            to: scope.to,
            data: rows
                .into_iter()
                .map(|p| TopProduct {
                    store_id: p.store_id,
                    product_id: p.product_id,
                    title: p.title,
                    currency: p.currency,
                    orders: p.orders,
                    units: p.units,
                    revenue: p.revenue,
                })
                .collect(),
        })
    })
    .await
}

/// Checkouts started in the range: completed, abandoned, abandonment rate and value.
#[utoipa::path(get, path = "/api/metrics/checkouts", tag = "insights",
    params(RangeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Checkouts),
        (status = 400, description = RANGE_ERRORS, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_checkout_funnel(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(caller.tenant_id, query.from, query.to, query.store_id)?;
    // Abandonment depends on the clock as well as the data: a key per minute.
    let minute = Utc::now().timestamp() / 60;
    let key = format!(
        "checkouts:{}:{}:{:?}:{minute}",
        scope.from, scope.to, scope.store
    );
    cached(&state, &scope, &key, || async {
        scope_stores(&state, &scope).await?;
        let rows = state.db.checkout_figures(&scope).await?;
        Ok(Checkouts {
            from: scope.from,
            to: scope.to,
            data: rows
                .into_iter()
                .map(|c| CurrencyCheckouts {
                    abandonment_rate: rate(
                        c.abandoned_known,
                        c.completed_known + c.abandoned_known,
                    ),
                    completions_known_since: c.known_since,
                    currency: c.currency,
                    started: c.started,
                    completed: c.completed,
                    abandoned: c.abandoned,
                    open: c.started - c.completed - c.abandoned,
                    abandoned_value: c.abandoned_value,
                    completed_value: c.completed_value,
                    recovered: c.recovered,
                    recovered_value: c.recovered_value,
                })
                .collect(),
        })
    })
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Retention {
    /// Months after the cohort's month; 0 is the month itself.
    month_offset: i32,
    /// Cohort customers who ordered in that month.
    customers: i64,
    /// customers / cohort size.
    rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cohort {
    /// The month of its customers' first order (first day), in their store's zone.
    cohort: NaiveDate,
    customers: i64,
    /// Every month from the cohort's to the range's last, zeros included.
    retention: Vec<Retention>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cohorts {
    from: NaiveDate,
    to: NaiveDate,
    data: Vec<Cohort>,
}

/// Monthly acquisition cohorts (customers by the month of their first order) and how many
/// of each ordered again in each following month.
#[utoipa::path(get, path = "/api/metrics/cohorts", tag = "insights",
    params(RangeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Cohorts),
        (status = 400, description = RANGE_ERRORS, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_cohorts(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<RangeQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(caller.tenant_id, query.from, query.to, query.store_id)?;
    let key = format!("cohorts:{}:{}:{:?}", scope.from, scope.to, scope.store);
    cached(&state, &scope, &key, || async {
        scope_stores(&state, &scope).await?;
        let cells = state.db.cohorts(&scope).await?;
        let last = month_index(scope.to);
        let mut cohorts: BTreeMap<NaiveDate, BTreeMap<i32, i64>> = BTreeMap::new();
        for cell in cells {
            cohorts
                .entry(cell.cohort)
                .or_default()
                .insert(cell.month_offset, cell.customers);
        }
        let data = cohorts
            .into_iter()
            .map(|(cohort, counts)| {
                let size = counts.get(&0).copied().unwrap_or(0);
                let retention = (0..=(last - month_index(cohort)))
                    .map(|offset| {
                        let customers = counts.get(&offset).copied().unwrap_or(0);
                        Retention {
                            month_offset: offset,
                            customers,
                            rate: rate(customers, size).unwrap_or(0.0),
                        }
                    })
                    .collect();
                Cohort {
                    cohort,
                    customers: size,
                    retention,
                }
            })
            .collect();
        Ok(Cohorts {
            from: scope.from,
            to: scope.to,
            data,
        })
    })
    .await
}

/// Text a spreadsheet would run as a formula is quoted so that it stays text.
fn spreadsheet_safe(text: Option<&str>) -> String {
    let text = text.unwrap_or_default();
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn month_index(day: NaiveDate) -> i32 {
    day.year() * 12 + day.month0() as i32
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SegmentsQuery {
    /// Scores are as of the end of this day (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    store_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SegmentExportQuery {
    /// `champions`, `loyal`, `promising`, `needs_attention`, `at_risk`, `hibernating` or `lost`.
    #[param(value_type = String)]
    segment: Segment,
    /// Scores are as of the end of this day (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    store_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Amount {
    currency: String,
    #[schema(value_type = String)]
    amount: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentSummary {
    #[schema(value_type = String)]
    segment: Segment,
    description: &'static str,
    customers: i64,
    /// Share of all buyers (0–1).
    share: f64,
    /// What the segment's customers have spent, net of refunds, per currency.
    revenue: Vec<Amount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Segments {
    as_of: NaiveDate,
    buyers: i64,
    data: Vec<SegmentSummary>,
}

/// Buyers in RFM segments: recency, frequency and monetary quintiles within each store.
#[utoipa::path(get, path = "/api/metrics/segments", tag = "insights",
    params(SegmentsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Segments),
        (status = 400, description = "a malformed date or store id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_segments(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<SegmentsQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(caller.tenant_id, query.to, query.to, query.store_id)?;
    let key = format!("segments:{}:{:?}", scope.to, scope.store);
    cached(&state, &scope, &key, || async {
        scope_stores(&state, &scope).await?;
        let buyers = state.db.rfm(&scope).await?;
        let total = buyers.len() as i64;
        let mut by_segment: BTreeMap<Segment, (i64, BTreeMap<String, Decimal>)> = Segment::ALL
            .iter()
            .map(|s| (*s, (0, BTreeMap::new())))
            .collect();
        for buyer in buyers {
            let entry = by_segment
                .entry(Segment::of(buyer.recency, buyer.frequency))
                .or_default();
            entry.0 += 1;
            *entry.1.entry(buyer.currency).or_default() += buyer.spent;
        }
        Ok(Segments {
            as_of: scope.to,
            buyers: total,
            data: by_segment
                .into_iter()
                .map(|(segment, (customers, revenue))| SegmentSummary {
                    segment,
                    description: segment.description(),
                    customers,
                    share: rate(customers, total).unwrap_or(0.0),
                    revenue: revenue
                        .into_iter()
                        .map(|(currency, amount)| Amount { currency, amount })
                        .collect(),
                })
                .collect(),
        })
    })
    .await
}

/// One segment's customers as CSV, with their scores.
#[utoipa::path(get, path = "/api/metrics/segments/export", tag = "insights",
    params(SegmentExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the segment's customers", content_type = "text/csv"),
        (status = 400, description = "an unknown segment, a malformed date or store id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_segment(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<SegmentExportQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(caller.tenant_id, query.to, query.to, query.store_id)?;
    scope_stores(&state, &scope).await?;
    let buyers = state.db.rfm(&scope).await?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    let write = |csv: &mut csv::Writer<Vec<u8>>, row: &[&str]| {
        csv.write_record(row)
            .map_err(|err| ApiError::Internal(err.into()))
    };
    write(
        &mut csv,
        &[
            "store_id",
            "customer_id",
            "email",
            "first_name",
            "last_name",
            "orders",
            "spent",
            "currency",
            "last_order_at",
            "recency",
            "frequency",
            "monetary",
        ],
    )?;
    for b in buyers
        .iter()
        .filter(|b| Segment::of(b.recency, b.frequency) == query.segment)
    {
        write(
            &mut csv,
            &[
                &b.store_id.to_string(),
                &b.customer_id.to_string(),
                &spreadsheet_safe(b.email.as_deref()),
                &spreadsheet_safe(b.first_name.as_deref()),
                &spreadsheet_safe(b.last_name.as_deref()),
                &b.orders.to_string(),
                &b.spent.to_string(),
                &b.currency,
                &b.last_order_at.to_rfc3339(),
                &b.recency.to_string(),
                &b.frequency.to_string(),
                &b.monetary.to_string(),
            ],
        )?;
    }
    let body = csv
        .into_inner()
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("{err}")))?;
    let filename = format!("{}-{}.csv", query.segment.name(), scope.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Answers from the cache when the tenant's data has not changed since; computes and
/// stores otherwise. The version is read before the figures, so what is stored under a
/// version is never older than that version.
async fn cached<T, F, Fut>(
    state: &AppState,
    scope: &Scope,
    key: &str,
    compute: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let version = state.db.data_version(scope.tenant).await?;
    let key = format!("xeno:insights:1:{}:{version}:{key}", scope.tenant.0);
    let body: Arc<[u8]> = match state.cache.get(&key).await {
        Some(body) => body,
        None => {
            let value = compute().await?;
            let body: Arc<[u8]> = serde_json::to_vec(&value)
                .map_err(|err| ApiError::Internal(err.into()))?
                .into();
            state.cache.put(&key, &body).await;
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body.to_vec()).into_response())
}

fn scope(
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

fn limit(asked: Option<u32>, default: i64) -> Result<i64, ApiError> {
    match asked {
        None => Ok(default),
        Some(n @ 1..=100) => Ok(i64::from(n)),
        Some(n) => Err(ApiError::BadRequest(format!(
            "`limit` must be between 1 and 100, not {n}"
        ))),
    }
}

/// The stores in scope; a store that is not the caller's is 404.
async fn scope_stores(state: &AppState, scope: &Scope) -> Result<Vec<StoreZone>, ApiError> {
    let stores = state.db.scope_stores(scope).await?;
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

/// The range's totals, and the daily sales they were summed from (the series reuses them).
async fn load_totals(state: &AppState, scope: &Scope) -> Result<(Totals, Vec<DaySales>), ApiError> {
    let (days, (customers, accounts_created), buyers) = tokio::try_join!(
        state.db.daily_sales(scope),
        state.db.customer_counts(scope),
        state.db.buyers(scope),
    )?;
    let mut by_currency: BTreeMap<&str, DaySales> = BTreeMap::new();
    for day in &days {
        let sum = by_currency
            .entry(day.currency.as_str())
            .or_insert_with(|| empty_day(day.day, &day.currency));
        add_day(sum, day);
    }
    let sales: Vec<CurrencySales> = by_currency.values().map(currency_sales).collect();
    let totals = Totals {
        orders: sales.iter().map(|s| s.orders).sum(),
        units_sold: sales.iter().map(|s| s.units_sold).sum(),
        customers,
        new_customers: buyers.buyers - buyers.returning,
        accounts_created,
        buyers: buyers.buyers,
        returning_buyers: buyers.returning,
        repeat_purchase_rate: rate(buyers.repeat, buyers.buyers).unwrap_or(0.0),
        sales,
    };
    Ok((totals, days))
}

fn empty_day(day: NaiveDate, currency: &str) -> DaySales {
    DaySales {
        day,
        currency: currency.to_owned(),
        orders: 0,
        gross: Decimal::ZERO,
        discounts: Decimal::ZERO,
        returns: Decimal::ZERO,
        shipping: Decimal::ZERO,
        taxes: Decimal::ZERO,
        units: 0,
    }
}

fn add_day(sum: &mut DaySales, day: &DaySales) {
    sum.orders += day.orders;
    sum.gross += day.gross;
    sum.discounts += day.discounts;
    sum.returns += day.returns;
    sum.shipping += day.shipping;
    sum.taxes += day.taxes;
    sum.units += day.units;
}

fn currency_sales(sum: &DaySales) -> CurrencySales {
    let net = sum.gross - sum.discounts - sum.returns;
    CurrencySales {
        currency: sum.currency.clone(),
        orders: sum.orders,
        units_sold: sum.units,
        gross_sales: sum.gross,
        discounts: sum.discounts,
        returns: sum.returns,
        net_sales: net,
        shipping: sum.shipping,
        taxes: sum.taxes,
        total_sales: net + sum.shipping + sum.taxes,
        average_order_value: money::average(sum.gross - sum.discounts, sum.orders, &sum.currency),
    }
}

/// The first day of the bucket a day falls in, never before the range.
fn bucket(day: NaiveDate, from: NaiveDate, granularity: Granularity) -> NaiveDate {
    let start = match granularity {
        Granularity::Day => day,
        Granularity::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Granularity::Month => day.with_day(1).unwrap_or(day),
    };
    start.max(from)
}

/// Every bucket of the range in order, zeros included.
fn series_of(
    days: &[DaySales],
    from: NaiveDate,
    to: NaiveDate,
    granularity: Granularity,
) -> Vec<Period> {
    let mut buckets: BTreeMap<NaiveDate, BTreeMap<String, DaySales>> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        buckets.entry(bucket(day, from, granularity)).or_default();
        day += Duration::days(1);
    }
    for row in days {
        let sums = buckets
            .entry(bucket(row.day, from, granularity))
            .or_default();
        let sum = sums
            .entry(row.currency.clone())
            .or_insert_with(|| empty_day(row.day, &row.currency));
        add_day(sum, row);
    }
    buckets
        .into_iter()
        .map(|(start, sums)| {
            let sales: Vec<PeriodSales> = sums
                .values()
                .map(|s| {
                    let c = currency_sales(s);
                    PeriodSales {
                        currency: c.currency,
                        orders: c.orders,
                        gross_sales: c.gross_sales,
                        net_sales: c.net_sales,
                        total_sales: c.total_sales,
                    }
                })
                .collect();
            Period {
                start,
                orders: sales.iter().map(|s| s.orders).sum(),
                sales,
            }
        })
        .collect()
}

fn change(now: &Totals, before: &Totals) -> Change {
    let count = |a: i64, b: i64| relative(Decimal::from(a), Decimal::from(b));
    Change {
        orders: count(now.orders, before.orders),
        customers: count(now.customers, before.customers),
        new_customers: count(now.new_customers, before.new_customers),
        buyers: count(now.buyers, before.buyers),
        repeat_purchase_rate: (before.repeat_purchase_rate > 0.0)
            .then(|| round4(now.repeat_purchase_rate / before.repeat_purchase_rate - 1.0)),
        sales: now
            .sales
            .iter()
            .map(|s| {
                let b = before.sales.iter().find(|b| b.currency == s.currency);
                let zero = Decimal::ZERO;
                CurrencyChange {
                    currency: s.currency.clone(),
                    orders: count(s.orders, b.map_or(0, |b| b.orders)),
                    gross_sales: relative(s.gross_sales, b.map_or(zero, |b| b.gross_sales)),
                    net_sales: relative(s.net_sales, b.map_or(zero, |b| b.net_sales)),
                    total_sales: relative(s.total_sales, b.map_or(zero, |b| b.total_sales)),
                    average_order_value: relative(
                        s.average_order_value,
                        b.map_or(zero, |b| b.average_order_value),
                    ),
                }
            })
            .collect(),
    }
}

/// (now − before) / |before|, to four places; None when before is zero.
fn relative(now: Decimal, before: Decimal) -> Option<f64> {
    if before.is_zero() {
        return None;
    }
    let change = (now - before) / before.abs();
    rust_decimal::prelude::ToPrimitive::to_f64(&change.round_dp(4))
}

/// part / whole to four places; None when whole is zero.
fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round4(part as f64 / whole as f64))
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn full_name(first: Option<String>, last: Option<String>) -> Option<String> {
    let name = [first, last]
        .into_iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn buckets_start_on_mondays_and_firsts_but_never_before_the_range() {
        let from = date("2026-03-04");
        assert_eq!(
            bucket(date("2026-03-12"), from, Granularity::Week),
            date("2026-03-09")
        );
        assert_eq!(bucket(date("2026-03-05"), from, Granularity::Week), from);
        assert_eq!(
            bucket(date("2026-04-30"), from, Granularity::Month),
            date("2026-04-01")
        );
        assert_eq!(bucket(date("2026-03-30"), from, Granularity::Month), from);
    }

    #[test]
    fn every_bucket_is_present_even_empty_ones() {
        let series = series_of(
            &[],
            date("2026-01-30"),
            date("2026-03-02"),
            Granularity::Month,
        );
        let starts: Vec<NaiveDate> = series.iter().map(|p| p.start).collect();
        assert_eq!(
            starts,
            [date("2026-01-30"), date("2026-02-01"), date("2026-03-01")]
        );
        assert!(series.iter().all(|p| p.orders == 0 && p.sales.is_empty()));
    }

    #[test]
    fn changes_are_relative_and_absent_against_zero() {
        assert_eq!(relative(Decimal::from(150), Decimal::from(100)), Some(0.5));
        assert_eq!(relative(Decimal::from(50), Decimal::from(100)), Some(-0.5));
        assert_eq!(relative(Decimal::from(5), Decimal::ZERO), None);
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(1, 0), None);
    }
}
