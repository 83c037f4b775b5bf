//! Monthly acquisition cohorts and their retention.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct Retention {
    /// Months after the cohort's month; 0 is the month itself.
    pub(crate) month_offset: i32,
    /// Cohort customers who ordered in that month.
    pub(crate) customers: i64,
    /// customers / cohort size.
    pub(crate) rate: f64,
    /// Orders the cohort placed that month.
    pub(crate) orders: i64,
    /// What those orders are worth now (net of refunds), per currency.
    pub(crate) revenue: Vec<Amount>,
    /// Revenue per cohort customer from the cohort month to this one, per currency: the
    /// cohort's lifetime value so far.
    pub(crate) cumulative_revenue_per_customer: Vec<Amount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cohort {
    /// The month of its customers' first order (first day), in their store's zone.
    pub(crate) cohort: NaiveDate,
    pub(crate) customers: i64,
    /// Every month from the cohort's to the range's last, zeros included.
    pub(crate) retention: Vec<Retention>,
}

/// One month of a cohort, all currencies.
#[derive(Default)]
struct Month {
    customers: i64,
    orders: i64,
    revenue: BTreeMap<String, Decimal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cohorts {
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    pub(crate) data: Vec<Cohort>,
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
    cached(&state, &scope, &key, |db| async move {
        scope_stores(&db, &scope).await?;
        let cells = db.cohorts(&scope).await?;
        let last = month_index(scope.to);
        let mut cohorts: BTreeMap<NaiveDate, BTreeMap<i32, Month>> = BTreeMap::new();
        for cell in cells {
            let month = cohorts
                .entry(cell.cohort)
                .or_default()
                .entry(cell.month_offset)
                .or_default();
            month.customers += cell.customers;
            month.orders += cell.orders;
            *month.revenue.entry(cell.currency).or_default() += cell.revenue;
        }
        let amounts = |by_currency: &BTreeMap<String, Decimal>| -> Vec<Amount> {
            by_currency
                .iter()
                .map(|(currency, amount)| Amount {
                    currency: currency.clone(),
                    amount: *amount,
                })
                .collect()
        };
        let data = cohorts
            .into_iter()
            .map(|(cohort, months)| {
                let size = months.get(&0).map_or(0, |m| m.customers);
                let mut cumulative: BTreeMap<String, Decimal> = BTreeMap::new();
                let retention = (0..=(last - month_index(cohort)))
                    .map(|offset| {
                        let empty = Month::default();
                        let month = months.get(&offset).unwrap_or(&empty);
                        for (currency, amount) in &month.revenue {
                            *cumulative.entry(currency.clone()).or_default() += amount;
                        }
                        let per_customer = cumulative
                            .iter()
                            .map(|(currency, total)| {
                                (currency.clone(), money::average(*total, size, currency))
                            })
                            .collect();
                        Retention {
                            month_offset: offset,
                            customers: month.customers,
                            rate: rate(month.customers, size).unwrap_or(0.0),
                            orders: month.orders,
                            revenue: amounts(&month.revenue),
                            cumulative_revenue_per_customer: amounts(&per_customer),
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
