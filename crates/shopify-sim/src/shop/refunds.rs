//! Refunds of lines and of shipping, and cancellations with or without a refund.

use super::*;

impl Shop {
    /// Refunds part of an order (one unit of one line) or all of what remains, shipping
    /// included. Gift cards are not refunded here.
    pub fn refund_order(&mut self, order_id: i64, at: DateTime<Utc>, full: bool) -> Option<Refund> {
        self.refund(order_id, at, full, full)
    }

    /// Refunds one unit of one line and what remains of the shipping, in one refund.
    pub fn refund_line_and_shipping(&mut self, order_id: i64, at: DateTime<Utc>) -> Option<Refund> {
        self.refund(order_id, at, false, true)
    }

    fn refund(
        &mut self,
        order_id: i64,
        at: DateTime<Utc>,
        full: bool,
        with_shipping: bool,
    ) -> Option<Refund> {
        let order = self.orders.get(&order_id)?;
        if !refundable(order) {
            return None;
        }
        let candidates: Vec<&LineItem> = order
            .line_items
            .iter()
            .filter(|l| l.current_quantity > 0 && !l.gift_card)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let chosen: Vec<(i64, i32)> = if full {
            candidates
                .iter()
                .map(|l| (l.id, l.current_quantity))
                .collect()
        } else {
            let index = self.rng.gen_range(0..candidates.len());
            vec![(candidates[index].id, 1)]
        };
        let refund_id = self.next_id();
        let mut refund_lines = Vec::new();
        for (line_id, quantity) in chosen {
            let rli_id = self.next_id();
            let digits = self.digits;
            let order = self.orders.get_mut(&order_id)?;
            let Some(line) = order.line_items.iter_mut().find(|l| l.id == line_id) else {
                continue;
            };
            let per_unit_discount = line.discount() / Decimal::from(line.quantity);
            let subtotal = round_to(
                (line.price - per_unit_discount) * Decimal::from(quantity),
                digits,
            );
            let line_tax: Decimal = line.tax_lines.iter().map(|t| t.price).sum();
            let tax = round_to(
                line_tax * Decimal::from(quantity) / Decimal::from(line.quantity),
                digits,
            );
            line.current_quantity -= quantity;
            refund_lines.push(RefundLineItem {
                id: rli_id,
                line_item_id: line_id,
                quantity,
                subtotal,
                total_tax: tax,
            });
        }
        let shipping = if with_shipping {
            self.shipping_refund(order_id, refund_id)
        } else {
            (Vec::new(), Vec::new())
        };
        let duties = if full {
            self.duties_refund(order_id)
        } else {
            Vec::new()
        };
        self.record_refund(order_id, refund_id, at, refund_lines, shipping, duties)
    }

    /// Refunds what remains of an order's shipping and nothing else, as a merchant does
    /// when a parcel arrives late.
    pub fn refund_shipping(&mut self, order_id: i64, at: DateTime<Utc>) -> Option<Refund> {
        if !refundable(self.orders.get(&order_id)?) {
            return None;
        }
        let refund_id = self.next_id();
        let shipping = self.shipping_refund(order_id, refund_id);
        if shipping.0.is_empty() {
            return None;
        }
        self.record_refund(order_id, refund_id, at, Vec::new(), shipping, Vec::new())
    }

    /// The shipping lines and adjustment that give back an order's unrefunded shipping.
    pub(crate) fn shipping_refund(
        &mut self,
        order_id: i64,
        refund_id: i64,
    ) -> (Vec<RefundShippingLine>, Vec<OrderAdjustment>) {
        let Some(order) = self.orders.get(&order_id) else {
            return (Vec::new(), Vec::new());
        };
        let charged: Decimal = order
            .shipping_lines
            .iter()
            .map(|l| l.discounted_price)
            .sum();
        let refunded: Decimal = order.refunds.iter().map(Refund::shipping).sum();
        let remaining = charged - refunded;
        let Some(shipping_line_id) = order.shipping_lines.first().map(|l| l.id) else {
            return (Vec::new(), Vec::new());
        };
        if remaining <= Decimal::ZERO {
            return (Vec::new(), Vec::new());
        }
        let currency = order.currency.clone();
        let line_id = self.next_id();
        let adjustment_id = self.next_id();
        (
            vec![RefundShippingLine {
                id: line_id,
                shipping_line_id,
                subtotal_amount_set: MoneySet::new(remaining, &currency),
                tax_amount_set: MoneySet::new(Decimal::ZERO, &currency),
            }],
            vec![OrderAdjustment {
                id: adjustment_id,
                order_id,
                refund_id,
                kind: "shipping_refund".to_owned(),
                reason: "Shipping refund".to_owned(),
                amount: -remaining,
                tax_amount: Decimal::ZERO,
            }],
        )
    }

    /// The duties an order has not yet given back (a full refund returns them).
    fn duties_refund(&self, order_id: i64) -> Vec<RefundDuty> {
        let Some(order) = self.orders.get(&order_id) else {
            return Vec::new();
        };
        let returned = |duty_id: i64| -> Decimal {
            order
                .refunds
                .iter()
                .flat_map(|r| &r.duties)
                .filter(|d| d.duty_id == duty_id)
                .map(|d| d.amount_set.shop_money.amount)
                .sum()
        };
        order
            .line_items
            .iter()
            .flat_map(|l| &l.duties)
            .filter_map(|duty| {
                let left = duty.price_set.shop_money.amount - returned(duty.id);
                (left > Decimal::ZERO).then(|| RefundDuty {
                    duty_id: duty.id,
                    amount_set: MoneySet::new(left, &order.currency),
                })
            })
            .collect()
    }

    pub(crate) fn record_refund(
        &mut self,
        order_id: i64,
        refund_id: i64,
        at: DateTime<Utc>,
        refund_lines: Vec<RefundLineItem>,
        (refund_shipping_lines, order_adjustments): (Vec<RefundShippingLine>, Vec<OrderAdjustment>),
        duties: Vec<RefundDuty>,
    ) -> Option<Refund> {
        let ts = self.local(at);
        let transaction_id = self.next_id();
        let order = self.orders.get_mut(&order_id)?;
        let shipping: Decimal = refund_shipping_lines
            .iter()
            .map(|l| l.subtotal_amount_set.shop_money.amount + l.tax_amount_set.shop_money.amount)
            .sum();
        let amount: Decimal = refund_lines
            .iter()
            .map(|r| r.subtotal + r.total_tax)
            .sum::<Decimal>()
            + shipping
            + duties
                .iter()
                .map(|d| d.amount_set.shop_money.amount)
                .sum::<Decimal>();
        let refund = Refund {
            id: refund_id,
            admin_graphql_api_id: gid("Refund", refund_id),
            order_id,
            note: None,
            created_at: ts,
            processed_at: ts,
            refund_line_items: refund_lines,
            refund_shipping_lines,
            transactions: vec![Transaction {
                id: transaction_id,
                kind: "refund".to_owned(),
                amount,
                currency: order.currency.clone(),
                status: "success".to_owned(),
                gateway: "bogus".to_owned(),
            }],
            order_adjustments,
            duties,
        };
        order.refunds.push(refund.clone());
        order.updated_at = later(order.updated_at, ts);
        recompute(order);
        Some(refund)
    }

    /// Cancels an order. A paid order is refunded in full as it is cancelled, or, half the
    /// time, keeps its payment (the merchant chose not to refund); an order not yet paid
    /// has its payment voided. Either way nothing of it stays a sale in Shopify's reports.
    pub fn cancel_order(&mut self, order_id: i64, at: DateTime<Utc>) -> Option<Option<Refund>> {
        let order = self.orders.get(&order_id)?;
        if order.cancelled_at.is_some() {
            return None;
        }
        let paid = matches!(
            order.financial_status.as_str(),
            "paid" | "partially_refunded"
        );
        let refund = if paid && self.rng.gen_bool(0.5) {
            self.refund_order(order_id, at, true)
        } else {
            None
        };
        let ts = self.local(at);
        let order = self.orders.get_mut(&order_id)?;
        order.cancelled_at = Some(ts);
        order.cancel_reason = Some("customer".to_owned());
        order.closed_at = Some(ts);
        order.updated_at = later(order.updated_at, ts);
        for line in &mut order.line_items {
            line.current_quantity = 0;
        }
        if !paid {
            order.financial_status = "voided".to_owned();
        }
        recompute(order);
        Some(refund)
    }
}
