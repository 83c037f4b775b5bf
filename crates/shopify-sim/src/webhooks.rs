//! Webhook delivery: signed REST payloads to every subscription for a topic, retried on
//! Shopify's schedule, with the fault knobs applied.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::seq::SliceRandom;
use rand::Rng;
use tokio::sync::Semaphore;

use crate::hmac::webhook_signature;
use crate::shop::Change;
use crate::state::{lock, Sim};

/// The API version stamped on deliveries.
pub const API_VERSION: &str = "2026-10";

/// Gaps before each retry: 8 retries spread over about 4 hours, as Shopify does since 2024.
const RETRY_GAPS: [Duration; 8] = [
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(2 * 60 * 60),
];

/// At most this many deliveries in flight at once.
const CONCURRENCY: usize = 512;

/// One delivery to one subscription.
#[derive(Clone)]
pub struct Delivery {
    pub subscription_id: i64,
    pub callback_url: String,
    pub topic: String,
    pub shop: String,
    pub webhook_id: String,
    pub event_id: String,
    pub triggered_at: String,
    pub body: Bytes,
}

fn uuid_like() -> String {
    let n: u128 = rand::thread_rng().gen();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Turns changes into deliveries for the shop's subscriptions, applying drop, duplicate and
/// reorder faults.
pub fn plan(sim: &Sim, shop: &str, changes: &[Change]) -> Vec<Delivery> {
    let Some(entry) = sim.shop(shop) else {
        return Vec::new();
    };
    let subscriptions: Vec<_> = {
        let grant = lock(&entry.grant);
        if !grant.installed {
            return Vec::new();
        }
        grant.subscriptions.values().cloned().collect()
    };
    let faults = sim.faults();
    let mut deliveries = Vec::new();
    for change in changes {
        let event_id = uuid_like();
        let triggered_at = chrono::Utc::now().to_rfc3339();
        let body = Bytes::from(serde_json::to_vec(&change.payload).unwrap_or_default());
        for subscription in subscriptions.iter().filter(|s| s.topic == change.topic) {
            if sim.roll(faults.drop_rate) {
                sim.deliveries.record_drop();
                continue;
            }
            let delivery = Delivery {
                subscription_id: subscription.id,
                callback_url: subscription.callback_url.clone(),
                topic: change.topic.to_owned(),
                shop: shop.to_owned(),
                webhook_id: uuid_like(),
                event_id: event_id.clone(),
                triggered_at: triggered_at.clone(),
                body: body.clone(),
            };
            if sim.roll(faults.duplicate_rate) {
                deliveries.push(delivery.clone());
            }
            deliveries.push(delivery);
        }
    }
    if faults.reorder_window > 1 {
        let mut rng = rand::thread_rng();
        for window in deliveries.chunks_mut(faults.reorder_window) {
            window.shuffle(&mut rng);
        }
    }
    deliveries
}

/// Attempts every delivery once (concurrently) and returns when all first attempts are
/// done; failures are retried in the background on Shopify's schedule.
pub async fn deliver_all(sim: &Arc<Sim>, deliveries: Vec<Delivery>) {
    let delay = Duration::from_millis(sim.faults().delivery_delay_ms);
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for delivery in deliveries {
        let sim = Arc::clone(sim);
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if !attempt(&sim, &delivery).await {
                tokio::spawn(retry(sim, delivery));
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

async fn attempt(sim: &Sim, delivery: &Delivery) -> bool {
    let signature = webhook_signature(&sim.options.api_secret, &delivery.body);
    let result = sim
        .http
        .post(&delivery.callback_url)
        .header("content-type", "application/json")
        .header("x-shopify-topic", &delivery.topic)
        .header("x-shopify-hmac-sha256", signature)
        .header("x-shopify-shop-domain", &delivery.shop)
        .header("x-shopify-api-version", API_VERSION)
        .header("x-shopify-webhook-id", &delivery.webhook_id)
        .header("x-shopify-event-id", &delivery.event_id)
        .header("x-shopify-triggered-at", &delivery.triggered_at)
        .body(delivery.body.clone())
        .send()
        .await;
    // Anything but 2xx, redirects included, is a failure.
    let ok = matches!(&result, Ok(response) if response.status().is_success());
    sim.deliveries.record_attempt(ok);
    ok
}

/// Retries a failed delivery; after the last failure Shopify deletes an Admin-API-created
/// subscription.
async fn retry(sim: Arc<Sim>, delivery: Delivery) {
    for gap in RETRY_GAPS {
        tokio::time::sleep(sim.scaled(gap)).await;
        if !subscription_exists(&sim, &delivery) {
            return;
        }
        if attempt(&sim, &delivery).await {
            return;
        }
    }
    if let Some(entry) = sim.shop(&delivery.shop) {
        tracing::warn!(
            topic = delivery.topic,
            url = delivery.callback_url,
            "deliveries kept failing; deleting the subscription"
        );
        lock(&entry.grant)
            .subscriptions
            .remove(&delivery.subscription_id);
    }
}

fn subscription_exists(sim: &Sim, delivery: &Delivery) -> bool {
    sim.shop(&delivery.shop).is_some_and(|entry| {
        lock(&entry.grant)
            .subscriptions
            .contains_key(&delivery.subscription_id)
    })
}
