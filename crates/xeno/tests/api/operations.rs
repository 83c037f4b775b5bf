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

/// The names each bullet of `docs/scaling.md`'s section starting `heading` begins with
/// (`a`, or `a`, `b`, `c`).
fn plan_names(plan: &str, heading: &str) -> Vec<String> {
    let section = plan
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/scaling.md has no section '{heading}'"));
    let mut names = Vec::new();
    for line in section.lines() {
        let Some(mut rest) = line.strip_prefix("- ") else {
            continue;
        };
        while let Some((name, after)) = rest.strip_prefix('`').and_then(|r| r.split_once('`')) {
            names.push(name.to_owned());
            match after.strip_prefix(", ") {
                Some(next) => rest = next,
                None => break,
            }
        }
    }
    names
}

#[tokio::test]
async fn the_schema_keeps_to_the_citus_plan() {
    let plan = std::fs::read_to_string(format!(
        "{}/../../docs/scaling.md",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let distributed = plan_names(&plan, "Distributed by");
    let directories = plan_names(&plan, "Directories");
    let local = plan_names(&plan, "On the coordinator");
    let dropped: Vec<String> = plan
        .lines()
        .filter_map(|line| line.split("(drops `").nth(1))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect();

    let app = TestApp::spawn().await;
    let mut conn = app.connect_as("xeno_owner").await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    // Every table is planned, once.
    let mut planned: Vec<String> = [&distributed, &directories, &local]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    planned.sort();
    assert_eq!(
        planned, tables,
        "docs/scaling.md lists every table exactly once"
    );

    // A distributed table's foreign keys stay among distributed tables (colocated); a
    // directory's foreign keys into them are exactly the ones the plan drops.
    let keys: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT con.conrelid::regclass::text, con.conname::text, con.confrelid::regclass::text \
         FROM pg_constraint con WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut crossing = Vec::new();
    for (table, name, target) in &keys {
        if distributed.contains(table) {
            assert!(
                distributed.contains(target),
                "{table}.{name} points at {target}, not a colocated table"
            );
        } else if distributed.contains(target) {
            crossing.push(name.clone());
        }
    }
    crossing.sort();
    let mut dropped_sorted = dropped.clone();
    dropped_sorted.sort();
    assert_eq!(crossing, dropped_sorted, "the foreign keys the plan drops");

    // Every trigger has a plan (by its name's pattern).
    let patterns: Vec<String> = plan_names(&plan, "Triggers")
        .into_iter()
        .filter(|p| p.contains('*'))
        .collect();
    assert!(patterns.len() >= 3, "{patterns:?}");
    let triggers: Vec<String> = sqlx::query_scalar(
        "SELECT tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
         WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(!triggers.is_empty());
    let matches = |pattern: &str, name: &str| {
        let parts: Vec<&str> = pattern.split('*').collect();
        let mut rest = name;
        for (i, part) in parts.iter().enumerate() {
            match rest.find(part) {
                Some(at) if i > 0 || at == 0 => rest = &rest[at + part.len()..],
                _ => return false,
            }
        }
        parts
            .last()
            .is_some_and(|last| last.is_empty() || name.ends_with(last))
    };
    for trigger in &triggers {
        assert!(
            patterns.iter().any(|p| matches(p, trigger)),
            "trigger {trigger} has no plan in docs/scaling.md"
        );
    }

    // Every function that reads across tenants has its plan.
    let mut definers: Vec<String> = sqlx::query_scalar(
        "SELECT proname::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prosecdef ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    definers.sort();
    let mut documented = plan_names(&plan, "Functions that read across tenants");
    documented.sort();
    assert_eq!(
        documented, definers,
        "every SECURITY DEFINER function is planned"
    );
}
