//! Operating Xeno: a backup restores into a new database that holds exactly the same data
//! and serves the same figures.

use std::process::Command;

use crate::support::shop::{
    connect, create_shop, get, no_redirects, sim, store_id_of, wait_for_sync, KEY, SECRET,
};
use crate::support::webhooks::{drain, post_webhook, signature};
use crate::support::{
    free_port, fresh_database_name, test_config, Haproxy, TestApp, XenoProcess, ADMIN_URL,
};
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

    // A distributed table's foreign keys stay among distributed tables (colocated) or point
    // at a directory (a reference table, which Citus allows); a directory's foreign keys into
    // them are exactly the ones the plan drops.
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
                distributed.contains(target) || directories.contains(target),
                "{table}.{name} points at {target}, neither colocated nor a reference table"
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

/// HAProxy in front of `servers`, on `port`, checking each one's readiness; stopped on drop.
struct Balancer {
    _proxy: Haproxy,
}

impl Balancer {
    async fn start(port: u16, servers: &[&str]) -> Self {
        let backends: String = servers
            .iter()
            .enumerate()
            .map(|(i, base)| {
                let address = base.trim_start_matches("http://");
                format!("  server s{i} {address} check inter 300ms\n")
            })
            .collect();
        let config = format!(
            "global\n  maxconn 2048\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  \
             timeout server 30s\nfrontend xeno\n  bind 127.0.0.1:{port}\n  default_backend serve\n\
             backend serve\n  balance roundrobin\n  option httpchk GET /readyz\n{backends}"
        );
        let proxy = Haproxy::start(Haproxy::directory(), &config);
        let ready = format!("http://127.0.0.1:{port}/readyz");
        for _ in 0..200 {
            if reqwest::get(&ready).await.is_ok_and(|r| r.status() == 200) {
                return Self { _proxy: proxy };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("haproxy did not start");
    }
}

#[tokio::test]
async fn two_servers_behind_haproxy_and_two_workers_apply_every_delivery_once() {
    let sim = sim(1.0).await;
    let shop = "scaled.myshopify.com";
    create_shop(&sim, shop, json!({ "customers": 20, "orders": 30 })).await;
    let database = fresh_database_name();
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let template = sim.shop_url_template();
    let env = [
        ("XENO_PUBLIC_URL", public.as_str()),
        ("SHOPIFY_API_KEY", KEY),
        ("SHOPIFY_API_SECRET", SECRET),
        ("SHOPIFY_SHOP_URL_TEMPLATE", template.as_str()),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("XENO_BULK_POLL_MS", "50"),
        ("XENO_SYNC_INTERVAL", "2"),
    ];
    let first = XenoProcess::serve(&database, &env).await;
    let second = XenoProcess::serve(&database, &env).await;
    let _workers = [
        XenoProcess::worker(&database, &env),
        XenoProcess::worker(&database, &env),
    ];
    let _balancer = Balancer::start(port, &[&first.base, &second.base]).await;
    let app = TestApp::attach(
        test_config(&database, &[]),
        database.clone(),
        public.clone(),
    );

    // Sign up and connect the shop through the balancer: the OAuth start and its callback
    // may land on different servers.
    let token = app.register("Scaled", "owner@scaled.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    xeno::demo::connect_shop(&no_redirects(), &public, &token, shop)
        .await
        .unwrap();
    let store_id = store_id_of(&app, &token, shop).await;
    wait_for_sync(&app, &token, &store_id).await;

    // 300 deliveries through the balancer (round robin over both servers).
    let deliveries = 300;
    let mut sent = Vec::new();
    for i in 0..deliveries {
        let body = serde_json::to_vec(&json!({
            "id": 70_000 + i, "email": format!("scaled{i}@example.com"),
            "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"
        }))
        .unwrap();
        let sig = signature(&body, SECRET);
        let id = format!("scaled-{i}");
        let headers = [
            ("content-type", "application/json"),
            ("x-shopify-topic", "customers/create"),
            ("x-shopify-hmac-sha256", sig.as_str()),
            ("x-shopify-shop-domain", shop),
            ("x-shopify-webhook-id", id.as_str()),
        ];
        sent.push(post_webhook(&app, &headers, body).await.status().as_u16());
    }
    assert!(sent.iter().all(|s| *s == 200), "{sent:?}");

    // The two workers applied each exactly once.
    let mut owner = app.connect_as("xeno_owner").await;
    let mut settled = (0_i64, 0_i64, 0_i32);
    for _ in 0..400 {
        settled = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'done'), count(*), coalesce(max(attempts), 0) \
             FROM webhook_events WHERE webhook_id LIKE 'scaled-%'",
        )
        .fetch_one(&mut owner)
        .await
        .unwrap();
        if settled.0 == deliveries {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        settled,
        (deliveries, deliveries, 1),
        "(done, stored, most attempts)"
    );
    let customers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM customers WHERE customer_id BETWEEN 70000 AND 70299",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(customers, deliveries);

    // One worker leads the schedule: one session holds the lead.
    let leads: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind(0x5853_4c44_i64)
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(leads, 1, "exactly one scheduler leads");

    // A session started through the balancer is good on either server, and ends on both.
    for server in [&first.base, &second.base] {
        let me = app
            .client
            .get(format!("{server}/api/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200, "{server}");
    }
    let out = app
        .client
        .post(format!("{}/api/auth/logout", first.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    // The other server's cache of live sessions lasts five seconds.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    for server in [&first.base, &second.base] {
        let me = app
            .client
            .get(format!("{server}/api/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 401, "{server}");
    }
}
