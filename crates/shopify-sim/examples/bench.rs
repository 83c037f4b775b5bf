//! Simulator benchmarks (see BENCHMARKS.md): `cargo run --release -p shopify-sim --example bench`.
//!
//! 1. Generate a shop with 100,000 orders.
//! 2. Export its orders with line items through a bulk operation, file downloaded.
//! 3. Deliver webhooks to a fast local receiver.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::routing::post;
use serde_json::{json, Value};
use shopify_sim::shop::{Shop, ShopSpec};
use shopify_sim::SimOptions;

const ORDERS: usize = 100_000;
const WEBHOOKS: usize = 20_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let spec = |domain: &str| -> anyhow::Result<ShopSpec> {
        Ok(serde_json::from_value(json!({
            "domain": domain, "seed": 1, "customers": 20_000, "products": 500, "orders": ORDERS,
            "history_end": "2026-11-01T00:00:00Z",
        }))?)
    };

    let started = Instant::now();
    let shop = Shop::generate(&spec("gen.myshopify.com")?).map_err(anyhow::Error::msg)?;
    let generate = started.elapsed();
    println!(
        "generate: {} orders, {} customers, {} checkouts in {:.2} s",
        shop.orders.len(),
        shop.customers.len(),
        shop.checkouts.len(),
        generate.as_secs_f64()
    );
    drop(shop);

    let sim = shopify_sim::spawn("127.0.0.1:0".parse()?, SimOptions::default()).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let base = sim.base_url();
    let domain = "bench.myshopify.com";
    let mut body = serde_json::to_value(json!({
        "domain": domain, "seed": 1, "customers": 20_000, "products": 500, "orders": ORDERS,
        "history_end": "2026-11-01T00:00:00Z",
    }))?;
    body["currency"] = json!("USD");
    let created = http
        .post(format!("{base}/_sim/shops"))
        .json(&body)
        .send()
        .await?;
    if created.status() != 201 {
        bail!("create shop: {}", created.text().await?);
    }
    let token = install(&http, &base, domain).await?;

    // Bulk export.
    let graphql = |query: &str, variables: Value| {
        let request = http
            .post(format!("{base}/{domain}/admin/api/2026-10/graphql.json"))
            .header("x-shopify-access-token", &token)
            .json(&json!({ "query": query, "variables": variables }));
        async move { anyhow::Ok(request.send().await?.json::<Value>().await?) }
    };
    let started = Instant::now();
    let bulk = "{ orders { edges { node { id name processedAt totalPriceSet { shopMoney { amount currencyCode } } customer { id } lineItems { edges { node { id quantity sku originalUnitPriceSet { shopMoney { amount } } } } } } } } }";
    let answer = graphql("mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { message } } }", json!({ "q": bulk })).await?;
    if answer["data"]["bulkOperationRunQuery"]["userErrors"] != json!([]) {
        bail!("bulk: {answer}");
    }
    let url = loop {
        let op = graphql(
            "{ currentBulkOperation { status objectCount url } }",
            json!({}),
        )
        .await?;
        let op = &op["data"]["currentBulkOperation"];
        match op["status"].as_str() {
            Some("COMPLETED") => break op["url"].as_str().context("no url")?.to_owned(),
            Some("FAILED") => bail!("bulk failed"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let file = http.get(&url).send().await?.bytes().await?;
    let export = started.elapsed();
    let lines = file.iter().filter(|b| **b == b'\n').count();
    println!(
        "bulk export: {lines} lines, {:.1} MB in {:.2} s",
        file.len() as f64 / 1e6,
        export.as_secs_f64()
    );

    // Webhook deliveries to a receiver that only counts.
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/hooks",
        post(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async { "ok" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hooks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let subscribe = graphql(
        "mutation($url: URL!) { webhookSubscriptionCreate(topic: CUSTOMERS_CREATE, webhookSubscription: {callbackUrl: $url, format: JSON}) { userErrors { message } } }",
        json!({ "url": hook_url }),
    )
    .await?;
    if subscribe["data"]["webhookSubscriptionCreate"]["userErrors"] != json!([]) {
        bail!("subscribe: {subscribe}");
    }
    let started = Instant::now();
    let activity = http
        .post(format!("{base}/_sim/shops/{domain}/activity"))
        .json(&json!({ "customers": WEBHOOKS }))
        .send()
        .await?
        .json::<Value>()
        .await?;
    let elapsed = started.elapsed();
    let got = received.load(Ordering::Relaxed);
    println!(
        "webhooks: {got} of {} delivered in {:.2} s = {:.0} deliveries/s (signing, HTTP, receiver included)",
        activity["deliveries"],
        elapsed.as_secs_f64(),
        got as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn install(http: &reqwest::Client, base: &str, domain: &str) -> anyhow::Result<String> {
    let options = SimOptions::default();
    let authorize = format!("{base}/{domain}/admin/oauth/authorize?client_id={}&scope=read_orders&redirect_uri=http://127.0.0.1:1/cb&state=x", options.api_key);
    let response = http.get(authorize).send().await?;
    let location = response
        .headers()
        .get("location")
        .context("no redirect")?
        .to_str()?
        .to_owned();
    let code = url::Url::parse(&location)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .context("no code")?;
    let token: Value = http
        .post(format!("{base}/{domain}/admin/oauth/access_token"))
        .json(&json!({ "client_id": options.api_key, "client_secret": options.api_secret, "code": code }))
        .send()
        .await?
        .json()
        .await?;
    Ok(token["access_token"]
        .as_str()
        .context("no token")?
        .to_owned())
}
