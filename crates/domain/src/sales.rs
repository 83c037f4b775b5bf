//! Shopify's sales definitions, as its Sales report and ShopifyQL's `sales` schema use them.
//!
//! - Test and deleted orders are left out; cancelled, pending and unpaid orders are in.
//! - Gift cards are not sales (they are a liability): their lines are left out of gross
//!   sales, discounts and returns.
//! - Gross sales are line price × quantity; discounts are each line's whole discount,
//!   order-level (code) discounts included, which REST payloads carry only as
//!   `discount_allocations` and GraphQL only as `LineItem.discountAllocations`.
//! - Returns are the refunded lines' subtotals (net of their discounts), on the refund's day.
//! - Duties are import duties charged, less duties refunded on their day; additional fees
//!   are fees charged (a retail delivery fee, say). Tips are in an order's total but are not
//!   sales: they are in none of these figures (Shopify's sales report leaves them out).
//! - Shipping is what was charged after shipping discounts ("the amount charged for
//!   shipping, subtracts any shipping discounts or refunds": ShopifyQL's orders dataset),
//!   less shipping refunds on their day; taxes are what was
//!   charged, less taxes refunded on their day.
//! - A cancelled order "appears as a sale for the day that it was placed and a return for
//!   the day that it was canceled, so your sales numbers are zero for that order overall"
//!   (Shopify Help Center, "Sales report"), also when no refund was issued. So whatever a
//!   cancellation leaves unrefunded (goods, shipping, tax, duties, fees) is reversed on its
//!   day. Shopify's
//!   documentation does not single out orders voided before payment, so they follow the same
//!   rule: a sale and an equal return, zero overall.
//!
//! Every event counts on its own day in the shop's time zone; orders are dated by
//! `processed_at`.

use std::ops::AddAssign;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money;
use crate::records::{LineItemRecord, OrderRecord};

/// Sales in one currency over a day or a range, by the definitions above.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySales {
    pub orders: i64,
    pub gross: Decimal,
    pub discounts: Decimal,
    pub returns: Decimal,
    pub shipping: Decimal,
    pub taxes: Decimal,
    pub duties: Decimal,
    pub additional_fees: Decimal,
    /// Units sold (Shopify's reports leave them out of the sales figures).
    pub units: i64,
}

impl DaySales {
    /// Gross less discounts and returns.
    pub fn net(&self) -> Decimal {
        self.gross - self.discounts - self.returns
    }

    /// Net sales with shipping, taxes, duties and additional fees.
    pub fn total(&self) -> Decimal {
        self.net() + self.shipping + self.taxes + self.duties + self.additional_fees
    }

    /// What an order brought on average, before returns (Shopify's average order value:
    /// gross less discounts, per order), at the currency's precision.
    pub fn average_order_value(&self, currency: &str) -> Decimal {
        money::average(self.gross - self.discounts, self.orders, currency)
    }
}

impl AddAssign<&DaySales> for DaySales {
    fn add_assign(&mut self, day: &DaySales) {
        self.orders += day.orders;
        self.gross += day.gross;
        self.discounts += day.discounts;
        self.returns += day.returns;
        self.shipping += day.shipping;
        self.taxes += day.taxes;
        self.duties += day.duties;
        self.additional_fees += day.additional_fees;
        self.units += day.units;
    }
}

/// One store-local day's sales in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyDay {
    pub day: NaiveDate,
    pub currency: String,
    pub sales: DaySales,
}

/// A line's whole discount: the sum of its discount allocations, which cover line-level and
/// order-level discounts alike; payloads without allocations fall back to `total_discount`.
pub fn line_discount(total_discount: Decimal, allocations: &[Decimal]) -> Decimal {
    if allocations.is_empty() {
        total_discount
    } else {
        allocations.iter().sum()
    }
}

/// A refund line's value when the payload leaves out `subtotal` (older versions): its units
/// at the line's price, less their share of the line's discount.
pub fn refund_line_value(line: &LineItemRecord, quantity: i32) -> Decimal {
    if line.quantity == 0 {
        return Decimal::ZERO;
    }
    let units = Decimal::from(quantity);
    (line.price * units - line.discount * units / Decimal::from(line.quantity)).round_dp(2)
}

/// An order's part in the sales report: the sale on its processing day, and what its
/// cancellation reverses on the cancellation day. Refunds count on their own days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderSales {
    /// Line price × quantity, gift cards left out.
    pub gross: Decimal,
    /// The lines' discounts, gift cards left out.
    pub discounts: Decimal,
    /// Goods a cancellation takes back beyond what refunds did (net of discounts).
    pub cancelled_returns: Decimal,
    /// Shipping a cancellation takes back beyond what refunds did.
    pub cancelled_shipping: Decimal,
    /// Tax a cancellation takes back beyond what refunds did.
    pub cancelled_taxes: Decimal,
    /// Duties a cancellation takes back beyond what refunds did.
    pub cancelled_duties: Decimal,
    /// Additional fees a cancellation takes back (refunds do not give fees back).
    pub cancelled_fees: Decimal,
}

impl OrderSales {
    pub fn of(order: &OrderRecord) -> Self {
        let sold = order.line_items.iter().filter(|l| !l.gift_card);
        let gross = sold
            .clone()
            .map(|l| l.price * Decimal::from(l.quantity))
            .sum::<Decimal>();
        let discounts = sold.map(|l| l.discount).sum::<Decimal>();
        let mut sales = Self {
            gross,
            discounts,
            ..Self::default()
        };
        if order.cancelled_at.is_some() {
            let returned: Decimal = order
                .refunds
                .iter()
                .flat_map(|r| &r.lines)
                .map(|l| l.subtotal)
                .sum();
            let shipping_back: Decimal = order.refunds.iter().map(|r| r.shipping).sum();
            let tax_back: Decimal = order
                .refunds
                .iter()
                .map(|r| r.shipping_tax + r.lines.iter().map(|l| l.total_tax).sum::<Decimal>())
                .sum();
            let left = |charged: Decimal, back: Decimal| (charged - back).max(Decimal::ZERO);
            sales.cancelled_returns = left(gross - discounts, returned);
            sales.cancelled_shipping = left(order.total_shipping, shipping_back);
            sales.cancelled_taxes = left(order.total_tax, tax_back);
            let duties_back: Decimal = order.refunds.iter().map(|r| r.duties).sum();
            sales.cancelled_duties = left(order.duties, duties_back);
            sales.cancelled_fees = order.additional_fees;
        }
        sales
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::records::{RefundLineRecord, RefundRecord};

    fn dollars(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }

    fn line(id: i64, price: i64, quantity: i32, discount: i64, gift_card: bool) -> LineItemRecord {
        LineItemRecord {
            line_item_id: id,
            product_id: Some(id),
            variant_id: None,
            title: "Mug".to_owned(),
            variant_title: None,
            sku: None,
            vendor: None,
            quantity,
            current_quantity: Some(quantity),
            price: dollars(price),
            total_discount: Decimal::ZERO,
            discount: dollars(discount),
            gift_card,
            taxable: !gift_card,
        }
    }

    fn order(
        lines: Vec<LineItemRecord>,
        refunds: Vec<RefundRecord>,
        cancelled: bool,
    ) -> OrderRecord {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
            .single()
            .unwrap_or_default();
        OrderRecord {
            order_id: 1,
            name: None,
            order_number: None,
            email: None,
            customer: None,
            created_at: at,
            updated_at: at,
            version_at: None,
            processed_at: at,
            cancelled_at: cancelled.then_some(at),
            cancel_reason: None,
            closed_at: None,
            currency: "USD".to_owned(),
            presentment_currency: None,
            total_price: Decimal::ZERO,
            subtotal_price: Decimal::ZERO,
            total_tax: dollars(800),
            total_discounts: Decimal::ZERO,
            total_line_items_price: Decimal::ZERO,
            total_shipping: dollars(1000),
            duties: dollars(600),
            additional_fees: dollars(150),
            tips: dollars(500),
            current_total_price: Decimal::ZERO,
            current_subtotal_price: None,
            current_total_tax: None,
            current_total_discounts: None,
            financial_status: None,
            fulfillment_status: None,
            test: false,
            source_name: None,
            tags: Vec::new(),
            line_items: lines,
            refunds,
        }
    }

    #[test]
    fn allocations_are_the_whole_discount_and_total_discount_only_a_fallback() {
        assert_eq!(line_discount(dollars(500), &[]), dollars(500));
        assert_eq!(
            line_discount(Decimal::ZERO, &[dollars(179), dollars(21)]),
            dollars(200)
        );
        // A line-level discount sits in both; it is not counted twice.
        assert_eq!(
            line_discount(dollars(100), &[dollars(100), dollars(50)]),
            dollars(150)
        );
    }

    #[test]
    fn gift_cards_are_not_sales() {
        let sales = OrderSales::of(&order(
            vec![line(1, 5000, 2, 1000, false), line(2, 2500, 1, 0, true)],
            Vec::new(),
            false,
        ));
        assert_eq!(sales.gross, dollars(10_000));
        assert_eq!(sales.discounts, dollars(1000));
        assert_eq!(sales.cancelled_returns, Decimal::ZERO);
    }

    #[test]
    fn a_cancellation_reverses_what_refunds_left() {
        let refund = RefundRecord {
            refund_id: 9,
            order_id: 1,
            created_at: Utc::now(),
            processed_at: None,
            amount: Decimal::ZERO,
            note: None,
            lines: vec![RefundLineRecord {
                line_item_id: 1,
                quantity: 1,
                subtotal: dollars(4500),
                total_tax: dollars(400),
            }],
            shipping: dollars(300),
            shipping_tax: Decimal::ZERO,
            duties: dollars(200),
        };
        let sales = OrderSales::of(&order(
            vec![line(1, 5000, 2, 1000, false)],
            vec![refund],
            true,
        ));
        // Goods 100.00 − 10.00 discount, 45.00 already returned; shipping 10.00, 3.00 back;
        // tax 8.00, 4.00 back; duties 6.00, 2.00 back; the fee 1.50 whole; the tip is no sale.
        assert_eq!(sales.cancelled_returns, dollars(4500));
        assert_eq!(sales.cancelled_shipping, dollars(700));
        assert_eq!(sales.cancelled_taxes, dollars(400));
        assert_eq!(sales.cancelled_duties, dollars(400));
        assert_eq!(sales.cancelled_fees, dollars(150));
    }

    #[test]
    fn a_refund_line_without_subtotal_is_worth_its_units_net_of_discount() {
        let mug = line(1, 5000, 2, 1000, false);
        assert_eq!(refund_line_value(&mug, 1), dollars(4500));
    }
}
