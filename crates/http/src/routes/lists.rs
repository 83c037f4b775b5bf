//! Cursor-paginated customers, orders and products, and a customer's detail.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_storage::lists::{
    After, CustomerItem, CustomerSort, Direction, ListQuery, OrderFilters, OrderItem, OrderSort,
    ProductItem, ProductSort,
};

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::paging::{decode_cursor, encode_cursor, page_limit};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomersQuery {
    store_id: Option<Uuid>,
    /// Part of an email or name, any case.
    q: Option<String>,
    /// `created_at` (default), `updated_at` or `email`.
    sort: Option<String>,
    /// `asc` or `desc` (default: `desc` for dates, `asc` otherwise).
    order: Option<Order>,
    /// Rows per page, 1 to 250 (default 50).
    limit: Option<u32>,
    /// `next_cursor` from the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    store_id: Option<Uuid>,
    /// Part of the order name (`#1001`) or email, any case.
    q: Option<String>,
    /// First day, in each store's zone.
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    from: Option<NaiveDate>,
    /// Last day, inclusive.
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    to: Option<NaiveDate>,
    /// `paid`, `pending`, `refunded`, `partially_refunded`, `voided`, …
    financial_status: Option<String>,
    /// `processed_at` (default) or `total_price`.
    sort: Option<String>,
    order: Option<Order>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductsQuery {
    store_id: Option<Uuid>,
    /// Part of the title or vendor, any case.
    q: Option<String>,
    /// `title` (default), `created_at` or `updated_at`.
    sort: Option<String>,
    order: Option<Order>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    store_id: Uuid,
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    id: i64,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    state: Option<String>,
    tags: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Personal data erased on the shop's request.
    redacted: bool,
    /// Orders, test orders left out.
    orders: i64,
    /// What those orders came to, net of refunds.
    #[schema(value_type = String)]
    spent: Decimal,
    currency: Option<String>,
    last_order_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderOut {
    store_id: Uuid,
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    id: i64,
    name: Option<String>,
    email: Option<String>,
    #[serde(serialize_with = "crate::shopify_id::optional")]
    #[schema(value_type = Option<String>)]
    customer_id: Option<i64>,
    processed_at: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
    currency: String,
    #[schema(value_type = String)]
    total_price: Decimal,
    /// After refunds.
    #[schema(value_type = String)]
    current_total_price: Decimal,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    test: bool,
    units: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    store_id: Uuid,
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    id: i64,
    title: String,
    handle: Option<String>,
    vendor: Option<String>,
    product_type: Option<String>,
    status: Option<String>,
    tags: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    variants: i64,
    #[schema(value_type = Option<String>)]
    min_price: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    max_price: Option<Decimal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDetail {
    customer: Customer,
    /// The customer's most recent orders (up to 100), newest first.
    orders: Vec<OrderOut>,
}

/// The cursor's content: the sort it belongs to and where the page stopped.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    sort: String,
    desc: bool,
    key: Option<String>,
    store: Uuid,
    id: i64,
}

struct Common<S> {
    list: ListQuery<S>,
    sort_name: String,
}

/// What every list request asks, whatever it lists.
struct Asked {
    store: Option<Uuid>,
    q: Option<String>,
    sort: Option<String>,
    order: Option<Order>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn common<S: Copy>(
    tenant: TenantId,
    asked: Asked,
    sorts: &[(&str, S, Direction)],
) -> Result<Common<S>, ApiError> {
    let Asked {
        store,
        q,
        sort,
        order,
        limit,
        cursor,
    } = asked;
    let sort_name = sort.unwrap_or_else(|| sorts[0].0.to_owned());
    let Some((_, sort, default)) = sorts.iter().find(|(name, _, _)| *name == sort_name) else {
        let names: Vec<&str> = sorts.iter().map(|(name, _, _)| *name).collect();
        return Err(ApiError::BadRequest(format!(
            "`sort` must be one of {}, not `{sort_name}`",
            names.join(", ")
        )));
    };
    let direction = match order {
        None => *default,
        Some(Order::Asc) => Direction::Ascending,
        Some(Order::Desc) => Direction::Descending,
    };
    let limit = page_limit(limit)?;
    let after = cursor
        .map(|text| {
            let cursor: Cursor = decode_cursor(&text)?;
            if cursor.sort != sort_name || cursor.desc != (direction == Direction::Descending) {
                return Err(ApiError::BadRequest(
                    "`cursor` belongs to another sort order; ask again with the same `sort` and `order`"
                        .to_owned(),
                ));
            }
            Ok(After {
                key: cursor.key,
                store_id: cursor.store,
                id: cursor.id,
            })
        })
        .transpose()?;
    let search = q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    Ok(Common {
        list: ListQuery {
            tenant,
            store: store.map(StoreId),
            search,
            sort: *sort,
            direction,
            after,
            limit: i64::from(limit) + 1,
        },
        sort_name,
    })
}

/// Trims the extra row fetched to learn whether another page follows, and makes its cursor.
fn page<R, T>(
    mut rows: Vec<R>,
    common: &Common<impl Copy>,
    position: impl Fn(&R) -> (Option<String>, Uuid, i64),
    out: impl Fn(R) -> T,
) -> Page<T> {
    let wanted = (common.list.limit - 1) as usize;
    let more = rows.len() > wanted;
    rows.truncate(wanted);
    let next_cursor = if more {
        rows.last().map(|last| {
            let (key, store, id) = position(last);
            let cursor = Cursor {
                sort: common.sort_name.clone(),
                desc: common.list.direction == Direction::Descending,
                key,
                store,
                id,
            };
            encode_cursor(&cursor)
        })
    } else {
        None
    };
    Page {
        data: rows.into_iter().map(out).collect(),
        next_cursor,
    }
}

fn customer_out(c: CustomerItem) -> Customer {
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
    }
}

fn product_out(p: ProductItem) -> Product {
    Product {
        store_id: p.store_id,
        id: p.product_id,
        title: p.title,
        handle: p.handle,
        vendor: p.vendor,
        product_type: p.product_type,
        status: p.status,
        tags: p.tags,
        created_at: p.created_at,
        updated_at: p.updated_at,
        variants: p.variants,
        min_price: p.min_price,
        max_price: p.max_price,
    }
}

fn order_out(o: OrderItem) -> OrderOut {
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

const BAD_LIST: &str = "an unknown sort, a limit out of range, a cursor from elsewhere";

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

/// Products, by title by default; searchable by title or vendor.
#[utoipa::path(get, path = "/api/products", tag = "data",
    params(ProductsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Product>),
        (status = 400, description = BAD_LIST, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_products(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<ProductsQuery>,
) -> Result<Json<Page<Product>>, ApiError> {
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
            ("title", ProductSort::Title, Direction::Ascending),
            ("created_at", ProductSort::CreatedAt, Direction::Descending),
            ("updated_at", ProductSort::UpdatedAt, Direction::Descending),
        ],
    )?;
    let rows = state.db.list_products(&common.list).await?;
    Ok(Json(page(
        rows,
        &common,
        |p| (p.sort_key.clone(), p.store_id, p.product_id),
        product_out,
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
    Ok(Json(CustomerDetail {
        customer: customer_out(customer),
        orders: orders.into_iter().map(order_out).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineItemOut {
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    id: i64,
    #[serde(serialize_with = "crate::shopify_id::optional")]
    #[schema(value_type = Option<String>)]
    product_id: Option<i64>,
    title: String,
    variant_title: Option<String>,
    sku: Option<String>,
    quantity: i32,
    /// After refunds and removals.
    current_quantity: Option<i32>,
    #[schema(value_type = String)]
    price: Decimal,
    /// Shopify's line-level discount only.
    #[schema(value_type = String)]
    total_discount: Decimal,
    /// The line's whole discount, its share of order-level (code) discounts included.
    #[schema(value_type = String)]
    discount: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundOut {
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    id: i64,
    created_at: DateTime<Utc>,
    /// Money returned to the buyer.
    #[schema(value_type = String)]
    amount: Decimal,
    /// Refunded line value (the report's returns) and its tax.
    #[schema(value_type = String)]
    line_subtotal: Decimal,
    #[schema(value_type = String)]
    line_tax: Decimal,
    note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetailOut {
    order: OrderOut,
    #[schema(value_type = String)]
    subtotal_price: Decimal,
    #[schema(value_type = String)]
    total_tax: Decimal,
    #[schema(value_type = String)]
    total_discounts: Decimal,
    #[schema(value_type = String)]
    total_shipping: Decimal,
    line_items: Vec<LineItemOut>,
    refunds: Vec<RefundOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantOut {
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    id: i64,
    title: Option<String>,
    sku: Option<String>,
    #[schema(value_type = String)]
    price: Decimal,
    currency: String,
    inventory_quantity: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDetail {
    product: Product,
    variants: Vec<VariantOut>,
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

/// One product with its variants.
#[utoipa::path(get, path = "/api/products/{store_id}/{product_id}", tag = "data",
    params(("store_id" = Uuid, Path), ("product_id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProductDetail),
        (status = 404, description = "no such product", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_product(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath((store_id, product_id)): ApiPath<(Uuid, i64)>,
) -> Result<Json<ProductDetail>, ApiError> {
    let (product, variants) = state
        .db
        .product_detail(caller.tenant_id, StoreId(store_id), product_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such product".to_owned()))?;
    Ok(Json(ProductDetail {
        product: product_out(product),
        variants: variants
            .into_iter()
            .map(|v| VariantOut {
                id: v.variant_id,
                title: v.title,
                sku: v.sku,
                price: v.price,
                currency: v.currency,
                inventory_quantity: v.inventory_quantity,
            })
            .collect(),
    }))
}
