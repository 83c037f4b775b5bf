//! Failover without losing an acknowledged webhook: a real pg_auto_failover formation (a
//! monitor, a primary and its synchronous standby), HAProxy in front sending connections to
//! whichever node is writable, and the primary killed during a stream of signed deliveries.
//! Every delivery answered 200 is on the promoted node and applied once; the others were
//! refused with 503 (Shopify retries those), never 500.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::postgres::Formation;
use crate::support::shop::{connect, order_from, truth, SECRET};
use crate::support::webhooks::{drain, post_webhook, signature};
use crate::support::{free_port, Haproxy};
use serde_json::json;
use sqlx::{Connection, PgConnection};

/// HAProxy on `port`, sending PostgreSQL connections to the node that accepts writes (its
/// check asks each node `SHOW transaction_read_only`), closing a node's sessions when it
/// stops passing. Stopped on drop.
struct Router {
    _proxy: Haproxy,
}

impl Router {
    async fn start(port: u16, nodes: &[(String, u16)]) -> Self {
        let dir = Haproxy::directory();
        let check = dir.join("writable.sh");
        let psql = crate::support::postgres::pg_bin().join("psql");
        std::fs::write(
            &check,
            format!(
                "#!/bin/sh\n# HAProxy passes: proxy address, proxy port, server address, server port.\n\
                 [ \"$({} -h \"$3\" -p \"$4\" -U postgres -d postgres -tAc 'SHOW transaction_read_only' 2>/dev/null)\" = off ]\n",
                psql.display()
            ),
        )
        .unwrap();
        let _ = Command::new("chmod").arg("+x").arg(&check).status();
        let servers: String = nodes
            .iter()
            .map(|(name, node)| {
                format!("  server {name} 127.0.0.1:{node} check inter 300ms fall 2 rise 1 on-marked-down shutdown-sessions\n")
            })
            .collect();
        let config = format!(
            "global\n  external-check\n  insecure-fork-wanted\ndefaults\n  mode tcp\n  timeout connect 1s\n  \
             timeout client 60s\n  timeout server 60s\n  timeout check 3s\nfrontend postgres\n  bind 127.0.0.1:{port}\n  \
             default_backend writable\nbackend writable\n  option external-check\n  \
             external-check path \"/usr/bin:/bin\"\n  external-check command {}\n{servers}",
            check.display()
        );
        let proxy = Haproxy::start(dir, &config);
        // Servers start as up: ready once ten connections in a row reach a writable node.
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let mut in_a_row = 0;
        for _ in 0..400 {
            let writable = match PgConnection::connect(&url).await {
                Ok(mut conn) => sqlx::query_scalar::<_, String>("SHOW transaction_read_only")
                    .fetch_one(&mut conn)
                    .await
                    .is_ok_and(|v| v == "off"),
                Err(_) => false,
            };
            in_a_row = if writable { in_a_row + 1 } else { 0 };
            if in_a_row == 10 {
                return Self { _proxy: proxy };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("haproxy never settled on the writable node");
    }
}

/// One delivery: its id, the answer's status, and when it was answered.
struct Delivery {
    id: i64,
    status: u16,
    at: Instant,
}

#[tokio::test]
async fn a_killed_primary_loses_no_acknowledged_webhook() {
    let mut formation = Formation::start().await;
    let port = free_port();
    let _router = Router::start(port, &formation.nodes).await;
    let database = "xeno_failover";
    let main = format!("postgres://xeno_app@127.0.0.1:{port}/{database}");
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let c = connect(
        json!({ "customers": 8, "orders": 10 }),
        &[
            ("DATABASE_URL", main.as_str()),
            ("DATABASE_ADMIN_URL", admin.as_str()),
        ],
        1.0,
    )
    .await;
    let shop = truth(&c.sim, &c.shop).await;
    let template = shop["orders"][0].clone();

    // Deliveries, one after another, until told to stop; meanwhile the primary dies a
    // second in, and the stream goes on until well after the promotion.
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let stream = async {
        let mut sent = Vec::new();
        let mut id = 600_000_000_000_000_i64;
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            id += 1;
            let order = order_from(&template, id, "2026-11-01T12:00:00Z");
            let body = serde_json::to_vec(&order).unwrap();
            let sig = signature(&body, SECRET);
            let answer = post_webhook(
                &c.app,
                &[
                    ("content-type", "application/json"),
                    ("x-shopify-topic", "orders/create"),
                    ("x-shopify-hmac-sha256", &sig),
                    ("x-shopify-shop-domain", &c.shop),
                    ("x-shopify-webhook-id", &format!("failover-{id}")),
                ],
                body,
            )
            .await;
            sent.push(Delivery {
                id,
                status: answer.status().as_u16(),
                at: Instant::now(),
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        sent
    };
    let driver = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let killed = Instant::now();
        formation.kill_primary();
        formation.until_b_promoted().await;
        let promoted = killed.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        stopped.store(true, std::sync::atomic::Ordering::Relaxed);
        (killed, promoted)
    };
    let (sent, (killed, promoted)) = tokio::join!(stream, driver);

    let accepted: Vec<i64> = sent
        .iter()
        .filter(|d| d.status == 200)
        .map(|d| d.id)
        .collect();
    let refused: Vec<&Delivery> = sent.iter().filter(|d| d.status != 200).collect();
    assert!(
        refused.iter().all(|d| d.status == 503),
        "refusals are 503s: {:?}",
        refused.iter().map(|d| d.status).collect::<Vec<_>>()
    );
    assert!(!refused.is_empty(), "the outage was seen");
    let before = sent
        .iter()
        .filter(|d| d.at < killed && d.status == 200)
        .count();
    let after = sent
        .iter()
        .filter(|d| d.at > killed + promoted && d.status == 200)
        .count();
    assert!(
        before > 0 && after > 0,
        "deliveries landed before ({before}) and after ({after})"
    );
    let outage = refused.last().unwrap().at - refused.first().unwrap().at;
    eprintln!(
        "failover: node b promoted {:.1} s after the kill; intake answered 503 for {:.1} s ({} of {} deliveries); {} accepted",
        promoted.as_secs_f64(),
        outage.as_secs_f64(),
        refused.len(),
        sent.len(),
        accepted.len()
    );

    // Every acknowledged delivery is on the promoted node, applied once.
    drain(&c.app).await;
    let mut db = c.app.connect_as("xeno_owner").await;
    let stored: Vec<(String, String)> = sqlx::query_as(
        "SELECT webhook_id, status || COALESCE(': ' || last_error, '') FROM webhook_events \
         WHERE webhook_id LIKE 'failover-%'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    for id in &accepted {
        let name = format!("failover-{id}");
        let copies: Vec<&String> = stored
            .iter()
            .filter(|(webhook, _)| *webhook == name)
            .map(|(_, status)| status)
            .collect();
        assert_eq!(copies.len(), 1, "{name} stored once");
        assert!(
            copies[0].starts_with("done"),
            "{name} applied: {}",
            copies[0]
        );
    }
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE order_id = ANY($1)")
        .bind(&accepted)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(orders as usize, accepted.len(), "each accepted order once");
    let mut on_b = PgConnection::connect(&format!(
        "postgres://postgres@127.0.0.1:{}/{database}",
        formation.nodes[1].1
    ))
    .await
    .unwrap();
    let writable: String = sqlx::query_scalar("SHOW transaction_read_only")
        .fetch_one(&mut on_b)
        .await
        .unwrap();
    assert_eq!(writable, "off", "b is the primary now");
}
