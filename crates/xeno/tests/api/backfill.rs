//! Backfills: bulk and paged exports equal the shop, and wait for each other.

use crate::support::shop::{
    activity, connect, set_faults, settle, sim_token, start_sync, truth, wait_for_sync,
};
use crate::support::truth::{assert_matches_truth, dec, ts};
use crate::support::webhooks::drain;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn backfill_of_a_twenty_thousand_order_shop_equals_the_truth() {
    let c = connect(
        json!({ "customers": 3000, "products": 100, "orders": 20000, "currency": "JPY", "timezone": "Asia/Tokyo" }),
        &[],
        1.0,
    )
    .await;
    let run = wait_for_sync(&c.app, &c.token, &c.store_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["phase"], "done");
    // It wrote what Shopify counted when it started.
    assert_eq!(run["expected_records"], run["records"], "{run}");
    assert_eq!(run["progress"], 1.0, "{run}");
    assert!(run["eta_seconds"].is_null(), "{run}");
    let truth = truth(&c.sim, &c.shop).await;
    let mut conn = c.app.connect_as("xeno_owner").await;

    // Orders: every one, with its money, status and dates.
    let mut expected: Vec<(i64, String, String, String, i64, bool)> = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_i64().unwrap(),
                dec(&o["total_price"]),
                dec(&o["current_total_price"]),
                o["financial_status"].as_str().unwrap().to_owned(),
                ts(&o["processed_at"]),
                o["test"].as_bool().unwrap(),
            )
        })
        .collect();
    expected.sort();
    type OrderRow = (
        i64,
        String,
        String,
        Option<String>,
        chrono::DateTime<chrono::Utc>,
        bool,
    );
    let rows: Vec<OrderRow> = sqlx::query_as(
        "SELECT order_id, total_price::text, current_total_price::text, financial_status, processed_at, test \
         FROM orders ORDER BY order_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let actual: Vec<(i64, String, String, String, i64, bool)> = rows
        .into_iter()
        .map(|(id, total, current, status, at, test)| {
            (
                id,
                dec(&json!(total)),
                dec(&json!(current)),
                status.unwrap_or_default(),
                at.timestamp(),
                test,
            )
        })
        .collect();
    assert_eq!(actual.len(), 20000);
    assert_eq!(actual, expected);

    // Line items and refunds, exactly.
    let mut expected_lines: Vec<(i64, i64, i32, i32)> = Vec::new();
    let mut expected_refund_lines: Vec<(i64, i64, i32)> = Vec::new();
    for o in truth["orders"].as_array().unwrap() {
        for l in o["line_items"].as_array().unwrap() {
            expected_lines.push((
                o["id"].as_i64().unwrap(),
                l["id"].as_i64().unwrap(),
                l["quantity"].as_i64().unwrap() as i32,
                l["current_quantity"].as_i64().unwrap() as i32,
            ));
        }
        for r in o["refunds"].as_array().unwrap() {
            for l in r["refund_line_items"].as_array().unwrap() {
                expected_refund_lines.push((
                    r["id"].as_i64().unwrap(),
                    l["line_item_id"].as_i64().unwrap(),
                    l["quantity"].as_i64().unwrap() as i32,
                ));
            }
        }
    }
    expected_lines.sort_unstable();
    expected_refund_lines.sort_unstable();
    let lines: Vec<(i64, i64, i32, Option<i32>)> = sqlx::query_as(
        "SELECT order_id, line_item_id, quantity, current_quantity FROM order_line_items ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let lines: Vec<(i64, i64, i32, i32)> = lines
        .into_iter()
        .map(|(o, l, q, c)| (o, l, q, c.unwrap_or(-1)))
        .collect();
    assert_eq!(lines, expected_lines);
    let refund_lines: Vec<(i64, i64, i32)> = sqlx::query_as(
        "SELECT refund_id, line_item_id, quantity FROM refund_line_items ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(refund_lines, expected_refund_lines);

    // Customers, products with variants, abandoned checkouts.
    let mut expected_customers: Vec<(i64, Option<String>)> = truth["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_i64().unwrap(),
                c["email"].as_str().map(str::to_owned),
            )
        })
        .collect();
    expected_customers.sort();
    let customers: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT customer_id, email FROM customers ORDER BY 1")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(customers, expected_customers);
    let variants: i64 = sqlx::query_scalar("SELECT count(*) FROM product_variants")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let expected_variants: usize = truth["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["variants"].as_array().unwrap().len())
        .sum();
    assert_eq!(variants as usize, expected_variants);
    let mut expected_abandoned: Vec<(i64, String)> = truth["checkouts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["completed_at"].is_null())
        .map(|c| (c["id"].as_i64().unwrap(), dec(&c["total_price"])))
        .collect();
    expected_abandoned.sort();
    let abandoned: Vec<(i64, String)> =
        sqlx::query_as("SELECT checkout_id, total_price::text FROM checkouts ORDER BY 1")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let abandoned: Vec<(i64, String)> = abandoned
        .into_iter()
        .map(|(id, t)| (id, dec(&json!(t))))
        .collect();
    assert_eq!(abandoned, expected_abandoned);
    let records = run["records"].as_i64().unwrap();
    assert_eq!(
        records as usize,
        20000
            + expected_customers.len()
            + truth["products"].as_array().unwrap().len()
            + expected_abandoned.len(),
        "progress counts every record written"
    );
}

#[tokio::test]
async fn a_sync_waits_for_an_earlier_bulk_export_of_the_shop() {
    // Before API 2026-01 Shopify runs one bulk export per shop at a time.
    let version = "2025-10";
    let c = connect(
        json!({ "customers": 30, "products": 5, "orders": 60 }),
        &[("SHOPIFY_API_VERSION", version)],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    // An export a sync that died left behind, still running for a while.
    set_faults(&c.sim, json!({ "bulk_delay_ms": 1500 })).await;
    let admin = xeno_shopify::admin::AdminClient::new(
        reqwest::Client::new(),
        &c.sim.shop_url_template().replace("{shop}", &c.shop),
        version,
        &sim_token(&c.sim, &c.shop).await,
    );
    let orphan: Value = admin
        .query(
            "mutation { bulkOperationRunQuery(query: \"{ orders { edges { node { id } } } }\") { bulkOperation { id } userErrors { message } } }",
            json!({}),
        )
        .await
        .unwrap();
    assert!(
        orphan["bulkOperationRunQuery"]["bulkOperation"]["id"].is_string(),
        "{orphan}"
    );

    start_sync(app, token, &c.store_id).await;
    let current: Value = admin
        .query("query { currentBulkOperation { status } }", json!({}))
        .await
        .unwrap();
    assert_eq!(
        current["currentBulkOperation"]["status"], "RUNNING",
        "the earlier export still runs as the sync starts"
    );
    let run = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(run["status"], "completed", "{run}");
}

/// Collects an export as it arrives.
#[derive(Default)]
struct Collected(Vec<(Value, Vec<Value>)>);

impl xeno_shopify::bulk::AsyncSink for Collected {
    async fn accept(
        &mut self,
        batch: Vec<(Value, Vec<Value>)>,
    ) -> Result<(), xeno_shopify::ShopifyError> {
        self.0.extend(batch);
        Ok(())
    }
}

/// An export's records without what only one way of reading it adds (a bulk file's
/// `__parentId`, a page's `pageInfo`), in id order.
fn comparable(mut records: Vec<(Value, Vec<Value>)>) -> Vec<(Value, Vec<Value>)> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("__parentId");
                map.remove("pageInfo");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    for (node, children) in &mut records {
        strip(node);
        children.iter_mut().for_each(strip);
    }
    records.sort_by_key(|(node, _)| node["id"].as_str().unwrap_or_default().to_owned());
    records
}

#[tokio::test]
async fn a_paged_export_holds_exactly_what_a_bulk_export_does() {
    use xeno_shopify::{bulk, paged};
    let c = connect(
        json!({ "customers": 60, "products": 15, "orders": 150 }),
        &[],
        1.0,
    )
    .await;
    // Aged orders have been refunded and cancelled: refunds with several lines among them.
    set_faults(
        &c.sim,
        json!({ "bucket_size": 100000.0, "restore_rate": 100000.0 }),
    )
    .await;
    let http = reqwest::Client::new();
    let admin = xeno_shopify::admin::AdminClient::new(
        http.clone(),
        &c.sim.shop_url_template().replace("{shop}", &c.shop),
        xeno_shopify::DEFAULT_API_VERSION,
        &sim_token(&c.sim, &c.shop).await,
    );
    // One nested record with each parent: every parent with more is followed up; a first
    // page of 250 orders costs more than a query may, and shrinks.
    let sizes = paged::PageSizes {
        first: 250,
        nested: 1,
    };
    let exports = [
        (bulk::CUSTOMERS, &*paged::CUSTOMERS),
        (bulk::PRODUCTS, &*paged::PRODUCTS),
        (bulk::ORDERS, &*paged::ORDERS),
        (bulk::ABANDONED_CHECKOUTS, &*paged::ABANDONED_CHECKOUTS),
        (bulk::CUSTOMER_IDS, &*paged::CUSTOMER_IDS),
        (bulk::PRODUCT_IDS, &*paged::PRODUCT_IDS),
        (bulk::ORDER_IDS, &*paged::ORDER_IDS),
    ];
    for (document, pages) in exports {
        let finished = admin
            .bulk_export(document, Duration::from_millis(20))
            .await
            .unwrap();
        let url = finished.url.expect("the shop has records of every kind");
        let from_bulk = bulk::stream_export(&http, &url, 100, Collected::default())
            .await
            .unwrap();
        let calls_before = admin.counts().calls;
        let asked = chrono::Utc::now();
        let from_pages = admin
            .paged_export(pages, None, sizes, Collected::default())
            .await
            .unwrap();
        let answered = chrono::Utc::now();
        let calls = admin.counts().calls - calls_before;
        // When the first page was answered, by Shopify's clock (its Date header, whole
        // seconds): while the export ran.
        let began = from_pages.1.expect("the answer is dated");
        assert!(
            asked - chrono::Duration::seconds(1) <= began && began <= answered,
            "{asked} <= {began} <= {answered}"
        );
        let (from_bulk, from_pages) = (comparable(from_bulk.0), comparable(from_pages.0 .0));
        assert!(!from_bulk.is_empty());
        if document == bulk::ORDERS {
            // Parents with more than one nested record, each followed up on its own.
            let several_lines = from_bulk.iter().filter(|(_, l)| l.len() > 1).count();
            let several_refund_lines = from_bulk
                .iter()
                .flat_map(|(o, _)| o["refunds"].as_array().unwrap().clone())
                .filter(|r| r["refundLineItems"]["nodes"].as_array().unwrap().len() > 1)
                .count();
            assert!(several_lines > 0 && several_refund_lines > 0);
            // Pages (the first, too costly, asked again smaller) and every follow-up.
            assert!(
                calls as usize > several_lines + several_refund_lines + 2,
                "{calls} calls"
            );
        }
        assert_eq!(
            from_pages,
            from_bulk,
            "{}",
            document.lines().next().unwrap()
        );
    }
    // Searches limit pages as they limit bulk exports.
    let since = chrono::Utc::now() - chrono::Duration::days(3);
    let search = bulk::updated_search(since);
    let recent = admin
        .paged_export(&paged::ORDERS, Some(&search), sizes, Collected::default())
        .await
        .unwrap();
    let finished = admin
        .bulk_export(
            &bulk::updated_since(bulk::ORDERS, since),
            Duration::from_millis(20),
        )
        .await
        .unwrap();
    let from_bulk = match finished.url {
        Some(url) => {
            bulk::stream_export(&http, &url, 100, Collected::default())
                .await
                .unwrap()
                .0
        }
        None => Vec::new(),
    };
    assert_eq!(comparable(recent.0 .0), comparable(from_bulk));
}

#[tokio::test]
async fn a_sync_pages_when_shopify_will_not_run_bulk_exports() {
    let c = connect(
        json!({ "customers": 50, "products": 12, "orders": 120 }),
        &[],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    // Bulk operations are refused, as Shopify refuses them to tokens they are not open to; a
    // roomy cost bucket keeps the test quick (pacing has its own test).
    let faults =
        json!({ "bulk_unavailable": true, "bucket_size": 20000.0, "restore_rate": 20000.0 });
    set_faults(&c.sim, faults.clone()).await;
    let full = app
        .client
        .post(app.url(&format!("/api/sync/{}?mode=full", c.store_id)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), 202);
    let run = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["kind"], "backfill", "{run}");
    assert_eq!(run["paged_exports"], 4, "{run}");
    assert_eq!(run["expected_records"], run["records"], "{run}");
    let mut conn = app.connect_as("xeno_owner").await;
    assert_matches_truth(&mut conn, &truth(&c.sim, &c.shop).await).await;

    // Missed webhooks, deletions among them, repaired by an incremental sync that pages too.
    set_faults(
        &c.sim,
        json!({ "bulk_unavailable": true, "bucket_size": 20000.0, "restore_rate": 20000.0,
                "drop_rate": 0.3 }),
    )
    .await;
    activity(
        &c.sim,
        &c.shop,
        json!({ "orders": 30, "order_updates": 20, "refunds": 10, "customers": 10,
                       "customer_updates": 10, "product_updates": 5, "deletions": 3 }),
    )
    .await;
    drain(app).await;
    set_faults(&c.sim, faults).await;
    settle(app).await;
    start_sync(app, token, &c.store_id).await;
    let run = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["kind"], "incremental", "{run}");
    // Four exports of what changed and three of every id (to find deletions).
    assert_eq!(run["paged_exports"], 7, "{run}");
    assert_matches_truth(&mut conn, &truth(&c.sim, &c.shop).await).await;
    let tombstones: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tombstones WHERE resource = 'product'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        tombstones, 3,
        "deletions whose webhooks were lost are found"
    );
}
