//! Webhook payloads (Shopify's REST resource JSON) mapped to Xeno's records.
//!
//! Lenient where Shopify varies (absent versus `null`, protected customer data withheld),
//! strict where a wrong value would corrupt figures (ids, money, timestamps).

use std::cell::Cell;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use serde_json::Value;
use xeno_domain::records::*;

use self::rest::*;

mod rest;

/// A payload that cannot become a record: the event is kept and marked failed.
#[derive(Debug, thiserror::Error)]
#[error("{topic} payload: {reason}")]
pub struct PayloadError {
    pub topic: String,
    pub reason: String,
}

fn utc(at: DateTime<FixedOffset>) -> DateTime<Utc> {
    at.with_timezone(&Utc)
}

fn opt_utc(at: Option<DateTime<FixedOffset>>) -> Option<DateTime<Utc>> {
    at.map(utc)
}

/// Dates a record: by the payload's own dates, else by when the webhook was received —
/// Shopify's test notifications (and some older payloads) send `null` dates, and a record
/// must not be dead-lettered for it. It remembers whether it had to fall back, so the event
/// log can say so.
pub(crate) struct Dating {
    received_at: DateTime<Utc>,
    fell_back: Cell<bool>,
}

impl Dating {
    fn new(received_at: DateTime<Utc>) -> Self {
        Self {
            received_at,
            fell_back: Cell::new(false),
        }
    }

    /// The first of `dates` the payload carries, else when it was received.
    fn first<const N: usize>(&self, dates: [Option<DateTime<FixedOffset>>; N]) -> DateTime<Utc> {
        match dates.into_iter().flatten().next() {
            Some(at) => utc(at),
            None => {
                self.fell_back.set(true);
                self.received_at
            }
        }
    }
}

/// A webhook's change, and whether a date it needed was missing (when it was received
/// stands in; the event log says so).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub change: Change,
    pub dated_on_receipt: bool,
}

/// What one webhook asks Xeno to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Customer(CustomerRecord),
    CustomerDeleted(i64),
    Product(ProductRecord),
    ProductDeleted(i64),
    Order(Box<OrderRecord>),
    OrderDeleted(i64),
    Refund(RefundRecord),
    Checkout(CheckoutRecord),
    CheckoutDeleted(i64),
    Cart(CartRecord),
    AppUninstalled,
    /// `customers/redact`: erase this customer's personal data; these orders too.
    CustomerRedact {
        customer_id: Option<i64>,
        email: Option<String>,
        orders: Vec<i64>,
    },
    /// `customers/data_request`: the merchant must be able to export this customer's data.
    CustomerDataRequest {
        customer_id: Option<i64>,
        email: Option<String>,
        orders: Vec<i64>,
        payload: Value,
    },
    /// `shop/redact`: erase the store's data.
    ShopRedact,
    /// A topic Xeno does not act on (it is still recorded).
    Ignored,
}

fn parse<'a, T: Deserialize<'a>>(topic: &str, payload: &'a str) -> Result<T, PayloadError> {
    serde_json::from_str(payload).map_err(|err| PayloadError {
        topic: topic.to_owned(),
        reason: err.to_string(),
    })
}

fn deleted_id(topic: &str, payload: &str) -> Result<i64, PayloadError> {
    let deleted: RestDeleted = parse(topic, payload)?;
    match deleted.id {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| PayloadError {
        topic: topic.to_owned(),
        reason: "id is not an integer".to_owned(),
    })
}

fn ids(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect()
}

/// Maps a webhook to the change it describes. `payload` is the body's JSON text, read
/// straight into the fields Xeno keeps (no intermediate tree: this is the worker's hot
/// path). `received_at` stands in for timestamps a payload lacks, and the answer says when
/// it did.
pub fn change(
    topic: &str,
    payload: &str,
    received_at: DateTime<Utc>,
) -> Result<Mapped, PayloadError> {
    let dating = Dating::new(received_at);
    let change = mapped(topic, payload, &dating)?;
    Ok(Mapped {
        change,
        dated_on_receipt: dating.fell_back.get(),
    })
}

fn mapped(topic: &str, payload: &str, dating: &Dating) -> Result<Change, PayloadError> {
    Ok(match topic {
        "customers/create" | "customers/update" | "customers/enable" | "customers/disable" => {
            Change::Customer(parse::<RestCustomer>(topic, payload)?.record(dating))
        }
        "customers/delete" => Change::CustomerDeleted(deleted_id(topic, payload)?),
        "products/create" | "products/update" => {
            Change::Product(product(parse(topic, payload)?, dating))
        }
        "products/delete" => Change::ProductDeleted(deleted_id(topic, payload)?),
        "orders/create"
        | "orders/updated"
        | "orders/paid"
        | "orders/cancelled"
        | "orders/fulfilled"
        | "orders/partially_fulfilled"
        | "orders/edited" => Change::Order(Box::new(order(parse(topic, payload)?, dating))),
        "orders/delete" => Change::OrderDeleted(deleted_id(topic, payload)?),
        "refunds/create" => Change::Refund(parse::<RestRefund>(topic, payload)?.record(dating)),
        "checkouts/create" | "checkouts/update" => {
            Change::Checkout(checkout(parse(topic, payload)?, dating))
        }
        "checkouts/delete" => Change::CheckoutDeleted(deleted_id(topic, payload)?),
        "carts/create" | "carts/update" => {
            let cart = cart(parse(topic, payload)?, dating).ok_or_else(|| PayloadError {
                topic: topic.to_owned(),
                reason: "a cart needs a token".to_owned(),
            })?;
            Change::Cart(cart)
        }
        "app/uninstalled" => Change::AppUninstalled,
        "customers/redact" => {
            let payload: Value = parse(topic, payload)?;
            Change::CustomerRedact {
                customer_id: payload["customer"]["id"].as_i64(),
                email: payload["customer"]["email"].as_str().map(str::to_owned),
                orders: ids(&payload["orders_to_redact"]),
            }
        }
        "customers/data_request" => {
            let payload: Value = parse(topic, payload)?;
            Change::CustomerDataRequest {
                customer_id: payload["customer"]["id"].as_i64(),
                email: payload["customer"]["email"].as_str().map(str::to_owned),
                orders: ids(&payload["orders_requested"]),
                payload,
            }
        }
        "shop/redact" => Change::ShopRedact,
        _ => Change::Ignored,
    })
}

#[cfg(test)]
mod tests;
