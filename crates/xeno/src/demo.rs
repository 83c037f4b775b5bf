//! `xeno demo`: the whole product on one machine without a Shopify account. A simulated shop
//! is connected through the real OAuth flow, backfilled, and kept busy with live, signed
//! webhooks.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use shopify_sim::{RunningSim, SimOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;

pub const DEMO_SHOP: &str = "demo-shop.myshopify.com";
pub const DEMO_EMAIL: &str = "demo@xeno.example";
pub const DEMO_PASSWORD: &str = "xeno-demo-2026";

/// How big the demo shop is.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    pub customers: u32,
    pub products: u32,
    pub orders: u32,
}

impl Default for DemoSize {
    fn default() -> Self {
        Self {
            customers: 2_000,
            products: 80,
            orders: 10_000,
        }
    }
}

/// A running demo: the service, its simulator, and the demo login.
pub struct Demo {
    pub url: String,
    pub token: String,
    pub sim: RunningSim,
    /// Whether a demo store from an earlier run was reset first.
    pub reset: bool,
}

/// Starts the simulator, the service (API and worker) on `listener`, and connects the demo
/// shop. Runs until `stopping` turns true.
pub async fn start(
    mut config: Config,
    listener: TcpListener,
    size: DemoSize,
    stopping: watch::Receiver<bool>,
) -> anyhow::Result<Demo> {
    let api_key = config
        .shopify_api_key
        .clone()
        .unwrap_or_else(|| "xeno-demo-app".to_owned());
    let api_secret = config
        .shopify_api_secret
        .clone()
        .unwrap_or_else(|| "xeno-demo-app-secret".to_owned());
    let sim = shopify_sim::spawn(
        "127.0.0.1:0".parse()?,
        SimOptions {
            api_key: api_key.clone(),
            api_secret: api_secret.clone(),
            time_scale: 1.0,
        },
    )
    .await
    .context("cannot start the Shopify simulator")?;
    config.shopify_api_key = Some(api_key);
    config.shopify_api_secret = Some(api_secret);
    config.shop_url_template = sim.shop_url_template();
    let url = config.public_url.as_str().trim_end_matches('/').to_owned();

    crate::migrate(&config).await?;
    let services = crate::services(&config)?;
    let db = services.db.clone();
    let worker_config = config.clone();
    let worker_stop = stopping.clone();
    let worker_services = services.clone();
    tokio::spawn(async move {
        crate::run_worker(&worker_config, &worker_services, worker_stop).await;
    });
    let served = config.clone();
    let mut server_stop = stopping.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_stop.wait_for(|stop| *stop).await;
        };
        if let Err(err) = crate::serve(&served, &services, listener, shutdown).await {
            tracing::error!(error = format!("{err:#}"), "demo server stopped");
        }
    });

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let created = http
        .post(format!("{}/_sim/shops", sim.base_url()))
        .json(&json!({
            "domain": DEMO_SHOP, "seed": 2026, "name": "Demo Outfitters",
            "customers": size.customers, "products": size.products, "orders": size.orders,
            "currency": "USD", "timezone": "America/New_York", "days": 365,
        }))
        .send()
        .await?;
    if !created.status().is_success() {
        bail!(
            "the simulator refused the demo shop: {}",
            created.text().await?
        );
    }
    let token = sign_in(&http, &url).await?;
    let reset = reset_earlier_store(&http, &url, &token, &db).await?;
    connect_shop(&http, &url, &token, DEMO_SHOP).await?;

    // Live activity: a few orders, updates, refunds and checkouts every few seconds.
    let activity_url = format!("{}/_sim/shops/{DEMO_SHOP}/activity", sim.base_url());
    let mut activity_stop = stopping;
    tokio::spawn(async move {
        loop {
            let spec = json!({ "orders": 3, "order_updates": 2, "customers": 1, "customer_updates": 1,
                               "refunds": 1, "checkouts": 2, "rate": 1.0 });
            if let Err(err) = http.post(&activity_url).json(&spec).send().await {
                tracing::warn!(%err, "demo activity failed");
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(10)) => {}
                _ = activity_stop.wait_for(|stop| *stop) => return,
            }
        }
    });
    Ok(Demo {
        url,
        token,
        sim,
        reset,
    })
}

/// A demo store left by an earlier run holds records (and deletions) of a simulator that no
/// longer runs; this run's simulator makes the same ids afresh, which the old deletions would
/// silently outrank. So the earlier store's data is removed first, and the demo says so.
async fn reset_earlier_store(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    db: &xeno_storage::Db,
) -> anyhow::Result<bool> {
    let me: Value = http
        .get(format!("{url}/api/auth/me"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let stores: Value = http
        .get(format!("{url}/api/stores"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let tenant: Option<uuid::Uuid> = me["tenant"]["id"].as_str().and_then(|id| id.parse().ok());
    let earlier = stores["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|store| store["shop_domain"] == DEMO_SHOP)
        .and_then(|store| store["id"].as_str())
        .and_then(|id| id.parse::<uuid::Uuid>().ok());
    let (Some(tenant), Some(store)) = (tenant, earlier) else {
        return Ok(false);
    };
    db.disconnect_store(
        xeno_domain::ids::TenantId(tenant),
        xeno_domain::ids::StoreId(store),
        true,
    )
    .await?;
    Ok(true)
}

/// Registers the demo account, or signs in when it exists from an earlier run.
async fn sign_in(http: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    for _ in 0..100 {
        if http
            .get(format!("{url}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let registered = http
        .post(format!("{url}/api/auth/register"))
        .json(&json!({ "tenant_name": "Demo Outfitters", "email": DEMO_EMAIL, "password": DEMO_PASSWORD }))
        .send()
        .await?;
    let answer: Value = if registered.status().as_u16() == 409 {
        http.post(format!("{url}/api/auth/login"))
            .json(&json!({ "email": DEMO_EMAIL, "password": DEMO_PASSWORD }))
            .send()
            .await?
            .json()
            .await?
    } else {
        registered.json().await?
    };
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .context("the demo account has no token")
}

/// Connects `shop` to the signed-in account through the real OAuth flow, as a browser
/// would (Xeno → Shopify's authorize page → Xeno's callback). `http` must not follow redirects.
pub async fn connect_shop(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    shop: &str,
) -> anyhow::Result<()> {
    let install: Value = http
        .get(format!("{url}/api/shopify/install?shop={shop}"))
        .bearer_auth(token)
        .header("accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    let authorize = install["authorize_url"]
        .as_str()
        .context("no authorize URL")?;
    let approved = http.get(authorize).send().await?;
    let callback = approved
        .headers()
        .get("location")
        .context("Shopify did not redirect back")?
        .to_str()?
        .to_owned();
    let connected = http.get(callback).send().await?;
    if !connected.status().is_redirection() {
        bail!("connecting {shop} failed: {}", connected.text().await?);
    }
    Ok(())
}
