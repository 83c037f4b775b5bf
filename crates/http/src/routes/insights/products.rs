//! Best sellers per currency, net of discounts and returns.

use super::*;

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    #[default]
    Revenue,
    Units,
}

/// What the report sums sales by.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProductsBy {
    #[default]
    Product,
    Variant,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductsQuery {
    /// First day, `YYYY-MM-DD`, in each store's time zone (default: 29 days before `to`).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) from: Option<NaiveDate>,
    /// Last day, inclusive (default: today in UTC).
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) to: Option<NaiveDate>,
    /// One store; all of the tenant's when absent.
    pub(crate) store_id: Option<Uuid>,
    /// Rank by `revenue` (default) or `units`.
    pub(crate) sort: Option<ProductSort>,
    /// Sum by `product` (default) or by `variant` (each variant ranked on its own).
    pub(crate) by: Option<ProductsBy>,
    /// Products per currency, 1–100 (default 10).
    pub(crate) limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopProduct {
    pub(crate) store_id: Uuid,
    /// Null for custom line items that are no product.
    #[serde(serialize_with = "crate::shopify_id::optional")]
    #[schema(value_type = Option<String>)]
    pub(crate) product_id: Option<i64>,
    /// With `by=variant`, the variant; null by product, and for lines without one.
    #[serde(serialize_with = "crate::shopify_id::optional")]
    #[schema(value_type = Option<String>)]
    pub(crate) variant_id: Option<i64>,
    /// With `by=variant`, the variant's title: its option values ("Blue / Large"), or
    /// Shopify's "Default Title" for a product without options. Null by product.
    pub(crate) variant_title: Option<String>,
    pub(crate) title: String,
    pub(crate) currency: String,
    pub(crate) orders: i64,
    pub(crate) units: i64,
    /// Net sales of the product in the range, as Shopify's sales report counts them: line
    /// price × quantity less each line's whole discount (its share of order-level code
    /// discounts included) for orders placed in the range, less returns dated in the range
    /// (refunded lines, and what cancellations took back); gift cards left out. `orders` and
    /// `units` count what was ordered in the range.
    #[schema(value_type = String)]
    pub(crate) revenue: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopProducts {
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    /// Ranked within each currency.
    pub(crate) data: Vec<TopProduct>,
}

/// Best-selling products (or variants) in the range, by revenue or units.
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
    let by = query.by.unwrap_or_default();
    let key = format!(
        "products:{}:{}:{:?}:{sort:?}:{by:?}:{limit}",
        scope.from, scope.to, scope.store
    );
    cached(&state, &scope, &key, |db| async move {
        scope_stores(&db, &scope).await?;
        let rank = match sort {
            ProductSort::Revenue => ProductRank::Revenue,
            ProductSort::Units => ProductRank::Units,
        };
        let grouping = match by {
            ProductsBy::Product => ProductGrouping::Product,
            ProductsBy::Variant => ProductGrouping::Variant,
        };
        let rows = db
            .top_products(&scope, (grouping, rank), limit, None)
            .await?;
        Ok(TopProducts {
            from: scope.from,
            to: scope.to,
            data: rows
                .into_iter()
                .map(|p| TopProduct {
                    store_id: p.store_id,
                    product_id: p.product_id,
                    variant_id: p.variant_id,
                    variant_title: p.variant_title,
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
