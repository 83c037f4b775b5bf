//! Connecting stores and ingesting their webhooks, against the Shopify simulator.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use shopify_sim::{RunningSim, SimOptions};
use sqlx::Row;

use crate::support::{expect_problem, TestApp};

const KEY: &str = "xeno-test-key";
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
async fn sim_token(sim: &RunningSim, shop: &str) -> String {
    let callback = {
        let url = format!("{}/{shop}/admin/oauth/authorize?client_id={KEY}&scope=read_orders&redirect_uri=http://127.0.0.1:1/cb&state=s", sim.base_url());
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
async fn set_faults(sim: &RunningSim, faults: Value) {
    let response = reqwest::Client::new()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

/// Starts a sync of the store now (202) without waiting for it; answers the run.
async fn start_sync(app: &TestApp, token: &str, store_id: &str) -> Value {
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

async fn stores(app: &TestApp, token: &str) -> Vec<Value> {
    let list: Value = app
        .get_authed("/api/stores", token)
        .await
        .json()
        .await
        .unwrap();
    list["data"].as_array().unwrap().clone()
}

async fn store_rows(app: &TestApp) -> i64 {
    let mut conn = app.connect_as("xeno_owner").await;
    sqlx::query_scalar("SELECT count(*) FROM stores")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn oauth_install_connects_the_store_and_subscribes_its_webhooks() {
    let c = connect(
        json!({ "currency": "JPY", "timezone": "Asia/Tokyo" }),
        &[],
        1.0,
    )
    .await;
    let list = stores(&c.app, &c.token).await;
    assert_eq!(list.len(), 1);
    let store = &list[0];
    assert_eq!(store["id"], c.store_id.as_str());
    assert_eq!(store["shop_domain"], "acme.myshopify.com");
    assert_eq!(store["status"], "active");
    assert_eq!(store["currency"], "JPY");
    assert_eq!(store["iana_timezone"], "Asia/Tokyo");
    assert_eq!(store["connection_kind"], "oauth");
    assert!(
        store["shopify_shop_id"].is_string(),
        "big ids travel as strings"
    );
    assert!(
        store["token_expires_at"].is_string(),
        "an expiring offline token by default"
    );
    let scopes: Vec<&str> = store["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"read_all_orders"));

    let subscriptions: Value = reqwest::get(format!(
        "{}/_sim/shops/{}/subscriptions",
        c.sim.base_url(),
        c.shop
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let subscriptions = subscriptions.as_array().unwrap();
    assert_eq!(subscriptions.len(), xeno_ingest::connect::TOPICS.len());
    assert!(subscriptions
        .iter()
        .all(|s| s["callback_url"] == c.app.url("/api/webhooks/shopify")));

    // The token at rest is sealed, not the token.
    let mut conn = c.app.connect_as("xeno_owner").await;
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT access_token FROM stores")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(!sealed.windows(6).any(|w| w == b"shpat_"));

    // Another account cannot take the shop over.
    let other = c.app.register("Rival", "rival@example.com").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback = authorize(&c.app, &other, &c.shop).await;
    let refused = no_redirects().get(&callback).send().await.unwrap();
    expect_problem(refused, 409, "conflict").await;
    assert!(stores(&c.app, &other).await.is_empty());
}

fn sign_query(params: &[(&str, String)]) -> String {
    let mut pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(pairs.join("&").as_bytes());
    hex_encode(&mac.finalize().into_bytes())
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn query_of(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn with_params(app: &TestApp, params: &[(&str, String)], hmac: &str) -> String {
    let mut url = url::Url::parse(&app.url("/api/shopify/callback")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        q.append_pair("hmac", hmac);
    }
    url.to_string()
}

#[tokio::test]
async fn tampered_callbacks_are_refused_and_store_nothing() {
    let sim = sim(1.0).await;
    let shop = "acme.myshopify.com";
    create_shop(&sim, shop, json!({})).await;
    let app = app_for(&sim, &[]).await;
    let token = app.register("Acme", "a@acme.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.register("Other", "o@other.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = no_redirects();

    // A wrong hmac.
    let callback = authorize(&app, &token, shop).await;
    let mut params = query_of(&callback);
    let tampered: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| {
            if k == "hmac" {
                (k.clone(), "00".repeat(32))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    let url = with_params(
        &app,
        &tampered
            .iter()
            .filter(|(k, _)| k != "hmac")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect::<Vec<_>>(),
        &"00".repeat(32),
    );
    expect_problem(http.get(url).send().await.unwrap(), 401, "unauthenticated").await;

    // A shop that is not a myshopify.com host, correctly signed.
    params.retain(|(k, _)| k != "hmac");
    let mut evil: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (k, v) in &mut evil {
        if *k == "shop" {
            *v = "acme.evil.com".to_owned();
        }
    }
    let hmac = sign_query(&evil);
    expect_problem(
        http.get(with_params(&app, &evil, &hmac))
            .send()
            .await
            .unwrap(),
        400,
        "bad_request",
    )
    .await;

    // A stale timestamp, correctly signed.
    let mut stale: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (k, v) in &mut stale {
        if *k == "timestamp" {
            *v = (chrono::Utc::now().timestamp() - 3600).to_string();
        }
    }
    let hmac = sign_query(&stale);
    expect_problem(
        http.get(with_params(&app, &stale, &hmac))
            .send()
            .await
            .unwrap(),
        400,
        "bad_request",
    )
    .await;

    // An expired state, signed with the service's own key.
    let state_keys = xeno_http::auth::StateKeys::new(app.config.jwt_secret.as_bytes());
    let claims: Value = {
        let state = params.iter().find(|(k, _)| k == "state").unwrap().1.clone();
        let payload = state.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    let expired = state_keys
        .issue(&xeno_http::auth::InstallState {
            tid: claims["tid"].as_str().unwrap().parse().unwrap(),
            sub: claims["sub"].as_str().unwrap().parse().unwrap(),
            shop: shop.to_owned(),
            nonce: claims["nonce"].as_str().unwrap().to_owned(),
            exp: chrono::Utc::now().timestamp() - 10,
        })
        .unwrap();
    let mut old: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (k, v) in &mut old {
        if *k == "state" {
            *v = expired.clone();
        }
    }
    let hmac = sign_query(&old);
    expect_problem(
        http.get(with_params(&app, &old, &hmac))
            .send()
            .await
            .unwrap(),
        401,
        "unauthenticated",
    )
    .await;

    // The right state, but claiming another tenant: that tenant never issued the nonce.
    let other_me: Value = app
        .get_authed("/api/auth/me", &other)
        .await
        .json()
        .await
        .unwrap();
    let hijack = state_keys
        .issue(&xeno_http::auth::InstallState {
            tid: other_me["tenant"]["id"].as_str().unwrap().parse().unwrap(),
            sub: other_me["user"]["id"].as_str().unwrap().parse().unwrap(),
            shop: shop.to_owned(),
            nonce: claims["nonce"].as_str().unwrap().to_owned(),
            exp: chrono::Utc::now().timestamp() + 300,
        })
        .unwrap();
    let mut wrong_tenant: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (k, v) in &mut wrong_tenant {
        if *k == "state" {
            *v = hijack.clone();
        }
    }
    let hmac = sign_query(&wrong_tenant);
    expect_problem(
        http.get(with_params(&app, &wrong_tenant, &hmac))
            .send()
            .await
            .unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(
        store_rows(&app).await,
        0,
        "nothing stored by any refused callback"
    );

    // The genuine callback works once; replaying it is refused.
    let first = http.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), 303);
    let again = http.get(&callback).send().await.unwrap();
    expect_problem(again, 401, "unauthenticated").await;
    assert_eq!(store_rows(&app).await, 1);
}

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

async fn event_count(app: &TestApp) -> i64 {
    let mut conn = app.connect_as("xeno_owner").await;
    sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

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

/// Delivers a signed `customers/create` webhook to the connected shop's service, expecting a
/// 200; returns the delivery's webhook id.
async fn deliver_customer(c: &Connected, webhook_id: String, body: Vec<u8>) -> String {
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

    // A worker's retention pass (the one it runs when it starts).
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let pass = tokio::spawn(xeno_ingest::retention::run(
        xeno::db(&app.config),
        Duration::from_secs(30 * 86_400),
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

/// A sample's value from `/metrics` (0 when absent).
pub(crate) async fn metric(app: &TestApp, sample: &str) -> f64 {
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

async fn wait_for_status(app: &TestApp, token: &str, webhook_id: &str, status: &str) -> Value {
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

/// Waits until no event is pending or failed (dead letters are final).
pub async fn drain(app: &TestApp) {
    let mut conn = app.connect_as("xeno_owner").await;
    for _ in 0..1200 {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_events WHERE status IN ('pending', 'failed')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if open == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the worker did not drain");
}

pub fn dec(v: &Value) -> String {
    // Normalise decimals: "10.50" and 10.5 compare equal.
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed
    }
}

fn ts(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp()
}

/// Customers, orders (with line items and refunds) and products (with variants) in Xeno
/// equal the shop's, field by field; records the shop deleted are gone.
pub async fn assert_matches_truth(conn: &mut sqlx::PgConnection, truth: &Value) {
    let customers: BTreeMap<i64, Value> = truth["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c.clone()))
        .collect();
    let rows = sqlx::query(
        "SELECT customer_id, email, first_name, last_name, state, tags, updated_at FROM customers",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut seen = 0;
    for row in &rows {
        let id: i64 = row.get("customer_id");
        let Some(expected) = customers.get(&id) else {
            panic!("customer {id} is not in the shop")
        };
        seen += 1;
        assert_eq!(
            row.get::<Option<String>, _>("email").as_deref(),
            expected["email"].as_str(),
            "customer {id}"
        );
        assert_eq!(
            row.get::<Option<String>, _>("first_name").as_deref(),
            expected["first_name"].as_str()
        );
        assert_eq!(
            row.get::<Option<String>, _>("state").as_deref(),
            expected["state"].as_str()
        );
        let tags: Vec<String> = row.get("tags");
        assert_eq!(
            tags.join(","),
            expected["tags"].as_str().unwrap().replace(", ", ","),
            "customer {id} tags"
        );
        assert_eq!(
            row.get::<chrono::DateTime<chrono::Utc>, _>("updated_at")
                .timestamp(),
            ts(&expected["updated_at"])
        );
    }
    assert_eq!(seen, customers.len(), "every customer arrived");

    let orders: BTreeMap<i64, Value> = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_i64().unwrap(), o.clone()))
        .collect();
    let rows = sqlx::query(
        "SELECT order_id, total_price::text AS total, current_total_price::text AS current, financial_status, \
             cancelled_at, updated_at, customer_id, test FROM orders",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), orders.len(), "every order, none extra");
    for row in &rows {
        let id: i64 = row.get("order_id");
        let expected = &orders[&id];
        assert_eq!(
            dec(&json!(row.get::<String, _>("total"))),
            dec(&expected["total_price"]),
            "order {id}"
        );
        assert_eq!(
            dec(&json!(row.get::<String, _>("current"))),
            dec(&expected["current_total_price"]),
            "order {id} current"
        );
        assert_eq!(
            row.get::<Option<String>, _>("financial_status").as_deref(),
            expected["financial_status"].as_str(),
            "order {id}"
        );
        assert_eq!(
            row.get::<Option<chrono::DateTime<chrono::Utc>>, _>("cancelled_at")
                .map(|t| t.timestamp()),
            expected["cancelled_at"]
                .as_str()
                .map(|_| ts(&expected["cancelled_at"]))
        );
        assert_eq!(
            row.get::<chrono::DateTime<chrono::Utc>, _>("updated_at")
                .timestamp(),
            ts(&expected["updated_at"]),
            "order {id}"
        );
        assert_eq!(
            row.get::<Option<i64>, _>("customer_id"),
            expected["customer"]["id"].as_i64()
        );
        assert_eq!(
            row.get::<bool, _>("test"),
            expected["test"].as_bool().unwrap()
        );
    }
    // Line items and refunds, compared as sets.
    let lines: Vec<(i64, i64, i32, Option<i32>, String)> =
        sqlx::query_as("SELECT order_id, line_item_id, quantity, current_quantity, price::text FROM order_line_items ORDER BY 1, 2")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let mut expected_lines = Vec::new();
    let mut expected_refunds = Vec::new();
    for order in orders.values() {
        let id = order["id"].as_i64().unwrap();
        for l in order["line_items"].as_array().unwrap() {
            expected_lines.push((
                id,
                l["id"].as_i64().unwrap(),
                l["quantity"].as_i64().unwrap() as i32,
                Some(l["current_quantity"].as_i64().unwrap() as i32),
                dec(&l["price"]),
            ));
        }
        for r in order["refunds"].as_array().unwrap() {
            let amount: f64 = r["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["amount"].as_str().unwrap().parse::<f64>().unwrap())
                .sum();
            expected_refunds.push((r["id"].as_i64().unwrap(), id, format!("{amount:.2}")));
        }
    }
    expected_lines.sort();
    let lines: Vec<_> = lines
        .into_iter()
        .map(|(o, l, q, c, p)| (o, l, q, c, dec(&json!(p))))
        .collect();
    assert_eq!(lines, expected_lines);
    let mut refunds: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT refund_id, order_id, to_char(amount, 'FM999999990.00') FROM refunds",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    refunds.sort();
    expected_refunds.sort();
    assert_eq!(refunds, expected_refunds);

    // Products (deleted ones gone), with variants.
    let products: BTreeMap<i64, Value> = truth["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p.clone()))
        .collect();
    let rows: Vec<(i64, String, Option<String>, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT product_id, title, status, updated_at FROM products")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        rows.len(),
        products.len(),
        "every product still in the shop"
    );
    for (id, title, status, updated_at) in &rows {
        let expected = products
            .get(id)
            .unwrap_or_else(|| panic!("product {id} was deleted in the shop"));
        assert_eq!(title, expected["title"].as_str().unwrap());
        assert_eq!(status.as_deref(), expected["status"].as_str());
        assert_eq!(updated_at.timestamp(), ts(&expected["updated_at"]));
        let variants: Vec<(i64, String, Option<i32>)> = sqlx::query_as(
            "SELECT variant_id, price::text, inventory_quantity FROM product_variants WHERE product_id = $1 ORDER BY 1",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let expected_variants: Vec<(i64, String, Option<i32>)> = expected["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["id"].as_i64().unwrap(),
                    dec(&v["price"]),
                    Some(v["inventory_quantity"].as_i64().unwrap() as i32),
                )
            })
            .collect();
        let variants: Vec<_> = variants
            .into_iter()
            .map(|(i, p, q)| (i, dec(&json!(p)), q))
            .collect();
        assert_eq!(variants, expected_variants, "product {id} variants");
    }
}

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

#[tokio::test]
async fn custom_app_tokens_are_verified_before_saving() {
    let sim = sim(1.0).await;
    let shop = "custom.myshopify.com";
    create_shop(
        &sim,
        shop,
        json!({ "currency": "EUR", "timezone": "Europe/Berlin" }),
    )
    .await;
    let app = app_for(&sim, &[]).await;
    let token = app.register("Custom", "c@custom.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |body: Value| {
        let request = app
            .client
            .post(app.url("/api/stores"))
            .bearer_auth(&token)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let wrong = post(json!({ "shop_domain": shop, "access_token": "shpat_wrong" })).await;
    let body = expect_problem(wrong, 422, "invalid_fields").await;
    assert_eq!(body["errors"][0]["field"], "access_token");
    let bad_domain =
        post(json!({ "shop_domain": "custom.example.com", "access_token": "x" })).await;
    expect_problem(bad_domain, 422, "invalid_fields").await;
    assert_eq!(store_rows(&app).await, 0);

    // A real custom-app token (issued by the simulator's OAuth, non-expiring).
    let access_token = sim_token(&sim, shop).await;
    let created = post(json!({ "shop_domain": shop, "access_token": access_token, "webhook_secret": "custom-secret" })).await;
    assert_eq!(created.status(), 201);
    let store: Value = created.json().await.unwrap();
    assert_eq!(store["connection_kind"], "custom_app");
    assert_eq!(store["currency"], "EUR");
    assert!(
        store["token_expires_at"].is_null(),
        "custom-app tokens do not expire"
    );

    // Its webhooks verify with its own secret.
    let body =
        br#"{"id": 5, "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"}"#
            .to_vec();
    let ok = post_webhook(
        &app,
        &[
            ("x-shopify-topic", "customers/create"),
            ("x-shopify-hmac-sha256", &signature(&body, "custom-secret")),
            ("x-shopify-shop-domain", shop),
            ("x-shopify-webhook-id", "custom-1"),
        ],
        body,
    )
    .await;
    assert_eq!(ok.status(), 200);

    // Disconnecting deletes the subscriptions at Shopify and purges on request.
    let run = wait_for_sync(&app, &token, store["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "completed", "{run}");
    drain(&app).await;
    let deleted = app
        .client
        .delete(app.url(&format!(
            "/api/stores/{}?purge=true",
            store["id"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let subscriptions: Value = reqwest::get(format!(
        "{}/_sim/shops/{shop}/subscriptions",
        sim.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(subscriptions, json!([]));
    let after: Value = app
        .get_authed(
            &format!("/api/stores/{}", store["id"].as_str().unwrap()),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["status"], "disconnected");
    assert_eq!(after["counts"]["customers"], 0);
}

#[tokio::test]
async fn expiring_tokens_refresh_through_many_expiries_with_two_workers_racing() {
    // One-second access tokens.
    let c = connect(json!({}), &[], 3600.0).await;
    let tenant: Value = c
        .app
        .get_authed("/api/auth/me", &c.token)
        .await
        .json()
        .await
        .unwrap();
    let tenant =
        xeno_domain::ids::TenantId(tenant["tenant"]["id"].as_str().unwrap().parse().unwrap());
    let store = xeno_domain::ids::StoreId(c.store_id.parse().unwrap());
    let state = xeno::app_state(&c.app.config, &xeno::services(&c.app.config).unwrap()).unwrap();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let state = state.clone();
        let shop = c.shop.clone();
        workers.push(tokio::spawn(async move {
            for _ in 0..8 {
                let token = xeno_ingest::connect::access_token(
                    &state.db,
                    &state.cipher,
                    &state.shopify,
                    &state.http,
                    tenant,
                    store,
                    &shop,
                )
                .await
                .expect("a live token");
                let admin = xeno_shopify::admin::AdminClient::new(
                    state.http.clone(),
                    &state.shopify.base_url(&shop),
                    &state.shopify.api_version,
                    &token,
                );
                admin.shop().await.expect("every API call succeeds");
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let store: Value = c
        .app
        .get_authed(&format!("/api/stores/{}", c.store_id), &c.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(store["status"], "active");
}

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
async fn a_revoked_token_marks_the_store_for_reauthorisation() {
    let c = connect(json!({ "customers": 20, "orders": 30 }), &[], 1.0).await;
    let (app, token) = (&c.app, c.token.as_str());
    let revoked = reqwest::Client::new()
        .post(format!("{}/_sim/shops/{}/revoke", c.sim.base_url(), c.shop))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);

    let sync_now = || async {
        app.client
            .post(app.url(&format!("/api/sync/{}", c.store_id)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(sync_now().await.status(), 202);
    let run = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(run["status"], "failed", "{run}");
    let store: Value = app
        .get_authed(&format!("/api/stores/{}", c.store_id), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(store["status"], "needs_reauth", "{store}");
    assert!(
        store["status_reason"]
            .as_str()
            .unwrap()
            .contains("reconnect"),
        "{store}"
    );
    // Nothing retries against a refused token: syncing asks for a reconnection first.
    let refused = expect_problem(sync_now().await, 409, "conflict").await;
    assert!(
        refused["detail"].as_str().unwrap().contains("reconnect"),
        "{refused}"
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

/// Waits until every change Xeno has stored lies over a second in the past. The simulator
/// stamps a record changed twice within a second a second later each time (its versions
/// must stay in order), so a burst of activity can stamp ahead of the clock; and a sync takes
/// a stored record's absence from an export as its deletion only when the record last
/// changed before the export began.
async fn settle(app: &TestApp) {
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

/// A full sync of the store now, deletions beyond the limit confirmed or not; answers the
/// finished run.
async fn full_sync(app: &TestApp, token: &str, store_id: &str, confirm: bool) -> Value {
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
