//! Customers: the list (search, sort, cursor pages) and one customer with their orders.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomersQuery {
    pub(crate) store_id: Option<Uuid>,
    /// Part of an email or name, any case.
    pub(crate) q: Option<String>,
    /// `created_at` (default), `updated_at`, `email`, `spent` (net of refunds, summed over
    /// currencies), `orders`, `last_order`, or from the store's latest fit `predicted_value` (a
    /// year's expected value), `chance_alive` or `expected_orders` (over a year); customers
    /// without one sort last.
    pub(crate) sort: Option<String>,
    /// `asc` or `desc` (default: `desc` for dates, `asc` otherwise).
    pub(crate) order: Option<Order>,
    /// Rows per page, 1 to 250 (default 50).
    pub(crate) limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub(crate) cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    pub(crate) store_id: Uuid,
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    pub(crate) id: i64,
    pub(crate) email: Option<String>,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    /// Personal data erased on the shop's request.
    pub(crate) redacted: bool,
    /// Orders, test orders left out.
    pub(crate) orders: i64,
    /// What those orders came to, net of refunds.
    #[schema(value_type = String)]
    pub(crate) spent: Decimal,
    pub(crate) currency: Option<String>,
    pub(crate) last_order_at: Option<DateTime<Utc>>,
    /// From the store's latest fit (null before one): the chance they are still a customer.
    pub(crate) chance_alive: Option<f64>,
    /// The orders expected of them over the next year.
    pub(crate) expected_orders_365: Option<f64>,
    /// Their expected value over the next year, in the store's currency.
    #[schema(value_type = Option<String>)]
    pub(crate) predicted_value_365: Option<Decimal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDetail {
    pub(crate) customer: Customer,
    /// The customer's most recent orders (up to 100), newest first.
    pub(crate) orders: Vec<OrderOut>,
    /// From the store's latest customer-lifetime fit; absent until one is made (or when the
    /// store has too few repeat customers to fit).
    pub(crate) predictions: Option<crate::routes::predictions::CustomerPredictions>,
}

pub(crate) fn customer_out(c: CustomerItem) -> Customer {
    Customer {
        store_id: c.store_id,
        id: c.customer_id,
        email: c.email,
        first_name: c.first_name,
        last_name: c.last_name,
        state: c.state,
        tags: c.tags,
        created_at: c.created_at,
        updated_at: c.updated_at,
        redacted: c.redacted,
        orders: c.orders,
        spent: c.spent,
        currency: c.currency,
        last_order_at: c.last_order_at,
        chance_alive: c.p_alive,
        expected_orders_365: c.expected_orders_365,
        predicted_value_365: c.clv_365,
    }
}

/// Customers, newest first by default; searchable by email or name.
#[utoipa::path(get, path = "/api/customers", tag = "data",
    params(CustomersQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Customer>),
        (status = 400, description = BAD_LIST, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_customers(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<CustomersQuery>,
) -> Result<Json<Page<Customer>>, ApiError> {
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
            ("created_at", CustomerSort::CreatedAt, Direction::Descending),
            ("updated_at", CustomerSort::UpdatedAt, Direction::Descending),
            ("email", CustomerSort::Email, Direction::Ascending),
            ("spent", CustomerSort::Spent, Direction::Descending),
            ("orders", CustomerSort::Orders, Direction::Descending),
            ("last_order", CustomerSort::LastOrder, Direction::Descending),
            (
                "predicted_value",
                CustomerSort::PredictedValue,
                Direction::Descending,
            ),
            (
                "chance_alive",
                CustomerSort::ChanceAlive,
                Direction::Descending,
            ),
            (
                "expected_orders",
                CustomerSort::ExpectedOrders,
                Direction::Descending,
            ),
        ],
    )?;
    let rows = state.db.list_customers(&common.list).await?;
    Ok(Json(page(
        rows,
        &common,
        |c| (c.sort_key.clone(), c.store_id, c.customer_id),
        customer_out,
    )))
}

/// One customer with their recent orders.
#[utoipa::path(get, path = "/api/customers/{store_id}/{customer_id}", tag = "data",
    params(("store_id" = Uuid, Path), ("customer_id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CustomerDetail),
        (status = 404, description = "no such customer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_customer(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath((store_id, customer_id)): ApiPath<(Uuid, i64)>,
) -> Result<Json<CustomerDetail>, ApiError> {
    let (customer, orders) = state
        .db
        .customer_detail(caller.tenant_id, StoreId(store_id), customer_id, 100)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such customer".to_owned()))?;
    let predictions = state
        .db
        .customer_prediction(caller.tenant_id, StoreId(store_id), customer_id)
        .await?;
    // The same figures the list shows, from the same fit.
    let customer = CustomerItem {
        p_alive: predictions.as_ref().map(|p| p.p_alive),
        expected_orders_365: predictions.as_ref().map(|p| p.expected_orders_365),
        clv_365: predictions.as_ref().map(|p| p.clv_365),
        ..customer
    };
    Ok(Json(CustomerDetail {
        customer: customer_out(customer),
        orders: orders.into_iter().map(order_out).collect(),
        predictions: predictions.map(Into::into),
    }))
}
