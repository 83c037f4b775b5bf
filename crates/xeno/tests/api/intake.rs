//! Webhook intake: bad deliveries, privacy topics, retention and the backlog in the metrics.

use crate::support::expect_problem;
use crate::support::shop::{activity, connect, get, wait_for_sync, SECRET};
use crate::support::webhooks::{
    deliver_customer, drain, event_count, metric, post_webhook, signature, wait_for_status,
};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn intake_answers_every_bad_delivery_as_documented() {
    let c = connect(json!({}), &[], 1.0).await;
    let app = &c.app;
    let body = br#"{"id": 123, "email": "x@example.com", "created_at": "2026-11-20T10:00:00-05:00", "updated_at": "2026-11-20T10:00:00-05:00"}"#.to_vec();
    let good = signature(&body, SECRET);
    let base = |sig: &str| {
        vec![
            ("content-type", "application/json".to_owned()),
            ("x-shopify-topic", "customers/create".to_owned()),
            ("x-shopify-hmac-sha256", sig.to_owned()),
            ("x-shopify-shop-domain", c.shop.clone()),
            ("x-shopify-webhook-id", "wh-1".to_owned()),
        ]
    };
    let as_refs = |h: &Vec<(&'static str, String)>| {
        h.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let send = |headers: Vec<(&'static str, String)>, body: Vec<u8>| async move {
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post_webhook(app, &refs, body).await
    };

    let wrong = send(
        as_refs(&base(&signature(&body, "wrong-secret"))),
        body.clone(),
    )
    .await;
    expect_problem(wrong, 401, "unauthenticated").await;
    let mut missing = as_refs(&base(&good));
    missing.retain(|(k, _)| *k != "x-shopify-hmac-sha256");
    expect_problem(send(missing, body.clone()).await, 401, "unauthenticated").await;
    let mut no_id = as_refs(&base(&good));
    no_id.retain(|(k, _)| *k != "x-shopify-webhook-id");
    expect_problem(send(no_id, body.clone()).await, 400, "bad_request").await;
    assert_eq!(
        event_count(app).await,
        0,
        "nothing stored for refused deliveries"
    );

    // A good delivery is stored once, however often it arrives.
    for _ in 0..3 {
        let ok = send(as_refs(&base(&good)), body.clone()).await;
        assert_eq!(ok.status(), 200);
    }
    assert_eq!(event_count(app).await, 1);

    // The newer header spelling works too.
    let events_style: Vec<(&'static str, String)> = vec![
        ("shopify-topic", "customers/create".to_owned()),
        ("shopify-hmac-sha256", good.clone()),
        ("shopify-shop-domain", c.shop.clone()),
        ("shopify-webhook-id", "wh-events-1".to_owned()),
    ];
    assert_eq!(send(events_style, body.clone()).await.status(), 200);
    assert_eq!(event_count(app).await, 2);

    // An unknown shop with a valid signature: acknowledged so Shopify stops, nothing stored.
    let mut unknown = as_refs(&base(&good));
    for (k, v) in &mut unknown {
        if *k == "x-shopify-shop-domain" {
            *v = "stranger.myshopify.com".to_owned();
        }
    }
    let before = metric(app, "xeno_webhooks_received_total{outcome=\"unrouted\"}").await;
    assert_eq!(send(unknown, body.clone()).await.status(), 200);
    assert_eq!(
        metric(app, "xeno_webhooks_received_total{outcome=\"unrouted\"}").await,
        before + 1.0,
        "counted in /metrics"
    );
    assert!(metric(app, "xeno_webhooks_received_total{outcome=\"stored\"}").await >= 2.0);
    assert!(metric(app, "xeno_webhooks_received_total{outcome=\"duplicate\"}").await >= 2.0);
    assert!(metric(app, "xeno_webhooks_received_total{outcome=\"rejected\"}").await >= 1.0);
    assert_eq!(event_count(app).await, 2);

    // Malformed JSON with a valid HMAC is kept and fails, never dropped.
    let broken = b"{not json".to_vec();
    let mut headers = as_refs(&base(&signature(&broken, SECRET)));
    for (k, v) in &mut headers {
        if *k == "x-shopify-webhook-id" {
            *v = "wh-broken".to_owned();
        }
    }
    assert_eq!(send(headers, broken).await.status(), 200);
    let dead = wait_for_status(app, &c.token, "wh-broken", "dead").await;
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{dead}"
    );

    // JSON that PostgreSQL cannot store (a NUL character) is kept raw and failed, and does
    // not take the deliveries committed beside it down with it.
    let nul =
        br#"{"id": 9, "first_name": "a\u0000b", "created_at": "2026-11-20T10:00:00Z"}"#.to_vec();
    let mut headers = as_refs(&base(&signature(&nul, SECRET)));
    for (k, v) in &mut headers {
        if *k == "x-shopify-webhook-id" {
            *v = "wh-nul".to_owned();
        }
    }
    assert_eq!(send(headers, nul).await.status(), 200);
    wait_for_status(app, &c.token, "wh-nul", "dead").await;

    // Oversize bodies are 413 before anything else.
    let huge = vec![b' '; xeno_http::MAX_WEBHOOK_BYTES + 1];
    let headers = as_refs(&base(&signature(&huge, SECRET)));
    expect_problem(send(headers, huge).await, 413, "payload_too_large").await;

    // Xeno never deletes a store row (disconnecting keeps it), but one deleted by hand takes
    // everything of it along: its events, its records and their summaries.
    assert_eq!(event_count(app).await, 4);
    let mut conn = app.connect_as("xeno_owner").await;
    let rows = "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM customers) \
                + (SELECT count(*) FROM daily_sales) + (SELECT count(*) FROM daily_customers) \
                + (SELECT count(*) FROM buyer_history) + (SELECT count(*) FROM buyer_spend)";
    let before: i64 = sqlx::query_scalar(rows).fetch_one(&mut conn).await.unwrap();
    assert!(before > 0, "the backfill stored records");
    sqlx::query("DELETE FROM stores")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(event_count(app).await, 0);
    let after: i64 = sqlx::query_scalar(rows).fetch_one(&mut conn).await.unwrap();
    assert_eq!(after, 0);
}

#[tokio::test]
async fn applied_events_past_their_retention_are_pruned_and_the_rest_kept() {
    let c = connect(json!({}), &[], 1.0).await;
    let app = &c.app;
    let customer = |id: i64| {
        json!({ "id": 990_000 + id, "email": format!("kept-{id}@example.com"),
                "created_at": "2026-10-01T10:00:00Z", "updated_at": "2026-10-01T10:00:00Z" })
        .to_string()
        .into_bytes()
    };
    // Five applied events and one dead one, then aged past a 30-day retention.
    let mut old = Vec::new();
    for i in 0..5 {
        old.push(deliver_customer(&c, format!("old-{i}"), customer(i)).await);
    }
    let dead = deliver_customer(&c, "old-broken".to_owned(), b"{not json".to_vec()).await;
    for id in &old {
        wait_for_status(app, &c.token, id, "done").await;
    }
    wait_for_status(app, &c.token, &dead, "dead").await;
    let mut conn = app.connect_as("xeno_owner").await;
    sqlx::query("UPDATE webhook_events SET received_at = received_at - interval '31 days'")
        .execute(&mut conn)
        .await
        .unwrap();
    // Two recent applied events.
    let mut recent = Vec::new();
    for i in 5..7 {
        recent.push(deliver_customer(&c, format!("new-{i}"), customer(i)).await);
    }
    for id in &recent {
        wait_for_status(app, &c.token, id, "done").await;
    }

    // The audit log keeps a year: connecting the store, aged past it, goes in the same pass.
    let aged: i64 = sqlx::query_scalar(
        "WITH a AS (UPDATE audit_events SET at = at - interval '400 days' RETURNING 1) SELECT count(*) FROM a",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(aged >= 1, "connecting the store was audited");

    // A worker's retention pass (the one it runs when it starts).
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let pass = tokio::spawn(xeno_ingest::retention::run(
        xeno::db(&app.config),
        xeno_ingest::retention::Retention {
            webhook_events: Some(Duration::from_secs(30 * 86_400)),
            audit: Some(Duration::from_secs(365 * 86_400)),
        },
        stopped,
    ));
    let mut kept: Vec<String> = Vec::new();
    for _ in 0..100 {
        kept = sqlx::query_scalar("SELECT webhook_id FROM webhook_events ORDER BY webhook_id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        if kept.len() < 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send_replace(true);
    pass.await.unwrap();
    let mut expected = vec![dead.clone()];
    expected.extend(recent.clone());
    expected.sort();
    assert_eq!(
        kept, expected,
        "old applied events go; dead and recent ones stay"
    );
    assert_eq!(
        metric(app, "xeno_webhook_events_pruned_total").await,
        old.len() as f64
    );
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(audited, 0, "audit entries past a year are pruned");

    // Once every event is old, the store still keeps its newest, so its last webhook stays
    // known.
    sqlx::query("UPDATE webhook_events SET received_at = received_at - interval '40 days'")
        .execute(&mut conn)
        .await
        .unwrap();
    let pruned = xeno::db(&app.config)
        .prune_webhook_events(chrono::Utc::now() - chrono::Duration::days(30))
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT webhook_id FROM webhook_events ORDER BY webhook_id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(kept, vec![recent[1].clone(), dead]);
    // Pruning the log leaves the data the events brought.
    let customers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customers WHERE email LIKE 'kept-%@example.com'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(customers, 7);
}

#[tokio::test]
async fn the_webhook_backlog_and_dead_letters_are_in_the_metrics() {
    let c = connect(json!({}), &[("XENO_WORKER_MAX_ATTEMPTS", "1")], 1.0).await;
    let app = &c.app;
    // One dead letter, then two deliveries nobody applies.
    deliver_customer(&c, "backlog-broken".to_owned(), b"{not json".to_vec()).await;
    wait_for_status(app, &c.token, "backlog-broken", "dead").await;
    app.stop_worker().await;
    for (id, customer) in [("backlog-1", 880_001), ("backlog-2", 880_002)] {
        let body = json!({ "id": customer, "created_at": "2026-11-20T10:00:00Z",
                           "updated_at": "2026-11-20T10:00:00Z" });
        deliver_customer(&c, id.to_owned(), body.to_string().into_bytes()).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let scraped = (
        metric(app, "xeno_webhook_events_due").await,
        metric(app, "xeno_webhook_events_oldest_due_seconds").await,
        metric(app, "xeno_webhook_events_retrying").await,
        metric(app, "xeno_webhook_events_dead").await,
    );
    let mut conn = app.connect_as("xeno_owner").await;
    let (due, waited, dead): (i64, f64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'pending'), \
             extract(epoch FROM now() - min(received_at) FILTER (WHERE status = 'pending'))::float8, \
             count(*) FILTER (WHERE status = 'dead') \
         FROM webhook_events",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((due, dead), (2, 1));
    assert_eq!(scraped.0, due as f64);
    assert_eq!(scraped.2, 0.0);
    assert_eq!(scraped.3, dead as f64);
    // Read a moment before the query above: within a second of it, and past the wait.
    assert!(
        scraped.1 >= 1.2 && scraped.1 <= waited && waited - scraped.1 < 1.0,
        "scraped {} s, the database says {waited} s",
        scraped.1
    );
}

#[tokio::test]
async fn privacy_webhooks_erase_what_they_must_and_uninstall_stops_ingestion() {
    let c = connect(json!({}), &[], 1.0).await;
    wait_for_sync(&c.app, &c.token, &c.store_id).await;
    let http = reqwest::Client::new();
    activity(&c.sim, &c.shop, json!({ "customers": 5, "orders": 20 })).await;
    drain(&c.app).await;
    let mut conn = c.app.connect_as("xeno_owner").await;
    let (customer_id, email): (i64, String) = sqlx::query_as(
        "SELECT c.customer_id, c.email FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id) LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let totals_before: String = sqlx::query_scalar("SELECT sum(total_price)::text FROM orders")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let every_day = "/api/metrics/products?from=2024-12-01&to=2027-11-30&limit=100";
    let products_before = get(&c.app, &c.token, every_day).await;
    assert!(
        !products_before["data"].as_array().unwrap().is_empty(),
        "{products_before}"
    );

    let callback = c.app.url("/api/webhooks/shopify");
    for topic in ["customers/data_request", "customers/redact"] {
        let sent = http
            .post(format!(
                "{}/_sim/shops/{}/privacy",
                c.sim.base_url(),
                c.shop
            ))
            .json(&json!({ "topic": topic, "callback_url": callback, "customer_id": customer_id }))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 200);
    }
    drain(&c.app).await;
    let (left_email, first_name): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT email, first_name FROM customers WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        (left_email, first_name),
        (None, None),
        "personal data erased"
    );
    let mentions: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE email = $1")
        .bind(&email)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mentions, 0, "orders no longer carry the email");
    let totals_after: String = sqlx::query_scalar("SELECT sum(total_price)::text FROM orders")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(totals_before, totals_after, "anonymous order totals stay");
    assert_eq!(
        get(&c.app, &c.token, every_day).await,
        products_before,
        "a redaction changes no product's figures"
    );
    let requests: Vec<String> =
        sqlx::query_scalar("SELECT topic FROM privacy_requests ORDER BY topic")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(requests, ["customers/data_request", "customers/redact"]);
    let others: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE email IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(others > 0, "other customers are untouched");

    // Uninstall: the store is marked, data kept, and later deliveries are not applied.
    http.post(format!(
        "{}/_sim/shops/{}/uninstall",
        c.sim.base_url(),
        c.shop
    ))
    .send()
    .await
    .unwrap();
    drain(&c.app).await;
    let store: Value = c
        .app
        .get_authed(&format!("/api/stores/{}", c.store_id), &c.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(store["status"], "uninstalled");
    assert!(
        store["counts"]["orders"].as_i64().unwrap() > 0,
        "data is kept"
    );
    let orders_before: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let late = br#"{"id": 77, "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z", "currency": "USD", "total_price": "1.00"}"#.to_vec();
    let response = post_webhook(
        &c.app,
        &[
            ("x-shopify-topic", "orders/create"),
            ("x-shopify-hmac-sha256", &signature(&late, SECRET)),
            ("x-shopify-shop-domain", &c.shop),
            ("x-shopify-webhook-id", "after-uninstall"),
        ],
        late,
    )
    .await;
    assert_eq!(response.status(), 200, "acknowledged so Shopify stops");
    drain(&c.app).await;
    let orders_after: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(orders_before, orders_after);

    // shop/redact, about 48 hours after the uninstall, erases the store's data.
    http.post(format!(
        "{}/_sim/shops/{}/privacy",
        c.sim.base_url(),
        c.shop
    ))
    .json(&json!({ "topic": "shop/redact", "callback_url": callback }))
    .send()
    .await
    .unwrap();
    drain(&c.app).await;
    let left: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM customers) + (SELECT count(*) FROM order_line_items)")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0, "the shop's data is erased");
}

/// Shopify's "send test notification" carries its sample records with `null` dates: each is
/// applied (dated when received), never dead-lettered.
#[tokio::test]
async fn test_notifications_with_null_dates_are_applied() {
    let c = connect(
        json!({ "orders": 5, "customers": 5, "products": 3 }),
        &[],
        1.0,
    )
    .await;
    wait_for_sync(&c.app, &c.token, &c.store_id).await;
    for topic in ["products/create", "orders/create", "customers/create"] {
        let sent: Value = reqwest::Client::new()
            .post(format!(
                "{}/_sim/shops/{}/test_notification",
                c.sim.base_url(),
                c.shop
            ))
            .json(&json!({ "topic": topic }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(sent["deliveries"], 1, "{topic}: {sent}");
    }
    drain(&c.app).await;
    let events: Value = c
        .app
        .get_authed("/api/webhooks/events?limit=250", &c.token)
        .await
        .json()
        .await
        .unwrap();
    let samples: Vec<&Value> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            ["products/create", "orders/create", "customers/create"]
                .contains(&e["topic"].as_str().unwrap())
        })
        .collect();
    assert_eq!(samples.len(), 3, "{events}");
    for event in samples {
        assert_eq!(event["status"], "done", "{event}");
        // The event log says the record was dated when received.
        assert_eq!(event["dated_on_receipt"], true, "{event}");
    }
    let store = get(&c.app, &c.token, &format!("/api/stores/{}", c.store_id)).await;
    assert_eq!(store["webhooks"]["dated_on_receipt"], 3, "{store}");
    // Events whose payloads carry their dates say nothing of the kind.
    activity(&c.sim, &c.shop, json!({ "orders": 2 })).await;
    drain(&c.app).await;
    let events = get(
        &c.app,
        &c.token,
        "/api/webhooks/events?topic=orders/create&limit=250",
    )
    .await;
    let dated: Vec<bool> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["dated_on_receipt"].as_bool().unwrap())
        .collect();
    assert_eq!(dated.iter().filter(|d| !**d).count(), 2, "{events}");
    let product = c
        .app
        .get_authed(
            &format!("/api/products/{}/788032119674292922", c.store_id),
            &c.token,
        )
        .await;
    assert_eq!(product.status(), 200, "the sample product is stored");
    let customer = c
        .app
        .get_authed(
            &format!("/api/customers/{}/706405506930370084", c.store_id),
            &c.token,
        )
        .await;
    assert_eq!(customer.status(), 200, "the sample customer is stored");
}

/// Generated hostile deliveries, each signed as Shopify signs (so they pass the HMAC and
/// reach everything after it): arbitrary bytes, invalid UTF-8, NUL, deep nesting, huge
/// numbers, wrong types. Each is answered 200 (stored) or a clear 4xx, never a 5xx, and the
/// worker settles every stored one (applied, dead-lettered or rejected), never leaving one
/// stuck; a delivery with a wrong signature is never stored.
#[tokio::test]
async fn generated_hostile_deliveries_are_stored_or_refused_never_a_5xx() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let c = connect(
        json!({ "orders": 3, "customers": 3, "products": 2 }),
        &[],
        1.0,
    )
    .await;
    wait_for_sync(&c.app, &c.token, &c.store_id).await;
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        "\\PC{0,120}".prop_map(String::into_bytes),
        (1usize..400)
            .prop_map(|depth| format!("{}1{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
        "-?[0-9]{20,60}".prop_map(|n| format!(r#"{{"id": {n}, "created_at": null}}"#).into_bytes()),
        (any::<i64>(), "\\PC{0,20}").prop_map(|(id, text)| {
            serde_json::to_vec(
                &json!({ "id": text, "line_items": id, "currency": [id], "total_price": {} }),
            )
            .unwrap()
        }),
        Just(b"{\"id\": 1, \"title\": \"nul \\u0000 inside\"}".to_vec()),
    ];
    let topics = prop::sample::select(vec![
        "orders/create",
        "products/update",
        "customers/create",
        "refunds/create",
        "checkouts/update",
        "carts/create",
        "customers/delete",
    ]);
    let mut runner = TestRunner::deterministic();
    let before = event_count(&c.app).await;
    let mut stored = 0;
    for n in 0..150 {
        let body = bodies.new_tree(&mut runner).unwrap().current();
        let topic = topics.new_tree(&mut runner).unwrap().current();
        let id = format!("hostile-{n}");
        let sig = signature(&body, SECRET);
        let answer = post_webhook(
            &c.app,
            &[
                ("x-shopify-topic", topic),
                ("x-shopify-hmac-sha256", &sig),
                ("x-shopify-shop-domain", &c.shop),
                ("x-shopify-webhook-id", &id),
            ],
            body.clone(),
        )
        .await;
        let status = answer.status();
        assert!(
            status == 200 || status.is_client_error(),
            "{topic} {:?}: {status}",
            String::from_utf8_lossy(&body)
        );
        stored += usize::from(status == 200);
        // The same body with a signature of other bytes is never stored.
        let forged = post_webhook(
            &c.app,
            &[
                ("x-shopify-topic", topic),
                ("x-shopify-hmac-sha256", &signature(b"other bytes", SECRET)),
                ("x-shopify-shop-domain", &c.shop),
                ("x-shopify-webhook-id", &format!("forged-{n}")),
            ],
            body,
        )
        .await;
        assert_eq!(forged.status(), 401, "{topic}");
    }
    assert!(stored > 0);
    assert_eq!(event_count(&c.app).await, before + stored as i64);
    // Settled, every one: nothing waits for ever (drain panics if some never settle).
    drain(&c.app).await;
}
