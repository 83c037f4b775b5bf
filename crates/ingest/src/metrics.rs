//! Ingestion metrics, registered in the process-wide Prometheus registry.

use std::sync::LazyLock;

use prometheus::{register_int_counter, register_int_counter_vec, IntCounter, IntCounterVec};

/// Webhook deliveries by outcome: `stored`, `duplicate`, `unrouted`, `rejected`.
pub static WEBHOOKS_RECEIVED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "xeno_webhooks_received_total",
        "Webhook deliveries received, by outcome",
        &["outcome"]
    )
    // A fixed, valid name registered once: failing here is a programming error.
    .expect("xeno_webhooks_received_total registers")
});

/// Events the worker settled, by outcome: `applied`, `retry`, `dead`.
pub static EVENTS_SETTLED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "xeno_webhook_events_settled_total",
        "Webhook events settled by the worker, by outcome",
        &["outcome"]
    )
    .expect("xeno_webhook_events_settled_total registers")
});

/// Applied events deleted from the log after their retention period.
pub static EVENTS_PRUNED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "xeno_webhook_events_pruned_total",
        "Applied webhook events deleted after their retention period"
    )
    .expect("xeno_webhook_events_pruned_total registers")
});

/// Changes of the per-shop circuit breakers, by the state entered: `open`, `half_open`,
/// `closed`.
pub static SHOPIFY_BREAKER_CHANGES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "xeno_shopify_breaker_changes_total",
        "Per-shop circuit breaker changes, by the state entered",
        &["state"]
    )
    .expect("xeno_shopify_breaker_changes_total registers")
});

/// Counts and logs a shop's circuit breaker changing state.
pub fn breaker_changed(shop: &str, state: &'static str) {
    SHOPIFY_BREAKER_CHANGES.with_label_values(&[state]).inc();
    match state {
        "open" => tracing::warn!(shop, "calls to the shop keep failing; pausing them"),
        "half_open" => tracing::info!(shop, "probing whether the shop has recovered"),
        _ => tracing::info!(shop, "the shop answers again; calls resume"),
    }
}

pub static EVENTS_UNCHANGED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "xeno_webhook_events_unchanged_total",
        "Applied webhook events that changed nothing, by why: stale (a newer version is stored), \
         deleted, redacted, ignored (a topic Xeno does not use), store_inactive",
        &["reason"]
    )
    .expect("xeno_webhook_events_unchanged_total registers")
});
