//! Shop records in Shopify's REST shape: the shape of webhook payloads and of `/_sim/…/truth`.
//!
//! Ids are 64-bit integers (above 2^53 on purpose, to catch clients that round them), money
//! is a decimal string, a few documented fields are JSON floats, timestamps carry the shop's
//! UTC offset.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::Serialize;

pub type Timestamp = DateTime<FixedOffset>;

#[derive(Debug, Clone, Serialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency_code: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MoneySet {
    pub shop_money: Money,
    pub presentment_money: Money,
}

impl MoneySet {
    pub fn new(amount: Decimal, currency: &str) -> Self {
        let money = Money {
            amount,
            currency_code: currency.to_owned(),
        };
        Self {
            shop_money: money.clone(),
            presentment_money: money,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Address {
    pub address1: String,
    pub city: String,
    pub province: Option<String>,
    pub country: String,
    pub country_code: String,
    pub zip: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MarketingConsent {
    pub state: String,
    pub opt_in_level: Option<String>,
    pub consent_updated_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub id: i64,
    pub admin_graphql_api_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub state: String,
    pub verified_email: bool,
    pub tags: String,
    pub currency: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub default_address: Option<Address>,
    pub addresses: Vec<Address>,
    pub email_marketing_consent: Option<MarketingConsent>,
}

/// The customer as embedded in orders and checkouts.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerRef {
    pub id: i64,
    pub admin_graphql_api_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub state: String,
    pub currency: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&Customer> for CustomerRef {
    fn from(c: &Customer) -> Self {
        Self {
            id: c.id,
            admin_graphql_api_id: c.admin_graphql_api_id.clone(),
            email: c.email.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            state: c.state.clone(),
            currency: c.currency.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub id: i64,
    pub admin_graphql_api_id: String,
    pub product_id: i64,
    pub title: String,
    pub sku: String,
    pub price: Decimal,
    pub compare_at_price: Option<Decimal>,
    pub position: i32,
    pub inventory_quantity: i64,
    pub option1: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProductOption {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub position: i32,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub id: i64,
    pub admin_graphql_api_id: String,
    pub title: String,
    pub handle: String,
    pub vendor: String,
    pub product_type: String,
    pub status: String,
    pub tags: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub published_at: Option<Timestamp>,
    pub variants: Vec<Variant>,
    pub options: Vec<ProductOption>,
    pub images: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaxLine {
    pub title: String,
    pub price: Decimal,
    /// A JSON float, as Shopify sends it.
    #[serde(with = "rust_decimal::serde::float")]
    pub rate: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub struct LineItem {
    pub id: i64,
    pub admin_graphql_api_id: String,
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub title: String,
    pub variant_title: Option<String>,
    pub sku: Option<String>,
    pub vendor: Option<String>,
    pub quantity: i32,
    pub current_quantity: i32,
    pub price: Decimal,
    pub price_set: MoneySet,
    /// Line-level discounts only: Shopify leaves order-level (code) discounts out of it.
    pub total_discount: Decimal,
    /// Every discount on the line, order-level ones included, each pointing at its
    /// `discount_applications` entry.
    pub discount_allocations: Vec<DiscountAllocation>,
    pub gift_card: bool,
    pub taxable: bool,
    pub tax_lines: Vec<TaxLine>,
    /// Import duties on a cross-border order's line (empty otherwise).
    pub duties: Vec<Duty>,
}

/// An import duty charged on a line.
#[derive(Debug, Clone, Serialize)]
pub struct Duty {
    pub id: i64,
    pub admin_graphql_api_id: String,
    pub harmonized_system_code: String,
    pub country_code_of_origin: String,
    pub price_set: MoneySet,
}

/// A duty given back by a refund.
#[derive(Debug, Clone, Serialize)]
pub struct RefundDuty {
    pub duty_id: i64,
    pub amount_set: MoneySet,
}

impl LineItem {
    /// The line's duties.
    pub fn duty(&self) -> Decimal {
        self.duties
            .iter()
            .map(|d| d.price_set.shop_money.amount)
            .sum()
    }

    /// The line's whole discount: the sum of its allocations.
    pub fn discount(&self) -> Decimal {
        self.discount_allocations.iter().map(|a| a.amount).sum()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DiscountAllocation {
    pub amount: Decimal,
    pub amount_set: MoneySet,
    pub discount_application_index: usize,
}

/// How a discount was applied to the order (REST `discount_applications[]`).
#[derive(Debug, Clone, Serialize)]
pub struct DiscountApplication {
    /// `discount_code`, `automatic`, `manual` or `script`.
    #[serde(rename = "type")]
    pub kind: String,
    pub code: Option<String>,
    pub title: String,
    pub value: Decimal,
    pub value_type: String,
    pub allocation_method: String,
    pub target_selection: String,
    pub target_type: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefundLineItem {
    pub id: i64,
    pub line_item_id: i64,
    pub quantity: i32,
    /// JSON floats, as Shopify sends them.
    #[serde(with = "rust_decimal::serde::float")]
    pub subtotal: Decimal,
    #[serde(with = "rust_decimal::serde::float")]
    pub total_tax: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Transaction {
    pub id: i64,
    pub kind: String,
    pub amount: Decimal,
    pub currency: String,
    pub status: String,
    pub gateway: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: i64,
    pub admin_graphql_api_id: String,
    pub order_id: i64,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub processed_at: Timestamp,
    pub refund_line_items: Vec<RefundLineItem>,
    pub refund_shipping_lines: Vec<RefundShippingLine>,
    pub transactions: Vec<Transaction>,
    pub order_adjustments: Vec<OrderAdjustment>,
    pub duties: Vec<RefundDuty>,
}

impl Refund {
    /// Duties given back.
    pub fn duties(&self) -> Decimal {
        self.duties
            .iter()
            .map(|d| d.amount_set.shop_money.amount)
            .sum()
    }

    /// What the customer got back: the sum of successful refund transactions.
    pub fn amount(&self) -> Decimal {
        self.transactions.iter().map(|t| t.amount).sum()
    }

    /// Shipping given back, before its tax.
    pub fn shipping(&self) -> Decimal {
        self.refund_shipping_lines
            .iter()
            .map(|l| l.subtotal_amount_set.shop_money.amount)
            .sum()
    }

    /// Tax given back on shipping.
    pub fn shipping_tax(&self) -> Decimal {
        self.refund_shipping_lines
            .iter()
            .map(|l| l.tax_amount_set.shop_money.amount)
            .sum()
    }
}

/// Shipping given back by a refund.
#[derive(Debug, Clone, Serialize)]
pub struct RefundShippingLine {
    pub id: i64,
    pub shipping_line_id: i64,
    pub subtotal_amount_set: MoneySet,
    pub tax_amount_set: MoneySet,
}

/// A refund's adjustment; a shipping refund is kind `shipping_refund` with negative amounts.
#[derive(Debug, Clone, Serialize)]
pub struct OrderAdjustment {
    pub id: i64,
    pub order_id: i64,
    pub refund_id: i64,
    pub kind: String,
    pub reason: String,
    pub amount: Decimal,
    pub tax_amount: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShippingLine {
    pub id: i64,
    pub title: String,
    /// Before discounts.
    pub price: Decimal,
    /// After its shipping discounts (Shopify includes cart-level ones from 2024-07).
    pub discounted_price: Decimal,
    pub code: String,
    /// Shipping discounts (free shipping, a share off), as on line items.
    pub discount_allocations: Vec<DiscountAllocation>,
}

impl ShippingLine {
    pub fn discount(&self) -> Decimal {
        self.discount_allocations.iter().map(|a| a.amount).sum()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DiscountCode {
    pub code: String,
    pub amount: Decimal,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: i64,
    pub admin_graphql_api_id: String,
    pub name: String,
    pub order_number: i64,
    pub email: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub processed_at: Timestamp,
    pub cancelled_at: Option<Timestamp>,
    pub cancel_reason: Option<String>,
    pub closed_at: Option<Timestamp>,
    pub currency: String,
    pub presentment_currency: String,
    pub total_price: Decimal,
    pub subtotal_price: Decimal,
    pub total_tax: Decimal,
    pub total_discounts: Decimal,
    pub total_line_items_price: Decimal,
    pub current_total_price: Decimal,
    pub current_subtotal_price: Decimal,
    pub current_total_tax: Decimal,
    pub current_total_discounts: Decimal,
    pub total_price_set: MoneySet,
    pub subtotal_price_set: MoneySet,
    pub total_tax_set: MoneySet,
    pub total_discounts_set: MoneySet,
    pub total_shipping_price_set: MoneySet,
    pub current_total_price_set: MoneySet,
    /// Duties charged (`null` where none apply, as Shopify sends it), and what refunds left.
    pub original_total_duties_set: Option<MoneySet>,
    pub current_total_duties_set: Option<MoneySet>,
    /// Additional fees charged (a retail delivery fee, say); `null` where there are none.
    pub original_total_additional_fees_set: Option<MoneySet>,
    pub current_total_additional_fees_set: Option<MoneySet>,
    /// Tips: in the order's total, never a sale in Shopify's reports.
    pub total_tip_received: Decimal,
    pub financial_status: String,
    pub fulfillment_status: Option<String>,
    pub test: bool,
    pub source_name: String,
    pub tags: String,
    pub customer: Option<CustomerRef>,
    pub line_items: Vec<LineItem>,
    pub refunds: Vec<Refund>,
    pub shipping_lines: Vec<ShippingLine>,
    pub discount_codes: Vec<DiscountCode>,
    pub discount_applications: Vec<DiscountApplication>,
    pub billing_address: Option<Address>,
    pub shipping_address: Option<Address>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckoutLineItem {
    pub key: String,
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub title: String,
    pub variant_title: Option<String>,
    pub sku: Option<String>,
    pub quantity: i32,
    pub price: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checkout {
    pub id: i64,
    pub admin_graphql_api_id: String,
    pub token: String,
    pub cart_token: String,
    pub email: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub currency: String,
    pub presentment_currency: String,
    pub subtotal_price: Decimal,
    pub total_tax: Decimal,
    pub total_discounts: Decimal,
    pub total_price: Decimal,
    pub line_items: Vec<CheckoutLineItem>,
    pub customer: Option<CustomerRef>,
    pub abandoned_checkout_url: String,
    /// The order placed from this checkout, once completed.
    pub order_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CartLineItem {
    pub id: i64,
    pub product_id: i64,
    pub variant_id: i64,
    pub title: String,
    pub quantity: i32,
    pub price: Decimal,
    pub line_price: Decimal,
    pub sku: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cart {
    pub id: String,
    pub token: String,
    pub line_items: Vec<CartLineItem>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A deleted record, as `deletionEvents` and delete webhooks report it.
#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    pub subject_type: String,
    pub subject_id: i64,
    pub occurred_at: Timestamp,
}

pub fn gid(kind: &str, id: i64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// Parses `gid://shopify/{Kind}/{id}`.
pub fn parse_gid(gid: &str) -> Option<(&str, i64)> {
    let rest = gid.strip_prefix("gid://shopify/")?;
    let (kind, id) = rest.split_once('/')?;
    let id = id.split('?').next()?.parse().ok()?;
    Some((kind, id))
}
