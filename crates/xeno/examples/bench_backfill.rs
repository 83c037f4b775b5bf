//! Backfill benchmark (see BENCHMARKS.md):
//! `cargo run --release -p xeno --example bench_backfill [-- ORDERS]`
//!
//! A simulated shop with ORDERS orders (default 100,000), a customer per five orders and a
//! product per 200, connected to Xeno (in-process, fresh database, worker off) through the
//! real OAuth flow; the backfill that the connection starts is timed from the callback to
//! its sync run completing: bulk exports, streaming, reassembly and the upsert path, rollup
//! triggers included.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use shopify_sim::SimOptions;
use sqlx::Connection;
use tokio::net::TcpListener;

const SHOP: &str = "backfill-bench.myshopify.com";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let orders: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse().context("ORDERS is a whole number")?,
        None => 100_000,
    };
    let sim = shopify_sim::spawn(
        "127.0.0.1:0".parse()?,
        SimOptions {
            api_key: "bench-key".into(),
            api_secret: "bench-secret".into(),
            time_scale: 1.0,
        },
    )
    .await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let generating = Instant::now();
    let created = http
        .post(format!("{}/_sim/shops", sim.base_url()))
        .json(
            &json!({ "domain": SHOP, "seed": 11, "orders": orders, "customers": orders / 5,
                       "products": (orders / 200).max(1), "days": 730,
                       "history_end": "2026-11-01T00:00:00Z" }),
        )
        .send()
        .await?;
    if !created.status().is_success() {
        bail!("the simulator refused the shop: {}", created.text().await?);
    }
    println!(
        "shop generated in {:.1} s",
        generating.elapsed().as_secs_f64()
    );

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let database = format!("xeno_bench_{}", uuid::Uuid::now_v7().simple());
    let vars: HashMap<&str, String> = HashMap::from([
        (
            "DATABASE_URL",
            format!("postgres://xeno_app@127.0.0.1:5432/{database}"),
        ),
        ("XENO_PUBLIC_URL", base.clone()),
        ("SHOPIFY_API_KEY", "bench-key".into()),
        ("SHOPIFY_API_SECRET", "bench-secret".into()),
        ("SHOPIFY_SHOP_URL_TEMPLATE", sim.shop_url_template()),
        ("XENO_BULK_POLL_MS", "100".into()),
    ]);
    let config = xeno::config::Config::from_lookup(|name| vars.get(name).cloned())?;
    xeno::migrate(&config).await?;
    let served = config.clone();
    let services = xeno::services(&config)?;
    tokio::spawn(
        async move { xeno::serve(&served, &services, listener, std::future::pending()).await },
    );

    let registered: Value = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({ "tenant_name": "Bench", "email": "bench@example.com", "password": "bench password 1" }))
        .send()
        .await?
        .json()
        .await?;
    let token = registered["token"].as_str().context("no token")?.to_owned();
    let started = Instant::now();
    xeno::demo::connect_shop(&http, &base, &token, SHOP).await?;
    println!(
        "{:6.1} s  connected (OAuth, shop details, webhook subscriptions)",
        started.elapsed().as_secs_f64()
    );
    let stores: Value = http
        .get(format!("{base}/api/stores"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let store = stores["data"][0]["id"]
        .as_str()
        .context("no store")?
        .to_owned();
    // Where the time goes: when each phase began, and when its first records were written
    // (before that, Shopify is preparing the export).
    let mut seen = (String::new(), 0, false);
    let run = loop {
        let run: Value = http
            .get(format!("{base}/api/sync/status?store_id={store}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let phase = run["phase"].as_str().unwrap_or_default().to_owned();
        let records = run["records"].as_i64().unwrap_or_default();
        let at = started.elapsed().as_secs_f64();
        if phase != seen.0 {
            println!("{at:6.1} s  {phase} begins ({records} records so far)");
            seen = (phase, records, false);
        } else if !seen.2 && records > seen.1 {
            println!("{at:6.1} s  {} being written", seen.0);
            seen.2 = true;
        }
        if run["status"] != "running" && run["status"].is_string() {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = started.elapsed().as_secs_f64();
    if run["status"] != "completed" {
        bail!("the backfill did not complete: {run}");
    }
    let records = run["records"].as_f64().unwrap_or_default();
    println!(
        "backfill of {orders} orders: {took:.1} s, {records} records ({:.0} records/s, {:.0} orders/s)",
        records / took,
        orders as f64 / took
    );

    let mut admin =
        sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await?;
    sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}
