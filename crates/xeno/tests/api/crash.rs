//! Killing the real `xeno` process (SIGKILL) while webhooks stream in loses nothing.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::shop::{create_shop, sim, truth};
use crate::support::truth::assert_matches_truth;
use crate::support::{fresh_database_name, ADMIN_URL};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const KEY: &str = "xeno-test-key";
const SECRET: &str = "xeno-test-secret";
const SHOP: &str = "crash.myshopify.com";
const DELIVERIES: i64 = 600;

fn start(env: &HashMap<&str, String>) -> Child {
    Command::new(env!("CARGO_BIN_EXE_xeno"))
        .arg("all")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xeno starts")
}

async fn wait_ready(base: &str) {
    for _ in 0..300 {
        if let Ok(response) = reqwest::get(format!("{base}/readyz")).await {
            if response.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("xeno did not become ready");
}

/// The real binary's surroundings: a free port, a fresh database, the simulator.
struct Launch {
    env: HashMap<&'static str, String>,
    base: String,
    database: String,
}

fn launch(sim: &shopify_sim::RunningSim, extra: &[(&'static str, &str)]) -> Launch {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let database = fresh_database_name();
    let mut env: HashMap<&'static str, String> = HashMap::from([
        (
            "DATABASE_URL",
            format!("postgres://xeno_app@127.0.0.1:5432/{database}"),
        ),
        ("DATABASE_ADMIN_URL", ADMIN_URL.to_owned()),
        ("XENO_BIND", format!("127.0.0.1:{port}")),
        ("XENO_PUBLIC_URL", base.clone()),
        ("SHOPIFY_API_KEY", KEY.to_owned()),
        ("SHOPIFY_API_SECRET", SECRET.to_owned()),
        ("SHOPIFY_SHOP_URL_TEMPLATE", sim.shop_url_template()),
    ]);
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Launch {
        env,
        base,
        database,
    }
}

/// Signs up a tenant and connects `shop` through the real OAuth flow; answers the token.
async fn sign_up_and_connect(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    shop: &str,
) -> String {
    let registered: Value = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({ "tenant_name": email, "email": email, "password": "crash test 12" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = registered["token"].as_str().unwrap().to_owned();
    xeno::demo::connect_shop(http, base, &token, shop)
        .await
        .unwrap();
    token
}

/// A connection as the owner role (no row-level security), to check what is stored.
async fn owner_connection(database: &str) -> sqlx::PgConnection {
    let owner = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .username("xeno_owner")
        .database(database);
    <sqlx::PgConnection as sqlx::Connection>::connect_with(&owner)
        .await
        .unwrap()
}

/// The tenant's one store.
async fn store_of(http: &reqwest::Client, base: &str, token: &str) -> String {
    let stores: Value = http
        .get(format!("{base}/api/stores"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stores["data"][0]["id"].as_str().unwrap().to_owned()
}

/// The store's latest sync run, when the service answers (until the first run is recorded,
/// a 404 problem).
async fn sync_status(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    store_id: &str,
) -> Option<Value> {
    http.get(format!("{base}/api/sync/status?store_id={store_id}"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?
        .json::<Value>()
        .await
        .ok()
}

fn signed(id: i64) -> (Vec<u8>, String) {
    let body = serde_json::to_vec(&json!({
        "id": id, "email": format!("c{id}@example.com"),
        "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z",
    }))
    .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&body);
    (body, BASE64.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn sigkill_while_webhooks_stream_in_loses_and_duplicates_nothing() {
    let sim = sim(1.0).await;
    // An empty shop: the initial backfill brings no customers of its own.
    create_shop(&sim, SHOP, json!({ "customers": 0, "orders": 0 })).await;
    let Launch {
        env,
        base,
        database,
    } = launch(&sim, &[("XENO_WORKER_BACKOFF_MS", "50")]);
    let mut child = start(&env);
    wait_ready(&base).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = sign_up_and_connect(&http, &base, "crash@example.com", SHOP).await;
    // The initial backfill finds the shop empty and deletes what it does not hold: the
    // customers these deliveries create exist only in them, so they come after it.
    let store_id = store_of(&http, &base, &token).await;
    for _ in 0..500 {
        let run = sync_status(&http, &base, &token, &store_id).await;
        if run.is_some_and(|run| run["status"] == "completed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Stream deliveries; like Shopify, retry each until it gets a 2xx.
    let sender = {
        let http = reqwest::Client::new();
        let url = format!("{base}/api/webhooks/shopify");
        tokio::spawn(async move {
            for id in 1..=DELIVERIES {
                let (body, signature) = signed(id);
                loop {
                    let response = http
                        .post(&url)
                        .header("x-shopify-topic", "customers/create")
                        .header("x-shopify-hmac-sha256", &signature)
                        .header("x-shopify-shop-domain", SHOP)
                        .header("x-shopify-webhook-id", format!("delivery-{id}"))
                        .body(body.clone())
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    if matches!(&response, Ok(r) if r.status().is_success()) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!sender.is_finished(), "the kill lands mid-stream");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut child = start(&env);
    sender.await.unwrap();

    // Once the worker drains, every delivery is applied exactly once.
    let mut conn = owner_connection(&database).await;
    let mut open = i64::MAX;
    for _ in 0..400 {
        open = sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE status <> 'done'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if open == 0 && total == DELIVERIES {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0, "every accepted event was applied");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        events, DELIVERIES,
        "one event per delivery, retries deduplicated"
    );
    let customers: Vec<i64> = sqlx::query_scalar("SELECT customer_id FROM customers ORDER BY 1")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        customers,
        (1..=DELIVERIES).collect::<Vec<_>>(),
        "each delivery applied exactly once"
    );
    child.kill().ok();
    child.wait().ok();
}

#[tokio::test]
async fn sigkill_mid_backfill_then_a_sync_after_restart_ends_exact() {
    const SHOP: &str = "midway.myshopify.com";
    let sim = sim(1.0).await;
    create_shop(
        &sim,
        SHOP,
        json!({ "seed": 31, "customers": 500, "products": 40, "orders": 3000 }),
    )
    .await;
    let Launch {
        env,
        base,
        database,
    } = launch(
        &sim,
        &[
            ("XENO_BULK_POLL_MS", "50"),
            // Only the syncs this test asks for.
            ("XENO_SYNC_INTERVAL", "0"),
        ],
    );
    let mut child = start(&env);
    wait_ready(&base).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = sign_up_and_connect(&http, &base, "midway@example.com", SHOP).await;
    let store_id = store_of(&http, &base, &token).await;

    // The backfill is writing orders (customers and products are committed): kill it there.
    let mut killed_at = None;
    for _ in 0..2000 {
        if let Some(run) = sync_status(&http, &base, &token, &store_id).await {
            if run["phase"] == "orders" && run["records"].as_i64().unwrap_or(0) > 600 {
                killed_at = Some(run);
                break;
            }
            // (Until the run is recorded, the status is a 404 problem.)
            assert!(
                run["status"] != "completed" && run["status"] != "failed",
                "the backfill ended before the kill: {run}"
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed_at = killed_at.expect("the backfill reached its orders");
    let mut conn = owner_connection(&database).await;
    assert_eq!(
        due_now(&mut conn, &store_id).await,
        0,
        "a store syncing is not due"
    );
    // At once: the rest of the orders take only a moment.
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    // Its progress: what it expects to write in all is what the shop holds.
    let shop = truth(&sim, SHOP).await;
    let abandoned = shop["checkouts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["completed_at"].is_null())
        .count();
    let held = ["customers", "products", "orders"]
        .iter()
        .map(|k| shop[k].as_array().unwrap().len())
        .sum::<usize>()
        + abandoned;
    assert_eq!(killed_at["expected_records"], held as i64, "{killed_at}");
    let progress = killed_at["progress"].as_f64().unwrap();
    assert!(progress > 0.0 && progress < 1.0, "{killed_at}");
    assert!(
        killed_at["eta_seconds"].as_f64().unwrap() > 0.0,
        "{killed_at}"
    );
    let mut child = start(&env);
    wait_ready(&base).await;
    // The dead run holds no lease: the scheduler would sync the store again at once.
    assert_eq!(
        due_now(&mut conn, &store_id).await,
        1,
        "a store whose sync died is due"
    );
    // And it says so at once, before any sync closes the dead run.
    let dead = sync_status(&http, &base, &token, &store_id).await.unwrap();
    assert_eq!(dead["status"], "failed", "{dead}");
    assert!(
        dead["error"].as_str().unwrap().starts_with("interrupted"),
        "{dead}"
    );

    // A sync now: the dead run's lease went with its process, so it starts at once, closes
    // that run as interrupted, and resumes from the watermarks it committed.
    let started = http
        .post(format!("{base}/api/sync/{store_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202, "{}", started.text().await.unwrap());
    let mut run = Value::Null;
    for _ in 0..2000 {
        run = sync_status(&http, &base, &token, &store_id)
            .await
            .unwrap_or(Value::Null);
        if run["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["kind"], "incremental", "{run}");
    let runs: Value = http
        .get(format!("{base}/api/sync/runs?store_id={store_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &runs["data"][1];
    assert_eq!(first["id"], killed_at["id"]);
    assert_eq!(first["status"], "failed", "{first}");
    assert!(
        first["error"].as_str().unwrap().contains("interrupted"),
        "{first}"
    );

    // Exactly the shop, no row twice (keys would refuse it; counts say none is missing).
    let truth = truth(&sim, SHOP).await;
    assert_matches_truth(&mut conn, &truth).await;
    child.kill().ok();
    child.wait().ok();
}

/// Whether the scheduler would start a sync of the store now.
async fn due_now(conn: &mut sqlx::PgConnection, store_id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM xeno_stores_due('0 seconds', 10) WHERE store_id = $1::uuid",
    )
    .bind(store_id)
    .fetch_one(conn)
    .await
    .unwrap()
}
