//! Refunds: their lines, shipping, adjustments and duties.

use super::*;

pub struct RefundNode {
    pub(crate) refund: model::Refund,
    pub(crate) order: model::Order,
}

#[Object(name = "Refund")]
impl RefundNode {
    pub(crate) async fn id(&self) -> ID {
        ID(self.refund.admin_graphql_api_id.clone())
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.refund.id)
    }
    async fn created_at(&self) -> Option<DateTime> {
        Some(DateTime(self.refund.created_at))
    }
    async fn note(&self) -> Option<&str> {
        self.refund.note.as_deref()
    }
    async fn total_refunded_set(&self) -> MoneyBag {
        money_bag(self.refund.amount(), &self.order.currency)
    }
    async fn refund_line_items(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, RefundLineItemNode>> {
        let items = self
            .refund
            .refund_line_items
            .iter()
            .map(|r| (r.id, r.id, r.clone()))
            .collect();
        let order = &self.order;
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
            |item| {
                let line = order
                    .line_items
                    .iter()
                    .find(|l| l.id == item.line_item_id)
                    .cloned();
                RefundLineItemNode {
                    item,
                    line,
                    currency: order.currency.clone(),
                }
            },
        )
    }
    /// Shipping given back by this refund.
    async fn refund_shipping_lines(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, RefundShippingLineNode>> {
        let items = self
            .refund
            .refund_shipping_lines
            .iter()
            .map(|l| (l.id, l.id, l.clone()))
            .collect();
        let currency = self.order.currency.clone();
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
            |line| RefundShippingLineNode {
                id: ID(model::gid("RefundShippingLine", line.id)),
                subtotal_amount_set: money_bag(
                    line.subtotal_amount_set.shop_money.amount,
                    &currency,
                ),
                tax_amount_set: money_bag(line.tax_amount_set.shop_money.amount, &currency),
            },
        )
    }
    /// Duties given back by this refund.
    async fn duties(&self) -> Option<Vec<RefundDutyNode>> {
        let currency = &self.order.currency;
        Some(
            self.refund
                .duties
                .iter()
                .map(|back| RefundDutyNode {
                    amount_set: money_bag(back.amount_set.shop_money.amount, currency),
                    original_duty: self
                        .order
                        .line_items
                        .iter()
                        .flat_map(|l| &l.duties)
                        .find(|d| d.id == back.duty_id)
                        .map(|d| DutyNode::of(d, currency)),
                })
                .collect(),
        )
    }
    /// Adjustments such as shipping refunds (negative amounts).
    async fn order_adjustments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, OrderAdjustmentNode>> {
        let items = self
            .refund
            .order_adjustments
            .iter()
            .map(|a| (a.id, a.id, a.clone()))
            .collect();
        let currency = self.order.currency.clone();
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
            |adjustment| OrderAdjustmentNode {
                id: ID(model::gid("OrderAdjustment", adjustment.id)),
                amount_set: money_bag(adjustment.amount, &currency),
                tax_amount_set: money_bag(adjustment.tax_amount, &currency),
            },
        )
    }
}

#[derive(SimpleObject)]
#[graphql(name = "RefundShippingLine")]
pub struct RefundShippingLineNode {
    pub(crate) id: ID,
    pub(crate) subtotal_amount_set: MoneyBag,
    pub(crate) tax_amount_set: MoneyBag,
}

#[derive(SimpleObject)]
#[graphql(name = "OrderAdjustment")]
pub struct OrderAdjustmentNode {
    pub(crate) id: ID,
    pub(crate) amount_set: MoneyBag,
    pub(crate) tax_amount_set: MoneyBag,
}

pub struct RefundLineItemNode {
    pub(crate) item: model::RefundLineItem,
    pub(crate) line: Option<model::LineItem>,
    pub(crate) currency: String,
}

#[Object(name = "RefundLineItem")]
impl RefundLineItemNode {
    async fn quantity(&self) -> i32 {
        self.item.quantity
    }
    async fn subtotal_set(&self) -> MoneyBag {
        money_bag(self.item.subtotal, &self.currency)
    }
    async fn total_tax_set(&self) -> MoneyBag {
        money_bag(self.item.total_tax, &self.currency)
    }
    async fn line_item(&self) -> Result<LineItemNode> {
        self.line
            .clone()
            .map(|line| LineItemNode {
                line,
                currency: self.currency.clone(),
            })
            .ok_or_else(|| Error::new("line item not found"))
    }
}

#[derive(SimpleObject)]
#[graphql(name = "RefundDuty")]
pub struct RefundDutyNode {
    pub(crate) amount_set: MoneyBag,
    pub(crate) original_duty: Option<DutyNode>,
}
