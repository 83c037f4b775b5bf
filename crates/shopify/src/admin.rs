//! The Admin GraphQL API: one authenticated endpoint per shop, typed operations on top.
//!
//! Documents live in `queries/*.graphql`, so the test suite validates each of them against
//! Shopify's published schema.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ShopifyError;

const SHOP: &str = include_str!("../queries/shop.graphql");
const SUBSCRIPTION_CREATE: &str = include_str!("../queries/webhook_subscription_create.graphql");
const SUBSCRIPTION_DELETE: &str = include_str!("../queries/webhook_subscription_delete.graphql");
const SUBSCRIPTIONS: &str = include_str!("../queries/webhook_subscriptions.graphql");

/// How often a throttled call is retried before giving up.
const THROTTLE_RETRIES: u32 = 5;
/// Further attempts after a network failure, a 429 or a 5xx (with jittered exponential backoff).
const TRANSIENT_RETRIES: usize = 5;

/// An authenticated Admin API endpoint for one shop.
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    endpoint: String,
    token: String,
}

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
            token: token.to_owned(),
        }
    }

    /// Runs a document and decodes `data`. Waits out `THROTTLED` answers for as long as
    /// the bucket needs to refill; GraphQL errors become [`ShopifyError::Refused`].
    pub async fn query<T: DeserializeOwned>(
        &self,
        document: &str,
        variables: Value,
    ) -> Result<T, ShopifyError> {
        let body = json!({ "query": document, "variables": variables });
        for _ in 0..=THROTTLE_RETRIES {
            let text = (|| self.post(&body))
                .retry(
                    ExponentialBuilder::default()
                        .with_min_delay(Duration::from_millis(200))
                        .with_max_delay(Duration::from_secs(10))
                        .with_max_times(TRANSIENT_RETRIES)
                        .with_jitter(),
                )
                .when(ShopifyError::is_transient)
                .notify(|err, wait| {
                    tracing::warn!(error = %err, wait_ms = wait.as_millis() as u64, "Shopify call failed; retrying");
                })
                .await?;
            let envelope: Envelope =
                serde_json::from_str(&text).map_err(|err| ShopifyError::Decode(err.to_string()))?;
            if let Some(errors) = envelope.errors.filter(|e| !e.is_null()) {
                if let Some(wait) = throttle_wait(&errors, envelope.extensions.as_ref()) {
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        "throttled by Shopify; waiting"
                    );
                    tokio::time::sleep(wait).await;
                    continue;
                }
                return Err(ShopifyError::Refused(error_messages(&errors)));
            }
            let data = envelope.data.unwrap_or(Value::Null);
            return serde_json::from_value(data)
                .map_err(|err| ShopifyError::Decode(err.to_string()));
        }
        Err(ShopifyError::Throttled)
    }

    /// One attempt: the answer's body, or why it failed.
    async fn post(&self, body: &Value) -> Result<String, ShopifyError> {
        let response = self
            .http
            .post(&self.endpoint)
            .header("x-shopify-access-token", &self.token)
            .json(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        match status {
            200..=299 => Ok(text),
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
                json!({ "topic": topic, "callbackUrl": callback_url }),
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
                    callback_url: node["endpoint"]["callbackUrl"].as_str().map(str::to_owned),
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

    pub async fn delete_subscription(&self, id: &str) -> Result<(), ShopifyError> {
        let data: Value = self.query(SUBSCRIPTION_DELETE, json!({ "id": id })).await?;
        let errors = &data["webhookSubscriptionDelete"]["userErrors"];
        match errors.as_array() {
            Some(list) if !list.is_empty() => Err(ShopifyError::Refused(error_messages(errors))),
            _ => Ok(()),
        }
    }
}

fn error_messages(errors: &Value) -> String {
    match errors {
        Value::Array(list) => list
            .iter()
            .map(|e| {
                e["message"]
                    .as_str()
                    .map_or_else(|| e.to_string(), str::to_owned)
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other
            .as_str()
            .map_or_else(|| other.to_string(), str::to_owned),
    }
}

/// For a `THROTTLED` answer: how long until the bucket holds the requested cost.
fn throttle_wait(errors: &Value, extensions: Option<&Value>) -> Option<Duration> {
    let throttled = errors
        .as_array()?
        .iter()
        .any(|e| e["extensions"]["code"] == "THROTTLED");
    if !throttled {
        return None;
    }
    let cost = &extensions?["cost"];
    let requested = cost["requestedQueryCost"].as_f64().unwrap_or(0.0);
    let available = cost["throttleStatus"]["currentlyAvailable"]
        .as_f64()
        .unwrap_or(0.0);
    let restore = cost["throttleStatus"]["restoreRate"]
        .as_f64()
        .filter(|r| *r > 0.0)
        .unwrap_or(50.0);
    let seconds = ((requested - available).max(0.0) / restore).max(0.05);
    Some(Duration::from_secs_f64(seconds.min(60.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_exactly_as_long_as_the_bucket_needs() {
        let errors = json!([{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }]);
        let extensions = json!({ "cost": { "requestedQueryCost": 202, "throttleStatus": { "currentlyAvailable": 2.0, "restoreRate": 100.0 } } });
        assert_eq!(
            throttle_wait(&errors, Some(&extensions)),
            Some(Duration::from_secs(2))
        );
        let other = json!([{ "message": "Field 'x' doesn't exist" }]);
        assert_eq!(throttle_wait(&other, Some(&extensions)), None);
    }
}
