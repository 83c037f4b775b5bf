//! Orders: the list (dates, status, search, cursor pages) and one order with its lines and refunds.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    pub(crate) store_id: Option<Uuid>,
    /// Part of the order name (`#1001`) or email, any case.
    pub(crate) q: Option<String>,
    /// First day, in each store's zone.
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) from: Option<NaiveDate>,
    /// Last day, inclusive.
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) to: Option<NaiveDate>,
    /// `paid`, `pending`, `refunded`, `partially_refunded`, `voided`, …
    pub(crate) financial_status: Option<String>,
    /// `processed_at` (default) or `total_price`.
    pub(crate) sort: Option<String>,
    pub(crate) order: Option<Order>,
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderOut {
    pub(crate) store_id: Uuid,
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    pub(crate) id: i64,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    #[serde(serialize_with = "crate::shopify_id::optional")]
    #[schema(value_type = Option<String>)]
    pub(crate) customer_id: Option<i64>,
    pub(crate) processed_at: DateTime<Utc>,
    pub(crate) cancelled_at: Option<DateTime<Utc>>,
    pub(crate) currency: String,
    #[schema(value_type = String)]
    pub(crate) total_price: Decimal,
    /// After refunds.
    #[schema(value_type = String)]
    pub(crate) current_total_price: Decimal,
    pub(crate) financial_status: Option<String>,
    pub(crate) fulfillment_status: Option<String>,
    pub(crate) test: bool,
    pub(crate) units: i32,
}

pub(crate) fn order_out(o: OrderItem) -> OrderOut {
    OrderOut {
        store_id: o.store_id,
        id: o.order_id,
        name: o.name,
        email: o.email,
        customer_id: o.customer_id,
        processed_at: o.processed_at,
        cancelled_at: o.cancelled_at,
        currency: o.currency,
        total_price: o.total_price,
        current_total_price: o.current_total_price,
        financial_status: o.financial_status,
        fulfillment_status: o.fulfillment_status,
        test: o.test,
        units: o.units,
    }
}

/// Orders, newest first by default; filter by days, status, name or email.
#[utoipa::path(get, path = "/api/orders", tag = "data",
    params(OrdersQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<OrderOut>),
        (status = 400, description = BAD_LIST, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_orders(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<OrdersQuery>,
) -> Result<Json<Page<OrderOut>>, ApiError> {
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from > to {
            return Err(ApiError::BadRequest(format!(
                "`from` ({from}) is after `to` ({to})"
            )));
        }
    }
    let asked = Asked {
        store: query.store_id,
        q: query.q,
        sort: query.sort,
        order: query.order,
        limit: query.limit,
        cursor: query.cursor,
    };
    let common = common(
        caller.tenant_id,
        asked,
        &[
            (
                "processed_at",
                OrderSort::ProcessedAt,
                Direction::Descending,
            ),
            ("total_price", OrderSort::TotalPrice, Direction::Descending),
        ],
    )?;
    let filters = OrderFilters {
        from: query.from,
        to: query.to,
        financial_status: query.financial_status,
    };
    let rows = state.db.list_orders(&common.list, &filters).await?;
    Ok(Json(page(
        rows,
        &common,
        |o| (o.sort_key.clone(), o.store_id, o.order_id),
        order_out,
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineItemOut {
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    pub(crate) id: i64,
    #[serde(serialize_with = "crate::shopify_id::optional")]
    #[schema(value_type = Option<String>)]
    pub(crate) product_id: Option<i64>,
    pub(crate) title: String,
    pub(crate) variant_title: Option<String>,
    pub(crate) sku: Option<String>,
    pub(crate) quantity: i32,
    /// After refunds and removals.
    pub(crate) current_quantity: Option<i32>,
    #[schema(value_type = String)]
    pub(crate) price: Decimal,
    /// Shopify's line-level discount only.
    #[schema(value_type = String)]
    pub(crate) total_discount: Decimal,
    /// The line's whole discount, its share of order-level (code) discounts included.
    #[schema(value_type = String)]
    pub(crate) discount: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundOut {
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    pub(crate) id: i64,
    pub(crate) created_at: DateTime<Utc>,
    /// Money returned to the buyer.
    #[schema(value_type = String)]
    pub(crate) amount: Decimal,
    /// Refunded line value (the report's returns) and its tax.
    #[schema(value_type = String)]
    pub(crate) line_subtotal: Decimal,
    #[schema(value_type = String)]
    pub(crate) line_tax: Decimal,
    pub(crate) note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetailOut {
    pub(crate) order: OrderOut,
    #[schema(value_type = String)]
    pub(crate) subtotal_price: Decimal,
    #[schema(value_type = String)]
    pub(crate) total_tax: Decimal,
    #[schema(value_type = String)]
    pub(crate) total_discounts: Decimal,
    #[schema(value_type = String)]
    pub(crate) total_shipping: Decimal,
    pub(crate) line_items: Vec<LineItemOut>,
    pub(crate) refunds: Vec<RefundOut>,
}

/// One order with its line items and refunds.
#[utoipa::path(get, path = "/api/orders/{store_id}/{order_id}", tag = "data",
    params(("store_id" = Uuid, Path), ("order_id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrderDetailOut),
        (status = 404, description = "no such order", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_order(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath((store_id, order_id)): ApiPath<(Uuid, i64)>,
) -> Result<Json<OrderDetailOut>, ApiError> {
    let detail = state
        .db
        .order_detail(caller.tenant_id, StoreId(store_id), order_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such order".to_owned()))?;
    Ok(Json(OrderDetailOut {
        order: order_out(detail.order),
        subtotal_price: detail.subtotal_price,
        total_tax: detail.total_tax,
        total_discounts: detail.total_discounts,
        total_shipping: detail.total_shipping,
        line_items: detail
            .line_items
            .into_iter()
            .map(|l| LineItemOut {
                id: l.line_item_id,
                product_id: l.product_id,
                title: l.title,
                variant_title: l.variant_title,
                sku: l.sku,
                quantity: l.quantity,
                current_quantity: l.current_quantity,
                price: l.price,
                total_discount: l.total_discount,
                discount: l.discount,
            })
            .collect(),
        refunds: detail
            .refunds
            .into_iter()
            .map(|r| RefundOut {
                id: r.refund_id,
                created_at: r.created_at,
                amount: r.amount,
                line_subtotal: r.line_subtotal,
                line_tax: r.line_tax,
                note: r.note,
            })
            .collect(),
    }))
}
