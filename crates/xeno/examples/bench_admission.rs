//! Admission control under overload (see BENCHMARKS.md):
//! `cargo run --release -p xeno --example bench_admission`
//!
//! Starts Xeno in-process with its default limits on a fresh database, connects a store
//! with a few thousand orders, then reads the orders list (a query per request: lists are
//! not cached):
//! 1. a quiet tenant alone at a light rate (its baseline latency);
//! 2. a busy tenant as fast as its share of the service allows (the capacity);
//! 3. the busy tenant offering twice that, open loop, while the quiet tenant goes on:
//!    goodput, the admitted requests' latency, what was shed, the quiet tenant's latency,
//!    and the process's peak memory;
//! 4. the busy tenant right after the load drops (recovery).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{json, Value};

mod common;
use common::Xeno;

const SHOP: &str = "admission.myshopify.com";
const ORDERS: usize = 5_000;
const QUIET_RATE: f64 = 20.0;
const CAPACITY_SECONDS: u64 = 5;
const OVERLOAD_SECONDS: u64 = 10;

#[derive(Default)]
struct Outcomes {
    /// Latencies of answered (200) requests, in milliseconds.
    ok: Vec<f64>,
    statuses: HashMap<u16, usize>,
}

impl Outcomes {
    fn add(&mut self, status: u16, latency: Duration) {
        *self.statuses.entry(status).or_default() += 1;
        if status == 200 {
            self.ok.push(latency.as_secs_f64() * 1000.0);
        }
    }

    fn percentile(&mut self, p: f64) -> f64 {
        if self.ok.is_empty() {
            return f64::NAN;
        }
        self.ok.sort_by(f64::total_cmp);
        let at = ((self.ok.len() as f64 * p).ceil() as usize).clamp(1, self.ok.len()) - 1;
        self.ok[at]
    }

    fn summary(&mut self) -> String {
        let (p50, p99) = (self.percentile(0.5), self.percentile(0.99));
        let mut statuses: Vec<_> = self.statuses.iter().collect();
        statuses.sort();
        format!("p50 {p50:.1} ms, p99 {p99:.1} ms, statuses {statuses:?}")
    }
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> (u16, Duration) {
    let started = Instant::now();
    let status = match http.get(url).bearer_auth(token).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let _ = response.bytes().await;
            status
        }
        Err(_) => 0,
    };
    (status, started.elapsed())
}

/// `rate` requests a second for `seconds`, each sent when due whatever the others are
/// doing (open loop), so a slow service meets the full offered load.
async fn open_loop(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    rate: f64,
    seconds: u64,
) -> Outcomes {
    let started = Instant::now();
    let count = (rate * seconds as f64) as usize;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (http, url, token) = (http.clone(), url.to_owned(), token.to_owned());
        tasks.spawn(async move { get(&http, &url, &token).await });
    }
    let mut outcomes = Outcomes::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok((status, latency)) = done {
            outcomes.add(status, latency);
        }
    }
    outcomes
}

/// `clients` requests in flight at all times for `seconds`.
async fn closed_loop(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    clients: usize,
    seconds: u64,
) -> Outcomes {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (http, url, token) = (http.clone(), url.to_owned(), token.to_owned());
        tasks.spawn(async move {
            let mut outcomes = Outcomes::default();
            while Instant::now() < until {
                let (status, latency) = get(&http, &url, &token).await;
                outcomes.add(status, latency);
            }
            outcomes
        });
    }
    let mut all = Outcomes::default();
    while let Some(done) = tasks.join_next().await {
        if let Ok(outcomes) = done {
            all.ok.extend(outcomes.ok);
            for (status, n) in outcomes.statuses {
                *all.statuses.entry(status).or_default() += n;
            }
        }
    }
    all
}

fn resident_megabytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

async fn register(http: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<String> {
    let answer = common::register(http, base, name, &format!("{name}@example.com")).await?;
    common::token(&answer)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sim = common::simulator().await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1024)
        .build()?;
    http.post(format!("{}/_sim/shops", sim.base_url()))
        .json(&json!({ "domain": SHOP, "orders": ORDERS, "customers": 1000, "products": 50 }))
        .send()
        .await?
        .error_for_status()?;

    let vars = [
        // The rate quota would refuse the flood first; this measures admission alone.
        ("XENO_TENANT_RATE", "0"),
        ("XENO_SYNC_INTERVAL", "0"),
    ];
    // The admission settings can be tried from the environment (defaults otherwise).
    let tried = |name: &str| name.contains("IN_FLIGHT") || name.contains("QUEUE");
    let xeno = Xeno::serve(Some(&sim), None, &vars, tried).await?;
    xeno.start_worker();
    let (base, config) = (xeno.base.clone(), xeno.config.clone());

    let busy = register(&http, &base, "busy").await?;
    let quiet = register(&http, &base, "quiet").await?;
    xeno::demo::connect_shop(&http, &base, &busy, SHOP).await?;
    let url = format!("{base}/api/orders?limit=50");
    let loaded = Instant::now();
    loop {
        let page: Value = http
            .get(&url)
            .bearer_auth(&busy)
            .send()
            .await?
            .json()
            .await?;
        if page["data"]
            .as_array()
            .is_some_and(|items| items.len() == 50)
        {
            break;
        }
        if loaded.elapsed() > Duration::from_secs(120) {
            bail!("the backfill did not finish in two minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The quiet tenant reads its own (empty) list: a query per request all the same.
    println!(
        "limits: {} API requests at once, {} per tenant; {ORDERS} orders",
        config.admission.api, config.admission.per_tenant
    );

    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(resident_megabytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    let mut baseline = open_loop(&http, &url, &quiet, QUIET_RATE, 3).await;
    println!(
        "1. quiet tenant alone, {QUIET_RATE}/s: {}",
        baseline.summary()
    );

    let share = config.admission.per_tenant;
    let mut capacity = closed_loop(&http, &url, &busy, share, CAPACITY_SECONDS).await;
    let capacity_rate = capacity.ok.len() as f64 / CAPACITY_SECONDS as f64;
    println!(
        "2. busy tenant, {share} in flight: {capacity_rate:.0} answered/s, {}",
        capacity.summary()
    );

    let offered = capacity_rate * 2.0;
    let rss_before = resident_megabytes();
    let (mut flood, mut neighbour) = tokio::join!(
        open_loop(&http, &url, &busy, offered, OVERLOAD_SECONDS),
        open_loop(&http, &url, &quiet, QUIET_RATE, OVERLOAD_SECONDS),
    );
    let goodput = flood.ok.len() as f64 / OVERLOAD_SECONDS as f64;
    println!(
        "3. busy tenant offered {offered:.0}/s: goodput {goodput:.0}/s ({:.0} % of capacity), admitted {}",
        goodput / capacity_rate * 100.0,
        flood.summary()
    );
    println!(
        "   quiet tenant meanwhile: {}; memory {rss_before} MB before, {} MB at peak",
        neighbour.summary(),
        peak.load(Ordering::Relaxed)
    );

    let after = Instant::now();
    let (status, latency) = get(&http, &url, &busy).await;
    println!(
        "4. right after: {status} in {:.1} ms ({:.1} ms after the load stopped)",
        latency.as_secs_f64() * 1000.0,
        after.elapsed().as_secs_f64() * 1000.0
    );
    sampling.store(false, Ordering::Relaxed);

    xeno.drop_database().await?;
    Ok(())
}
