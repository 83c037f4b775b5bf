//! Operating Xeno: a backup restores into a new database that holds exactly the same data
//! and serves the same figures.

use std::process::Command;

use crate::support::shop::{connect, get, wait_for_sync};
use crate::support::webhooks::drain;
use crate::support::{fresh_database_name, test_config, TestApp, ADMIN_URL};
use serde_json::json;
use sqlx::{Connection, PgConnection};

fn script(name: &str) -> String {
    format!("{}/../../scripts/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Every table's row count and a checksum of its rows (in a stable order).
async fn fingerprint(database: &str) -> Vec<(String, i64, String)> {
    let url = format!("postgres://postgres@127.0.0.1:5432/{database}");
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let (count, sum): (i64, Option<String>) = sqlx::query_as(&format!(
            "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{table}\" t"
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        out.push((table, count, sum.unwrap_or_default()));
    }
    out
}

#[tokio::test]
async fn a_backup_restores_into_a_new_database_with_the_same_data_and_figures() {
    let c = connect(
        json!({ "customers": 40, "products": 8, "orders": 90 }),
        &[],
        1.0,
    )
    .await;
    wait_for_sync(&c.app, &c.token, &c.store_id).await;
    drain(&c.app).await;
    let dir = std::env::temp_dir().join(fresh_database_name());
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("xeno.dump");

    let backup = Command::new("bash")
        .arg(script("backup.sh"))
        .arg(&file)
        .env(
            "DATABASE_URL",
            format!("postgres://xeno_app@127.0.0.1:5432/{}", c.app.database),
        )
        .env("DATABASE_ADMIN_URL", ADMIN_URL)
        .output()
        .unwrap();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    let restored = fresh_database_name();
    let restore = Command::new("bash")
        .arg(script("restore.sh"))
        .arg(&file)
        .arg(&restored)
        .env("DATABASE_ADMIN_URL", ADMIN_URL)
        .output()
        .unwrap();
    assert!(
        restore.status.success(),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );

    // Every table, row for row.
    let original = fingerprint(&c.app.database).await;
    assert!(
        original.iter().any(|(t, n, _)| t == "orders" && *n >= 90),
        "{original:?}"
    );
    assert_eq!(fingerprint(&restored).await, original);

    // And the service on the restored database serves the same figures to the same session.
    let app = TestApp::start(test_config(&restored, &[]), restored.clone()).await;
    let path = "/api/metrics/dashboard?from=2025-01-01&to=2026-12-31";
    let before = get(&c.app, &c.token, path).await;
    let after = get(&app, &c.token, path).await;
    assert_eq!(after["totals"], before["totals"]);
    assert_eq!(after["series"], before["series"]);
    let _ = std::fs::remove_dir_all(dir);
}
