//! Webhook benchmarks (see BENCHMARKS.md):
//! `cargo run --release -p xeno --example bench_webhooks`
//!
//! Starts Xeno in-process on a fresh database, connects a store, then sends correctly signed,
//! realistic `orders/create` payloads over many connections:
//! 1. as fast as possible (accepted per second, latency percentiles);
//! 2. at a fixed 5,000 per second (latency percentiles);
//!
//! then one worker applies what they left (events applied per second), and finally
//! 5,000 per second are offered while the service's own worker loop applies them (latency,
//! and how far applying falls behind).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use shopify_sim::shop::{Shop, ShopSpec};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

mod common;
use common::{Xeno, SECRET};

const SHOP: &str = "bench.myshopify.com";
const MAX_RATE_COUNT: usize = 30_000;
const FIXED_RATE: u64 = 5_000;
const FIXED_RATE_SECONDS: u64 = 4;
const CONNECTIONS: usize = 64;
/// Enough connections that a paced request rarely waits for one, as Shopify's many senders.
const FIXED_RATE_CONNECTIONS: usize = 256;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sim = common::simulator().await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    http.post(format!("{}/_sim/shops", sim.base_url()))
        .json(&json!({ "domain": SHOP, "orders": 10, "customers": 10, "products": 5 }))
        .send()
        .await?;

    // Xeno, in-process, on a fresh database.
    // One shop sends everything here: its quota stays in the path but never binds.
    let vars = [("XENO_SHOP_WEBHOOK_RATE", "1000000")];
    let xeno = Xeno::serve(Some(&sim), None, &vars, |_| false).await?;
    let (base, config) = (xeno.base.clone(), xeno.config.clone());

    // A tenant and a store connected through OAuth against the simulator.
    register_and_connect(&http, &base).await?;

    // Realistic payloads: generated orders, each signed as Shopify signs them.
    let spec: ShopSpec = serde_json::from_value(json!({
        "domain": SHOP, "seed": 9, "customers": 5000, "products": 200,
        "orders": MAX_RATE_COUNT + 2 * (FIXED_RATE * FIXED_RATE_SECONDS) as usize,
        "history_end": "2026-11-01T00:00:00Z",
    }))?;
    let shop = Shop::generate(&spec).map_err(anyhow::Error::msg)?;
    let bodies: Vec<(Vec<u8>, String)> = shop
        .orders
        .values()
        .map(|order| {
            let body = serde_json::to_vec(order).unwrap_or_default();
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            mac.update(&body);
            Ok((body, BASE64.encode(mac.finalize().into_bytes())))
        })
        .collect::<anyhow::Result<_>>()?;
    let average = bodies.iter().map(|b| b.0.len()).sum::<usize>() / bodies.len().max(1);
    println!(
        "payloads: {} orders/create bodies, {average} bytes on average",
        bodies.len()
    );

    // Requests are rendered to bytes before timing starts, so the generator's own cost is
    // writing them and reading the answers (as wrk does), not building HTTP requests.
    let address = common::listener_address(&base)?;
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        bodies
            .iter()
            .enumerate()
            .map(|(i, body)| render(&address, body, i))
            .collect(),
    );
    drop(bodies);

    // The load generator runs on threads of its own ("loadgen"), so profiles tell its CPU
    // use from the service's; the cores are still shared.
    let loadgen = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("loadgen")
        .enable_all()
        .build()?;
    let generate = |range: Range<usize>, rate: Option<u64>, connections: usize| {
        let (requests, address) = (Arc::clone(&requests), address.clone());
        loadgen.spawn(async move { send(&address, requests, range, rate, connections).await })
    };

    // 1. As fast as the service takes them.
    let (elapsed, latencies) = generate(0..MAX_RATE_COUNT, None, CONNECTIONS).await??;
    report("max rate", MAX_RATE_COUNT, elapsed, latencies);

    // 2. A fixed rate.
    let count = (FIXED_RATE * FIXED_RATE_SECONDS) as usize;
    let (elapsed, latencies) = generate(
        MAX_RATE_COUNT..MAX_RATE_COUNT + count,
        Some(FIXED_RATE),
        FIXED_RATE_CONNECTIONS,
    )
    .await??;
    report(&format!("fixed {FIXED_RATE}/s"), count, elapsed, latencies);

    // 3. One worker applies the backlog. Fresh statistics first, and kept fresh beside the
    //    worker by autovacuum's rule, as autovacuum would (this machine runs PostgreSQL
    //    with autovacuum off): in its own session, not in the worker's time.
    let mut owner =
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&config.database.owner).await?;
    sqlx::query("ANALYZE").execute(&mut owner).await?;
    let db = xeno::db(&config);
    let (stop_statistics, mut stopped) = tokio::sync::watch::channel(false);
    let statistics = {
        let db = db.clone();
        tokio::spawn(async move {
            while !*stopped.borrow() {
                if let Err(err) = db.refresh_statistics().await {
                    eprintln!("  refreshing statistics failed: {err}");
                }
                let _ = tokio::time::timeout(Duration::from_secs(1), stopped.changed()).await;
            }
        })
    };
    let total = MAX_RATE_COUNT + count;
    let started = Instant::now();
    let worker_config = xeno::worker_config(&config);
    let mut worker = xeno_ingest::worker::Pipeline::new(db.clone(), worker_config.clone());
    let mut applied = 0;
    let mut reported = 0;
    while applied < total {
        let outcome = worker.run_batch().await?;
        if outcome.is_empty() {
            break;
        }
        if outcome.failed > 0 {
            bail!("{} events failed to apply", outcome.failed);
        }
        applied += outcome.applied;
        if applied >= reported + 5000 {
            reported = applied;
            eprintln!(
                "  applied {applied} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = started.elapsed();
    println!(
        "apply: {applied} orders (with line items and customers) by one worker in {:.2} s = {:.0} events/s",
        elapsed.as_secs_f64(),
        applied as f64 / elapsed.as_secs_f64()
    );
    drop(worker);

    // 4. Both at once, as in production: the fixed rate again while the service's worker
    //    loop (woken by NOTIFY) applies. How far applying falls behind is the age of the
    //    oldest event not yet applied, sampled every 100 ms.
    let (stop_worker, stopping) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(xeno_ingest::worker::run(
        db.clone(),
        worker_config,
        stopping,
    ));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (db, sampling) = (db.clone(), Arc::clone(&sampling));
        tokio::spawn(async move {
            let mut behind: f64 = 0.0;
            while sampling.load(Ordering::Relaxed) {
                if let Ok(backlog) = db.webhook_backlog().await {
                    behind = behind.max(backlog.oldest_due_seconds.unwrap_or(0.0));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            behind
        })
    };
    let (elapsed, latencies) = generate(
        total..requests.len(),
        Some(FIXED_RATE),
        FIXED_RATE_CONNECTIONS,
    )
    .await??;
    let last_answer = Instant::now();
    loop {
        let backlog = db.webhook_backlog().await?;
        if backlog.dead > 0 || backlog.retrying > 0 {
            bail!("events failed to apply: {backlog:?}");
        }
        if backlog.due == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let drained = last_answer.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let behind = sampler.await?;
    stop_worker.send_replace(true);
    running.await?;
    loadgen.shutdown_background();
    report(
        &format!("fixed {FIXED_RATE}/s with the worker applying"),
        count,
        elapsed,
        latencies,
    );
    println!(
        "  applying fell behind by at most {:.0} ms (oldest event not yet applied); all applied {:.0} ms after the last answer",
        behind * 1e3,
        drained.as_secs_f64() * 1e3
    );
    stop_statistics.send_replace(true);
    statistics.await?;
    // The database goes with the run (the service's pool first).
    drop(db);
    sqlx::Connection::close(owner).await?;
    xeno.drop_database().await?;
    Ok(())
}

async fn register_and_connect(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let registered = common::register(http, base, "Bench", "bench@example.com").await?;
    xeno::demo::connect_shop(http, base, &common::token(&registered)?, SHOP).await
}

/// The `i`th `orders/create` delivery as HTTP/1.1 bytes, with the headers Shopify sends.
fn render(host: &str, body: &(Vec<u8>, String), i: usize) -> Vec<u8> {
    common::delivery(host, SHOP, body, &format!("bench-{i}"))
}

/// Sends each request of `range` once over `connections` keep-alive connections, the `i`th
/// due at `i / rate` seconds when paced. A paced request's latency counts from when it was
/// due, so time spent waiting for a free connection is not hidden (no coordinated omission).
async fn send(
    address: &str,
    requests: Arc<Vec<Vec<u8>>>,
    range: Range<usize>,
    rate: Option<u64>,
    connections: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let (start, end) = (range.start, range.end);
    let next = Arc::new(AtomicUsize::new(start));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (requests, next) = (Arc::clone(&requests), Arc::clone(&next));
        tasks.spawn(async move {
            let (reader, mut writer) = stream.into_split();
            let mut reader = BufReader::new(reader);
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i).filter(|_| i < end) else {
                    return anyhow::Ok(latencies);
                };
                let sent = match rate {
                    Some(rate) => {
                        let due =
                            started + Duration::from_secs_f64((i - start) as f64 / rate as f64);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                writer.write_all(request).await?;
                common::read_response(&mut reader).await?;
                latencies.push(sent.elapsed());
            }
        });
    }
    let mut latencies = Vec::with_capacity(range.len());
    while let Some(result) = tasks.join_next().await {
        latencies.extend(result??);
    }
    Ok((started.elapsed(), latencies))
}

fn report(name: &str, count: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{name}: {count} accepted in {:.2} s = {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}
