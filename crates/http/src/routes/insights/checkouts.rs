//! Checkouts started, completed, abandoned and still open.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyCheckouts {
    pub(crate) currency: String,
    /// Checkouts created in the range.
    pub(crate) started: i64,
    pub(crate) completed: i64,
    /// Not completed 10 hours after their last update.
    pub(crate) abandoned: i64,
    /// Neither completed nor abandoned yet (updated in the last 10 hours).
    pub(crate) open: i64,
    /// abandoned / (completed + abandoned) among checkouts begun since their store was
    /// connected (Shopify exports abandoned checkouts only, so earlier completions are
    /// unknown); null when there are none.
    pub(crate) abandonment_rate: Option<f64>,
    /// Since when completions are known for every store in this currency: checkouts begun
    /// earlier count as started and abandoned, but not in the rate.
    pub(crate) completions_known_since: Option<DateTime<Utc>>,
    #[schema(value_type = String)]
    pub(crate) abandoned_value: Decimal,
    #[schema(value_type = String)]
    pub(crate) completed_value: Decimal,
    /// Completed 10 hours or more after they began: abandoned first, then won back.
    pub(crate) recovered: i64,
    #[schema(value_type = String)]
    pub(crate) recovered_value: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checkouts {
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    pub(crate) data: Vec<CurrencyCheckouts>,
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
    cached(&state, &scope, &key, |db| async move {
        scope_stores(&db, &scope).await?;
        let rows = db.checkout_figures(&scope).await?;
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
