//! Syncs after the first: sync now, schedules, Shopify errors and limits, breakers, repairs,
//! deletion guards.

use crate::support::expect_problem;
use crate::support::shop::{
    activity, authorize, connect, create_shop, full_sync, get, no_redirects, set_faults, settle,
    start_sync, stores, truth, wait_for_sync,
};
use crate::support::truth::assert_matches_truth;
use crate::support::webhooks::{drain, metric};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn sync_now_runs_one_at_a_time_and_repairs_what_webhooks_missed() {
    let c = connect(json!({ "customers": 60, "orders": 120 }), &[], 1.0).await;
    let (app, token) = (&c.app, c.token.as_str());
    wait_for_sync(app, token, &c.store_id).await;

    // Changes whose webhooks never arrive: the simulator drops every delivery.
    set_faults(&c.sim, json!({ "drop_rate": 1.0 })).await;
    activity(
        &c.sim,
        &c.shop,
        json!({ "orders": 15, "order_updates": 10, "refunds": 4, "customers": 5, "deletions": 3 }),
    )
    .await;
    let truth = truth(&c.sim, &c.shop).await;
    let orders_in_truth = truth["orders"].as_array().unwrap().len() as i64;
    let count = |table: &'static str| async move {
        let mut conn = app.connect_as("xeno_owner").await;
        sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert!(
        count("orders").await < orders_in_truth,
        "the new orders were missed"
    );
    let products_in_truth = truth["products"].as_array().unwrap().len() as i64;
    assert_eq!(truth["deletions"].as_array().unwrap().len(), 3);
    assert_eq!(
        count("products").await,
        products_in_truth + 3,
        "the deletions were missed"
    );

    // Sync now: 202 with the run; a second request while it runs is 409.
    let run = start_sync(app, token, &c.store_id).await;
    assert_eq!(run["status"], "running");
    let again = app
        .client
        .post(app.url(&format!("/api/sync/{}", c.store_id)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    expect_problem(again, 409, "conflict").await;
    let finished = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    assert_eq!(finished["id"], run["id"]);
    assert_eq!(
        count("orders").await,
        orders_in_truth,
        "every missed order is here now"
    );
    let refunds: usize = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["refunds"].as_array().unwrap().len())
        .sum();
    assert_eq!(count("refunds").await, refunds as i64);
    // Products Shopify no longer has are deleted, and stay deleted (tombstones).
    assert_eq!(count("products").await, products_in_truth);
    assert_eq!(count("tombstones").await, 3);
    assert_eq!(
        count("customers").await,
        truth["customers"].as_array().unwrap().len() as i64
    );
    let runs: Value = app
        .get_authed(&format!("/api/sync/runs?store_id={}", c.store_id), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(runs["data"].as_array().unwrap().len(), 2);

    let unknown = app
        .client
        .post(app.url(&format!("/api/sync/{}", uuid::Uuid::now_v7())))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    expect_problem(unknown, 404, "not_found").await;
}

#[tokio::test]
async fn scheduled_syncs_restore_dropped_subscriptions_and_recover_what_they_missed() {
    let c = connect(
        json!({ "customers": 50, "orders": 100 }),
        &[("XENO_SYNC_INTERVAL", "1")],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    wait_for_sync(app, token, &c.store_id).await;
    let sim = reqwest::Client::new();
    let subscriptions = format!("{}/_sim/shops/{}/subscriptions", c.sim.base_url(), c.shop);
    let count_subscriptions = || async {
        sim.get(&subscriptions)
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .len()
    };
    let subscribed = count_subscriptions().await;
    assert!(subscribed >= 20);

    // Shopify drops the orders subscriptions (as after repeated failed deliveries), and
    // orders placed meanwhile never reach Xeno by webhook.
    for topic in ["orders/create", "orders/updated"] {
        let removed: Value = sim
            .delete(format!("{subscriptions}?topic={topic}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(removed["removed"], 1);
    }
    let runs_before = app
        .get_authed(&format!("/api/sync/runs?store_id={}", c.store_id), token)
        .await
        .json::<Value>()
        .await
        .unwrap()["data"]
        .as_array()
        .unwrap()
        .len();
    activity(&c.sim, &c.shop, json!({ "orders": 12 })).await;
    let truth = truth(&c.sim, &c.shop).await;
    let expected = truth["orders"].as_array().unwrap().len() as i64;

    // The scheduler's next sync restores the subscriptions and fetches the missed orders.
    let mut conn = app.connect_as("xeno_owner").await;
    let mut recovered = false;
    for _ in 0..600 {
        let runs: Value = app
            .get_authed(&format!("/api/sync/runs?store_id={}", c.store_id), token)
            .await
            .json()
            .await
            .unwrap();
        let runs = runs["data"].as_array().unwrap();
        let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if runs.len() > runs_before && runs[0]["status"] == "completed" && orders == expected {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "a scheduled sync recovered the missed orders");
    assert_eq!(
        count_subscriptions().await,
        subscribed,
        "subscriptions restored"
    );
}

#[tokio::test]
async fn a_sync_rides_out_shopify_errors_with_retries() {
    let c = connect(
        json!({ "customers": 40, "products": 10, "orders": 80 }),
        &[],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    // One Admin call in five answers 503 from now on.
    set_faults(&c.sim, json!({ "admin_error_rate": 0.2 })).await;
    start_sync(app, token, &c.store_id).await;
    let run = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert!(
        run["retries"].as_i64().unwrap() > 0,
        "the run counts its retries: {run}"
    );
    let truth = truth(&c.sim, &c.shop).await;
    let mut conn = app.connect_as("xeno_owner").await;
    for (table, key) in [
        ("orders", "orders"),
        ("customers", "customers"),
        ("products", "products"),
    ] {
        let stored: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            stored,
            truth[key].as_array().unwrap().len() as i64,
            "{table}"
        );
    }
    let store: Value = app
        .get_authed(&format!("/api/stores/{}", c.store_id), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(store["status"], "active");
}

#[tokio::test]
async fn a_sync_paces_itself_to_a_small_cost_bucket() {
    let c = connect(
        json!({ "customers": 40, "products": 10, "orders": 80 }),
        &[],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    // A bucket that holds the costliest call but not a sync's worth, slow to refill.
    let (bucket, restore) = (60.0, 8.0);
    set_faults(
        &c.sim,
        json!({ "bucket_size": bucket, "restore_rate": restore }),
    )
    .await;
    start_sync(app, token, &c.store_id).await;
    let run = wait_for_sync(app, token, &c.store_id).await;
    // No THROTTLED answer surfaced as an error: the run finished.
    assert_eq!(run["status"], "completed", "{run}");
    assert!(run["error"].is_null(), "{run}");
    let cost = run["api_cost"].as_f64().unwrap();
    let waits = run["throttle_waits"].as_i64().unwrap();
    let waited = run["throttle_wait_seconds"].as_f64().unwrap();
    let took = run["duration_seconds"].as_f64().unwrap();
    assert!(run["api_calls"].as_i64().unwrap() > 0, "{run}");
    assert!(cost > bucket, "the run needed more than one bucket: {run}");
    // What the bucket could not hold up front had to be restored at `restore` points a
    // second: the run took at least that long, and its recorded waits fit inside it.
    assert!(waits > 0 && waited > 0.0, "{run}");
    assert!(took + 0.05 >= (cost - bucket) / restore, "{run}");
    assert!(waited <= took + 0.05, "{run}");
    assert!(run["throttled"].as_i64().unwrap() <= waits, "{run}");
}

#[tokio::test]
async fn a_failing_shop_trips_its_breaker_while_other_shops_keep_syncing() {
    let c = connect(
        json!({ "customers": 20, "products": 5, "orders": 40 }),
        &[
            ("XENO_SHOPIFY_BREAKER_FAILURES", "3"),
            ("XENO_SHOPIFY_BREAKER_COOLDOWN", "1"),
        ],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    let healthy = "healthy.myshopify.com";
    create_shop(
        &c.sim,
        healthy,
        json!({ "seed": 9, "customers": 20, "products": 5, "orders": 40 }),
    )
    .await;
    let callback = authorize(app, token, healthy).await;
    let done = no_redirects().get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 303);
    let healthy_id = stores(app, token)
        .await
        .into_iter()
        .find(|s| s["shop_domain"] == healthy)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for_sync(app, token, &healthy_id).await;

    let opened = "xeno_shopify_breaker_changes_total{state=\"open\"}";
    let closed = "xeno_shopify_breaker_changes_total{state=\"closed\"}";

    // Acme's Admin API goes down: its breaker opens and its sync stops at once, with a
    // reason; the healthy shop syncs meanwhile.
    set_faults(&c.sim, json!({ "failing_shops": [c.shop] })).await;
    start_sync(app, token, &c.store_id).await;
    start_sync(app, token, &healthy_id).await;
    let failed = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("paused"),
        "{failed}"
    );
    assert!(failed["retries"].as_i64().unwrap() >= 2, "{failed}");
    let fine = wait_for_sync(app, token, &healthy_id).await;
    assert_eq!(fine["status"], "completed", "{fine}");
    // Open at least once (a retry that outlasts the short cool-down probes and reopens it),
    // and never closed while the shop was down.
    assert!(metric(app, opened).await >= 1.0);
    assert_eq!(metric(app, closed).await, 0.0);

    // Acme recovers: after the cool-down a probe goes through and the breaker closes.
    set_faults(&c.sim, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    start_sync(app, token, &c.store_id).await;
    let recovered = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(recovered["status"], "completed", "{recovered}");
    assert_eq!(metric(app, closed).await, 1.0);
    let store: Value = app
        .get_authed(&format!("/api/stores/{}", c.store_id), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        store["status"], "active",
        "an outage is not a revoked token"
    );
}

#[tokio::test]
async fn one_incremental_sync_repairs_a_tenth_of_webhooks_dropped() {
    let c = connect(
        json!({ "customers": 80, "products": 20, "orders": 200 }),
        &[],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    let http = reqwest::Client::new();
    set_faults(&c.sim, json!({ "drop_rate": 0.1 })).await;
    // Everything but checkouts: a completed checkout whose webhook is lost is not in any
    // export Shopify offers (its order is, and is repaired).
    activity(
        &c.sim,
        &c.shop,
        json!({ "orders": 80, "order_updates": 40, "refunds": 20, "cancellations": 10,
                       "customers": 30, "customer_updates": 30, "products": 5,
                       "product_updates": 15, "deletions": 4 }),
    )
    .await;
    drain(app).await;
    let stats: Value = http
        .get(format!("{}/_sim/deliveries", c.sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats["dropped"].as_u64().unwrap() > 0, "{stats}");

    settle(app).await;
    start_sync(app, token, &c.store_id).await;
    let run = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["kind"], "incremental", "{run}");
    let truth = truth(&c.sim, &c.shop).await;
    // Only what changed was exported again, not the shop's history.
    let history = ["customers", "products", "orders"]
        .iter()
        .map(|k| truth[k].as_array().unwrap().len() as i64)
        .sum::<i64>();
    assert!(
        run["records"].as_i64().unwrap() < history / 2,
        "{run} vs {history} records"
    );
    let mut conn = app.connect_as("xeno_owner").await;
    assert_matches_truth(&mut conn, &truth).await;
    let tombstones: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tombstones WHERE resource = 'product'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        tombstones, 4,
        "deletions whose webhooks were lost are found"
    );
}

#[tokio::test]
async fn a_sync_that_would_delete_a_large_share_stops_and_asks_for_confirmation() {
    let c = connect(json!({ "products": 40, "orders": 30 }), &[], 1.0).await;
    let (app, token) = (&c.app, c.token.as_str());
    wait_for_sync(app, token, &c.store_id).await;
    let products = || async {
        let mut conn = app.connect_as("xeno_owner").await;
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM products")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(products().await, 40);

    // Fifteen products go at Shopify and their webhooks are lost: 37.5 % of the catalogue,
    // beyond the 20 % a sync deletes unasked.
    set_faults(&c.sim, json!({ "drop_rate": 1.0 })).await;
    activity(&c.sim, &c.shop, json!({ "deletions": 15 })).await;
    set_faults(&c.sim, json!({})).await;
    let held = full_sync(app, token, &c.store_id, false).await;
    assert_eq!(held["status"], "failed", "{held}");
    assert_eq!(held["deletions_to_confirm"], true, "{held}");
    let why = held["error"].as_str().unwrap();
    assert!(
        why.contains("would delete 15 of 40 product records")
            && why.contains("nothing was deleted"),
        "{why}"
    );
    assert_eq!(products().await, 40, "nothing was deleted");

    // Confirmed, the same sync deletes them.
    let confirmed = full_sync(app, token, &c.store_id, true).await;
    assert_eq!(confirmed["status"], "completed", "{confirmed}");
    assert_eq!(confirmed["deletions_to_confirm"], false);
    let truth = truth(&c.sim, &c.shop).await;
    assert_eq!(
        products().await,
        truth["products"].as_array().unwrap().len() as i64
    );
    assert_eq!(products().await, 25);
}

#[tokio::test]
async fn a_sync_running_when_the_service_stops_ends_at_a_batch_as_interrupted() {
    let c = connect(json!({ "customers": 10 }), &[], 1.0).await;
    // A slow, paged export: many batches, each a while apart.
    set_faults(
        &c.sim,
        json!({ "bulk_unavailable": true, "admin_delay_ms": 300 }),
    )
    .await;
    activity(&c.sim, &c.shop, json!({ "customers": 1500 })).await;
    let run = start_sync(&c.app, &c.token, &c.store_id).await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    let status_path = format!("/api/sync/status?store_id={}", c.store_id);
    let mut written = 0;
    for _ in 0..200 {
        let status = get(&c.app, &c.token, &status_path).await;
        written = status["records"].as_i64().unwrap_or(0);
        if written > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(written > 0, "the sync never wrote");
    // /metrics sees it running, and how long since it last moved (an alert watches that).
    assert!(metric(&c.app, "xeno_syncs_running").await >= 1.0);
    assert!(metric(&c.app, "xeno_sync_stalest_seconds").await < 60.0);

    // The process begins to stop (SIGTERM): the sync ends at its next batch, and says so.
    c.app.stop_worker().await;
    let mut ended = Value::Null;
    for _ in 0..100 {
        let runs = get(
            &c.app,
            &c.token,
            &format!("/api/sync/runs?store_id={}", c.store_id),
        )
        .await;
        ended = runs["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == run_id.as_str())
            .cloned()
            .unwrap();
        if ended["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ended["status"], "failed", "{ended}");
    let error = ended["error"].as_str().unwrap();
    assert!(
        error.starts_with("interrupted: the service was stopping"),
        "{error}"
    );
    // It stopped part-way, keeping every batch it had committed.
    let kept = ended["records"].as_i64().unwrap();
    assert!(kept >= written && kept < 1510, "{ended}");
}
