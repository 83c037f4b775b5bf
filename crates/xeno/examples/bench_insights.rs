//! Insights benchmark (see BENCHMARKS.md):
//! `cargo run --release -p xeno --example bench_insights [-- ORDERS]`
//!
//! Builds one tenant with ORDERS orders (default 1,000,000) in two stores over two years,
//! a customer per five orders, a product per 200 orders, plus 20 small tenants; every record
//! is written through the ingest path's upsert functions (so the rollups are kept exactly
//! as in production). Then it measures the insights endpoints over HTTP for a 30-day and a
//! 365-day range: warm (answer cached) and cold (the tenant's data version bumped before
//! each call, as a write would, so every call computes).
//!
//! `XENO_BENCH_KEEP=1` keeps the database; `XENO_BENCH_DATABASE=name` measures a kept one
//! again (migrated to the current schema first) instead of building a new one.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use shopify_sim::shop::{Shop, ShopSpec};
use sqlx::Connection;
use xeno_domain::ids::{TenantId, UserId};
use xeno_shopify::payload::{self, Change};
use xeno_storage::accounts::NewTenant;
use xeno_storage::records;
use xeno_storage::stores::{NewStore, SealedSecrets};
use xeno_storage::Db;

mod common;
use common::{ms, percentile, Xeno, PASSWORD};

const SMALL_TENANTS: usize = 20;
const SMALL_ORDERS: usize = 2_000;
const BATCH: usize = 1_000;
const WARM_CALLS: usize = 200;
const COLD_CALLS: usize = 30;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let orders: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("ORDERS is a whole number")?,
        None => 1_000_000,
    };
    let reused = std::env::var("XENO_BENCH_DATABASE").ok();
    // Calls are measured back to back: the per-tenant rate quota is off (a small dataset
    // answers faster than it allows).
    let vars = [("XENO_TENANT_RATE", "0")];
    let xeno = Xeno::serve(None, reused.clone(), &vars, |_| false).await?;
    let (base, config, database) = (&xeno.base, &xeno.config, &xeno.database);
    let db = xeno::db(config);
    let http = reqwest::Client::new();

    let (token, tenant) = if reused.is_some() {
        sign_in(&http, base, BIG_TENANT).await?
    } else {
        build(&http, base, &db, orders).await?
    };

    // The machine runs PostgreSQL without autovacuum; production has it. Give the planner
    // statistics and the visibility map its index-only scans need, as autovacuum would.
    let mut owner =
        sqlx::PgConnection::connect(&format!("postgres://postgres@127.0.0.1:5432/{database}"))
            .await?;
    let vacuum = Instant::now();
    sqlx::query("VACUUM ANALYZE").execute(&mut owner).await?;
    println!("vacuum analyze: {:.1} s", vacuum.elapsed().as_secs_f64());

    let ranges = [
        ("30 days", "2026-10-02", "2026-10-31"),
        ("365 days", "2025-11-01", "2026-10-31"),
        // Not aligned to months: the products report reads 11 whole months and 31 edge days.
        ("365 days, mid-month", "2025-10-17", "2026-10-16"),
    ];
    println!("| endpoint | range | warm p50 | warm p95 | cold p50 | cold p95 |");
    println!("|---|---|---|---|---|---|");
    for (label, from, to) in ranges {
        for endpoint in [
            format!("/api/metrics/dashboard?from={from}&to={to}"),
            format!("/api/metrics/dashboard?from={from}&to={to}&compare=previous_period"),
            format!("/api/metrics/products?from={from}&to={to}"),
            format!("/api/metrics/checkouts?from={from}&to={to}"),
        ] {
            let url = format!("{base}{endpoint}");
            let mut cold = Vec::new();
            for _ in 0..COLD_CALLS {
                sqlx::query("UPDATE data_versions SET version = version + 1 WHERE tenant_id = $1")
                    .bind(tenant.0)
                    .execute(&mut owner)
                    .await?;
                cold.push(timed_get(&http, &url, &token).await?);
            }
            let mut warm = Vec::new();
            for _ in 0..WARM_CALLS {
                warm.push(timed_get(&http, &url, &token).await?);
            }
            let path = endpoint.split('?').next().unwrap_or_default();
            let extra = if endpoint.contains("compare") {
                " (compare)"
            } else {
                ""
            };
            println!(
                "| {path}{extra} | {label} | {} | {} | {} | {} |",
                ms(percentile(&mut warm, 0.50)),
                ms(percentile(&mut warm, 0.95)),
                ms(percentile(&mut cold, 0.50)),
                ms(percentile(&mut cold, 0.95)),
            );
        }
    }
    drop(owner);
    if std::env::var_os("XENO_BENCH_KEEP").is_some() {
        println!("kept database {database}");
        return Ok(());
    }
    xeno.drop_database().await?;
    Ok(())
}

/// The big tenant's owner.
const BIG_TENANT: &str = "big@bench.example";

/// Builds the dataset; answers the big tenant's token and id.
async fn build(
    http: &reqwest::Client,
    base: &str,
    db: &Db,
    orders: usize,
) -> anyhow::Result<(String, TenantId)> {
    let started = Instant::now();
    let (token, tenant) = register(http, base, BIG_TENANT).await?;
    let half = orders / 2;
    let big = [
        ("big-usd.myshopify.com", "USD", "America/New_York", 11),
        ("big-eur.myshopify.com", "EUR", "Europe/Berlin", 12),
    ];
    let mut loads = Vec::new();
    for (domain, currency, timezone, seed) in big {
        let spec = json!({ "domain": domain, "seed": seed, "orders": half,
            "customers": half / 5, "products": (half / 200).max(1), "days": 730,
            "currency": currency, "timezone": timezone, "history_end": "2026-11-01T00:00:00Z" });
        let db = db.clone();
        loads.push(tokio::spawn(async move { load(&db, tenant, spec).await }));
    }
    let mut written = Load::default();
    for load in loads {
        written.add(&load.await??);
    }
    // A quick run (CI's) keeps the small tenants in proportion.
    let small_orders = (orders / 500).clamp(100, SMALL_ORDERS);
    for i in 0..SMALL_TENANTS {
        // Written directly: sign-ups are limited per address, and nobody signs in as these.
        let small = TenantId::new();
        db.create_tenant(&NewTenant {
            tenant_id: small,
            user_id: UserId::new(),
            tenant_name: &format!("small{i}"),
            email: &format!("small{i}@bench.example"),
            password_hash: "not a password hash: nobody signs in",
        })
        .await?;
        let spec = json!({ "domain": format!("small{i}.myshopify.com"), "seed": 100 + i,
            "orders": small_orders, "customers": small_orders / 5, "products": 20, "days": 730,
            "history_end": "2026-11-01T00:00:00Z" });
        written.add(&load(db, small, spec).await?);
    }
    let built = started.elapsed();
    println!(
        "dataset: {} orders, {} line items, {} customers, {} products in {:.1} s ({:.0} orders/s through the upsert path)",
        written.orders,
        written.lines,
        written.customers,
        written.products,
        built.as_secs_f64(),
        written.orders as f64 / written.write_seconds.max(1e-9) * 2.0,
    );

    Ok((token, tenant))
}

async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    email: &str,
) -> anyhow::Result<(String, TenantId)> {
    let answer: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await?
        .json()
        .await?;
    token_and_tenant(&answer)
}

fn token_and_tenant(answer: &Value) -> anyhow::Result<(String, TenantId)> {
    let token = answer["token"].as_str().context("no token")?.to_owned();
    let tenant = answer["tenant_id"]
        .as_str()
        .context("no tenant id")?
        .parse()?;
    Ok((token, TenantId(tenant)))
}

async fn register(
    http: &reqwest::Client,
    base: &str,
    email: &str,
) -> anyhow::Result<(String, TenantId)> {
    token_and_tenant(&common::register(http, base, email, email).await?)
}

#[derive(Debug, Default)]
struct Load {
    orders: usize,
    lines: usize,
    customers: usize,
    products: usize,
    write_seconds: f64,
}

impl Load {
    fn add(&mut self, other: &Load) {
        self.orders += other.orders;
        self.lines += other.lines;
        self.customers += other.customers;
        self.products += other.products;
        self.write_seconds += other.write_seconds;
    }
}

/// Generates a shop and writes it through the upsert functions, as webhooks would.
async fn load(db: &Db, tenant: TenantId, spec: Value) -> anyhow::Result<Load> {
    let spec: ShopSpec = serde_json::from_value(spec)?;
    let shop = tokio::task::spawn_blocking(move || Shop::generate(&spec))
        .await?
        .map_err(anyhow::Error::msg)?;
    let store = db
        .connect_store(
            tenant,
            &NewStore {
                shop_domain: shop.domain.clone(),
                connection_kind: "custom_app",
                scopes: Vec::new(),
                secrets: SealedSecrets {
                    access_token: None,
                    refresh_token: None,
                    webhook_secret: None,
                    key_id: None,
                    access_token_expires_at: None,
                    refresh_token_expires_at: None,
                },
                shopify_shop_id: Some(shop.id),
                name: shop.name.clone(),
                currency: shop.currency.clone(),
                iana_timezone: shop.timezone.name().to_owned(),
                api_version: "2025-01".to_owned(),
            },
        )
        .await?;
    let now = chrono::Utc::now();
    let as_change =
        |topic: &str, body: String| payload::change(topic, &body, now).map(|m| m.change);
    let mut customers = Vec::new();
    for customer in shop.customers.values() {
        if let Change::Customer(c) =
            as_change("customers/create", serde_json::to_string(customer)?)?
        {
            customers.push(c);
        }
    }
    let mut products = Vec::new();
    for product in shop.products.values() {
        if let Change::Product(p) = as_change("products/create", serde_json::to_string(product)?)? {
            products.push(p);
        }
    }
    let mut orders = Vec::new();
    for order in shop.orders.values() {
        if let Change::Order(o) = as_change("orders/create", serde_json::to_string(order)?)? {
            orders.push(*o);
        }
    }
    let mut checkouts = Vec::new();
    for checkout in shop.checkouts.values() {
        if let Change::Checkout(c) =
            as_change("checkouts/create", serde_json::to_string(checkout)?)?
        {
            checkouts.push(c);
        }
    }
    let currency = shop.currency.clone();
    drop(shop);
    let written = Load {
        orders: orders.len(),
        lines: orders.iter().map(|o| o.line_items.len()).sum(),
        customers: customers.len(),
        products: products.len(),
        write_seconds: 0.0,
    };
    let writing = Instant::now();
    let mut tx = db.tenant_tx(tenant).await?;
    for chunk in customers.chunks(BATCH) {
        records::upsert_customers(&mut tx, tenant, store, chunk).await?;
    }
    records::upsert_products(&mut tx, tenant, store, &currency, &products).await?;
    records::upsert_checkouts(&mut tx, tenant, store, &checkouts).await?;
    tx.commit().await?;
    for (batch, chunk) in orders.chunks(BATCH).enumerate() {
        let mut tx = db.tenant_tx(tenant).await?;
        records::upsert_orders(&mut tx, tenant, store, chunk).await?;
        tx.commit().await?;
        // As the backfill does: statistics while the tables grow.
        if (batch + 1).is_power_of_two() {
            db.refresh_statistics().await?;
        }
    }
    Ok(Load {
        write_seconds: writing.elapsed().as_secs_f64(),
        ..written
    })
}

async fn timed_get(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let response = http.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    let took = start.elapsed();
    anyhow::ensure!(
        status.is_success(),
        "{url}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(took)
}
