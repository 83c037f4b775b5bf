//! Products: the list and one product with its variants.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductsQuery {
    pub(crate) store_id: Option<Uuid>,
    /// Part of the title or vendor, any case.
    pub(crate) q: Option<String>,
    /// `title` (default), `created_at` or `updated_at`.
    pub(crate) sort: Option<String>,
    pub(crate) order: Option<Order>,
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
    /// With `to`: each product's units and net sales from this day (in its store's zone),
    /// as the products report counts them.
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) from: Option<NaiveDate>,
    /// The range's last day, inclusive.
    #[serde(default, deserialize_with = "crate::extract::bounded_day")]
    pub(crate) to: Option<NaiveDate>,
}

/// What a product sold in the asked range, in one currency (net of discounts and returns,
/// as the products report counts it).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductSales {
    pub(crate) currency: String,
    pub(crate) units: i64,
    #[schema(value_type = String)]
    pub(crate) net_sales: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    pub(crate) store_id: Uuid,
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    pub(crate) id: i64,
    pub(crate) title: String,
    pub(crate) handle: Option<String>,
    pub(crate) vendor: Option<String>,
    pub(crate) product_type: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) variants: i64,
    #[schema(value_type = Option<String>)]
    pub(crate) min_price: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub(crate) max_price: Option<Decimal>,
    /// When a range was asked: what it sold in it, per currency (empty: nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sales: Option<Vec<ProductSales>>,
}

pub(crate) fn product_out(p: ProductItem) -> Product {
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
        sales: None,
    }
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
    let range = match (query.from, query.to) {
        (None, None) => None,
        (from, to) => Some(crate::routes::insights::scope(
            caller.tenant_id,
            from,
            to,
            query.store_id,
        )?),
    };
    let rows = state.db.list_products(&common.list).await?;
    let mut out = page(
        rows,
        &common,
        |p| (p.sort_key.clone(), p.store_id, p.product_id),
        product_out,
    );
    if let Some(scope) = range {
        // The page's products only, counted as the products report counts them.
        let ids: Vec<(Uuid, i64)> = out.data.iter().map(|p| (p.store_id, p.id)).collect();
        let sold = state
            .db
            .top_products(
                &scope,
                (
                    xeno_storage::insights::ProductGrouping::Product,
                    xeno_storage::insights::ProductRank::Revenue,
                ),
                i64::MAX,
                Some(&ids),
            )
            .await?;
        for product in &mut out.data {
            product.sales = Some(
                sold.iter()
                    .filter(|s| s.store_id == product.store_id && s.product_id == Some(product.id))
                    .map(|s| ProductSales {
                        currency: s.currency.clone(),
                        units: s.units,
                        net_sales: s.revenue,
                    })
                    .collect(),
            );
        }
    }
    Ok(Json(out))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantOut {
    #[serde(serialize_with = "crate::shopify_id::string")]
    #[schema(value_type = String)]
    pub(crate) id: i64,
    pub(crate) title: Option<String>,
    pub(crate) sku: Option<String>,
    #[schema(value_type = String)]
    pub(crate) price: Decimal,
    pub(crate) currency: String,
    pub(crate) inventory_quantity: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDetail {
    pub(crate) product: Product,
    pub(crate) variants: Vec<VariantOut>,
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
