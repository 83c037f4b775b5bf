//! Shops and apps for tests: the simulator, a Xeno wired to it, connecting stores, syncs,
//! and the shop's ground truth.

use crate::support::webhooks::{post_webhook, signature};
use crate::support::TestApp;
use serde_json::{json, Value};
use shopify_sim::{RunningSim, SimOptions};
use std::time::Duration;

pub const KEY: &str = "xeno-test-key";
pub const SECRET: &str = "xeno-test-secret";

pub struct Connected {
    pub app: TestApp,
    pub sim: RunningSim,
    pub token: String,
    pub store_id: String,
    pub shop: String,
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn sim(time_scale: f64) -> RunningSim {
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

pub async fn app_for(sim: &RunningSim, extra: &[(&str, &str)]) -> TestApp {
    let template = sim.shop_url_template();
    let mut vars = vec![
        ("SHOPIFY_API_KEY", KEY),
        ("SHOPIFY_API_SECRET", SECRET),
        ("SHOPIFY_SHOP_URL_TEMPLATE", template.as_str()),
    ];
    vars.extend_from_slice(extra);
    TestApp::spawn_with(&vars).await
}

pub async fn create_shop(sim: &RunningSim, shop: &str, spec: Value) {
    let mut body = json!({ "domain": shop, "seed": 3, "customers": 40, "products": 10, "orders": 60,
                           "history_end": "2026-11-01T00:00:00Z" });
    for (k, v) in spec.as_object().unwrap() {
        body[k] = v.clone();
    }
    let response = reqwest::Client::new()
        .post(format!("{}/_sim/shops", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

/// Runs the install as a browser would: Xeno → Shopify's authorize page → Xeno's callback.
/// Returns the callback URL Shopify redirected to, without following it.
pub async fn authorize(app: &TestApp, token: &str, shop: &str) -> String {
    let install: Value = app
        .client
        .get(app.url(&format!("/api/shopify/install?shop={shop}")))
        .bearer_auth(token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let authorize_url = install["authorize_url"].as_str().unwrap();
    let approved = no_redirects().get(authorize_url).send().await.unwrap();
    assert_eq!(approved.status(), 302);
    approved.headers()["location"].to_str().unwrap().to_owned()
}

pub async fn connect(shop_spec: Value, extra: &[(&str, &str)], time_scale: f64) -> Connected {
    let sim = sim(time_scale).await;
    let shop = "acme.myshopify.com".to_owned();
    create_shop(&sim, &shop, shop_spec).await;
    let app = app_for(&sim, extra).await;
    let token = app.register("Acme", "owner@acme.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback = authorize(&app, &token, &shop).await;
    assert!(
        callback.starts_with(&app.url("/api/shopify/callback")),
        "{callback}"
    );
    let done = no_redirects().get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    let store_id = location
        .split("/stores/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .to_owned();
    // The initial sync deletes what the shop does not have: tests that send records of their
    // own start after it.
    wait_for_sync(&app, &token, &store_id).await;
    Connected {
        app,
        sim,
        token,
        store_id,
        shop,
    }
}

/// Waits for the store's latest sync run to finish, and returns it.
pub async fn wait_for_sync(app: &TestApp, token: &str, store_id: &str) -> Value {
    // Generous: a large backfill in an unoptimised test build takes a while.
    for _ in 0..6000 {
        let response = app
            .get_authed(&format!("/api/sync/status?store_id={store_id}"), token)
            .await;
        if response.status() == 200 {
            let run: Value = response.json().await.unwrap();
            if run["status"] != "running" {
                return run;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sync never finished");
}

/// An Admin API token for `shop` from the simulator's own OAuth (as a custom app has one).
pub async fn sim_token(sim: &RunningSim, shop: &str) -> String {
    sim_token_with(sim, shop, "read_orders").await
}

/// An access token of the simulator's own, granted `scope`.
pub async fn sim_token_with(sim: &RunningSim, shop: &str, scope: &str) -> String {
    let callback = {
        let url = format!("{}/{shop}/admin/oauth/authorize?client_id={KEY}&scope={scope}&redirect_uri=http://127.0.0.1:1/cb&state=s", sim.base_url());
        no_redirects().get(url).send().await.unwrap().headers()["location"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let code = query_of(&callback)
        .into_iter()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1;
    let granted: Value = reqwest::Client::new()
        .post(format!(
            "{}/{shop}/admin/oauth/access_token",
            sim.base_url()
        ))
        .json(&json!({ "client_id": KEY, "client_secret": SECRET, "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    granted["access_token"].as_str().unwrap().to_owned()
}

/// The simulated shop as it stands: every record, as the simulator holds it.
pub async fn truth(sim: &RunningSim, shop: &str) -> Value {
    reqwest::get(format!("{}/_sim/shops/{shop}/truth", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Makes `spec`'s activity happen in the simulated shop (its webhooks sent); answers what it
/// did.
pub async fn activity(sim: &RunningSim, shop: &str, spec: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Sets the simulator's fault knobs (the others back to their defaults).
pub async fn set_faults(sim: &RunningSim, faults: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

/// Starts a sync of the store now (202) without waiting for it; answers the run.
pub async fn start_sync(app: &TestApp, token: &str, store_id: &str) -> Value {
    let response = app
        .client
        .post(app.url(&format!("/api/sync/{store_id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

pub async fn stores(app: &TestApp, token: &str) -> Vec<Value> {
    let list: Value = app
        .get_authed("/api/stores", token)
        .await
        .json()
        .await
        .unwrap();
    list["data"].as_array().unwrap().clone()
}

pub async fn store_rows(app: &TestApp) -> i64 {
    let mut conn = app.connect_as("xeno_owner").await;
    sqlx::query_scalar("SELECT count(*) FROM stores")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// Waits until every change Xeno has stored lies over a second in the past. The simulator
/// stamps a record changed twice within a second a second later each time (its versions
/// must stay in order), so a burst of activity can stamp ahead of the clock; and a sync takes
/// a stored record's absence from an export as its deletion only when the record last
/// changed before the export began.
pub async fn settle(app: &TestApp) {
    let mut conn = app.connect_as("xeno_owner").await;
    let latest: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "SELECT max(updated_at) FROM (SELECT updated_at FROM customers UNION ALL \
         SELECT updated_at FROM products UNION ALL SELECT updated_at FROM orders) AS changes",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    if let Some(latest) = latest {
        let wait = latest + chrono::Duration::seconds(2) - chrono::Utc::now();
        if let Ok(wait) = wait.to_std() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// A full sync of the store now, deletions beyond the limit confirmed or not; answers the
/// finished run.
pub async fn full_sync(app: &TestApp, token: &str, store_id: &str, confirm: bool) -> Value {
    let url = app.url(&format!(
        "/api/sync/{store_id}?mode=full&confirm_deletions={confirm}"
    ));
    let response = app
        .client
        .post(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    wait_for_sync(app, token, store_id).await
}

pub async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let response = app.get_authed(path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// Every page of a list, following `next_cursor`; `between` runs after the first page.
pub async fn all_pages(
    app: &TestApp,
    token: &str,
    path: &str,
    between: impl AsyncFnOnce(),
) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    let mut between = Some(between);
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{separator}cursor={c}"),
            None => path.to_owned(),
        };
        let page = get(app, token, &url).await;
        rows.extend(page["data"].as_array().unwrap().iter().cloned());
        if let Some(between) = between.take() {
            between().await;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return rows,
        }
    }
}

pub async fn connect_shop(app: &TestApp, token: &str, shop: &str) {
    let callback = authorize(app, token, shop).await;
    let done = no_redirects().get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
}

pub async fn store_id_of(app: &TestApp, token: &str, domain: &str) -> String {
    let stores = get(app, token, "/api/stores").await;
    stores["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["shop_domain"] == domain)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An order placed at `processed_at` (local time with its offset), sent as Shopify would.
pub async fn send_webhook(app: &TestApp, domain: &str, topic: &str, payload: &Value, id: &str) {
    let body = serde_json::to_vec(payload).unwrap();
    let sig = signature(&body, SECRET);
    let response = post_webhook(
        app,
        &[
            ("content-type", "application/json"),
            ("x-shopify-topic", topic),
            ("x-shopify-hmac-sha256", &sig),
            ("x-shopify-shop-domain", domain),
            ("x-shopify-webhook-id", id),
        ],
        body,
    )
    .await;
    assert_eq!(response.status(), 200);
}

pub async fn send_order(
    app: &TestApp,
    domain: &str,
    template: &Value,
    id: i64,
    processed_at: &str,
) {
    let order = order_from(template, id, processed_at);
    let body = serde_json::to_vec(&order).unwrap();
    let sig = signature(&body, SECRET);
    let webhook_id = format!("midnight-{id}");
    let response = post_webhook(
        app,
        &[
            ("content-type", "application/json"),
            ("x-shopify-topic", "orders/create"),
            ("x-shopify-hmac-sha256", &sig),
            ("x-shopify-shop-domain", domain),
            ("x-shopify-webhook-id", &webhook_id),
        ],
        body,
    )
    .await;
    assert_eq!(response.status(), 200);
}

/// A counted, uncancelled order of the shop's truth, to copy new orders from.
pub fn order_template(truth: &Value) -> Value {
    truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| crate::support::oracle::counted(o) && o["cancelled_at"].is_null())
        .expect("the shop has a counted, uncancelled order")
        .clone()
}

/// A new paid order `id` like `template` (its lines with ids of their own), placed at
/// `processed_at`.
pub fn order_from(template: &Value, id: i64, processed_at: &str) -> Value {
    let mut order = template.clone();
    order["id"] = json!(id);
    order["admin_graphql_api_id"] = json!(format!("gid://shopify/Order/{id}"));
    order["name"] = json!(format!("#M{id}"));
    for field in ["created_at", "updated_at", "processed_at"] {
        order[field] = json!(processed_at);
    }
    order["refunds"] = json!([]);
    order["cancelled_at"] = Value::Null;
    order["current_total_price"] = order["total_price"].clone();
    for (i, line) in order["line_items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        line["id"] = json!(id * 10 + i as i64);
        line["current_quantity"] = line["quantity"].clone();
    }
    order
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}
