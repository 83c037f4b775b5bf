//! Shopify's REST resource shapes as webhooks carry them, and how each becomes a record.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use xeno_domain::records::*;
use xeno_domain::sales::{line_discount, refund_line_value};

use super::{opt_utc, utc, Dating};

/// A decimal sent as a JSON number or string. Numbers are read from their shortest decimal
/// form (`45.99`), never through binary floating point.
fn lenient_decimal<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .to_string()
            .parse()
            .map(Some)
            .map_err(serde::de::Error::custom),
        Value::String(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
        other => Err(serde::de::Error::custom(format!(
            "expected a decimal, got {other}"
        ))),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RestCustomer {
    id: i64,
    email: Option<String>,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    state: Option<String>,
    verified_email: Option<bool>,
    #[serde(default)]
    tags: Option<String>,
    currency: Option<String>,
    created_at: Option<DateTime<FixedOffset>>,
    updated_at: Option<DateTime<FixedOffset>>,
    default_address: Option<Value>,
    email_marketing_consent: Option<Value>,
}

impl RestCustomer {
    pub(super) fn record(self, dating: &Dating) -> CustomerRecord {
        let created_at = dating.first([self.created_at]);
        CustomerRecord {
            customer_id: self.id,
            email: self.email,
            phone: self.phone,
            first_name: self.first_name,
            last_name: self.last_name,
            state: self.state,
            verified_email: self.verified_email,
            tags: split_tags(self.tags.as_deref().unwrap_or_default()),
            currency: self.currency,
            email_marketing_state: self
                .email_marketing_consent
                .as_ref()
                .and_then(|c| c["state"].as_str())
                .map(str::to_owned),
            default_address: self.default_address.filter(|a| !a.is_null()),
            created_at,
            updated_at: self.updated_at.map_or(created_at, utc),
            version_at: None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RestVariant {
    id: i64,
    title: Option<String>,
    sku: Option<String>,
    price: Decimal,
    compare_at_price: Option<Decimal>,
    position: Option<i32>,
    inventory_quantity: Option<i64>,
    created_at: Option<DateTime<FixedOffset>>,
    updated_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestProduct {
    id: i64,
    title: String,
    handle: Option<String>,
    vendor: Option<String>,
    product_type: Option<String>,
    status: Option<String>,
    tags: Option<String>,
    /// `null` in Shopify's test notifications.
    created_at: Option<DateTime<FixedOffset>>,
    updated_at: Option<DateTime<FixedOffset>>,
    published_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    variants: Vec<RestVariant>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestLineItem {
    id: i64,
    product_id: Option<i64>,
    variant_id: Option<i64>,
    title: String,
    variant_title: Option<String>,
    sku: Option<String>,
    vendor: Option<String>,
    quantity: i32,
    current_quantity: Option<i32>,
    price: Decimal,
    #[serde(default)]
    total_discount: Option<Decimal>,
    /// Every discount on the line, order-level ones included.
    #[serde(default)]
    discount_allocations: Option<Vec<RestAllocation>>,
    #[serde(default)]
    gift_card: Option<bool>,
    #[serde(default)]
    taxable: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestAllocation {
    amount: Decimal,
}

impl RestLineItem {
    fn record(self) -> LineItemRecord {
        let total_discount = self.total_discount.unwrap_or_default();
        let allocations: Vec<Decimal> = self
            .discount_allocations
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.amount)
            .collect();
        LineItemRecord {
            line_item_id: self.id,
            product_id: self.product_id,
            variant_id: self.variant_id,
            title: self.title,
            variant_title: self.variant_title,
            sku: self.sku,
            vendor: self.vendor,
            quantity: self.quantity,
            current_quantity: self.current_quantity,
            price: self.price,
            total_discount,
            discount: line_discount(total_discount, &allocations),
            gift_card: self.gift_card.unwrap_or(false),
            taxable: self.taxable.unwrap_or(true),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RestRefundLine {
    line_item_id: i64,
    quantity: i32,
    /// A JSON number in Shopify's payloads; absent in older versions.
    #[serde(deserialize_with = "lenient_decimal", default)]
    subtotal: Option<Decimal>,
    #[serde(deserialize_with = "lenient_decimal", default)]
    total_tax: Option<Decimal>,
    /// The refunded line, embedded: it prices a refund line without `subtotal`. Read only
    /// then, so an embedded line of an unexpected shape never fails the refund.
    #[serde(default)]
    line_item: Option<Value>,
}

impl RestRefundLine {
    fn record(self) -> RefundLineRecord {
        let subtotal = self.subtotal.unwrap_or_else(|| {
            self.line_item
                .and_then(|line| serde_json::from_value::<RestLineItem>(line).ok())
                .map(|line| refund_line_value(&line.record(), self.quantity))
                .unwrap_or_default()
        });
        RefundLineRecord {
            line_item_id: self.line_item_id,
            quantity: self.quantity,
            subtotal,
            total_tax: self.total_tax.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RestMoneySet {
    shop_money: RestMoney,
}

/// An amount in a money set that may be `null` or absent (duties where none apply).
fn shop_amount(set: &Option<RestMoneySet>) -> Decimal {
    set.as_ref().map_or(Decimal::ZERO, |s| s.shop_money.amount)
}

/// A duty given back by a refund.
#[derive(Debug, Deserialize)]
pub(super) struct RestRefundDuty {
    amount_set: Option<RestMoneySet>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestMoney {
    amount: Decimal,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestRefundShippingLine {
    subtotal_amount_set: Option<RestMoneySet>,
    tax_amount_set: Option<RestMoneySet>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestOrderAdjustment {
    kind: Option<String>,
    #[serde(deserialize_with = "lenient_decimal", default)]
    amount: Option<Decimal>,
    #[serde(deserialize_with = "lenient_decimal", default)]
    tax_amount: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestTransaction {
    kind: Option<String>,
    status: Option<String>,
    amount: Decimal,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestRefund {
    id: i64,
    order_id: i64,
    created_at: Option<DateTime<FixedOffset>>,
    processed_at: Option<DateTime<FixedOffset>>,
    note: Option<String>,
    #[serde(default)]
    refund_line_items: Vec<RestRefundLine>,
    #[serde(default)]
    refund_shipping_lines: Vec<RestRefundShippingLine>,
    #[serde(default)]
    order_adjustments: Vec<RestOrderAdjustment>,
    #[serde(default)]
    transactions: Vec<RestTransaction>,
    /// Duties given back (`null` or absent when none).
    #[serde(default)]
    duties: Option<Vec<RestRefundDuty>>,
}

impl RestRefund {
    pub(super) fn record(self, dating: &Dating) -> RefundRecord {
        let amount = self
            .transactions
            .iter()
            .filter(|t| t.kind.as_deref().is_none_or(|k| k == "refund"))
            .filter(|t| t.status.as_deref().is_none_or(|s| s == "success"))
            .map(|t| t.amount)
            .sum();
        let (shipping, shipping_tax) = self.shipping_back();
        let duties = self
            .duties
            .iter()
            .flatten()
            .map(|d| shop_amount(&d.amount_set))
            .sum();
        RefundRecord {
            refund_id: self.id,
            order_id: self.order_id,
            created_at: dating.first([self.created_at, self.processed_at]),
            processed_at: opt_utc(self.processed_at),
            amount,
            note: self.note,
            lines: self
                .refund_line_items
                .into_iter()
                .map(RestRefundLine::record)
                .collect(),
            shipping,
            shipping_tax,
            duties,
        }
    }

    /// Shipping given back and its tax: from `refund_shipping_lines`, or, where a payload
    /// has none, from `order_adjustments` of kind `shipping_refund` (negative amounts).
    /// Shopify writes both for one shipping refund, so only one is read.
    fn shipping_back(&self) -> (Decimal, Decimal) {
        let amount = shop_amount;
        if !self.refund_shipping_lines.is_empty() {
            return self.refund_shipping_lines.iter().fold(
                (Decimal::ZERO, Decimal::ZERO),
                |(s, t), l| {
                    (
                        s + amount(&l.subtotal_amount_set),
                        t + amount(&l.tax_amount_set),
                    )
                },
            );
        }
        self.order_adjustments
            .iter()
            .filter(|a| a.kind.as_deref() == Some("shipping_refund"))
            .fold((Decimal::ZERO, Decimal::ZERO), |(s, t), a| {
                (
                    s - a.amount.unwrap_or_default(),
                    t - a.tax_amount.unwrap_or_default(),
                )
            })
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RestShippingLine {
    /// Before shipping discounts.
    price: Decimal,
    /// Shipping discounts (free shipping codes and the like).
    #[serde(default)]
    discount_allocations: Option<Vec<RestAllocation>>,
}

impl RestShippingLine {
    /// What the customer was charged: the price less its shipping discounts (Shopify's
    /// sales reports count shipping after them).
    fn charged(&self) -> Decimal {
        let discounts: Decimal = self
            .discount_allocations
            .iter()
            .flatten()
            .map(|a| a.amount)
            .sum();
        self.price - discounts
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RestOrder {
    id: i64,
    name: Option<String>,
    order_number: Option<i64>,
    email: Option<String>,
    customer: Option<RestCustomer>,
    created_at: Option<DateTime<FixedOffset>>,
    updated_at: Option<DateTime<FixedOffset>>,
    processed_at: Option<DateTime<FixedOffset>>,
    cancelled_at: Option<DateTime<FixedOffset>>,
    cancel_reason: Option<String>,
    closed_at: Option<DateTime<FixedOffset>>,
    currency: String,
    presentment_currency: Option<String>,
    total_price: Decimal,
    subtotal_price: Option<Decimal>,
    total_tax: Option<Decimal>,
    total_discounts: Option<Decimal>,
    total_line_items_price: Option<Decimal>,
    current_total_price: Option<Decimal>,
    current_subtotal_price: Option<Decimal>,
    current_total_tax: Option<Decimal>,
    current_total_discounts: Option<Decimal>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    #[serde(default)]
    test: bool,
    source_name: Option<String>,
    tags: Option<String>,
    #[serde(default)]
    line_items: Vec<RestLineItem>,
    #[serde(default)]
    refunds: Vec<RestRefund>,
    #[serde(default)]
    shipping_lines: Vec<RestShippingLine>,
    /// `null` where no duties or fees apply.
    #[serde(default)]
    original_total_duties_set: Option<RestMoneySet>,
    #[serde(default)]
    original_total_additional_fees_set: Option<RestMoneySet>,
    #[serde(deserialize_with = "lenient_decimal", default)]
    total_tip_received: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestCheckout {
    id: i64,
    token: Option<String>,
    cart_token: Option<String>,
    email: Option<String>,
    customer: Option<Value>,
    created_at: Option<DateTime<FixedOffset>>,
    updated_at: Option<DateTime<FixedOffset>>,
    completed_at: Option<DateTime<FixedOffset>>,
    currency: String,
    total_price: Decimal,
    subtotal_price: Option<Decimal>,
    #[serde(default)]
    line_items: Value,
    abandoned_checkout_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestCart {
    id: Option<String>,
    token: Option<String>,
    #[serde(default)]
    line_items: Value,
    created_at: Option<DateTime<FixedOffset>>,
    updated_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RestDeleted {
    pub(super) id: Value,
}

/// A product; a payload without dates (Shopify's test notifications have `null`) is dated
/// when it was received.
pub(super) fn product(p: RestProduct, dating: &Dating) -> ProductRecord {
    let updated_at = p.updated_at.map(utc);
    let created_at = dating.first([p.created_at, p.updated_at]);
    ProductRecord {
        product_id: p.id,
        title: p.title,
        handle: p.handle,
        vendor: p.vendor,
        product_type: p.product_type,
        status: p.status,
        tags: split_tags(p.tags.as_deref().unwrap_or_default()),
        created_at,
        updated_at: updated_at.unwrap_or(created_at),
        version_at: None,
        published_at: opt_utc(p.published_at),
        variants: p
            .variants
            .into_iter()
            .map(|v| VariantRecord {
                variant_id: v.id,
                title: v.title,
                sku: v.sku,
                price: v.price,
                compare_at_price: v.compare_at_price,
                position: v.position,
                inventory_quantity: v.inventory_quantity.and_then(|q| i32::try_from(q).ok()),
                created_at: opt_utc(v.created_at),
                updated_at: opt_utc(v.updated_at),
            })
            .collect(),
    }
}

pub(super) fn order(o: RestOrder, dating: &Dating) -> OrderRecord {
    let created_at = dating.first([o.created_at, o.processed_at, o.updated_at]);
    let line_total = o
        .line_items
        .iter()
        .map(|l| l.price * Decimal::from(l.quantity))
        .sum();
    OrderRecord {
        order_id: o.id,
        name: o.name,
        order_number: o.order_number,
        email: o.email,
        customer: o.customer.map(|c| c.record(dating)),
        created_at,
        updated_at: o.updated_at.map_or(created_at, utc),
        version_at: None,
        processed_at: o.processed_at.map_or(created_at, utc),
        cancelled_at: opt_utc(o.cancelled_at),
        cancel_reason: o.cancel_reason,
        closed_at: opt_utc(o.closed_at),
        total_price: o.total_price,
        subtotal_price: o.subtotal_price.unwrap_or(o.total_price),
        total_tax: o.total_tax.unwrap_or_default(),
        total_discounts: o.total_discounts.unwrap_or_default(),
        total_line_items_price: o.total_line_items_price.unwrap_or(line_total),
        total_shipping: o.shipping_lines.iter().map(RestShippingLine::charged).sum(),
        duties: shop_amount(&o.original_total_duties_set),
        additional_fees: shop_amount(&o.original_total_additional_fees_set),
        tips: o.total_tip_received.unwrap_or_default(),
        current_total_price: o.current_total_price.unwrap_or(o.total_price),
        current_subtotal_price: o.current_subtotal_price,
        current_total_tax: o.current_total_tax,
        current_total_discounts: o.current_total_discounts,
        currency: o.currency,
        presentment_currency: o.presentment_currency,
        financial_status: o.financial_status,
        fulfillment_status: o.fulfillment_status,
        test: o.test,
        source_name: o.source_name,
        tags: split_tags(o.tags.as_deref().unwrap_or_default()),
        line_items: o.line_items.into_iter().map(RestLineItem::record).collect(),
        refunds: o.refunds.into_iter().map(|r| r.record(dating)).collect(),
    }
}

pub(super) fn checkout(c: RestCheckout, dating: &Dating) -> CheckoutRecord {
    let created_at = dating.first([c.created_at, c.updated_at]);
    CheckoutRecord {
        checkout_id: c.id,
        token: c.token,
        cart_token: c.cart_token,
        email: c.email,
        customer_id: c.customer.as_ref().and_then(|c| c["id"].as_i64()),
        created_at,
        updated_at: c.updated_at.map_or(created_at, utc),
        version_at: None,
        completed_at: opt_utc(c.completed_at),
        currency: c.currency,
        total_price: c.total_price,
        subtotal_price: c.subtotal_price,
        line_items: if c.line_items.is_null() {
            Value::Array(Vec::new())
        } else {
            c.line_items
        },
        abandoned_checkout_url: c.abandoned_checkout_url,
    }
}

/// A cart; `None` when it carries neither token nor id.
pub(super) fn cart(cart: RestCart, dating: &Dating) -> Option<CartRecord> {
    let token = cart.token.or(cart.id)?;
    let created_at = dating.first([cart.created_at, cart.updated_at]);
    Some(CartRecord {
        cart_token: token,
        line_items: cart.line_items,
        created_at,
        updated_at: cart.updated_at.map_or(created_at, utc),
    })
}
