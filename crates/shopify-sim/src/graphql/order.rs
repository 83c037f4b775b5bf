//! Orders, line items, discount allocations and duties (refunds are in `refund.rs`).

use super::*;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "OrderDisplayFinancialStatus",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum OrderDisplayFinancialStatus {
    Authorized,
    Expired,
    Paid,
    PartiallyPaid,
    PartiallyRefunded,
    Pending,
    Refunded,
    Voided,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "OrderDisplayFulfillmentStatus",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum OrderDisplayFulfillmentStatus {
    Fulfilled,
    InProgress,
    OnHold,
    Open,
    PartiallyFulfilled,
    PendingFulfillment,
    Restocked,
    Scheduled,
    Unfulfilled,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "OrderCancelReason", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum OrderCancelReason {
    Customer,
    Declined,
    Fraud,
    Inventory,
    Other,
    Staff,
}

pub struct OrderNode(pub model::Order);

#[Object(name = "Order")]
impl OrderNode {
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.admin_graphql_api_id.clone())
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn processed_at(&self) -> DateTime {
        DateTime(self.0.processed_at)
    }
    async fn cancelled_at(&self) -> Option<DateTime> {
        self.0.cancelled_at.map(DateTime)
    }
    async fn cancel_reason(&self) -> Option<OrderCancelReason> {
        self.0.cancel_reason.as_deref().map(|reason| match reason {
            "customer" => OrderCancelReason::Customer,
            "declined" => OrderCancelReason::Declined,
            "fraud" => OrderCancelReason::Fraud,
            "inventory" => OrderCancelReason::Inventory,
            "staff" => OrderCancelReason::Staff,
            _ => OrderCancelReason::Other,
        })
    }
    async fn closed_at(&self) -> Option<DateTime> {
        self.0.closed_at.map(DateTime)
    }
    async fn test(&self) -> bool {
        self.0.test
    }
    async fn currency_code(&self) -> CurrencyCode {
        CurrencyCode::from_code(&self.0.currency)
    }
    async fn presentment_currency_code(&self) -> CurrencyCode {
        CurrencyCode::from_code(&self.0.presentment_currency)
    }
    async fn display_financial_status(&self) -> Option<OrderDisplayFinancialStatus> {
        use OrderDisplayFinancialStatus as S;
        Some(match self.0.financial_status.as_str() {
            "authorized" => S::Authorized,
            "partially_paid" => S::PartiallyPaid,
            "partially_refunded" => S::PartiallyRefunded,
            "pending" => S::Pending,
            "refunded" => S::Refunded,
            "voided" => S::Voided,
            "expired" => S::Expired,
            _ => S::Paid,
        })
    }
    async fn display_fulfillment_status(&self) -> OrderDisplayFulfillmentStatus {
        match self.0.fulfillment_status.as_deref() {
            Some("fulfilled") => OrderDisplayFulfillmentStatus::Fulfilled,
            Some("partial") => OrderDisplayFulfillmentStatus::PartiallyFulfilled,
            _ => OrderDisplayFulfillmentStatus::Unfulfilled,
        }
    }
    async fn source_name(&self) -> Option<&str> {
        Some(&self.0.source_name)
    }
    async fn tags(&self) -> Vec<String> {
        split_tags(&self.0.tags)
    }
    async fn discount_codes(&self) -> Vec<String> {
        self.0
            .discount_codes
            .iter()
            .map(|d| d.code.clone())
            .collect()
    }
    async fn total_price_set(&self) -> MoneyBag {
        money_bag(self.0.total_price, &self.0.currency)
    }
    async fn subtotal_price_set(&self) -> Option<MoneyBag> {
        Some(money_bag(self.0.subtotal_price, &self.0.currency))
    }
    async fn total_tax_set(&self) -> Option<MoneyBag> {
        Some(money_bag(self.0.total_tax, &self.0.currency))
    }
    async fn total_discounts_set(&self) -> Option<MoneyBag> {
        Some(money_bag(self.0.total_discounts, &self.0.currency))
    }
    async fn total_shipping_price_set(&self) -> MoneyBag {
        money_bag(
            self.0.total_shipping_price_set.shop_money.amount,
            &self.0.currency,
        )
    }
    /// All of the order's shipping in one line: charges, shipping discounts and what was
    /// charged after them.
    async fn shipping_line(&self) -> Option<ShippingLineNode> {
        let lines = &self.0.shipping_lines;
        let first = lines.first()?;
        let allocations = lines
            .iter()
            .flat_map(|l| &l.discount_allocations)
            .map(|a| DiscountAllocation {
                allocated_amount_set: money_bag(a.amount, &self.0.currency),
            })
            .collect();
        Some(ShippingLineNode {
            id: Some(ID(gid("ShippingLine", first.id))),
            title: first.title.clone(),
            code: Some(first.code.clone()),
            original_price_set: money_bag(lines.iter().map(|l| l.price).sum(), &self.0.currency),
            discounted_price_set: money_bag(
                lines.iter().map(|l| l.discounted_price).sum(),
                &self.0.currency,
            ),
            discount_allocations: allocations,
        })
    }
    async fn total_refunded_set(&self) -> MoneyBag {
        let refunded = self.0.refunds.iter().map(model::Refund::amount).sum();
        money_bag(refunded, &self.0.currency)
    }
    async fn current_total_price_set(&self) -> MoneyBag {
        money_bag(self.0.current_total_price, &self.0.currency)
    }
    async fn current_subtotal_price_set(&self) -> MoneyBag {
        money_bag(self.0.current_subtotal_price, &self.0.currency)
    }
    async fn current_total_tax_set(&self) -> MoneyBag {
        money_bag(self.0.current_total_tax, &self.0.currency)
    }
    async fn current_total_discounts_set(&self) -> MoneyBag {
        money_bag(self.0.current_total_discounts, &self.0.currency)
    }
    /// Import duties charged; `null` where none apply.
    async fn original_total_duties_set(&self) -> Option<MoneyBag> {
        self.0
            .original_total_duties_set
            .as_ref()
            .map(|set| money_bag(set.shop_money.amount, &self.0.currency))
    }
    /// Duties less those refunded; `null` where none apply.
    async fn current_total_duties_set(&self) -> Option<MoneyBag> {
        self.0
            .current_total_duties_set
            .as_ref()
            .map(|set| money_bag(set.shop_money.amount, &self.0.currency))
    }
    async fn original_total_additional_fees_set(&self) -> Option<MoneyBag> {
        self.0
            .original_total_additional_fees_set
            .as_ref()
            .map(|set| money_bag(set.shop_money.amount, &self.0.currency))
    }
    async fn current_total_additional_fees_set(&self) -> Option<MoneyBag> {
        self.0
            .current_total_additional_fees_set
            .as_ref()
            .map(|set| money_bag(set.shop_money.amount, &self.0.currency))
    }
    async fn total_tip_received_set(&self) -> MoneyBag {
        money_bag(self.0.total_tip_received, &self.0.currency)
    }
    async fn transactions(
        &self,
        first: Option<i32>,
        _capturable: Option<bool>,
        _manually_resolvable: Option<bool>,
    ) -> Vec<OrderTransactionNode> {
        let mut all = transactions(&self.0);
        all.truncate(first.map_or(usize::MAX, |n| n.max(0) as usize));
        all
    }
    async fn risk(&self) -> OrderRiskSummary {
        risk(&self.0)
    }
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
        // A gift note on orders that carry tags from the storefront's gift option.
        let fields = (self.0.id % 7 == 0)
            .then(|| {
                metafield(
                    self.0.id,
                    0,
                    "gift_note",
                    "multi_line_text_field",
                    "Happy birthday!".to_owned(),
                )
            })
            .into_iter()
            .collect();
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
    ) -> Result<Connection<String, LineItemNode>> {
        let currency = self.0.currency.clone();
        let items = self
            .0
            .line_items
            .iter()
            .map(|l| (l.id, l.id, l.clone()))
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
            |line| LineItemNode {
                line,
                currency: currency.clone(),
            },
        )
    }
    async fn refunds(&self, first: Option<i32>) -> Vec<RefundNode> {
        let limit = first.map_or(usize::MAX, |n| n.max(0) as usize);
        self.0
            .refunds
            .iter()
            .take(limit)
            .map(|refund| RefundNode {
                refund: refund.clone(),
                order: self.0.clone(),
            })
            .collect()
    }
}

#[derive(SimpleObject)]
#[graphql(name = "TaxLine")]
pub struct TaxLine {
    pub(crate) title: String,
    pub(crate) rate: Option<f64>,
    pub(crate) price_set: MoneyBag,
}

#[derive(SimpleObject)]
#[graphql(name = "ShippingLine")]
pub struct ShippingLineNode {
    pub(crate) id: Option<ID>,
    pub(crate) title: String,
    pub(crate) code: Option<String>,
    pub(crate) original_price_set: MoneyBag,
    pub(crate) discounted_price_set: MoneyBag,
    pub(crate) discount_allocations: Vec<DiscountAllocation>,
}

#[derive(SimpleObject)]
pub struct DiscountAllocation {
    pub(crate) allocated_amount_set: MoneyBag,
}

pub struct LineItemNode {
    pub(crate) line: model::LineItem,
    pub(crate) currency: String,
}

#[Object(name = "LineItem")]
impl LineItemNode {
    pub(crate) async fn id(&self) -> ID {
        ID(self.line.admin_graphql_api_id.clone())
    }
    async fn title(&self) -> &str {
        &self.line.title
    }
    async fn name(&self) -> String {
        match &self.line.variant_title {
            Some(variant) if variant != "Default Title" => {
                format!("{} - {variant}", self.line.title)
            }
            _ => self.line.title.clone(),
        }
    }
    async fn variant_title(&self) -> Option<&str> {
        self.line.variant_title.as_deref()
    }
    async fn sku(&self) -> Option<&str> {
        self.line.sku.as_deref()
    }
    async fn vendor(&self) -> Option<&str> {
        self.line.vendor.as_deref()
    }
    async fn quantity(&self) -> i32 {
        self.line.quantity
    }
    async fn current_quantity(&self) -> i32 {
        self.line.current_quantity
    }
    async fn taxable(&self) -> bool {
        self.line.taxable
    }
    async fn original_unit_price_set(&self) -> MoneyBag {
        money_bag(self.line.price, &self.currency)
    }
    /// Line-level discounts only: "doesn't include order-level discounts", as Shopify says.
    async fn total_discount_set(&self) -> MoneyBag {
        money_bag(self.line.total_discount, &self.currency)
    }
    /// Every discount on the line, order-level (code) discounts included.
    async fn discount_allocations(&self) -> Vec<DiscountAllocation> {
        self.line
            .discount_allocations
            .iter()
            .map(|a| DiscountAllocation {
                allocated_amount_set: money_bag(a.amount, &self.currency),
            })
            .collect()
    }
    async fn is_gift_card(&self) -> bool {
        self.line.gift_card
    }
    async fn tax_lines(&self) -> Vec<TaxLine> {
        self.line
            .tax_lines
            .iter()
            .map(|t| TaxLine {
                title: t.title.clone(),
                rate: t.rate.to_string().parse().ok(),
                price_set: money_bag(t.price, &self.currency),
            })
            .collect()
    }
    async fn duties(&self) -> Vec<DutyNode> {
        self.line
            .duties
            .iter()
            .map(|duty| DutyNode::of(duty, &self.currency))
            .collect()
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<ProductNode>> {
        product_node(ctx, self.line.product_id)
    }
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<VariantNode>> {
        variant_node(ctx, self.line.product_id, self.line.variant_id)
    }
}

/// The countries the simulator's customers live in and its goods come from (a subset of
/// Shopify's `CountryCode`).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CountryCode")]
pub enum CountryCode {
    AU,
    CA,
    DE,
    GB,
    IN,
    JP,
    PT,
    US,
}

impl CountryCode {
    pub(crate) fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "AU" => Self::AU,
            "CA" => Self::CA,
            "DE" => Self::DE,
            "GB" => Self::GB,
            "IN" => Self::IN,
            "JP" => Self::JP,
            "PT" => Self::PT,
            "US" => Self::US,
            _ => return None,
        })
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Duty")]
pub struct DutyNode {
    pub(crate) id: ID,
    pub(crate) price: MoneyBag,
    pub(crate) harmonized_system_code: Option<String>,
    pub(crate) country_code_of_origin: Option<CountryCode>,
}

impl DutyNode {
    pub(crate) fn of(duty: &model::Duty, currency: &str) -> Self {
        Self {
            id: ID(duty.admin_graphql_api_id.clone()),
            price: money_bag(duty.price_set.shop_money.amount, currency),
            harmonized_system_code: Some(duty.harmonized_system_code.clone()),
            country_code_of_origin: CountryCode::from_code(&duty.country_code_of_origin),
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "OrderSortKeys", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum OrderSortKeys {
    CreatedAt,
    Id,
    ProcessedAt,
    UpdatedAt,
}

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(OrderSortKeys::ProcessedAt)")] sort_key: Option<
            OrderSortKeys,
        >,
        query: Option<String>,
    ) -> Result<Connection<String, OrderNode>> {
        let search = search(ctx, query.as_deref())?;
        let shop = &data(ctx)?.shop;
        let items = shop
            .orders
            .values()
            .filter(|o| order_matches(&search, o))
            .map(|o| {
                let key = match sort_key.unwrap_or(OrderSortKeys::ProcessedAt) {
                    OrderSortKeys::Id => o.id,
                    OrderSortKeys::CreatedAt => millis(&o.created_at),
                    OrderSortKeys::UpdatedAt => millis(&o.updated_at),
                    OrderSortKeys::ProcessedAt => millis(&o.processed_at),
                };
                (key, o.id, o)
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
            |o| OrderNode(o.clone()),
        )
    }

    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<OrderNode>> {
        let shop = &data(ctx)?.shop;
        Ok(parse_gid(&id)
            .and_then(|(_, id)| shop.orders.get(&id))
            .cloned()
            .map(OrderNode))
    }

    async fn orders_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(default_with = "COUNT_LIMIT")] limit: Option<i32>,
    ) -> Result<Option<Count>> {
        count_matching(ctx, query, limit, |shop| &shop.orders, order_matches)
    }
}
