//! The dashboard: sales totals per currency, buyers, the series and the change against the
//! previous period.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// First day, `YYYY-MM-DD`, in each store's time zone (default: 29 days before `to`).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) from: Option<NaiveDate>,
    /// Last day, inclusive (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    pub(crate) store_id: Option<Uuid>,
    /// Buckets of the time series (default `day`).
    pub(crate) granularity: Option<Granularity>,
    /// Also the same figures for the period compared with: `previous_period` (the equally
    /// long period just before) or `previous_year` (the same days a year earlier).
    pub(crate) compare: Option<Compare>,
    /// Top customers per currency, 1–100 (default 5).
    pub(crate) limit: Option<u32>,
}

/// Sales in one currency.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct CurrencySales {
    pub(crate) currency: String,
    pub(crate) orders: i64,
    pub(crate) units_sold: i64,
    #[schema(value_type = String)]
    pub(crate) gross_sales: Decimal,
    #[schema(value_type = String)]
    pub(crate) discounts: Decimal,
    #[schema(value_type = String)]
    pub(crate) returns: Decimal,
    #[schema(value_type = String)]
    pub(crate) net_sales: Decimal,
    #[schema(value_type = String)]
    pub(crate) shipping: Decimal,
    #[schema(value_type = String)]
    pub(crate) taxes: Decimal,
    /// Import duties charged, less duties refunded.
    #[schema(value_type = String)]
    pub(crate) duties: Decimal,
    /// Additional fees charged (a retail delivery fee, say).
    #[schema(value_type = String)]
    pub(crate) additional_fees: Decimal,
    /// Net sales + shipping + taxes + duties + additional fees (tips are not sales).
    #[schema(value_type = String)]
    pub(crate) total_sales: Decimal,
    /// (gross sales − discounts) / orders, rounded to the currency's minor unit.
    #[schema(value_type = String)]
    pub(crate) average_order_value: Decimal,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Totals {
    /// Orders placed in the range, every currency.
    pub(crate) orders: i64,
    pub(crate) units_sold: i64,
    /// Customers that exist at the end of the range.
    pub(crate) customers: i64,
    /// First-time buyers: customers whose first order is in the range (Shopify's "new
    /// customers").
    pub(crate) new_customers: i64,
    /// Customer accounts created in the range, whether or not they ordered.
    pub(crate) accounts_created: i64,
    /// Customers who ordered in the range (per store).
    pub(crate) buyers: i64,
    /// Buyers who had ordered before the range.
    pub(crate) returning_buyers: i64,
    /// Share of buyers with two or more orders by the end of the range (0–1).
    pub(crate) repeat_purchase_rate: f64,
    pub(crate) sales: Vec<CurrencySales>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodSales {
    pub(crate) currency: String,
    pub(crate) orders: i64,
    #[schema(value_type = String)]
    pub(crate) gross_sales: Decimal,
    #[schema(value_type = String)]
    pub(crate) net_sales: Decimal,
    #[schema(value_type = String)]
    pub(crate) total_sales: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Period {
    /// The bucket's first day (clipped to the range).
    pub(crate) start: NaiveDate,
    pub(crate) orders: i64,
    pub(crate) sales: Vec<PeriodSales>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopCustomer {
    pub(crate) store_id: Uuid,
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    pub(crate) customer_id: i64,
    /// Null when Shopify withholds protected customer data, or after erasure.
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) currency: String,
    pub(crate) orders: i64,
    /// What the customer's orders in the range came to, net of refunds.
    #[schema(value_type = String)]
    pub(crate) spent: Decimal,
    pub(crate) last_order_at: chrono::DateTime<Utc>,
}

/// Relative change against the previous period (0.25 = up 25%); null when the previous
/// figure is zero.
#[derive(Debug, Serialize, ToSchema)]
pub struct Change {
    pub(crate) orders: Option<f64>,
    pub(crate) customers: Option<f64>,
    /// First-time buyers.
    pub(crate) new_customers: Option<f64>,
    pub(crate) buyers: Option<f64>,
    pub(crate) repeat_purchase_rate: Option<f64>,
    pub(crate) sales: Vec<CurrencyChange>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyChange {
    pub(crate) currency: String,
    pub(crate) orders: Option<f64>,
    pub(crate) gross_sales: Option<f64>,
    pub(crate) net_sales: Option<f64>,
    pub(crate) total_sales: Option<f64>,
    pub(crate) average_order_value: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Previous {
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    pub(crate) totals: Totals,
    pub(crate) change: Change,
    /// The compared period's buckets, to draw beside the range's (as many, but for a leap
    /// day).
    pub(crate) series: Vec<Period>,
    /// False when the period starts before the first day anything was sold in scope: its
    /// changes then compare with a store not yet selling (or not yet connected).
    pub(crate) complete: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    pub(crate) granularity: Granularity,
    pub(crate) stores: Vec<StoreZone>,
    pub(crate) totals: Totals,
    pub(crate) series: Vec<Period>,
    /// The biggest spenders, ranked within each currency.
    pub(crate) top_customers: Vec<TopCustomer>,
    pub(crate) previous: Option<Previous>,
}

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
    cached(&state, &scope, &key, |db| async move {
        let before = query.compare.map(|compare| {
            let (from, to) = report::compared_period(scope.from, scope.to, compare.into());
            Scope { from, to, ..scope }
        });
        let (stores, (totals, days), top, previous) = tokio::try_join!(
            scope_stores(&db, &scope),
            load_totals(&db, &scope),
            async { Ok::<_, ApiError>(db.top_customers(&scope, limit).await?) },
            async {
                match &before {
                    None => Ok(None),
                    Some(before) => Ok(Some((
                        load_totals(&db, before).await?,
                        db.first_sales_day(before.tenant, before.store).await?,
                    ))),
                }
            },
        )?;
        let previous = before
            .zip(previous)
            .map(|(before, ((previous, previous_days), first))| Previous {
                from: before.from,
                to: before.to,
                change: change(&totals, &previous),
                totals: previous,
                series: series_of(&previous_days, before.from, before.to, granularity),
                complete: first.is_some_and(|first| first <= before.from),
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

/// The range's totals, and the daily sales they were summed from (the series reuses them).
pub(crate) async fn load_totals(
    db: &Db,
    scope: &Scope,
) -> Result<(Totals, Vec<CurrencyDay>), ApiError> {
    let (days, (customers, accounts_created), buyers) = tokio::try_join!(
        db.daily_sales(scope),
        db.customer_counts(scope),
        db.buyers(scope),
    )?;
    let sales: Vec<CurrencySales> = by_currency(&days)
        .iter()
        .map(|(currency, sum)| currency_sales(currency, sum))
        .collect();
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

/// Days summed per currency.
fn by_currency<'a>(days: impl IntoIterator<Item = &'a CurrencyDay>) -> BTreeMap<String, DaySales> {
    let mut sums: BTreeMap<String, DaySales> = BTreeMap::new();
    for day in days {
        *sums.entry(day.currency.clone()).or_default() += &day.sales;
    }
    sums
}

pub(crate) fn currency_sales(currency: &str, sum: &DaySales) -> CurrencySales {
    CurrencySales {
        currency: currency.to_owned(),
        orders: sum.orders,
        units_sold: sum.units,
        gross_sales: sum.gross,
        discounts: sum.discounts,
        returns: sum.returns,
        net_sales: sum.net(),
        shipping: sum.shipping,
        taxes: sum.taxes,
        duties: sum.duties,
        additional_fees: sum.additional_fees,
        total_sales: sum.total(),
        average_order_value: sum.average_order_value(currency),
    }
}

/// Every bucket of the range in order, zeros included.
pub(crate) fn series_of(
    days: &[CurrencyDay],
    from: NaiveDate,
    to: NaiveDate,
    granularity: Granularity,
) -> Vec<Period> {
    let mut buckets: BTreeMap<NaiveDate, Vec<&CurrencyDay>> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        buckets
            .entry(report::bucket_start(day, from, granularity.into()))
            .or_default();
        day += Duration::days(1);
    }
    for row in days {
        buckets
            .entry(report::bucket_start(row.day, from, granularity.into()))
            .or_default()
            .push(row);
    }
    buckets
        .into_iter()
        .map(|(start, rows)| {
            let sales: Vec<PeriodSales> = by_currency(rows)
                .into_iter()
                .map(|(currency, s)| PeriodSales {
                    orders: s.orders,
                    gross_sales: s.gross,
                    net_sales: s.net(),
                    total_sales: s.total(),
                    currency,
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

pub(crate) fn change(now: &Totals, before: &Totals) -> Change {
    let count = |a: i64, b: i64| relative_change(Decimal::from(a), Decimal::from(b));
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
                    gross_sales: relative_change(s.gross_sales, b.map_or(zero, |b| b.gross_sales)),
                    net_sales: relative_change(s.net_sales, b.map_or(zero, |b| b.net_sales)),
                    total_sales: relative_change(s.total_sales, b.map_or(zero, |b| b.total_sales)),
                    average_order_value: relative_change(
                        s.average_order_value,
                        b.map_or(zero, |b| b.average_order_value),
                    ),
                }
            })
            .collect(),
    }
}

pub(crate) fn full_name(first: Option<String>, last: Option<String>) -> Option<String> {
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
}
