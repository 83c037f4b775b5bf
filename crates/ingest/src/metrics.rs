//! Ingestion metrics, registered in the process-wide Prometheus registry.

use std::sync::LazyLock;

use prometheus::{register_int_counter_vec, IntCounterVec};

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
