//! The worker applying webhooks: duplicates and reordering, retries and dead letters, stale
//! updates.

use crate::support::expect_problem;
use crate::support::shop::{activity, connect, get, send_webhook, truth, wait_for_sync, SECRET};
use crate::support::truth::{assert_matches_truth, dec, ts};
use crate::support::webhooks::{drain, metric, post_webhook, signature, wait_for_status};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test]
async fn two_thousand_activities_with_duplicates_and_reordering_match_the_shop_exactly() {
    let c = connect(
        json!({ "customers": 100, "products": 20, "orders": 150 }),
        &[],
        // Shopify's retry schedule, 600 times faster: a failed first attempt returns soon.
        600.0,
    )
    .await;
    let http = reqwest::Client::new();
    http.put(format!("{}/_sim/faults", c.sim.base_url()))
        .json(&json!({ "duplicate_rate": 0.2, "reorder_window": 10 }))
        .send()
        .await
        .unwrap();
    let started = chrono::Utc::now().timestamp() - 1;
    let activity = activity(&c.sim, &c.shop, json!({ "orders": 600, "order_updates": 300, "refunds": 200, "cancellations": 100,
                       "customers": 300, "customer_updates": 200, "products": 50, "product_updates": 100,
                       "checkouts": 140, "deletions": 10 })).await;
    assert!(activity["changes"].as_u64().unwrap() > 2000, "{activity}");
    // A first attempt can fail under load (Shopify's 5 s limit); like Shopify, the simulator
    // retries it (time-scaled here). Compare only once every delivery has got through.
    let planned = activity["deliveries"].as_u64().unwrap();
    for _ in 0..1200 {
        let stats: Value = http
            .get(format!("{}/_sim/deliveries", c.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if stats["succeeded"].as_u64().unwrap() >= planned {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let run = wait_for_sync(&c.app, &c.token, &c.store_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    drain(&c.app).await;

    let truth = truth(&c.sim, &c.shop).await;
    let mut conn = c.app.connect_as("xeno_owner").await;
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE status = 'dead'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(dead, 0, "no event was dead-lettered");

    // Every record is in Xeno (history by backfill, the rest by webhooks), field by field.
    assert_matches_truth(&mut conn, &truth).await;
    let tombstones: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tombstones WHERE resource = 'product'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(tombstones, 10);
    let touched = |record: &Value| ts(&record["updated_at"]) >= started;

    // Checkouts and carts that the activity created.
    let checkouts: BTreeMap<i64, Value> = truth["checkouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c.clone()))
        .collect();
    let rows: Vec<(i64, String, Option<chrono::DateTime<chrono::Utc>>)> =
        sqlx::query_as("SELECT checkout_id, total_price::text, completed_at FROM checkouts")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    // Abandoned checkouts come from the backfill; completed ones only from webhooks.
    let expected_checkouts = checkouts
        .values()
        .filter(|c| touched(c) || c["completed_at"].is_null())
        .count();
    assert_eq!(rows.len(), expected_checkouts);
    for (id, total, completed) in rows {
        let expected = &checkouts[&id];
        assert_eq!(dec(&json!(total)), dec(&expected["total_price"]));
        assert_eq!(
            completed.map(|t| t.timestamp()),
            expected["completed_at"]
                .as_str()
                .map(|_| ts(&expected["completed_at"]))
        );
    }
    let carts: i64 = sqlx::query_scalar("SELECT count(*) FROM carts")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(carts, 140);
}

#[tokio::test]
async fn failed_events_retry_then_dead_letter_and_replay() {
    let c = connect(json!({}), &[("XENO_WORKER_MAX_ATTEMPTS", "3")], 1.0).await;
    // A refund for an order Xeno has never seen fails until the order arrives.
    let refund = br#"{"id": 501, "order_id": 999, "created_at": "2026-11-20T10:00:00Z", "refund_line_items": [], "transactions": [{"kind": "refund", "status": "success", "amount": "5.00"}]}"#.to_vec();
    let response = post_webhook(
        &c.app,
        &[
            ("x-shopify-topic", "refunds/create"),
            ("x-shopify-hmac-sha256", &signature(&refund, SECRET)),
            ("x-shopify-shop-domain", &c.shop),
            ("x-shopify-webhook-id", "refund-first"),
        ],
        refund,
    )
    .await;
    assert_eq!(response.status(), 200);
    let dead = wait_for_status(&c.app, &c.token, "refund-first", "dead").await;
    assert_eq!(dead["attempts"], 3);
    assert!(
        dead["last_error"].as_str().unwrap().contains("order 999"),
        "{dead}"
    );

    // The store's page counts it.
    let store: Value = c
        .app
        .get_authed(&format!("/api/stores/{}", c.store_id), &c.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(store["webhooks"]["dead"], 1, "{store}");
    assert_eq!(store["webhooks"]["retrying"], 0, "{store}");
    assert!(
        store["webhooks"]["last_day"].as_i64().unwrap() >= 1,
        "{store}"
    );

    // The order arrives; replaying the refund now applies it.
    let order = br#"{"id": 999, "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:00:00Z", "currency": "USD", "total_price": "5.00", "line_items": []}"#.to_vec();
    post_webhook(
        &c.app,
        &[
            ("x-shopify-topic", "orders/create"),
            ("x-shopify-hmac-sha256", &signature(&order, SECRET)),
            ("x-shopify-shop-domain", &c.shop),
            ("x-shopify-webhook-id", "order-999"),
        ],
        order,
    )
    .await;
    let replay = c
        .app
        .client
        .post(c.app.url(&format!(
            "/api/webhooks/events/{}/replay",
            dead["id"].as_str().unwrap()
        )))
        .bearer_auth(&c.token)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 202);
    wait_for_status(&c.app, &c.token, "refund-first", "done").await;
    let mut conn = c.app.connect_as("xeno_owner").await;
    let amount: String =
        sqlx::query_scalar("SELECT amount::text FROM refunds WHERE refund_id = 501")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(amount, "5.00");

    // Another tenant cannot see or replay it.
    let other = c.app.register("Other", "other@example.com").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let page: Value = c
        .app
        .get_authed("/api/webhooks/events", &other)
        .await
        .json()
        .await
        .unwrap();
    assert!(page["data"].as_array().unwrap().is_empty());
    let foreign = c
        .app
        .client
        .post(c.app.url(&format!(
            "/api/webhooks/events/{}/replay",
            dead["id"].as_str().unwrap()
        )))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    expect_problem(foreign, 404, "not_found").await;
}

#[tokio::test]
async fn stale_updates_never_overwrite_newer_data_and_deletes_are_final() {
    let c = connect(json!({}), &[], 1.0).await;
    let send = |id: &'static str, topic: &'static str, body: Value| {
        let body = serde_json::to_vec(&body).unwrap();
        let app = &c.app;
        let shop = c.shop.clone();
        async move {
            let sig = signature(&body, SECRET);
            post_webhook(
                app,
                &[
                    ("x-shopify-topic", topic),
                    ("x-shopify-hmac-sha256", &sig),
                    ("x-shopify-shop-domain", &shop),
                    ("x-shopify-webhook-id", id),
                ],
                body,
            )
            .await
        }
    };
    let customer = |updated: &str, name: &str| json!({ "id": 42, "first_name": name, "created_at": "2026-11-01T00:00:00Z", "updated_at": updated });
    send(
        "c-new",
        "customers/update",
        customer("2026-11-20T12:00:00Z", "Newer"),
    )
    .await;
    drain(&c.app).await;
    send(
        "c-old",
        "customers/update",
        customer("2026-11-20T11:00:00Z", "Older"),
    )
    .await;
    drain(&c.app).await;
    let mut conn = c.app.connect_as("xeno_owner").await;
    let name: String =
        sqlx::query_scalar("SELECT first_name FROM customers WHERE customer_id = 42")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(name, "Newer");

    send("p-del", "products/delete", json!({ "id": 7 })).await;
    send("p-late", "products/update", json!({ "id": 7, "title": "Zombie", "created_at": "2026-11-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z", "variants": [] })).await;
    drain(&c.app).await;
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE product_id = 7")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(products, 0, "a delete is final");
}

/// A delivery whose values PostgreSQL refuses fails the same way every time: it is
/// dead-lettered at its first attempt, and the event log explains it without quoting the
/// database.
#[tokio::test]
async fn a_value_the_database_refuses_is_dead_lettered_at_once_and_described() {
    let c = connect(json!({}), &[("XENO_WORKER_MAX_ATTEMPTS", "5")], 1.0).await;
    let order = br#"{"id": 4242, "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:00:00Z", "currency": "ABCDEFGH", "total_price": "5.00", "line_items": []}"#.to_vec();
    let response = post_webhook(
        &c.app,
        &[
            ("x-shopify-topic", "orders/create"),
            ("x-shopify-hmac-sha256", &signature(&order, SECRET)),
            ("x-shopify-shop-domain", &c.shop),
            ("x-shopify-webhook-id", "eight-letter-currency"),
        ],
        order,
    )
    .await;
    assert_eq!(response.status(), 200);
    let dead = wait_for_status(&c.app, &c.token, "eight-letter-currency", "dead").await;
    assert_eq!(dead["attempts"], 1, "not retried: {dead}");
    let said = dead["last_error"].as_str().unwrap();
    assert!(said.contains("cannot be stored"), "{said}");
    for database_words in ["character", "varying", "violates", "column", "relation"] {
        assert!(!said.contains(database_words), "{said}");
    }
}

#[tokio::test]
async fn events_that_change_nothing_say_why_in_the_log_and_on_the_store() {
    let c = connect(json!({}), &[], 1.0).await;
    let send = |topic: &'static str, payload: Value, id: &'static str| {
        let c = &c;
        async move { send_webhook(&c.app, &c.shop, topic, &payload, id).await }
    };
    let customer = |updated_at: &str, email: &str| {
        json!({ "id": 7001, "email": email, "created_at": "2026-11-01T10:00:00Z",
                "updated_at": updated_at })
    };
    let product = |updated_at: &str| {
        json!({ "id": 5001, "title": "Lamp", "created_at": "2026-11-01T10:00:00Z",
                "updated_at": updated_at, "variants": [] })
    };
    // A customer, then an older version of it (Shopify's retries can arrive late).
    send(
        "customers/update",
        customer("2026-11-20T10:00:00Z", "new@example.com"),
        "new",
    )
    .await;
    drain(&c.app).await;
    send(
        "customers/update",
        customer("2026-11-10T10:00:00Z", "old@example.com"),
        "old",
    )
    .await;
    // The same version again, under a new webhook id (a retry Shopify sent as new).
    send(
        "customers/update",
        customer("2026-11-20T10:00:00Z", "new@example.com"),
        "again",
    )
    .await;
    // A product deleted in Shopify, then an update of it delivered after the delete.
    send("products/create", product("2026-11-20T10:00:00Z"), "made").await;
    drain(&c.app).await;
    send("products/delete", json!({ "id": 5001 }), "gone").await;
    drain(&c.app).await;
    send("products/update", product("2026-11-21T10:00:00Z"), "after").await;
    // A topic Xeno does not use.
    send(
        "inventory_levels/update",
        json!({ "inventory_item_id": 1, "available": 3 }),
        "inv",
    )
    .await;
    drain(&c.app).await;

    let page = get(
        &c.app,
        &c.token,
        &format!("/api/webhooks/events?store_id={}&limit=100", c.store_id),
    )
    .await;
    let outcomes: BTreeMap<String, (String, Value)> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let webhook = e["webhook_id"].as_str().unwrap().to_owned();
            let status = e["status"].as_str().unwrap().to_owned();
            let status = format!(
                "{status}{}",
                e["last_error"]
                    .as_str()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
            (
                webhook,
                (status, e.get("outcome").cloned().unwrap_or(Value::Null)),
            )
        })
        .collect();
    let expect = |webhook: &str, outcome: Value| {
        assert_eq!(
            outcomes[webhook],
            ("done".to_owned(), outcome),
            "{webhook}: {outcomes:?}"
        );
    };
    expect("new", Value::Null);
    expect("old", json!("stale"));
    expect("again", json!("duplicate"));
    expect("made", Value::Null);
    expect("gone", Value::Null);
    expect("after", json!("deleted"));
    expect("inv", json!("ignored"));
    // The stored customer is the newer version, and the product stays deleted.
    let customer = get(
        &c.app,
        &c.token,
        &format!("/api/customers/{}/7001", c.store_id),
    )
    .await;
    assert_eq!(customer["customer"]["email"], "new@example.com");
    let product = c
        .app
        .get_authed(&format!("/api/products/{}/5001", c.store_id), &c.token)
        .await;
    assert_eq!(product.status(), 404);

    // The Stores page counts them.
    let store = get(&c.app, &c.token, &format!("/api/stores/{}", c.store_id)).await;
    assert_eq!(
        store["webhooks"]["unchanged"],
        json!({ "duplicate": 1, "stale": 1, "deleted": 1, "redacted": 0, "ignored": 1,
                "store_inactive": 0 })
    );
    // And so does /metrics.
    for reason in ["duplicate", "stale", "deleted", "ignored"] {
        let sample = format!("xeno_webhook_events_unchanged_total{{reason=\"{reason}\"}}");
        assert!(metric(&c.app, &sample).await >= 1.0, "{sample}");
    }
}
