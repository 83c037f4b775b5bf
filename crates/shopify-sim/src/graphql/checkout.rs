//! Abandoned checkouts.

use super::*;

pub struct CheckoutNode(pub model::Checkout);

#[Object(name = "AbandonedCheckout")]
impl CheckoutNode {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.admin_graphql_api_id.clone())
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime)
    }
    async fn abandoned_checkout_url(&self) -> Url {
        Url(self.0.abandoned_checkout_url.clone())
    }
    async fn total_price_set(&self) -> MoneyBag {
        money_bag(self.0.total_price, &self.0.currency)
    }
    async fn subtotal_price_set(&self) -> MoneyBag {
        money_bag(self.0.subtotal_price, &self.0.currency)
    }
    async fn total_tax_set(&self) -> Option<MoneyBag> {
        Some(money_bag(self.0.total_tax, &self.0.currency))
    }
    async fn total_discount_set(&self) -> MoneyBag {
        money_bag(self.0.total_discounts, &self.0.currency)
    }
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<CustomerNode>> {
        customer_node(ctx, self.0.customer.as_ref().map(|c| c.id))
    }
    async fn line_items(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, CheckoutLineItemNode>> {
        let currency = self.0.currency.clone();
        let base = self.0.id;
        let items = self
            .0
            .line_items
            .iter()
            .enumerate()
            .map(|(i, l)| (i as i64, base + i as i64, l.clone()))
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
            |line| CheckoutLineItemNode {
                line,
                currency: currency.clone(),
            },
        )
    }
}

pub struct CheckoutLineItemNode {
    pub(crate) line: model::CheckoutLineItem,
    pub(crate) currency: String,
}

#[Object(name = "AbandonedCheckoutLineItem")]
impl CheckoutLineItemNode {
    pub(crate) async fn id(&self) -> ID {
        ID(gid(
            "AbandonedCheckoutLineItem",
            i64::from_str_radix(&self.line.key, 16).unwrap_or_default(),
        ))
    }
    async fn title(&self) -> Option<&str> {
        Some(&self.line.title)
    }
    async fn variant_title(&self) -> Option<&str> {
        self.line.variant_title.as_deref()
    }
    async fn sku(&self) -> Option<&str> {
        self.line.sku.as_deref()
    }
    async fn quantity(&self) -> i32 {
        self.line.quantity
    }
    async fn original_unit_price_set(&self) -> MoneyBag {
        money_bag(self.line.price, &self.currency)
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<ProductNode>> {
        product_node(ctx, self.line.product_id)
    }
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<VariantNode>> {
        variant_node(ctx, self.line.product_id, self.line.variant_id)
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "AbandonedCheckoutSortKeys",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum AbandonedCheckoutSortKeys {
    CreatedAt,
    Id,
}

#[derive(Default)]
pub struct CheckoutQuery;

#[Object]
impl CheckoutQuery {
    async fn abandoned_checkouts_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(default_with = "COUNT_LIMIT")] limit: Option<i32>,
    ) -> Result<Option<Count>> {
        count_matching(
            ctx,
            query,
            limit,
            |shop| &shop.checkouts,
            abandoned_checkout_matches,
        )
    }

    /// Checkouts that were never completed.
    #[allow(clippy::too_many_arguments)]
    async fn abandoned_checkouts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(AbandonedCheckoutSortKeys::Id)")] sort_key: Option<
            AbandonedCheckoutSortKeys,
        >,
        query: Option<String>,
    ) -> Result<Connection<String, CheckoutNode>> {
        let search = search(ctx, query.as_deref())?;
        let shop = &data(ctx)?.shop;
        let items = shop
            .checkouts
            .values()
            .filter(|c| abandoned_checkout_matches(&search, c))
            .map(|c| {
                let key = match sort_key.unwrap_or(AbandonedCheckoutSortKeys::Id) {
                    AbandonedCheckoutSortKeys::Id => c.id,
                    AbandonedCheckoutSortKeys::CreatedAt => millis(&c.created_at),
                };
                (key, c.id, c)
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
            |c| CheckoutNode(c.clone()),
        )
    }
}
