//! RFM segments, and a segment's customers as CSV.

use super::*;

/// Text a spreadsheet would run as a formula is quoted so that it stays text.
pub(crate) fn spreadsheet_safe(text: Option<&str>) -> String {
    let text = text.unwrap_or_default();
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SegmentsQuery {
    /// Scores are as of the end of this day (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    pub(crate) store_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SegmentExportQuery {
    /// `champions`, `loyal`, `promising`, `needs_attention`, `at_risk`, `hibernating` or `lost`.
    #[param(value_type = String)]
    pub(crate) segment: Segment,
    /// Scores are as of the end of this day (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    pub(crate) store_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Amount {
    pub(crate) currency: String,
    #[schema(value_type = String)]
    pub(crate) amount: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentSummary {
    #[schema(value_type = String)]
    pub(crate) segment: Segment,
    pub(crate) description: &'static str,
    pub(crate) customers: i64,
    /// Share of all buyers (0–1).
    pub(crate) share: f64,
    /// What the segment's customers have spent, net of refunds, per currency.
    pub(crate) revenue: Vec<Amount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Segments {
    pub(crate) as_of: NaiveDate,
    pub(crate) buyers: i64,
    pub(crate) data: Vec<SegmentSummary>,
}

/// Buyers in segments by recency and frequency quintiles within each store (the RF grid);
/// the monetary quintile is scored too and given with each customer, but places no one.
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
    cached(&state, &scope, &key, |db| async move {
        scope_stores(&db, &scope).await?;
        let buyers = db.rfm(&scope).await?;
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
    scope_stores(&state.db, &scope).await?;
    crate::audit::record(
        &state,
        &caller,
        "segment.export",
        query.store_id.map(|id| id.to_string()),
        serde_json::json!({ "segment": query.segment, "as_of": scope.to }),
    )
    .await;
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

/// How a segment's customers are ordered.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SegmentSort {
    /// Most spent first (within the page, amounts in several currencies sort by amount).
    #[default]
    Spent,
    /// Most orders first.
    Orders,
    /// Most recent last order first.
    LastOrder,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SegmentCustomersQuery {
    /// `champions`, `loyal`, `promising`, `needs_attention`, `at_risk`, `hibernating` or `lost`.
    #[param(value_type = String)]
    pub(crate) segment: Segment,
    /// Scores are as of the end of this day (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    pub(crate) store_id: Option<Uuid>,
    /// `spent` (default), `orders` or `last_order`.
    #[param(value_type = Option<String>)]
    pub(crate) sort: Option<SegmentSort>,
    /// Rows per page, 1 to 100 (default 50).
    pub(crate) limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub(crate) cursor: Option<String>,
}

/// A customer of a segment, with the scores that put them there.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentCustomer {
    pub(crate) store_id: Uuid,
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    pub(crate) customer_id: i64,
    pub(crate) email: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) orders: i64,
    #[schema(value_type = String)]
    pub(crate) spent: Decimal,
    pub(crate) currency: String,
    pub(crate) last_order_at: DateTime<Utc>,
    /// Quintile scores within the store, 1–5.
    pub(crate) recency: i32,
    pub(crate) frequency: i32,
    pub(crate) monetary: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentCustomers {
    #[schema(value_type = String)]
    pub(crate) segment: Segment,
    pub(crate) as_of: NaiveDate,
    /// Customers in the segment, all pages.
    pub(crate) total: i64,
    pub(crate) data: Vec<SegmentCustomer>,
    pub(crate) next_cursor: Option<String>,
}

/// Where the next page starts: the position in the segment's order as of this answer.
#[derive(Debug, Serialize, Deserialize)]
struct SegmentCursor {
    at: usize,
}

/// One segment's customers, a page at a time, sorted by spend, orders or last order.
#[utoipa::path(get, path = "/api/metrics/segments/customers", tag = "insights",
    params(SegmentCustomersQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SegmentCustomers),
        (status = 400, description = "an unknown segment or sort, a malformed date, store id or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such store", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_segment_customers(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<SegmentCustomersQuery>,
) -> Result<Response, ApiError> {
    let scope = scope(caller.tenant_id, query.to, query.to, query.store_id)?;
    let limit = usize::try_from(limit(query.limit, 50)?).unwrap_or(50);
    let start = match &query.cursor {
        Some(cursor) => crate::paging::decode_cursor::<SegmentCursor>(cursor)?.at,
        None => 0,
    };
    let sort = query.sort.unwrap_or_default();
    scope_stores(&state.db, &scope).await?;
    // Scores rank every buyer of the store, so the whole store is scored; a page is cut
    // from the segment after (the ranking is the expensive part, not the cut).
    let mut members: Vec<_> = state
        .db
        .rfm(&scope)
        .await?
        .into_iter()
        .filter(|b| Segment::of(b.recency, b.frequency) == query.segment)
        .collect();
    members.sort_by(|a, b| {
        let key = match sort {
            SegmentSort::Spent => b.spent.cmp(&a.spent),
            SegmentSort::Orders => b.orders.cmp(&a.orders),
            SegmentSort::LastOrder => b.last_order_at.cmp(&a.last_order_at),
        };
        key.then(a.store_id.cmp(&b.store_id))
            .then(a.customer_id.cmp(&b.customer_id))
    });
    let total = members.len();
    let end = start.saturating_add(limit).min(total);
    let next_cursor =
        (end < total).then(|| crate::paging::encode_cursor(&SegmentCursor { at: end }));
    let data = members
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .map(|b| SegmentCustomer {
            name: full_name(b.first_name, b.last_name),
            store_id: b.store_id,
            customer_id: b.customer_id,
            email: b.email,
            orders: b.orders,
            spent: b.spent,
            currency: b.currency,
            last_order_at: b.last_order_at,
            recency: b.recency,
            frequency: b.frequency,
            monetary: b.monetary,
        })
        .collect();
    Ok(axum::Json(SegmentCustomers {
        segment: query.segment,
        as_of: scope.to,
        total: total as i64,
        data,
        next_cursor,
    })
    .into_response())
}
