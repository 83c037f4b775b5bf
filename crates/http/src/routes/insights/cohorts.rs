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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Cohort {
    /// The month of its customers' first order (first day), in their store's zone.
    pub(crate) cohort: NaiveDate,
    pub(crate) customers: i64,
    /// Every month from the cohort's to the range's last, zeros included.
    pub(crate) retention: Vec<Retention>,
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
