//! The simulator, driven over HTTP as Xeno and tests drive it.

// Test helpers may panic: a failed expectation is the test failing.
#![allow(clippy::unwrap_used)]

mod admin;
mod bulk;
mod generation;
mod oauth;
mod webhooks;

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

async fn truth_orders(sim: &RunningSim, shop: &str) -> Vec<Value> {
    truth(sim, shop).await["orders"].as_array().unwrap().clone()
}
