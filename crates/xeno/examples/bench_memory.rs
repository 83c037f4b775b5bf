//! Memory benchmark (see BENCHMARKS.md):
//! `cargo run --release -p xeno --example bench_memory [-- SECONDS]` (default 600)
//!
//! The service runs as `xeno all` runs it (serving, and its own worker applying) in a child
//! process (this example started again with `--service`), so the resident size sampled is
//! the service's alone, not the simulator's or the load generator's. For SECONDS the parent
//! offers 5,000 signed `orders/create` webhooks a second (each a new order with new line
//! items) and 200 dashboard reads a second, and reads the child's resident size (`VmRSS`)
//! every second. It prints the size before the load, the median and the largest under load,
//! and the growth from the first to the last tenth of the run after a warm-up tenth. It
//! fails only when the service does (a delivery or a read refused, an event not applied).

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use shopify_sim::shop::{Shop, ShopSpec};
use sqlx::Connection;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

mod common;
use common::{Xeno, API_KEY, SECRET};

const SHOP: &str = "memory.myshopify.com";
const WEBHOOK_RATE: u64 = 5_000;
const READ_RATE: u64 = 200;
const CONNECTIONS: usize = 64;
/// Generated orders the deliveries are made from (each sent many times over, with new ids).
const TEMPLATES: usize = 2_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("--service") {
        return service().await;
    }
    let seconds: u64 = match first {
        Some(n) => n.parse().context("SECONDS is a whole number")?,
        None => 600,
    };

    let sim = common::simulator().await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    http.post(format!("{}/_sim/shops", sim.base_url()))
        .json(&json!({ "domain": SHOP, "orders": 200, "customers": 50, "products": 20 }))
        .send()
        .await?
        .error_for_status()?;

    // The service, in a process of its own.
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--service")
        .env("SHOPIFY_API_KEY", API_KEY)
        .env("SHOPIFY_API_SECRET", SECRET)
        .env("SHOPIFY_SHOP_URL_TEMPLATE", sim.shop_url_template())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut ready = String::new();
    std::io::BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut ready)?;
    let (base, database) = match ready.split_whitespace().collect::<Vec<_>>()[..] {
        ["ready", base, database] => (base.to_owned(), database.to_owned()),
        _ => bail!("the service did not start: {ready:?}"),
    };
    let pid = child.id();
    let outcome = measure(&http, &base, &database, pid, seconds).await;
    // Closing its stdin stops the service; then its database goes.
    drop(child.stdin.take());
    child.wait()?;
    let mut admin =
        sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await?;
    sqlx::query(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    outcome
}

/// The child: Xeno serving with its worker, until its stdin closes.
async fn service() -> anyhow::Result<()> {
    let shopify = |name: &str| name.starts_with("SHOPIFY_");
    let vars = [("XENO_SHOP_WEBHOOK_RATE", "1000000")];
    let xeno = Xeno::serve(None, None, &vars, shopify).await?;
    xeno.start_worker();
    println!("ready {} {}", xeno.base, xeno.database);
    std::io::stdout().flush()?;
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0 {
            line.clear();
        }
    })
    .await?;
    Ok(())
}

async fn measure(
    http: &reqwest::Client,
    base: &str,
    database: &str,
    pid: u32,
    seconds: u64,
) -> anyhow::Result<()> {
    let registered = common::register(http, base, "Bench", "bench@example.com").await?;
    let token = common::token(&registered)?;
    xeno::demo::connect_shop(http, base, &token, SHOP).await?;

    let spec: ShopSpec = serde_json::from_value(json!({
        "domain": SHOP, "seed": 21, "customers": 500, "products": 100, "orders": TEMPLATES,
        "history_end": "2026-11-01T00:00:00Z",
    }))?;
    let shop = Shop::generate(&spec).map_err(anyhow::Error::msg)?;
    let templates: Arc<Vec<Value>> = Arc::new(
        shop.orders
            .values()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?,
    );
    let address = common::listener_address(base)?;
    let before = resident_kb(pid)?;
    println!(
        "service resident before the load: {:.0} MB",
        before as f64 / 1024.0
    );

    // Deliveries, each due at i / rate, rendered when due: a new order id and line item ids
    // on one of the templates, signed as Shopify signs.
    let total = (WEBHOOK_RATE * seconds) as usize;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let stream = TcpStream::connect(&address).await?;
        stream.set_nodelay(true)?;
        let (next, templates, address) =
            (Arc::clone(&next), Arc::clone(&templates), address.clone());
        senders.spawn(async move {
            let (reader, mut writer) = stream.into_split();
            let mut reader = BufReader::new(reader);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                let due = started + Duration::from_secs_f64(i as f64 / WEBHOOK_RATE as f64);
                tokio::time::sleep_until(due.into()).await;
                let request = delivery(&address, &templates, i)?;
                writer.write_all(&request).await?;
                common::read_response(&mut reader).await?;
            }
        });
    }
    // Dashboard reads, paced the same way; every one must be answered 200.
    let reads = {
        let (http, base, token) = (http.clone(), base.to_owned(), token.clone());
        tokio::spawn(async move {
            let mut answered = tokio::task::JoinSet::new();
            let count = READ_RATE * seconds;
            let mut shed = 0_u64;
            for i in 0..count {
                let due = started + Duration::from_secs_f64(i as f64 / READ_RATE as f64);
                tokio::time::sleep_until(due.into()).await;
                let request = http
                    .get(format!("{base}/api/metrics/dashboard"))
                    .bearer_auth(&token);
                answered.spawn(async move {
                    let response = request.send().await?;
                    let status = response.status();
                    response.bytes().await?;
                    match status {
                        // Shed by admission control when the machine is saturated.
                        reqwest::StatusCode::SERVICE_UNAVAILABLE => anyhow::Ok(1),
                        status if status.is_success() => anyhow::Ok(0),
                        status => bail!("a dashboard read was answered {status}"),
                    }
                });
                while let Some(done) = answered.try_join_next() {
                    shed += done??;
                }
            }
            while let Some(done) = answered.join_next().await {
                shed += done??;
            }
            anyhow::Ok((count, shed))
        })
    };

    // The child's resident size, every second.
    let mut samples = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    while !senders.is_empty() {
        tokio::select! {
            _ = ticker.tick() => {
                let kb = resident_kb(pid)?;
                samples.push(kb);
                let at = started.elapsed().as_secs();
                if at > 0 && at.is_multiple_of((seconds / 10).max(1)) {
                    eprintln!("  {at:4} s  {:.0} MB resident, {} deliveries sent",
                        kb as f64 / 1024.0, next.load(Ordering::Relaxed).min(total));
                }
            }
            Some(done) = senders.join_next() => done??,
        }
    }
    let sent_for = started.elapsed();
    let (read, shed) = reads.await??;

    // Everything accepted is applied.
    let mut owner =
        sqlx::PgConnection::connect(&format!("postgres://postgres@127.0.0.1:5432/{database}"))
            .await?;
    loop {
        let (pending, dead): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status NOT IN ('done', 'dead')), \
                    count(*) FILTER (WHERE status = 'dead') FROM webhook_events",
        )
        .fetch_one(&mut owner)
        .await?;
        if dead > 0 {
            bail!("{dead} events could not be applied");
        }
        if pending == 0 {
            break;
        }
        samples.push(resident_kb(pid)?);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut owner)
        .await?;
    if orders < total as i64 {
        bail!("{orders} orders stored of {total} delivered");
    }

    let tenth = (samples.len() / 10).max(1);
    let mean = |s: &[u64]| s.iter().sum::<u64>() as f64 / s.len().max(1) as f64 / 1024.0;
    let under_load = &samples[tenth.min(samples.len())..];
    let mut sorted = under_load.to_vec();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    let largest = sorted.last().copied().unwrap_or_default();
    let early = &under_load[..tenth.min(under_load.len())];
    let late = &under_load[under_load.len().saturating_sub(tenth)..];
    println!(
        "{total} deliveries offered at {WEBHOOK_RATE}/s, answered in {:.0} s ({:.0}/s), all applied ({orders} orders); {read} dashboard reads offered at {READ_RATE}/s, {shed} shed with 503",
        sent_for.as_secs_f64(),
        total as f64 / sent_for.as_secs_f64()
    );
    println!(
        "service resident under load: median {:.0} MB, largest {:.0} MB; growth from the first to the last tenth: {:+.1} MB",
        median as f64 / 1024.0,
        largest as f64 / 1024.0,
        mean(late) - mean(early),
    );
    Ok(())
}

/// The `i`th delivery: template `i % TEMPLATES` as a new order (id and line item ids of its
/// own, no refunds), signed.
fn delivery(address: &str, templates: &[Value], i: usize) -> anyhow::Result<Vec<u8>> {
    let mut order = templates[i % templates.len()].clone();
    let id = 1_000_000_000_000 + i as i64;
    order["id"] = json!(id);
    order["name"] = json!(format!("#M{i}"));
    order["refunds"] = json!([]);
    if let Some(lines) = order["line_items"].as_array_mut() {
        for (j, line) in lines.iter_mut().enumerate() {
            line["id"] = json!(id * 100 + j as i64);
        }
    }
    let body = serde_json::to_vec(&order)?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    mac.update(&body);
    let signature = BASE64.encode(mac.finalize().into_bytes());
    Ok(common::delivery(
        address,
        SHOP,
        &(body, signature),
        &format!("memory-{i}"),
    ))
}

/// A process's resident size in kB, from `/proc`.
fn resident_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .context("no VmRSS")?
        .parse()
        .context("VmRSS is a number")
}
