//! Signed webhook deliveries, the event queue and `/metrics` as tests see them.

use crate::support::shop::{Connected, SECRET};
use crate::support::TestApp;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::time::Duration;
use xeno_ingest::worker::Pipeline;

pub fn signature(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    BASE64.encode(mac.finalize().into_bytes())
}

pub async fn post_webhook(
    app: &TestApp,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = app.client.post(app.url("/api/webhooks/shopify")).body(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

pub async fn event_count(app: &TestApp) -> i64 {
    let mut conn = app.connect_as("xeno_owner").await;
    sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// Delivers a signed `customers/create` webhook to the connected shop's service, expecting a
/// 200; returns the delivery's webhook id.
pub async fn deliver_customer(c: &Connected, webhook_id: String, body: Vec<u8>) -> String {
    let sig = signature(&body, SECRET);
    let headers = [
        ("content-type", "application/json"),
        ("x-shopify-topic", "customers/create"),
        ("x-shopify-hmac-sha256", sig.as_str()),
        ("x-shopify-shop-domain", c.shop.as_str()),
        ("x-shopify-webhook-id", webhook_id.as_str()),
    ];
    assert_eq!(post_webhook(&c.app, &headers, body).await.status(), 200);
    webhook_id
}

/// A sample's value from `/metrics` (0 when absent).
pub async fn metric(app: &TestApp, sample: &str) -> f64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| {
            line.strip_prefix(sample)
                .map(|rest| rest.trim().parse::<f64>().unwrap())
        })
        .unwrap_or(0.0)
}

pub async fn wait_for_status(app: &TestApp, token: &str, webhook_id: &str, status: &str) -> Value {
    for _ in 0..200 {
        let page: Value = app
            .get_authed(&format!("/api/webhooks/events?status={status}"), token)
            .await
            .json()
            .await
            .unwrap();
        if let Some(event) = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["webhook_id"] == webhook_id)
        {
            return event.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{webhook_id} never became {status}");
}

/// Applies the queue with the worker's own batch code in this task, batch after batch, until
/// no event is pending or awaiting a retry (dead letters are final). It waits only for a
/// retry scheduled later or a batch the background worker holds, never on a fixed poll.
pub async fn drain(app: &TestApp) {
    let mut pipeline = Pipeline::new(xeno::db(&app.config), xeno::worker_config(&app.config));
    let mut conn = app.connect_as("xeno_owner").await;
    for _ in 0..1200 {
        if !pipeline.run_batch().await.unwrap().is_empty() {
            continue;
        }
        let (open, wait_ms): (i64, Option<f64>) = sqlx::query_as(
            "SELECT count(*), \
             min(extract(epoch FROM next_attempt_at - now()) * 1000)::float8 \
             FROM webhook_events WHERE status IN ('pending', 'failed')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if open == 0 {
            return;
        }
        // Due now and still open: another worker holds it; otherwise its retry time.
        let wait = wait_ms.unwrap_or(0.0).clamp(5.0, 1000.0);
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
    panic!("the queue did not drain");
}
