//! A store's records as Xeno keeps them, whatever they came from (webhook, bulk export,
//! incremental sync). Money is `Decimal` beside its currency; times are UTC.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRecord {
    pub customer_id: i64,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub state: Option<String>,
    pub verified_email: Option<bool>,
    pub tags: Vec<String>,
    pub currency: Option<String>,
    pub email_marketing_state: Option<String>,
    pub default_address: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When Shopify made this version (see [`crate::records::version`]); orders two
    /// versions with the same `updated_at`.
    pub version_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantRecord {
    pub variant_id: i64,
    pub title: Option<String>,
    pub sku: Option<String>,
    pub price: Decimal,
    pub compare_at_price: Option<Decimal>,
    pub position: Option<i32>,
    pub inventory_quantity: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductRecord {
    pub product_id: i64,
    pub title: String,
    pub handle: Option<String>,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When Shopify made this version (see [`crate::records::version`]); orders two
    /// versions with the same `updated_at`.
    pub version_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub variants: Vec<VariantRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LineItemRecord {
    pub line_item_id: i64,
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
    pub title: String,
    pub variant_title: Option<String>,
    pub sku: Option<String>,
    pub vendor: Option<String>,
    pub quantity: i32,
    pub current_quantity: Option<i32>,
    pub price: Decimal,
    /// Shopify's `total_discount`: line-level discounts only.
    pub total_discount: Decimal,
    /// The line's whole discount, order-level (code) discounts included: see
    /// [`crate::sales::line_discount`].
    pub discount: Decimal,
    pub gift_card: bool,
    pub taxable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefundLineRecord {
    pub line_item_id: i64,
    pub quantity: i32,
    pub subtotal: Decimal,
    pub total_tax: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefundRecord {
    pub refund_id: i64,
    pub order_id: i64,
    pub created_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    /// Money returned to the buyer: the sum of successful refund transactions.
    pub amount: Decimal,
    pub note: Option<String>,
    pub lines: Vec<RefundLineRecord>,
    /// Shipping given back, before tax.
    pub shipping: Decimal,
    /// Tax given back on that shipping.
    pub shipping_tax: Decimal,
    /// Import duties given back.
    pub duties: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub order_id: i64,
    pub name: Option<String>,
    pub order_number: Option<i64>,
    pub email: Option<String>,
    /// The embedded customer, as much of it as the payload carries.
    pub customer: Option<CustomerRecord>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When Shopify made this version (see [`crate::records::version`]); orders two
    /// versions with the same `updated_at`.
    pub version_at: Option<DateTime<Utc>>,
    pub processed_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub currency: String,
    pub presentment_currency: Option<String>,
    pub total_price: Decimal,
    pub subtotal_price: Decimal,
    pub total_tax: Decimal,
    pub total_discounts: Decimal,
    pub total_line_items_price: Decimal,
    pub total_shipping: Decimal,
    /// Import duties charged (cross-border orders).
    pub duties: Decimal,
    /// Additional fees charged (a retail delivery fee, say).
    pub additional_fees: Decimal,
    /// Tips received: in the order's total, never a sale.
    pub tips: Decimal,
    pub current_total_price: Decimal,
    pub current_subtotal_price: Option<Decimal>,
    pub current_total_tax: Option<Decimal>,
    pub current_total_discounts: Option<Decimal>,
    pub financial_status: Option<String>,
    pub fulfillment_status: Option<String>,
    pub test: bool,
    pub source_name: Option<String>,
    pub tags: Vec<String>,
    pub line_items: Vec<LineItemRecord>,
    pub refunds: Vec<RefundRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckoutRecord {
    pub checkout_id: i64,
    pub token: Option<String>,
    pub cart_token: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When Shopify made this version (see [`crate::records::version`]); orders two
    /// versions with the same `updated_at`.
    pub version_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub currency: String,
    pub total_price: Decimal,
    pub subtotal_price: Option<Decimal>,
    pub line_items: serde_json::Value,
    pub abandoned_checkout_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CartRecord {
    pub cart_token: String,
    pub line_items: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Shopify's comma-separated tags as a list.
pub fn split_tags(tags: &str) -> Vec<String> {
    tags.split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A record version's place in time: `updated_at` (whole seconds in REST payloads), then
/// when Shopify made it (a delivery's X-Shopify-Triggered-At, or a sync's export time) for
/// two versions within one second. An unknown `version_at` sorts first.
pub fn version(
    updated_at: DateTime<Utc>,
    version_at: Option<DateTime<Utc>>,
) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
    (updated_at, version_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_on_commas_and_trim() {
        assert_eq!(split_tags(" vip, wholesale ,,"), ["vip", "wholesale"]);
        assert!(split_tags("").is_empty());
    }
}
