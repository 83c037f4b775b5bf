//! Products and their variants.

use super::*;

/// The shop's product with this id, if it still exists.
pub(crate) fn product_node(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<ProductNode>> {
    let shop = &data(ctx)?.shop;
    Ok(id
        .and_then(|id| shop.products.get(&id))
        .cloned()
        .map(ProductNode))
}

/// A variant of a product, if both still exist.
pub(crate) fn variant_node(
    ctx: &Context<'_>,
    product: Option<i64>,
    variant: Option<i64>,
) -> Result<Option<VariantNode>> {
    let shop = &data(ctx)?.shop;
    Ok(product
        .and_then(|id| shop.products.get(&id))
        .and_then(|p| p.variants.iter().find(|v| Some(v.id) == variant))
        .cloned()
        .map(VariantNode))
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ProductStatus", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ProductStatus {
    Active,
    Archived,
    Draft,
}

pub struct ProductNode(pub model::Product);

#[Object(name = "Product")]
impl ProductNode {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.admin_graphql_api_id.clone())
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn handle(&self) -> &str {
        &self.0.handle
    }
    async fn vendor(&self) -> &str {
        &self.0.vendor
    }
    async fn product_type(&self) -> &str {
        &self.0.product_type
    }
    async fn status(&self) -> ProductStatus {
        match self.0.status.as_str() {
            "archived" => ProductStatus::Archived,
            "draft" => ProductStatus::Draft,
            _ => ProductStatus::Active,
        }
    }
    async fn tags(&self) -> Vec<String> {
        split_tags(&self.0.tags)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn published_at(&self) -> Option<DateTime> {
        self.0.published_at.map(DateTime)
    }
    async fn media(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, Media>> {
        let items = media(&self.0)
            .into_iter()
            .map(|(id, m)| (id, id, m))
            .collect();
        let page = Page {
            first,
            after,
            last,
            before,
            reverse,
            root: false,
        };
        paginate(ctx, items, &page, |m| m)
    }
    /// The material, as a product-details app would keep it.
    #[allow(clippy::too_many_arguments)]
    async fn metafields(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        namespace: Option<String>,
        keys: Option<Vec<String>>,
    ) -> Result<Connection<String, MetafieldNode>> {
        let material = ["cotton", "wool", "ceramic", "oak"][self.0.id.rem_euclid(4) as usize];
        let fields = vec![metafield(
            self.0.id,
            0,
            "material",
            "single_line_text_field",
            material.to_owned(),
        )];
        let page = Page {
            first,
            after,
            last,
            before,
            reverse,
            root: false,
        };
        metafield_connection(ctx, fields, MetafieldFilter { namespace, keys }, &page)
    }
    async fn variants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, VariantNode>> {
        let items = self
            .0
            .variants
            .iter()
            .map(|v| (i64::from(v.position), v.id, v.clone()))
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: false,
            },
            VariantNode,
        )
    }
}

pub struct VariantNode(pub model::Variant);

#[Object(name = "ProductVariant")]
impl VariantNode {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.admin_graphql_api_id.clone())
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn sku(&self) -> Option<&str> {
        Some(&self.0.sku)
    }
    async fn price(&self) -> Money {
        Money(self.0.price)
    }
    async fn compare_at_price(&self) -> Option<Money> {
        self.0.compare_at_price.map(Money)
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn inventory_quantity(&self) -> Option<i32> {
        i32::try_from(self.0.inventory_quantity).ok()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<ProductNode> {
        data(ctx)?
            .shop
            .products
            .get(&self.0.product_id)
            .cloned()
            .map(ProductNode)
            .ok_or_else(|| Error::new("the variant's product was deleted"))
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ProductSortKeys", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ProductSortKeys {
    CreatedAt,
    Id,
    UpdatedAt,
}

#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    async fn products_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(default_with = "COUNT_LIMIT")] limit: Option<i32>,
    ) -> Result<Option<Count>> {
        count_matching(ctx, query, limit, |shop| &shop.products, product_matches)
    }

    #[allow(clippy::too_many_arguments)]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(ProductSortKeys::Id)")] sort_key: Option<ProductSortKeys>,
        query: Option<String>,
    ) -> Result<Connection<String, ProductNode>> {
        let search = search(ctx, query.as_deref())?;
        let shop = &data(ctx)?.shop;
        let items = shop
            .products
            .values()
            .filter(|p| product_matches(&search, p))
            .map(|p| {
                let key = match sort_key.unwrap_or(ProductSortKeys::Id) {
                    ProductSortKeys::Id => p.id,
                    ProductSortKeys::CreatedAt => millis(&p.created_at),
                    ProductSortKeys::UpdatedAt => millis(&p.updated_at),
                };
                (key, p.id, p)
            })
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: true,
            },
            |p| ProductNode(p.clone()),
        )
    }

    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ProductNode>> {
        let shop = &data(ctx)?.shop;
        Ok(parse_gid(&id)
            .and_then(|(_, id)| shop.products.get(&id))
            .cloned()
            .map(ProductNode))
    }
}
