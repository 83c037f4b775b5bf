//! The Admin GraphQL API: one authenticated endpoint per shop, typed operations on top.
//!
//! Documents live in `queries/*.graphql`, so the test suite validates each of them against
//! Shopify's published schema.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use xeno_domain::reconciliation::SalesMetric;
use xeno_domain::sales::DaySales;

use crate::breaker::Breaker;
pub use crate::ledger::{CallCounts, CallLedger};
use crate::ShopifyError;

const SHOP: &str = include_str!("../queries/shop.graphql");
const SUBSCRIPTION_CREATE: &str = include_str!("../queries/webhook_subscription_create.graphql");
const SUBSCRIPTION_DELETE: &str = include_str!("../queries/webhook_subscription_delete.graphql");
const SUBSCRIPTIONS: &str = include_str!("../queries/webhook_subscriptions.graphql");
const SYNC_COUNTS: &str = include_str!("../queries/sync_counts.graphql");
const SALES_REPORT: &str = include_str!("../queries/sales_report.graphql");
const TAGS_ADD: &str = include_str!("../queries/tags_add.graphql");
const TAGS_REMOVE: &str = include_str!("../queries/tags_remove.graphql");

/// How often a throttled call is retried before giving up.
const THROTTLE_RETRIES: u32 = 5;
/// Further attempts after a network failure, a 429 or a 5xx (with jittered exponential backoff).
const TRANSIENT_RETRIES: usize = 5;

/// An authenticated Admin API endpoint for one shop.
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    endpoint: String,
    /// The Admin API version, as in `2026-10`.
    version: String,
    token: String,
    ledger: Arc<CallLedger>,
    breaker: Option<Breaker>,
}

/// An answer's body and its `Date`.
type Answer = (String, Option<DateTime<Utc>>);

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    extensions: Option<Value>,
}

/// The shop as Xeno needs it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ShopInfo {
    pub id: String,
    pub name: String,
    pub myshopify_domain: String,
    pub currency_code: String,
    pub iana_timezone: String,
}

impl ShopInfo {
    /// The numeric id from the gid.
    pub fn numeric_id(&self) -> Option<i64> {
        self.id.rsplit('/').next()?.parse().ok()
    }
}

/// A webhook subscription at Shopify.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    /// The enum spelling, e.g. `ORDERS_CREATE`.
    pub topic: String,
    pub callback_url: Option<String>,
}

impl AdminClient {
    pub fn new(http: reqwest::Client, base_url: &str, version: &str, token: &str) -> Self {
        Self {
            http,
            endpoint: format!("{base_url}/admin/api/{version}/graphql.json"),
            version: version.to_owned(),
            token: token.to_owned(),
            ledger: Arc::default(),
            breaker: None,
        }
    }

    /// The Admin API version the client calls.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The same client, calling only while the shop's circuit breaker allows it.
    pub fn with_breaker(mut self, breaker: Breaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// The same client, pacing and counting in `ledger` (shared with other clients).
    pub fn with_ledger(mut self, ledger: Arc<CallLedger>) -> Self {
        self.ledger = ledger;
        self
    }

    /// What this client's calls (and those sharing its ledger) cost and waited for.
    pub fn counts(&self) -> CallCounts {
        self.ledger.counts()
    }

    /// Runs a document and decodes `data`. Paces itself by the cost bucket the last answer
    /// reported (waiting before a call the bucket cannot pay for yet), waits out `THROTTLED`
    /// answers all the same, and retries network failures, 429s and 5xx with backoff.
    /// GraphQL errors become [`ShopifyError::Refused`].
    pub async fn query<T: DeserializeOwned>(
        &self,
        document: &'static str,
        variables: Value,
    ) -> Result<T, ShopifyError> {
        Ok(self.dated_query(document, variables).await?.0)
    }

    /// [`query`](Self::query), also giving the answer's time by Shopify's clock (its `Date`
    /// header, whole seconds) when it has one.
    pub async fn dated_query<T: DeserializeOwned>(
        &self,
        document: &'static str,
        variables: Value,
    ) -> Result<(T, Option<DateTime<Utc>>), ShopifyError> {
        // A span per call, named by its operation (`query Shop`, `mutation TagsAdd`…).
        let operation = document
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with('#'))
            .map_or("", |line| {
                line.split(['(', '{']).next().unwrap_or("").trim()
            });
        let span = tracing::info_span!(
            "shopify.admin",
            operation,
            endpoint = %self.endpoint
        );
        tracing::Instrument::instrument(self.call(document, variables), span).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        document: &'static str,
        variables: Value,
    ) -> Result<(T, Option<DateTime<Utc>>), ShopifyError> {
        let body = json!({ "query": document, "variables": variables });
        for _ in 0..=THROTTLE_RETRIES {
            if let Some(wait) = self.ledger.wait_before_call(document) {
                tracing::debug!(
                    wait_ms = wait.as_millis() as u64,
                    "pacing to Shopify's cost bucket"
                );
                tokio::time::sleep(wait).await;
            }
            let (text, date) = (|| self.post(&body))
                .retry(
                    ExponentialBuilder::default()
                        .with_min_delay(Duration::from_millis(200))
                        .with_max_delay(Duration::from_secs(10))
                        .with_max_times(TRANSIENT_RETRIES)
                        .with_jitter(),
                )
                .when(ShopifyError::is_transient)
                .notify(|err, wait| {
                    self.ledger.retried();
                    tracing::warn!(error = %err, wait_ms = wait.as_millis() as u64, "Shopify call failed; retrying");
                })
                .await?;
            let envelope: Envelope =
                serde_json::from_str(&text).map_err(|err| ShopifyError::Decode(err.to_string()))?;
            if let Some(errors) = envelope.errors.filter(|e| !e.is_null()) {
                if is_throttled(&errors) {
                    // The pacing at the top of the loop waits for the bucket it reports.
                    tracing::debug!("throttled by Shopify");
                    self.ledger
                        .throttled(document, envelope.extensions.as_ref());
                    continue;
                }
                self.ledger.answered(document, envelope.extensions.as_ref());
                if let Some((cost, max)) = too_costly(&errors) {
                    return Err(ShopifyError::TooCostly { cost, max });
                }
                return Err(ShopifyError::Refused(error_messages(&errors)));
            }
            self.ledger.answered(document, envelope.extensions.as_ref());
            let data = envelope.data.unwrap_or(Value::Null);
            return serde_json::from_value(data)
                .map(|data| (data, date))
                .map_err(|err| ShopifyError::Decode(err.to_string()));
        }
        Err(ShopifyError::Throttled)
    }

    /// One attempt: the answer's body, or why it failed. With a breaker, a failure that
    /// says the shop is unwell (network, 429, 5xx) counts against it, any answer for it.
    async fn post(&self, body: &Value) -> Result<Answer, ShopifyError> {
        let Some(breaker) = &self.breaker else {
            return self.attempt(body).await;
        };
        if !breaker.is_call_permitted() {
            return Err(ShopifyError::Paused);
        }
        let result = self.attempt(body).await;
        match &result {
            Err(err) if err.is_transient() => breaker.on_error(),
            _ => breaker.on_success(),
        }
        result
    }

    async fn attempt(&self, body: &Value) -> Result<Answer, ShopifyError> {
        let response = self
            .http
            .post(&self.endpoint)
            .header("x-shopify-access-token", &self.token)
            .json(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|date| date.to_str().ok())
            .and_then(|date| DateTime::parse_from_rfc2822(date).ok())
            .map(|date| date.with_timezone(&Utc));
        let text = response.text().await?;
        match status {
            200..=299 => Ok((text, date)),
            401 | 403 => Err(ShopifyError::Unauthorized { status, body: text }),
            _ => Err(ShopifyError::Status { status, body: text }),
        }
    }

    pub async fn shop(&self) -> Result<ShopInfo, ShopifyError> {
        #[derive(Deserialize)]
        struct Data {
            shop: ShopInfo,
        }
        Ok(self.query::<Data>(SHOP, json!({})).await?.shop)
    }

    /// Subscribes `callback_url` to `topic` (enum spelling). An identical subscription that
    /// already exists counts as success.
    pub async fn subscribe(&self, topic: &str, callback_url: &str) -> Result<(), ShopifyError> {
        let data: Value = self
            .query(
                SUBSCRIPTION_CREATE,
                json!({ "topic": topic, "uri": callback_url }),
            )
            .await?;
        let errors = &data["webhookSubscriptionCreate"]["userErrors"];
        match errors.as_array() {
            Some(list) if !list.is_empty() => {
                let message = error_messages(errors);
                if message.contains("already been taken") {
                    Ok(())
                } else {
                    Err(ShopifyError::Refused(format!(
                        "subscribing to {topic}: {message}"
                    )))
                }
            }
            _ => Ok(()),
        }
    }

    /// Shopify's own daily sales from `from` to `to` (the shop's days and currency), from
    /// ShopifyQL's `sales` schema: the figures Shopify Analytics shows. Needs `read_reports`.
    pub async fn daily_sales(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, DaySales>, ShopifyError> {
        let metrics: Vec<&str> = SalesMetric::ALL.iter().map(|m| m.name()).collect();
        let report = format!(
            "FROM sales SHOW {} TIMESERIES day SINCE {from} UNTIL {to}",
            metrics.join(", ")
        );
        let data: Value = self.query(SALES_REPORT, json!({ "query": report })).await?;
        let answer = &data["shopifyqlQuery"];
        if let Some(errors) = answer["parseErrors"].as_array().filter(|e| !e.is_empty()) {
            return Err(ShopifyError::Refused(format!(
                "ShopifyQL: {}",
                error_messages(&Value::Array(errors.clone()))
            )));
        }
        let rows = answer["tableData"]["rows"]
            .as_array()
            .ok_or_else(|| ShopifyError::Decode("ShopifyQL answered no rows".to_owned()))?;
        rows.iter().map(sales_row).collect()
    }

    /// How many customers, products, orders and abandoned checkouts match each search
    /// (`None`: all of them), uncapped.
    pub async fn sync_counts(
        &self,
        searches: [Option<String>; 4],
    ) -> Result<[u64; 4], ShopifyError> {
        let [customers, products, orders, checkouts] = searches;
        let data: Value = self
            .query(
                SYNC_COUNTS,
                json!({ "customers": customers, "products": products, "orders": orders,
                        "checkouts": checkouts }),
            )
            .await?;
        let count = |field: &str| data[field]["count"].as_u64().unwrap_or(0);
        Ok([
            count("customersCount"),
            count("productsCount"),
            count("ordersCount"),
            count("abandonedCheckoutsCount"),
        ])
    }

    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, ShopifyError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data: Value = self.query(SUBSCRIPTIONS, json!({ "after": after })).await?;
            let connection = &data["webhookSubscriptions"];
            for node in connection["nodes"].as_array().into_iter().flatten() {
                all.push(Subscription {
                    id: node["id"].as_str().unwrap_or_default().to_owned(),
                    topic: node["topic"].as_str().unwrap_or_default().to_owned(),
                    callback_url: node["uri"].as_str().map(str::to_owned),
                });
            }
            match connection["pageInfo"]["endCursor"].as_str() {
                Some(cursor) if connection["pageInfo"]["hasNextPage"] == true => {
                    after = Some(cursor.to_owned())
                }
                _ => return Ok(all),
            }
        }
    }

    /// Adds `tag` to a customer (or removes it). Needs `write_customers`. False when Shopify
    /// has no such customer (deleted since), which leaves nothing to tag.
    pub async fn tag_customer(
        &self,
        customer_id: i64,
        tag: &str,
        add: bool,
    ) -> Result<bool, ShopifyError> {
        let (document, field) = if add {
            (TAGS_ADD, "tagsAdd")
        } else {
            (TAGS_REMOVE, "tagsRemove")
        };
        let id = format!("gid://shopify/Customer/{customer_id}");
        let data: Value = self
            .query(document, json!({ "id": id, "tags": [tag] }))
            .await?;
        let errors = &data[field]["userErrors"];
        match errors.as_array() {
            Some(list) if !list.is_empty() => {
                let message = error_messages(errors);
                if data[field]["node"].is_null() && message.contains("Not Found") {
                    Ok(false)
                } else {
                    Err(ShopifyError::Refused(format!("{field} {id}: {message}")))
                }
            }
            _ => Ok(true),
        }
    }

    pub async fn delete_subscription(&self, id: &str) -> Result<(), ShopifyError> {
        let data: Value = self.query(SUBSCRIPTION_DELETE, json!({ "id": id })).await?;
        let errors = &data["webhookSubscriptionDelete"]["userErrors"];
        match errors.as_array() {
            Some(list) if !list.is_empty() => Err(ShopifyError::Refused(error_messages(errors))),
            _ => Ok(()),
        }
    }
}

/// One row of a daily `sales` report: its day and figures.
fn sales_row(row: &Value) -> Result<(NaiveDate, DaySales), ShopifyError> {
    let bad =
        |what: &str| ShopifyError::Decode(format!("ShopifyQL row without a valid {what}: {row}"));
    let day = row["day"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok())
        .ok_or_else(|| bad("day"))?;
    let number = |metric: SalesMetric| -> Result<Decimal, ShopifyError> {
        match &row[metric.name()] {
            Value::String(s) => s.parse().map_err(|_| bad(metric.name())),
            Value::Number(n) => n.to_string().parse().map_err(|_| bad(metric.name())),
            Value::Null => Ok(Decimal::ZERO),
            _ => Err(bad(metric.name())),
        }
    };
    let orders = number(SalesMetric::Orders)?;
    Ok((
        day,
        DaySales {
            orders: i64::try_from(orders.trunc()).map_err(|_| bad("orders"))?,
            gross: number(SalesMetric::GrossSales)?,
            discounts: number(SalesMetric::Discounts)?,
            returns: number(SalesMetric::Returns)?,
            shipping: number(SalesMetric::ShippingCharges)?,
            taxes: number(SalesMetric::Taxes)?,
            duties: number(SalesMetric::Duties)?,
            additional_fees: number(SalesMetric::AdditionalFees)?,
            ..DaySales::default()
        },
    ))
}

fn error_messages(errors: &Value) -> String {
    match errors {
        Value::Array(list) => list
            .iter()
            .map(|e| {
                e.as_str()
                    .or(e["message"].as_str())
                    .map_or_else(|| e.to_string(), str::to_owned)
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other
            .as_str()
            .map_or_else(|| other.to_string(), str::to_owned),
    }
}

/// What a query refused as too costly would have cost, and the most a query may.
fn too_costly(errors: &Value) -> Option<(u64, u64)> {
    errors.as_array()?.iter().find_map(|e| {
        let extensions = &e["extensions"];
        if extensions["code"] != "MAX_COST_EXCEEDED" {
            return None;
        }
        Some((
            extensions["cost"].as_u64()?,
            extensions["maxCost"].as_u64()?,
        ))
    })
}

/// Whether Shopify refused the call for lack of points in the cost bucket.
fn is_throttled(errors: &Value) -> bool {
    errors
        .as_array()
        .is_some_and(|list| list.iter().any(|e| e["extensions"]["code"] == "THROTTLED"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_exactly_as_long_as_the_bucket_needs() {
        const DOCUMENT: &str = "query { shop { name } }";
        let errors = json!([{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }]);
        let extensions = json!({ "cost": { "requestedQueryCost": 202, "throttleStatus": { "currentlyAvailable": 2.0, "restoreRate": 100.0 } } });
        assert!(is_throttled(&errors));
        let ledger = CallLedger::default();
        ledger.throttled(DOCUMENT, Some(&extensions));
        // (202 − 2) points at 100 a second, less the moment since the answer.
        let wait = ledger.wait_before_call(DOCUMENT).unwrap();
        assert!(
            wait <= Duration::from_secs(2) && wait > Duration::from_millis(1990),
            "{wait:?}"
        );
        let other = json!([{ "message": "Field 'x' doesn't exist" }]);
        assert!(!is_throttled(&other));
    }
}
