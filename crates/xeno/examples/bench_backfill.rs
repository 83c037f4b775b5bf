//! Backfill benchmark (see BENCHMARKS.md):
//! `cargo run --release -p xeno --example bench_backfill [-- ORDERS]`
//!
//! A simulated shop with ORDERS orders (default 100,000), a customer per five orders and a
//! product per 200, connected to Xeno (in-process, fresh database, worker off) through the
//! real OAuth flow; the backfill that the connection starts is timed from the callback to
//! its sync run completing: bulk exports, streaming, reassembly and the upsert path, rollup
//! triggers included.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

mod common;
use common::Xeno;

const SHOP: &str = "backfill-bench.myshopify.com";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let orders: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse().context("ORDERS is a whole number")?,
        None => 100_000,
    };
    let sim = common::simulator().await?;
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

    let xeno = Xeno::serve(Some(&sim), None, &[("XENO_BULK_POLL_MS", "100")], |_| false).await?;
    let base = xeno.base.clone();
    let registered = common::register(&http, &base, "Bench", "bench@example.com").await?;
    let token = common::token(&registered)?;
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

    xeno.drop_database().await?;
    Ok(())
}
