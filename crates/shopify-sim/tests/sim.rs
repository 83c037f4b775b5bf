//! The simulator, driven over HTTP as Xeno and tests drive it.

// Test helpers may panic: a failed expectation is the test failing.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use shopify_sim::shop::{Shop, ShopSpec};
use shopify_sim::{RunningSim, SimOptions};

const KEY: &str = "test-key";
const SECRET: &str = "test-secret";
const VERSION: &str = "2026-10";

async fn start(time_scale: f64) -> RunningSim {
    shopify_sim::spawn(
        "127.0.0.1:0".parse().unwrap(),
        SimOptions {
            api_key: KEY.to_owned(),
            api_secret: SECRET.to_owned(),
            time_scale,
        },
    )
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn history_end() -> String {
    "2026-11-01T00:00:00Z".to_owned()
}

async fn create_shop(sim: &RunningSim, domain: &str, extra: Value) -> Value {
    let mut spec = json!({
        "domain": domain, "seed": 7, "customers": 60, "products": 12, "orders": 300,
        "currency": "USD", "timezone": "America/New_York", "history_end": history_end(),
    });
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    let response = client()
        .post(format!("{}/_sim/shops", sim.base_url()))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// Runs the OAuth flow as a client would; returns the redirect's query and the token answer.
async fn install(sim: &RunningSim, shop: &str, expiring: bool) -> (Vec<(String, String)>, Value) {
    let http = client();
    let authorize = format!(
        "{}/{shop}/admin/oauth/authorize?client_id={KEY}&scope=read_orders,read_customers,read_products,read_checkouts&redirect_uri=http://127.0.0.1:1/callback&state=nonce-1",
        sim.base_url()
    );
    let response = http.get(authorize).send().await.unwrap();
    assert_eq!(response.status(), 302, "redirects back at once");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let code = params.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let mut body = json!({ "client_id": KEY, "client_secret": SECRET, "code": code });
    if expiring {
        body["expiring"] = json!(1);
    }
    let token: Value = http
        .post(format!(
            "{}/{shop}/admin/oauth/access_token",
            sim.base_url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (params, token)
}

async fn graphql(
    sim: &RunningSim,
    shop: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> (StatusCode, Value) {
    let response = client()
        .post(format!(
            "{}/{shop}/admin/api/{VERSION}/graphql.json",
            sim.base_url()
        ))
        .header("x-shopify-access-token", token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn truth(sim: &RunningSim, shop: &str) -> Value {
    client()
        .get(format!("{}/_sim/shops/{shop}/truth", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn hmac_hex(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn the_same_seed_gives_the_same_shop_byte_for_byte() {
    let spec: ShopSpec = serde_json::from_value(json!({
        "domain": "det.myshopify.com", "seed": 42, "customers": 100, "products": 20, "orders": 500,
        "history_end": history_end(),
    }))
    .unwrap();
    let dump = |shop: &Shop| {
        serde_json::to_vec(&(
            shop.customers.values().collect::<Vec<_>>(),
            shop.products.values().collect::<Vec<_>>(),
            shop.orders.values().collect::<Vec<_>>(),
            shop.checkouts.values().collect::<Vec<_>>(),
            shop.carts.values().collect::<Vec<_>>(),
        ))
        .unwrap()
    };
    let a = dump(&Shop::generate(&spec).unwrap());
    let b = dump(&Shop::generate(&spec).unwrap());
    assert_eq!(a, b);
    let other = ShopSpec { seed: 43, ..spec };
    assert_ne!(a, dump(&Shop::generate(&other).unwrap()));
}

#[tokio::test]
async fn generated_history_has_the_cases_analytics_must_handle() {
    let sim = start(1.0).await;
    create_shop(
        &sim,
        "cases.myshopify.com",
        json!({ "orders": 1500, "customers": 200 }),
    )
    .await;
    let truth = truth(&sim, "cases.myshopify.com").await;
    let orders = truth["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1500);
    let customers_with_orders: BTreeSet<i64> = orders
        .iter()
        .filter_map(|o| o["customer"]["id"].as_i64())
        .collect();
    let all_customers = truth["customers"].as_array().unwrap();
    assert!(
        all_customers
            .iter()
            .any(|c| !customers_with_orders.contains(&c["id"].as_i64().unwrap())),
        "customers without orders"
    );
    assert!(
        orders.iter().any(|o| o["customer"].is_null()),
        "guest orders"
    );
    assert!(orders.iter().any(|o| o["test"] == true), "test orders");
    assert!(
        orders.iter().any(|o| !o["cancelled_at"].is_null()),
        "cancellations"
    );
    assert!(
        orders
            .iter()
            .any(|o| o["financial_status"] == "partially_refunded"),
        "partial refunds"
    );
    assert!(
        orders.iter().any(|o| o["financial_status"] == "refunded"),
        "full refunds"
    );
    assert!(
        orders.iter().any(|o| o["total_discounts"] != "0"),
        "discounts"
    );
    // The shapes Shopify's reports treat specially, each present.
    let lines = || {
        orders
            .iter()
            .flat_map(|o| o["line_items"].as_array().unwrap())
    };
    assert!(
        lines().any(|l| l["total_discount"] == "0"
            && !l["discount_allocations"].as_array().unwrap().is_empty()),
        "code discounts carried only as allocations"
    );
    assert!(lines().any(|l| l["gift_card"] == true), "gift card lines");
    let refunds = || orders.iter().flat_map(|o| o["refunds"].as_array().unwrap());
    assert!(
        refunds().any(|r| r["refund_line_items"].as_array().unwrap().is_empty()
            && r["order_adjustments"][0]["kind"] == "shipping_refund"
            && !r["refund_shipping_lines"].as_array().unwrap().is_empty()),
        "refunds of shipping alone"
    );
    assert!(
        orders.iter().any(|o| !o["cancelled_at"].is_null()
            && o["refunds"].as_array().unwrap().is_empty()
            && o["financial_status"] == "paid"),
        "paid orders cancelled without a refund"
    );
    assert!(
        orders
            .iter()
            .any(|o| !o["cancelled_at"].is_null() && o["financial_status"] == "voided"),
        "unpaid orders cancelled and voided"
    );
    assert!(
        all_customers
            .iter()
            .any(|c| c["email_marketing_consent"]["state"] == "subscribed"),
        "consent"
    );
    assert!(
        truth["checkouts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["completed_at"].is_null()),
        "abandoned checkouts"
    );
    assert!(!truth["carts"].as_array().unwrap().is_empty());

    let dec = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
    let mut shipping_discounted = 0;
    for order in orders {
        // REST conventions: integer ids above 2^53, money as strings, offsets on timestamps.
        assert!(order["id"].as_i64().unwrap() > 1 << 53);
        assert!(order["admin_graphql_api_id"]
            .as_str()
            .unwrap()
            .starts_with("gid://shopify/Order/"));
        let created = order["created_at"].as_str().unwrap();
        assert!(
            created.ends_with("-05:00") || created.ends_with("-04:00"),
            "{created}"
        );
        // Totals agree with their parts, computed here independently.
        let lines: f64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| dec(&l["price"]) * l["quantity"].as_f64().unwrap())
            .sum();
        let tax: f64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| {
                l["tax_lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| dec(&t["price"]))
            })
            .sum();
        let shipping: f64 = order["shipping_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| dec(&s["price"]))
            .sum();
        assert!((dec(&order["total_line_items_price"]) - lines).abs() < 0.001);
        // Shopify's total_discounts holds every allocation, shipping discounts included.
        let allocated: f64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .chain(order["shipping_lines"].as_array().unwrap())
            .flat_map(|l| l["discount_allocations"].as_array().unwrap())
            .map(|a| dec(&a["amount"]))
            .sum();
        assert!(
            (dec(&order["total_discounts"]) - allocated).abs() < 0.001,
            "{}: discounts are the allocations",
            order["name"]
        );
        for line in order["shipping_lines"].as_array().unwrap() {
            let off: f64 = line["discount_allocations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| dec(&a["amount"]))
                .sum();
            assert!((dec(&line["discounted_price"]) - (dec(&line["price"]) - off)).abs() < 0.001);
            shipping_discounted += usize::from(off > 0.0);
        }
        let expected = lines - dec(&order["total_discounts"]) + tax + shipping;
        assert!(
            (dec(&order["total_price"]) - expected).abs() < 0.001,
            "{}",
            order["name"]
        );
        let refunded: f64 = order["refunds"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| {
                r["transactions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| dec(&t["amount"]))
            })
            .sum();
        assert!((dec(&order["current_total_price"]) - (expected - refunded)).abs() < 0.001);
        for refund in order["refunds"].as_array().unwrap() {
            for line in refund["refund_line_items"].as_array().unwrap() {
                assert!(
                    line["subtotal"].is_f64() || line["subtotal"].is_i64(),
                    "subtotal is a JSON number"
                );
            }
        }
    }
    assert!(
        shipping_discounted > 0,
        "shipping discounts (free shipping codes)"
    );

    create_shop(
        &sim,
        "yen.myshopify.com",
        json!({ "currency": "JPY", "timezone": "Asia/Tokyo", "orders": 100 }),
    )
    .await;
    let yen = truth_orders(&sim, "yen.myshopify.com").await;
    for order in &yen {
        assert!(
            !order["total_price"].as_str().unwrap().contains('.'),
            "JPY has no minor units: {}",
            order["total_price"]
        );
        assert!(order["created_at"].as_str().unwrap().ends_with("+09:00"));
    }
}

async fn truth_orders(sim: &RunningSim, shop: &str) -> Vec<Value> {
    truth(sim, shop).await["orders"].as_array().unwrap().clone()
}

#[tokio::test]
async fn oauth_redirect_is_signed_as_shopify_signs_it_and_codes_work_once() {
    let sim = start(1.0).await;
    create_shop(&sim, "oauth.myshopify.com", json!({ "orders": 10 })).await;
    let (params, token) = install(&sim, "oauth.myshopify.com", false).await;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("shop"), "oauth.myshopify.com");
    assert_eq!(get("state"), "nonce-1");
    assert!(get("timestamp").parse::<i64>().is_ok());
    assert!(!get("host").is_empty());
    // Independent computation: sorted name=value pairs except hmac, joined by &.
    let mut pairs: Vec<String> = params
        .iter()
        .filter(|(k, _)| k != "hmac")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.sort();
    assert_eq!(get("hmac"), hmac_hex(SECRET, &pairs.join("&")));

    assert!(token["access_token"]
        .as_str()
        .unwrap()
        .starts_with("shpat_"));
    assert_eq!(
        token["scope"],
        "read_orders,read_customers,read_products,read_checkouts"
    );
    assert!(
        token.get("expires_in").is_none(),
        "offline tokens do not expire by default"
    );

    let reuse = client()
        .post(format!(
            "{}/oauth.myshopify.com/admin/oauth/access_token",
            sim.base_url()
        ))
        .json(&json!({ "client_id": KEY, "client_secret": SECRET, "code": get("code") }))
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), 400, "a code works once");

    let bad_client = client()
        .get(format!("{}/oauth.myshopify.com/admin/oauth/authorize?client_id=nope&scope=read_orders&redirect_uri=http://x/cb", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_client.status(), 400);

    let (status, _) = graphql(
        &sim,
        "oauth.myshopify.com",
        "shpat_wrong",
        "{ shop { name } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = graphql(
        &sim,
        "oauth.myshopify.com",
        token["access_token"].as_str().unwrap(),
        "{ shop { name currencyCode ianaTimezone plan { displayName } } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["shop"]["currencyCode"], "USD");
    assert_eq!(body["data"]["shop"]["ianaTimezone"], "America/New_York");
    assert_eq!(body["data"]["shop"]["name"], "Oauth");
}

#[tokio::test]
async fn expiring_tokens_expire_and_refresh_rotates() {
    // 3600 s / 3600 = a one-second access token.
    let sim = start(3600.0).await;
    let shop = "expiring.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 5 })).await;
    let (_, first) = install(&sim, shop, true).await;
    assert_eq!(first["expires_in"], 1);
    assert!(first["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("shprt_"));
    assert!(first["refresh_token_expires_in"].as_u64().unwrap() >= 2160);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(
        graphql(&sim, shop, access, "{ shop { name } }", json!({}))
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        graphql(&sim, shop, access, "{ shop { name } }", json!({}))
            .await
            .0,
        401,
        "expired"
    );

    let refresh = |token: String| {
        let url = format!("{}/{shop}/admin/oauth/access_token", sim.base_url());
        async move {
            client()
                .post(url)
                .form(&[
                    ("client_id", KEY),
                    ("client_secret", SECRET),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &token),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let second: Value = refresh(r1.clone()).await.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "the refresh token rotates");
    // The answer was "lost": retrying with the same refresh token still works once.
    let retried = refresh(r1.clone()).await;
    assert_eq!(retried.status(), 200);
    let third: Value = retried.json().await.unwrap();
    let r3 = third["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        graphql(
            &sim,
            shop,
            third["access_token"].as_str().unwrap(),
            "{ shop { name } }",
            json!({})
        )
        .await
        .0,
        200
    );
    // Using the newest retires everything older.
    let fourth = refresh(r3).await;
    assert_eq!(fourth.status(), 200);
    assert_eq!(refresh(r1).await.status(), 400);
    assert_eq!(refresh(r2).await.status(), 400);
}

const ORDERS_PAGE: &str =
    "query($first: Int!, $after: String, $query: String, $sortKey: OrderSortKeys) {
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    edges { cursor node { id legacyResourceId updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}";

async fn page_all(
    sim: &RunningSim,
    shop: &str,
    token: &str,
    query: Option<&str>,
    during: impl Fn(usize) -> Option<Value>,
) -> Vec<Value> {
    let mut after: Option<String> = None;
    let mut all = Vec::new();
    for page in 0.. {
        if let Some(activity) = during(page) {
            client()
                .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
                .json(&activity)
                .send()
                .await
                .unwrap();
        }
        let (status, body) = graphql(
            sim,
            shop,
            token,
            ORDERS_PAGE,
            json!({ "first": 50, "after": after, "query": query, "sortKey": "UPDATED_AT" }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"].is_null(), "{body}");
        let connection = &body["data"]["orders"];
        all.extend(
            connection["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone()),
        );
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    all
}

#[tokio::test]
async fn pagination_is_exhaustive_and_stable_while_activity_runs() {
    let sim = start(1.0).await;
    let shop = "pages.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 400 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    // The bucket is the real one; make it roomy so this test measures paging only.
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "bucket_size": 100000.0, "restore_rate": 100000.0 }))
        .send()
        .await
        .unwrap();
    let before: BTreeSet<i64> = truth_orders(&sim, shop)
        .await
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    // New orders arrive while we page (they sort after every existing one by updated_at).
    let seen = page_all(&sim, shop, &token, None, |page| {
        (page % 2 == 1).then(|| json!({ "orders": 3 }))
    })
    .await;
    let ids: Vec<i64> = seen
        .iter()
        .map(|n| n["legacyResourceId"].as_str().unwrap().parse().unwrap())
        .collect();
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no record twice");
    assert!(
        before.is_subset(&unique),
        "every record that existed before paging began appears"
    );
    let after: BTreeSet<i64> = truth_orders(&sim, shop)
        .await
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert!(unique.is_subset(&after));
}

#[tokio::test]
async fn updated_at_filters_are_exact_at_the_boundaries() {
    let sim = start(1.0).await;
    let shop = "bounds.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 300 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "bucket_size": 100000.0, "restore_rate": 100000.0 }))
        .send()
        .await
        .unwrap();
    let orders = truth_orders(&sim, shop).await;
    let mut stamps: Vec<chrono::DateTime<chrono::Utc>> = orders
        .iter()
        .map(|o| {
            chrono::DateTime::parse_from_rfc3339(o["updated_at"].as_str().unwrap())
                .unwrap()
                .to_utc()
        })
        .collect();
    stamps.sort();
    let boundary = stamps[stamps.len() / 2];
    let text = boundary.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (op, keep) in [(">", 0), (">=", 1), ("<", 2), ("<=", 3)] {
        let expected = stamps
            .iter()
            .filter(|t| match keep {
                0 => **t > boundary,
                1 => **t >= boundary,
                2 => **t < boundary,
                _ => **t <= boundary,
            })
            .count();
        let query = format!("updated_at:{op}'{text}'");
        let got = page_all(&sim, shop, &token, Some(&query), |_| None)
            .await
            .len();
        assert_eq!(got, expected, "{query}");
    }
}

#[tokio::test]
async fn a_burst_of_expensive_queries_is_throttled_and_recovers_at_the_restore_rate() {
    let sim = start(1.0).await;
    let shop = "throttle.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 300 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "bucket_size": 1000.0, "restore_rate": 50.0 }))
        .send()
        .await
        .unwrap();
    // 2 + 100 × (1 + 2 + (2 + 10 × 1)) = 1502 > 1000: refused outright, not throttled.
    let too_big = "{ orders(first: 100) { nodes { id totalPriceSet { shopMoney { amount } } lineItems(first: 10) { nodes { id } } } } }";
    let (_, body) = graphql(&sim, shop, &token, too_big, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED",
        "{body}"
    );
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 1502);

    // 2 + 100 × (1 + 1) = 202 each: five fit in 1000 points, the sixth does not.
    let expensive = "{ orders(first: 100) { nodes { id customer { id } } } }";
    let mut throttled = None;
    for _ in 0..10 {
        let (status, body) = graphql(&sim, shop, &token, expensive, json!({})).await;
        assert_eq!(status, 200, "throttling is a 200 with an error, not a 429");
        assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 202);
        if body["errors"][0]["extensions"]["code"] == "THROTTLED" {
            assert!(body["extensions"]["cost"]["actualQueryCost"].is_null());
            throttled = Some(body);
            break;
        }
        // Only what was used is charged: guests have no customer object.
        let actual = body["extensions"]["cost"]["actualQueryCost"]
            .as_u64()
            .unwrap();
        assert!(actual < 202, "{actual}");
    }
    let throttled = throttled.expect("the burst is throttled");
    let level = throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
        .as_f64()
        .unwrap();
    assert_eq!(
        throttled["extensions"]["cost"]["throttleStatus"]["restoreRate"],
        50.0
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, body) = graphql(&sim, shop, &token, "{ shop { name } }", json!({})).await;
    let status = &body["extensions"]["cost"]["throttleStatus"];
    let now = status["currentlyAvailable"].as_f64().unwrap();
    // Two seconds at 50 points/s restore 100 points (the shop query then costs 1).
    assert!(
        (now - (level + 100.0 - 1.0)).abs() <= 6.0,
        "restored from {level} to {now}"
    );
}

const BULK_ORDERS: &str =
    "{ orders { edges { node { id name lineItems { edges { node { id quantity sku } } } } } } }";

#[tokio::test]
async fn bulk_jsonl_reconstructs_exactly_what_paging_returns() {
    let sim = start(1.0).await;
    let shop = "bulk.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 700 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "bucket_size": 100000.0, "restore_rate": 100000.0 }))
        .send()
        .await
        .unwrap();

    // From API 2026-01 children follow their parent only when the export asks for it.
    let grouped = bulk_file(&sim, shop, &token, true).await;
    let ungrouped = bulk_file(&sim, shop, &token, false).await;
    let (from_bulk, adjacent) = reassemble(&grouped);
    assert!(adjacent, "grouped: children follow their parent");
    let (from_ungrouped, adjacent) = reassemble(&ungrouped);
    assert!(
        !adjacent,
        "ungrouped: children come apart from their parent"
    );
    assert_eq!(from_ungrouped, from_bulk);

    let page_query = "query($after: String) { orders(first: 10, after: $after) { nodes { id name lineItems(first: 10) { nodes { id quantity } } } pageInfo { hasNextPage endCursor } } }";
    let mut from_pages = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let (_, body) = graphql(&sim, shop, &token, page_query, json!({ "after": after })).await;
        let orders = &body["data"]["orders"];
        for node in orders["nodes"].as_array().unwrap() {
            let lines = node["lineItems"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["id"].as_str().unwrap().to_owned(),
                        l["quantity"].as_i64().unwrap(),
                    )
                })
                .collect();
            from_pages.insert(
                node["id"].as_str().unwrap().to_owned(),
                (node["name"].as_str().unwrap().to_owned(), lines),
            );
        }
        if orders["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = orders["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(from_bulk.len(), 700);
    assert_eq!(from_bulk, from_pages);
}

type Reassembled = BTreeMap<String, (String, Vec<(String, i64)>)>;

/// Runs `BULK_ORDERS` as a bulk export and downloads its file.
async fn bulk_file(sim: &RunningSim, shop: &str, token: &str, grouped: bool) -> String {
    let start = "mutation($q: String!, $g: Boolean!) { bulkOperationRunQuery(query: $q, groupObjects: $g) { bulkOperation { id status } userErrors { field message } } }";
    let (_, body) = graphql(
        sim,
        shop,
        token,
        start,
        json!({ "q": BULK_ORDERS, "g": grouped }),
    )
    .await;
    assert_eq!(
        body["data"]["bulkOperationRunQuery"]["userErrors"],
        json!([]),
        "{body}"
    );
    let id = body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut url = None;
    for _ in 0..100 {
        let (_, body) = graphql(
            sim,
            shop,
            token,
            "{ currentBulkOperation { id status objectCount rootObjectCount url } }",
            json!({}),
        )
        .await;
        let op = &body["data"]["currentBulkOperation"];
        assert_eq!(op["id"], id.as_str());
        if op["status"] == "COMPLETED" {
            assert_eq!(op["rootObjectCount"], "700");
            url = op["url"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = url.expect("the bulk operation completes with a file");
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Puts lines with `__parentId` back under the line that introduced that id; also says
/// whether every child came right after its parent (or a sibling).
fn reassemble(jsonl: &str) -> (Reassembled, bool) {
    let mut orders = Reassembled::new();
    let mut last_parent = String::new();
    let mut adjacent = true;
    for line in jsonl.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        let id = value["id"].as_str().unwrap().to_owned();
        match value["__parentId"].as_str() {
            None => {
                orders.insert(
                    id.clone(),
                    (value["name"].as_str().unwrap().to_owned(), Vec::new()),
                );
                last_parent = id;
            }
            Some(parent) => {
                adjacent &= parent == last_parent;
                orders
                    .get_mut(parent)
                    .unwrap()
                    .1
                    .push((id, value["quantity"].as_i64().unwrap()));
            }
        }
    }
    (orders, adjacent)
}

/// A webhook receiver that records every delivery; answers `status`.
async fn receiver(status: StatusCode) -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/webhooks",
        post(move |headers: HeaderMap, body: Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock().unwrap().push((headers, body));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn subscribe(sim: &RunningSim, shop: &str, token: &str, topic: &str, url: &str) -> String {
    let mutation = "mutation($topic: WebhookSubscriptionTopic!, $url: URL!) { webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) { webhookSubscription { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } userErrors { field message } } }";
    let (_, body) = graphql(
        sim,
        shop,
        token,
        mutation,
        json!({ "topic": topic, "url": url }),
    )
    .await;
    let created = &body["data"]["webhookSubscriptionCreate"];
    assert_eq!(created["userErrors"], json!([]), "{body}");
    assert_eq!(
        created["webhookSubscription"]["endpoint"]["callbackUrl"],
        url
    );
    created["webhookSubscription"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn webhooks_are_signed_shaped_and_faulted_as_configured() {
    let sim = start(1.0).await;
    let shop = "hooks.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 20 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let (url, received) = receiver(StatusCode::OK).await;
    for topic in [
        "ORDERS_CREATE",
        "CUSTOMERS_CREATE",
        "REFUNDS_CREATE",
        "PRODUCTS_DELETE",
    ] {
        subscribe(&sim, shop, &token, topic, &url).await;
    }
    let activity: Value = client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "orders": 5, "customers": 2, "refunds": 2, "deletions": 1 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deliveries = received.lock().unwrap().clone();
    assert_eq!(
        deliveries.len() as u64,
        activity["deliveries"].as_u64().unwrap()
    );
    let mut topics: HashMap<String, usize> = HashMap::new();
    for (headers, body) in &deliveries {
        let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body);
        assert_eq!(
            header("x-shopify-hmac-sha256"),
            BASE64.encode(mac.finalize().into_bytes())
        );
        assert_eq!(header("x-shopify-shop-domain"), shop);
        assert_eq!(header("x-shopify-api-version"), "2026-10");
        assert!(!header("x-shopify-webhook-id").is_empty());
        assert!(!header("x-shopify-event-id").is_empty());
        assert!(chrono::DateTime::parse_from_rfc3339(&header("x-shopify-triggered-at")).is_ok());
        let payload: Value = serde_json::from_slice(body).unwrap();
        assert!(payload["id"].is_i64(), "integer ids");
        *topics.entry(header("x-shopify-topic")).or_default() += 1;
    }
    assert_eq!(topics["orders/create"], 5);
    assert_eq!(topics["customers/create"], 2);
    assert_eq!(topics["products/delete"], 1);
    assert!(topics.get("refunds/create").copied().unwrap_or(0) >= 1);

    // Duplicates: every delivery twice, with the same webhook id.
    received.lock().unwrap().clear();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "duplicate_rate": 1.0 }))
        .send()
        .await
        .unwrap();
    client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "customers": 3 }))
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["x-shopify-webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 6);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 3);

    // Drops: nothing arrives, yet the change is in the shop for reconciliation to find.
    received.lock().unwrap().clear();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "drop_rate": 1.0 }))
        .send()
        .await
        .unwrap();
    let before = truth(&sim, shop).await["customers"]
        .as_array()
        .unwrap()
        .len();
    client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "customers": 4 }))
        .send()
        .await
        .unwrap();
    assert!(received.lock().unwrap().is_empty());
    assert_eq!(
        truth(&sim, shop).await["customers"]
            .as_array()
            .unwrap()
            .len(),
        before + 4
    );
}

#[tokio::test]
async fn failing_deliveries_are_retried_then_the_subscription_is_deleted() {
    // Shopify's 4-hour retry schedule in about 1.5 s.
    let sim = start(10_000.0).await;
    let shop = "failing.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 5 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let (url, received) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    subscribe(&sim, shop, &token, "CUSTOMERS_CREATE", &url).await;
    client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "customers": 1 }))
        .send()
        .await
        .unwrap();
    let list = "{ webhookSubscriptions(first: 10) { nodes { id topic } } }";
    let mut gone = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (_, body) = graphql(&sim, shop, &token, list, json!({})).await;
        if body["data"]["webhookSubscriptions"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            gone = true;
            break;
        }
    }
    assert!(gone, "the subscription is deleted after the retries fail");
    let attempts = received.lock().unwrap().len();
    assert_eq!(attempts, 9, "one delivery and eight retries");
    let ids: BTreeSet<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["x-shopify-webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "retries keep the webhook id");
}

#[tokio::test]
async fn a_non_expiring_token_migrates_once_to_an_expiring_one() {
    let sim = start(1.0).await;
    let shop = "migrate.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 5 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let old = token["access_token"].as_str().unwrap().to_owned();
    let exchange = |subject: String| {
        let url = format!("{}/{shop}/admin/oauth/access_token", sim.base_url());
        async move {
            client()
                .post(url)
                .json(&json!({
                    "client_id": KEY, "client_secret": SECRET, "expiring": 1,
                    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                    "subject_token": subject,
                    "subject_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
                    "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
                }))
                .send()
                .await
                .unwrap()
        }
    };
    let migrated = exchange(old.clone()).await;
    assert_eq!(migrated.status(), 200);
    let migrated: Value = migrated.json().await.unwrap();
    assert_eq!(migrated["expires_in"], 3600);
    assert!(migrated["refresh_token"].is_string());
    assert_eq!(
        graphql(&sim, shop, &old, "{ shop { name } }", json!({}))
            .await
            .0,
        401,
        "the old token is retired"
    );
    assert_eq!(exchange(old).await.status(), 400, "and migrates only once");
    assert_eq!(
        graphql(
            &sim,
            shop,
            migrated["access_token"].as_str().unwrap(),
            "{ shop { name } }",
            json!({})
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn paced_activity_trickles_out_in_the_background() {
    let sim = start(1.0).await;
    let shop = "paced.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 5 })).await;
    let before = truth_orders(&sim, shop).await.len();
    let response = client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "orders": 4, "customers": 2, "rate": 40.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scheduled"], 6);
    let mut orders = before;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        orders = truth_orders(&sim, shop).await.len();
        if orders == before + 4 {
            break;
        }
    }
    assert_eq!(orders, before + 4);
    let bad = client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "orders": 1, "rate": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn bulk_queries_shopify_would_refuse_are_refused_when_submitted() {
    let sim = start(1.0).await;
    let shop = "bulkcheck.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 20 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let submit = "mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) { bulkOperation { id status } userErrors { code field message } } }";
    for (query, why) in [
        ("{ orders { edges { node { id nonsense } } } }", "nonsense"),
        ("{ node(id: \"gid://shopify/Order/1\") { id } }", "not one"),
        ("{ shop { name } }", "not one"),
        (
            "{ orders { edges { node { id } } } customers { edges { node { id } } } }",
            "exactly one",
        ),
        (
            "{ orders { edges { node { name lineItems { edges { node { id } } } } } } }",
            "must select `id`",
        ),
        (
            "mutation { webhookSubscriptionDelete(id: \"x\") { userErrors { message } } }",
            "queries",
        ),
    ] {
        let (_, body) = graphql(&sim, shop, &token, submit, json!({ "q": query })).await;
        let answer = &body["data"]["bulkOperationRunQuery"];
        assert!(answer["bulkOperation"].is_null(), "{query}: {body}");
        let error = &answer["userErrors"][0];
        assert_eq!(error["code"], "INVALID", "{query}: {body}");
        assert!(
            error["message"].as_str().unwrap().contains(why),
            "{query}: {body}"
        );
    }
    // Nothing refused was started.
    let listed = "{ bulkOperations(first: 10) { nodes { id status } } }";
    let (_, body) = graphql(&sim, shop, &token, listed, json!({})).await;
    assert_eq!(body["data"]["bulkOperations"]["nodes"], json!([]), "{body}");

    // A valid query starts, and is found by id and by status (the replacements for the
    // deprecated currentBulkOperation).
    let query = "{ orders { edges { node { id lineItems { edges { node { id quantity } } } } } } }";
    let (_, body) = graphql(&sim, shop, &token, submit, json!({ "q": query })).await;
    let id = body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let mut done = false;
    for _ in 0..100 {
        let (_, body) = graphql(
            &sim,
            shop,
            &token,
            "query($id: ID!) { bulkOperation(id: $id) { id status } }",
            json!({ "id": id }),
        )
        .await;
        if body["data"]["bulkOperation"]["status"] == "COMPLETED" {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(done, "the export completes");
    let completed = "{ bulkOperations(first: 5, query: \"status:COMPLETED\") { nodes { id } } }";
    let (_, body) = graphql(&sim, shop, &token, completed, json!({})).await;
    assert_eq!(
        body["data"]["bulkOperations"]["nodes"][0]["id"],
        id.as_str()
    );
    let running = "{ bulkOperations(first: 5, query: \"status:RUNNING OR status:CREATED\") { nodes { id } } }";
    let (_, body) = graphql(&sim, shop, &token, running, json!({})).await;
    assert_eq!(body["data"]["bulkOperations"]["nodes"], json!([]));
}
