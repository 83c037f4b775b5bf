//! Bulk exports: start a bulk query, follow it, stream its JSONL, put children back under
//! their parents, and map the result to Xeno's records.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use xeno_domain::records::*;
use xeno_domain::sales::line_discount;

use crate::admin::AdminClient;
use crate::ShopifyError;

pub const CUSTOMERS: &str = include_str!("../queries/bulk_customers.graphql");
pub const PRODUCTS: &str = include_str!("../queries/bulk_products.graphql");
pub const ORDERS: &str = include_str!("../queries/bulk_orders.graphql");
pub const ABANDONED_CHECKOUTS: &str = include_str!("../queries/bulk_abandoned_checkouts.graphql");
/// Only ids and creation times: what a sync needs to tell which records were deleted.
pub const CUSTOMER_IDS: &str = include_str!("../queries/bulk_customer_ids.graphql");
pub const PRODUCT_IDS: &str = include_str!("../queries/bulk_product_ids.graphql");
pub const ORDER_IDS: &str = include_str!("../queries/bulk_order_ids.graphql");
const RUN: &str = include_str!("../queries/bulk_run.graphql");
/// From API 2026-01 an export's children follow their parent only when asked to
/// (`groupObjects`); before, they always do and the argument does not exist.
const RUN_GROUPED: &str = include_str!("../queries/bulk_run_grouped.graphql");
/// The API version that changed bulk queries: several at once per shop, and grouping only
/// when asked.
const BULK_REVISED_IN: &str = "2026-01";
const UNFINISHED: &str = include_str!("../queries/bulk_unfinished.graphql");

/// How long a new export waits for an earlier one of the same shop to end.
const EARLIER_EXPORT_WAIT: Duration = Duration::from_secs(30 * 60);
const STATUS: &str = include_str!("../queries/bulk_status.graphql");

/// The longest a bulk file download may take.
const DOWNLOAD_DEADLINE: Duration = Duration::from_secs(6 * 3600);

/// A finished export: where to download it (`None` when it is empty).
#[derive(Debug, Clone)]
pub struct Finished {
    pub url: Option<String>,
    /// When Shopify started the export, by its own clock: a record last updated before
    /// then and missing from a complete export was deleted.
    pub created_at: Option<DateTime<Utc>>,
}

/// A bulk export Shopify has accepted.
#[derive(Debug, Clone)]
pub struct Started {
    id: String,
    created_at: Option<DateTime<Utc>>,
}

impl AdminClient {
    /// How many bulk exports of a shop Shopify runs at once: five from API 2026-01, one
    /// before.
    pub fn concurrent_exports(&self) -> usize {
        if self.version() >= BULK_REVISED_IN {
            5
        } else {
            1
        }
    }

    /// Starts a bulk export and waits for it to finish.
    pub async fn bulk_export(&self, query: &str, poll: Duration) -> Result<Finished, ShopifyError> {
        let started = self.start_bulk_export(query, poll).await?;
        self.finish_bulk_export(&started, poll).await
    }

    /// Starts a bulk export (once an earlier one that holds the shop's last slot has ended).
    pub async fn start_bulk_export(
        &self,
        query: &str,
        poll: Duration,
    ) -> Result<Started, ShopifyError> {
        let waited_since = std::time::Instant::now();
        // Reassembly streams: a child must follow its parent, never wait for the file's end.
        let run = if self.version() >= BULK_REVISED_IN {
            RUN_GROUPED
        } else {
            RUN
        };
        let started = loop {
            // Refused outright (bulk operations are open only to some access tokens): page.
            let started: Value = match self.query(run, json!({ "query": query })).await {
                Err(ShopifyError::Refused(why)) => return Err(ShopifyError::BulkUnavailable(why)),
                answer => answer?,
            };
            let busy = started["bulkOperationRunQuery"]["userErrors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["code"] == "OPERATION_IN_PROGRESS"));
            // Shopify runs a limited number of exports per shop (one before API 2026-01): one
            // left by a sync that died must end before this one can start.
            if !busy || waited_since.elapsed() > EARLIER_EXPORT_WAIT {
                break started;
            }
            tracing::info!("an earlier bulk export of the shop is running; waiting for it");
            self.wait_for_current(poll).await?;
        };
        let payload = &started["bulkOperationRunQuery"];
        if let Some(errors) = payload["userErrors"].as_array().filter(|e| !e.is_empty()) {
            let message = errors
                .iter()
                .filter_map(|e| e["message"].as_str())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(ShopifyError::BulkUnavailable(format!(
                "bulk export refused: {message}"
            )));
        }
        let id = payload["bulkOperation"]["id"]
            .as_str()
            .ok_or_else(|| ShopifyError::Decode("bulkOperationRunQuery returned no id".to_owned()))?
            .to_owned();
        Ok(Started {
            id,
            created_at: time(&payload["bulkOperation"]["createdAt"]),
        })
    }

    /// Waits for a started export to finish.
    pub async fn finish_bulk_export(
        &self,
        started: &Started,
        poll: Duration,
    ) -> Result<Finished, ShopifyError> {
        loop {
            let status: Value = self.query(STATUS, json!({ "id": started.id })).await?;
            let node = &status["node"];
            match node["status"].as_str() {
                Some("COMPLETED") => {
                    return Ok(Finished {
                        url: node["url"].as_str().map(str::to_owned),
                        created_at: started.created_at,
                    })
                }
                Some("FAILED" | "CANCELED" | "EXPIRED") => {
                    return Err(ShopifyError::BulkUnavailable(format!(
                        "bulk export {} ({})",
                        node["status"].as_str().unwrap_or_default().to_lowercase(),
                        node["errorCode"].as_str().unwrap_or("no error code")
                    )))
                }
                _ => tokio::time::sleep(poll).await,
            }
        }
    }
}

impl AdminClient {
    /// Waits until none of the app's bulk exports on this shop is still unfinished.
    async fn wait_for_current(&self, poll: Duration) -> Result<(), ShopifyError> {
        loop {
            let unfinished: Value = self.query(UNFINISHED, json!({})).await?;
            let nodes = unfinished["bulkOperations"]["nodes"].as_array();
            if nodes.is_none_or(Vec::is_empty) {
                return Ok(());
            }
            tokio::time::sleep(poll).await;
        }
    }
}

/// Streams a JSONL export and hands over each root object with its children, in order,
/// `batch` at a time, and gives the sink back at the end. Never holds the whole file: the
/// next batches are read and parsed while the sink writes the last (a couple at most wait).
pub async fn stream_export<S: AsyncSink>(
    http: &reqwest::Client,
    url: &str,
    batch: usize,
    mut sink: S,
) -> Result<S, ShopifyError> {
    // Exports can be gigabytes: the client's usual request deadline does not apply.
    let mut response = http
        .get(url)
        .timeout(DOWNLOAD_DEADLINE)
        .send()
        .await?
        .error_for_status()?;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Vec<(Value, Vec<Value>)>>(2);
    let read = async move {
        let mut pending = Vec::<u8>::new();
        let mut current: Option<(Value, Vec<Value>)> = None;
        let mut ready = Vec::with_capacity(batch);
        while let Some(chunk) = response.chunk().await? {
            pending.extend_from_slice(&chunk);
            let mut start = 0;
            while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
                take_line(&pending[start..start + end], &mut current, &mut ready)?;
                start += end + 1;
                if ready.len() >= batch {
                    let full = std::mem::replace(&mut ready, Vec::with_capacity(batch));
                    // The writer has stopped (and says why): stop reading.
                    if ready_tx.send(full).await.is_err() {
                        return Ok(());
                    }
                }
            }
            pending.drain(..start);
        }
        take_line(&pending, &mut current, &mut ready)?;
        ready.extend(current.take());
        if !ready.is_empty() {
            let _ = ready_tx.send(ready).await;
        }
        Ok::<(), ShopifyError>(())
    };
    let write = async {
        while let Some(batch) = ready_rx.recv().await {
            sink.accept(batch).await?;
        }
        Ok::<(), ShopifyError>(())
    };
    // Reading and parsing run on a task of their own, beside the writing on another core.
    let reader = tokio::spawn(read);
    if let Err(err) = write.await {
        reader.abort();
        return Err(err);
    }
    match reader.await {
        Ok(read) => read?,
        Err(err) => return Err(ShopifyError::Decode(format!("reading the export: {err}"))),
    }
    Ok(sink)
}

fn take_line(
    line: &[u8],
    current: &mut Option<(Value, Vec<Value>)>,
    ready: &mut Vec<(Value, Vec<Value>)>,
) -> Result<(), ShopifyError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let value: Value = serde_json::from_slice(line)
        .map_err(|err| ShopifyError::Decode(format!("bulk line: {err}")))?;
    if value.get("__parentId").is_some() {
        // Children follow their parent: a child of anything else is a broken file.
        match current {
            Some((parent, children)) if parent["id"] == value["__parentId"] => children.push(value),
            _ => {
                return Err(ShopifyError::Decode(
                    "a bulk line's parent is not the line before it".to_owned(),
                ))
            }
        }
    } else {
        ready.extend(current.replace((value, Vec::new())));
    }
    Ok(())
}

/// Receives reassembled objects in batches.
pub trait AsyncSink {
    fn accept(
        &mut self,
        batch: Vec<(Value, Vec<Value>)>,
    ) -> impl std::future::Future<Output = Result<(), ShopifyError>> + Send;
}

fn legacy(value: &Value) -> Option<i64> {
    value["legacyResourceId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value["id"].as_str().and_then(gid_number))
}

/// The number at the end of a gid: `gid://shopify/LineItem/123` → 123.
pub fn gid_number(gid: &str) -> Option<i64> {
    gid.rsplit('/').next()?.split('?').next()?.parse().ok()
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn money(value: &Value) -> Option<Decimal> {
    value["shopMoney"]["amount"]
        .as_str()
        .and_then(|s| s.parse().ok())
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn tags(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

fn decode(what: &str) -> ShopifyError {
    ShopifyError::Decode(format!("bulk {what} is missing a required field"))
}

/// A record's id and creation time, from an ids-only export.
pub fn presence(node: &Value) -> Result<(i64, DateTime<Utc>), ShopifyError> {
    let id = node["id"].as_str().and_then(gid_number);
    match (id, time(&node["createdAt"])) {
        (Some(id), Some(created_at)) => Ok((id, created_at)),
        _ => Err(decode("id")),
    }
}

/// Shopify's search for records updated at or after `since`.
pub fn updated_search(since: DateTime<Utc>) -> String {
    format!("updated_at:>='{}'", since.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// `document` (one of the exports above) limited to records updated at or after `since`,
/// by Shopify's search syntax on its root connection.
pub fn updated_since(document: &str, since: DateTime<Utc>) -> String {
    let Some(root) = document
        .lines()
        .nth(1)
        .and_then(|line| line.trim().strip_suffix(" {"))
    else {
        return document.to_owned();
    };
    let search = updated_search(since).replace('"', "\\\"");
    document.replacen(
        &format!("{root} {{"),
        &format!("{root}(query: \"{search}\") {{"),
        1,
    )
}

pub fn customer(c: &Value) -> Result<CustomerRecord, ShopifyError> {
    let created_at = time(&c["createdAt"]).ok_or_else(|| decode("customer"))?;
    Ok(CustomerRecord {
        customer_id: legacy(c).ok_or_else(|| decode("customer"))?,
        email: text(&c["defaultEmailAddress"]["emailAddress"]),
        phone: text(&c["defaultPhoneNumber"]["phoneNumber"]),
        first_name: text(&c["firstName"]),
        last_name: text(&c["lastName"]),
        state: text(&c["state"]).map(|s| s.to_lowercase()),
        verified_email: c["verifiedEmail"].as_bool(),
        tags: tags(&c["tags"]),
        currency: None,
        email_marketing_state: text(&c["defaultEmailAddress"]["marketingState"])
            .map(|s| s.to_lowercase()),
        default_address: None,
        created_at,
        updated_at: time(&c["updatedAt"]).unwrap_or(created_at),
        version_at: None,
    })
}

pub fn product(p: &Value, variants: &[Value]) -> Result<ProductRecord, ShopifyError> {
    let created_at = time(&p["createdAt"]).ok_or_else(|| decode("product"))?;
    Ok(ProductRecord {
        product_id: legacy(p).ok_or_else(|| decode("product"))?,
        title: text(&p["title"]).unwrap_or_default(),
        handle: text(&p["handle"]),
        vendor: text(&p["vendor"]),
        product_type: text(&p["productType"]),
        status: text(&p["status"]).map(|s| s.to_lowercase()),
        tags: tags(&p["tags"]),
        created_at,
        updated_at: time(&p["updatedAt"]).unwrap_or(created_at),
        version_at: None,
        published_at: time(&p["publishedAt"]),
        variants: variants
            .iter()
            .map(|v| {
                Ok(VariantRecord {
                    variant_id: legacy(v).ok_or_else(|| decode("variant"))?,
                    title: text(&v["title"]),
                    sku: text(&v["sku"]),
                    price: v["price"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| decode("variant"))?,
                    compare_at_price: v["compareAtPrice"].as_str().and_then(|s| s.parse().ok()),
                    position: v["position"].as_i64().and_then(|p| i32::try_from(p).ok()),
                    inventory_quantity: v["inventoryQuantity"]
                        .as_i64()
                        .and_then(|q| i32::try_from(q).ok()),
                    created_at: time(&v["createdAt"]),
                    updated_at: time(&v["updatedAt"]),
                })
            })
            .collect::<Result<_, ShopifyError>>()?,
    })
}

pub fn order(o: &Value, lines: &[Value]) -> Result<OrderRecord, ShopifyError> {
    let order_id = legacy(o).ok_or_else(|| decode("order"))?;
    let created_at = time(&o["createdAt"]).ok_or_else(|| decode("order"))?;
    let total_price = money(&o["totalPriceSet"]).ok_or_else(|| decode("order"))?;
    let line_items: Vec<LineItemRecord> = lines
        .iter()
        .map(|l| {
            // Line-level discounts only; the allocations carry order-level ones as well.
            let total_discount = money(&l["totalDiscountSet"]).unwrap_or_default();
            let allocations: Vec<Decimal> = l["discountAllocations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| money(&a["allocatedAmountSet"]))
                .collect();
            Ok(LineItemRecord {
                line_item_id: l["id"]
                    .as_str()
                    .and_then(gid_number)
                    .ok_or_else(|| decode("line item"))?,
                product_id: l["product"]["id"].as_str().and_then(gid_number),
                variant_id: l["variant"]["id"].as_str().and_then(gid_number),
                title: text(&l["title"]).unwrap_or_default(),
                variant_title: text(&l["variantTitle"]),
                sku: text(&l["sku"]),
                vendor: text(&l["vendor"]),
                quantity: l["quantity"]
                    .as_i64()
                    .and_then(|q| i32::try_from(q).ok())
                    .unwrap_or(0),
                current_quantity: l["currentQuantity"]
                    .as_i64()
                    .and_then(|q| i32::try_from(q).ok()),
                price: money(&l["originalUnitPriceSet"]).unwrap_or_default(),
                total_discount,
                discount: line_discount(total_discount, &allocations),
                gift_card: l["isGiftCard"].as_bool().unwrap_or(false),
                taxable: l["taxable"].as_bool().unwrap_or(true),
            })
        })
        .collect::<Result<_, ShopifyError>>()?;
    let refunds = o["refunds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let shipping_lines = r["refundShippingLines"]["nodes"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            Ok(RefundRecord {
                refund_id: legacy(r).ok_or_else(|| decode("refund"))?,
                order_id,
                created_at: time(&r["createdAt"]).unwrap_or(created_at),
                processed_at: time(&r["createdAt"]),
                amount: money(&r["totalRefundedSet"]).unwrap_or_default(),
                note: text(&r["note"]),
                lines: r["refundLineItems"]["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| {
                        Some(RefundLineRecord {
                            line_item_id: l["lineItem"]["id"].as_str().and_then(gid_number)?,
                            quantity: l["quantity"].as_i64().and_then(|q| i32::try_from(q).ok())?,
                            subtotal: money(&l["subtotalSet"]).unwrap_or_default(),
                            total_tax: money(&l["totalTaxSet"]).unwrap_or_default(),
                        })
                    })
                    .collect(),
                shipping: shipping_lines
                    .iter()
                    .map(|l| money(&l["subtotalAmountSet"]).unwrap_or_default())
                    .sum(),
                shipping_tax: shipping_lines
                    .iter()
                    .map(|l| money(&l["taxAmountSet"]).unwrap_or_default())
                    .sum(),
                duties: r["duties"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| money(&d["amountSet"]))
                    .sum(),
            })
        })
        .collect::<Result<_, ShopifyError>>()?;
    let customer = o["customer"]
        .is_object()
        .then(|| customer(&o["customer"]))
        .transpose()?;
    let line_total = line_items
        .iter()
        .map(|l| l.price * Decimal::from(l.quantity))
        .sum();
    Ok(OrderRecord {
        order_id,
        name: text(&o["name"]),
        order_number: text(&o["name"]).and_then(|n| n.trim_start_matches('#').parse().ok()),
        email: text(&o["email"]),
        customer,
        created_at,
        updated_at: time(&o["updatedAt"]).unwrap_or(created_at),
        version_at: None,
        processed_at: time(&o["processedAt"]).unwrap_or(created_at),
        cancelled_at: time(&o["cancelledAt"]),
        cancel_reason: text(&o["cancelReason"]).map(|s| s.to_lowercase()),
        closed_at: time(&o["closedAt"]),
        currency: text(&o["currencyCode"]).ok_or_else(|| decode("order"))?,
        presentment_currency: text(&o["presentmentCurrencyCode"]),
        total_price,
        subtotal_price: money(&o["subtotalPriceSet"]).unwrap_or(total_price),
        total_tax: money(&o["totalTaxSet"]).unwrap_or_default(),
        total_discounts: money(&o["totalDiscountsSet"]).unwrap_or_default(),
        total_line_items_price: line_total,
        // Charged after shipping discounts (`totalShippingPriceSet` is before them).
        total_shipping: money(&o["shippingLine"]["discountedPriceSet"]).unwrap_or_default(),
        // `null` where no duties or fees apply.
        duties: money(&o["originalTotalDutiesSet"]).unwrap_or_default(),
        additional_fees: money(&o["originalTotalAdditionalFeesSet"]).unwrap_or_default(),
        tips: money(&o["totalTipReceivedSet"]).unwrap_or_default(),
        current_total_price: money(&o["currentTotalPriceSet"]).unwrap_or(total_price),
        current_subtotal_price: money(&o["currentSubtotalPriceSet"]),
        current_total_tax: money(&o["currentTotalTaxSet"]),
        current_total_discounts: money(&o["currentTotalDiscountsSet"]),
        financial_status: text(&o["displayFinancialStatus"]).map(|s| s.to_lowercase()),
        fulfillment_status: match o["displayFulfillmentStatus"].as_str() {
            Some("FULFILLED") => Some("fulfilled".to_owned()),
            Some("PARTIALLY_FULFILLED") => Some("partial".to_owned()),
            _ => None,
        },
        test: o["test"].as_bool().unwrap_or(false),
        source_name: text(&o["sourceName"]),
        tags: tags(&o["tags"]),
        line_items,
        refunds,
    })
}

pub fn abandoned_checkout(c: &Value, lines: &[Value]) -> Result<CheckoutRecord, ShopifyError> {
    let created_at = time(&c["createdAt"]).ok_or_else(|| decode("checkout"))?;
    Ok(CheckoutRecord {
        checkout_id: c["id"].as_str().and_then(gid_number).ok_or_else(|| decode("checkout"))?,
        token: None,
        cart_token: None,
        email: text(&c["customer"]["defaultEmailAddress"]["emailAddress"]),
        customer_id: c["customer"]["id"].as_str().and_then(gid_number),
        created_at,
        updated_at: time(&c["updatedAt"]).unwrap_or(created_at),
        version_at: None,
        completed_at: time(&c["completedAt"]),
        currency: text(&c["totalPriceSet"]["shopMoney"]["currencyCode"]).ok_or_else(|| decode("checkout"))?,
        total_price: money(&c["totalPriceSet"]).ok_or_else(|| decode("checkout"))?,
        subtotal_price: money(&c["subtotalPriceSet"]),
        line_items: Value::Array(
            lines
                .iter()
                .map(|l| {
                    json!({
                        "title": l["title"], "variant_title": l["variantTitle"], "sku": l["sku"],
                        "quantity": l["quantity"], "price": l["originalUnitPriceSet"]["shopMoney"]["amount"],
                        "product_id": l["product"]["id"].as_str().and_then(gid_number),
                        "variant_id": l["variant"]["id"].as_str().and_then(gid_number),
                    })
                })
                .collect(),
        ),
        abandoned_checkout_url: text(&c["abandonedCheckoutUrl"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_limited_to_recent_changes_filters_its_root_connection_only() {
        let since = "2026-11-27T10:20:30Z".parse().unwrap();
        for (document, root) in [
            (CUSTOMERS, "customers"),
            (PRODUCTS, "products"),
            (ORDERS, "orders"),
            (ABANDONED_CHECKOUTS, "abandonedCheckouts"),
        ] {
            let limited = updated_since(document, since);
            let filter = format!("{root}(query: \"updated_at:>='2026-11-27T10:20:30Z'\") {{");
            assert!(limited.contains(&filter), "{limited}");
            assert_eq!(limited.matches("(query:").count(), 1, "{limited}");
            assert_eq!(
                limited.replacen(&filter, &format!("{root} {{"), 1),
                document
            );
        }
    }
}
