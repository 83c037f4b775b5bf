//! What the benchmarks share: the simulator, Xeno served in-process on a fresh database,
//! a registered tenant, and the figures they print.

// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Value};
use shopify_sim::{RunningSim, SimOptions};
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpListener;
use xeno::config::Config;
use xeno_ingest::backfill::Backfill;

pub const PASSWORD: &str = "bench password 1";
pub const API_KEY: &str = "bench-key";
pub const SECRET: &str = "bench-secret";

/// The simulator on a free port, signing with [`SECRET`].
pub async fn simulator() -> anyhow::Result<RunningSim> {
    shopify_sim::spawn(
        "127.0.0.1:0".parse()?,
        SimOptions {
            api_key: API_KEY.into(),
            api_secret: SECRET.into(),
            time_scale: 1.0,
        },
    )
    .await
}

/// Xeno serving on a free port.
pub struct Xeno {
    pub base: String,
    pub database: String,
    pub config: Config,
    pub services: Backfill,
}

impl Xeno {
    /// Migrates `database` (a fresh one when `None`) and serves it; `vars` are set on top
    /// of the public URL, the database and, with a simulator, its Shopify credentials.
    /// `from_env` lets named variables come from the environment (to try settings).
    pub async fn serve(
        sim: Option<&RunningSim>,
        database: Option<String>,
        vars: &[(&str, &str)],
        from_env: impl Fn(&str) -> bool,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let database =
            database.unwrap_or_else(|| format!("xeno_bench_{}", uuid::Uuid::now_v7().simple()));
        let mut values: HashMap<String, String> = HashMap::from([
            (
                "DATABASE_URL".to_owned(),
                format!("postgres://xeno_app@127.0.0.1:5432/{database}"),
            ),
            ("XENO_PUBLIC_URL".to_owned(), base.clone()),
        ]);
        if let Some(sim) = sim {
            values.insert("SHOPIFY_API_KEY".to_owned(), API_KEY.to_owned());
            values.insert("SHOPIFY_API_SECRET".to_owned(), SECRET.to_owned());
            values.insert(
                "SHOPIFY_SHOP_URL_TEMPLATE".to_owned(),
                sim.shop_url_template(),
            );
        }
        for (name, value) in vars {
            values.insert((*name).to_owned(), (*value).to_owned());
        }
        let config = Config::from_lookup(|name| {
            values
                .get(name)
                .cloned()
                .or_else(|| from_env(name).then(|| std::env::var(name).ok()).flatten())
        })?;
        xeno::migrate(&config).await?;
        let services = xeno::services(&config)?;
        let (served, serving) = (config.clone(), services.clone());
        tokio::spawn(async move {
            xeno::serve(&served, &serving, listener, std::future::pending()).await
        });
        Ok(Self {
            base,
            database,
            config,
            services,
        })
    }

    /// Runs the worker in this process until the benchmark ends.
    pub fn start_worker(&self) {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let (config, services) = (self.config.clone(), self.services.clone());
        tokio::spawn(async move {
            let _keep_running = stop;
            xeno::run_worker(&config, &services, stopping).await
        });
    }

    /// Drops the benchmark's database (`FORCE` ends the server's connections).
    pub async fn drop_database(&self) -> anyhow::Result<()> {
        let mut admin =
            sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await?;
        sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.database))
            .execute(&mut admin)
            .await?;
        Ok(())
    }
}

/// Registers a tenant named `name` (its owner `email`); answers the sign-up's JSON.
pub async fn register(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    email: &str,
) -> anyhow::Result<Value> {
    let answer: Value = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({ "tenant_name": name, "email": email, "password": PASSWORD }))
        .send()
        .await?
        .json()
        .await?;
    answer["token"].as_str().context("no token")?;
    Ok(answer)
}

/// The token of a sign-up or sign-in answer.
pub fn token(answer: &Value) -> anyhow::Result<String> {
    Ok(answer["token"].as_str().context("no token")?.to_owned())
}

/// The `p` quantile of `samples` (sorted in place).
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(index).copied().unwrap_or_default()
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The `host:port` of a base URL such as `http://127.0.0.1:8080`.
pub fn listener_address(base: &str) -> anyhow::Result<String> {
    Ok(base
        .strip_prefix("http://")
        .context("the bench serves plain HTTP")?
        .to_owned())
}

/// An `orders/create` delivery from `shop` as HTTP/1.1 bytes, with the headers Shopify
/// sends: `body` is the payload and its signature.
pub fn delivery(host: &str, shop: &str, body: &(Vec<u8>, String), webhook_id: &str) -> Vec<u8> {
    let (payload, signature) = body;
    let triggered_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let mut request = format!(
        "POST /api/webhooks/shopify HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
         x-shopify-topic: orders/create\r\nx-shopify-hmac-sha256: {signature}\r\n\
         x-shopify-shop-domain: {shop}\r\nx-shopify-webhook-id: {webhook_id}\r\n\
         x-shopify-event-id: {}\r\nx-shopify-triggered-at: {triggered_at}\r\n\
         x-shopify-api-version: 2026-10\r\ncontent-length: {}\r\n\r\n",
        uuid::Uuid::now_v7(),
        payload.len()
    )
    .into_bytes();
    request.extend_from_slice(payload);
    request
}

/// Reads one response and fails unless it is a success.
pub async fn read_response(reader: &mut BufReader<OwnedReadHalf>) -> anyhow::Result<()> {
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let status = line.split(' ').nth(1).unwrap_or_default().to_owned();
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            anyhow::bail!("the connection closed mid-response");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    if status != "200" {
        anyhow::bail!("status {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}
