//! Reports and lists read a real streaming replica (`DATABASE_READ_URL`) while it has caught
//! up with the tenant, and the primary when it lags or is down: never a figure older than
//! the tenant's last write. The test builds its own primary and hot standby on free ports.

use std::path::Path;
use std::process::Command;

use crate::support::postgres::Server;
use crate::support::shop::{connect, get, send_order, truth, Connected};
use crate::support::webhooks::drain;
use serde_json::{json, Value};

/// Waits until the standby has replayed everything the primary has written.
async fn caught_up(primary: &Server, standby: &Server) {
    let mut p = primary.superuser().await;
    let mut s = standby.superuser().await;
    let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(&mut p)
        .await
        .unwrap();
    for _ in 0..300 {
        let done: bool = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
            .bind(&lsn)
            .fetch_one(&mut s)
            .await
            .unwrap();
        if done {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the standby did not catch up");
}

/// `xeno_replica_reads_total{outcome}`, scraped.
async fn reads(c: &Connected, outcome: &str) -> u64 {
    let text = c
        .app
        .client
        .get(c.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("xeno_replica_reads_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0, |n| n.trim().parse().unwrap())
}

async fn orders_listed(c: &Connected) -> usize {
    crate::support::shop::all_pages(&c.app, &c.token, "/api/orders?limit=250", async || {})
        .await
        .len()
}

async fn dashboard_orders(c: &Connected, from: &str) -> i64 {
    let path = format!("/api/metrics/dashboard?from={from}&to=2026-12-30");
    let dashboard: Value = get(&c.app, &c.token, &path).await;
    dashboard["totals"]["orders"].as_i64().unwrap()
}

#[tokio::test]
async fn reports_and_lists_read_the_replica_only_while_it_has_caught_up() {
    let root = std::env::temp_dir().join(format!("xeno-replica-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&root).unwrap();
    let chown = Command::new("chown")
        .args(["postgres:", root.to_str().unwrap()])
        .status();
    assert!(chown.is_ok_and(|s| s.success()) || !Path::new("/usr/sbin/runuser").exists());
    let primary = Server::primary(&root);
    let standby = primary.standby(&root);
    let database = "xeno_replicated";
    let url = |port: u16| format!("postgres://xeno_app@127.0.0.1:{port}/{database}");
    let (main, read, admin) = (
        url(primary.port),
        url(standby.port),
        format!("postgres://postgres@127.0.0.1:{}/postgres", primary.port),
    );
    let c = connect(
        json!({ "customers": 15, "orders": 40, "days": 60 }),
        &[
            ("DATABASE_URL", main.as_str()),
            ("DATABASE_READ_URL", read.as_str()),
            ("DATABASE_ADMIN_URL", admin.as_str()),
        ],
        1.0,
    )
    .await;
    let shop: Value = truth(&c.sim, &c.shop).await;
    let stored = shop["orders"].as_array().unwrap().len();

    // Caught up: lists and reports come from the replica, with the primary's figures.
    caught_up(&primary, &standby).await;
    let (listed, reported) = (reads(&c, "replica").await, reads(&c, "lagging").await);
    assert_eq!(orders_listed(&c).await, stored);
    let from = "2025-01-01";
    let before = dashboard_orders(&c, from).await;
    assert!(before > 0);
    assert!(
        reads(&c, "replica").await >= listed + 2,
        "the replica answered"
    );
    assert_eq!(reads(&c, "lagging").await, reported);

    // The standby stops replaying; a new order lands on the primary. Both the list and the
    // report show it (from the primary), never the replica's older figures.
    let mut s = standby.superuser().await;
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&mut s)
        .await
        .unwrap();
    let template = crate::support::shop::order_template(&shop);
    send_order(
        &c.app,
        &c.shop,
        &template,
        7_000_000_000_000_001,
        "2026-11-01T12:00:00Z",
    )
    .await;
    drain(&c.app).await;
    let lagging = reads(&c, "lagging").await;
    assert_eq!(orders_listed(&c).await, stored + 1);
    assert_eq!(dashboard_orders(&c, from).await, before + 1);
    assert!(
        reads(&c, "lagging").await >= lagging + 2,
        "the lag was noticed"
    );

    // Replaying again, the replica answers once more, now with the new order.
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&mut s)
        .await
        .unwrap();
    caught_up(&primary, &standby).await;
    let replica = reads(&c, "replica").await;
    assert_eq!(orders_listed(&c).await, stored + 1);
    assert_eq!(dashboard_orders(&c, "2025-01-02").await, before + 1);
    assert!(reads(&c, "replica").await >= replica + 2);

    // The standby gone, every read still answers, from the primary.
    drop(s);
    standby.stop();
    let unavailable = reads(&c, "unavailable").await;
    assert_eq!(orders_listed(&c).await, stored + 1);
    assert_eq!(dashboard_orders(&c, "2025-01-03").await, before + 1);
    assert!(reads(&c, "unavailable").await >= unavailable + 2);
    drop(standby);
    drop(primary);
    let _ = std::fs::remove_dir_all(&root);
}
