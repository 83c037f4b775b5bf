//! The service itself: request ids, health, tenant isolation in the schema, OpenAPI, the
//! dashboard's files.

use crate::support::{expect_problem, fresh_database_name, test_config, TestApp};
use serde_json::{json, Value};
use sqlx::Row;

#[tokio::test]
async fn every_request_gets_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    let generated = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "caller-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("x-request-id").unwrap(),
        "caller-chosen-42"
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn_with(&[("REDIS_URL", "redis://127.0.0.1:6379")]).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"], json!({"postgres": "ok", "redis": "ok"}));
}

#[tokio::test]
async fn redis_down_leaves_the_service_ready_degraded_and_answering() {
    // Nothing listens on port 9: Redis is configured and down.
    let app = TestApp::spawn_with(&[("REDIS_URL", "redis://127.0.0.1:9")]).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "Redis is optional");
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "degraded");
    assert_eq!(ready["checks"]["postgres"], "ok");
    assert!(ready["checks"]["redis"]
        .as_str()
        .unwrap()
        .starts_with("error"));
    let scrape = || async {
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
        metrics.text().await.unwrap()
    };
    let text = scrape().await;
    assert!(
        text.contains("xeno_dependency_up{dependency=\"redis\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("xeno_dependency_up{dependency=\"postgres\"} 1"),
        "{text}"
    );

    // Insights still answer; after the first failure the cache leaves Redis alone (skipped)
    // instead of paying its timeout on every request.
    let skipped = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("xeno_insights_cache_total{outcome=\"skipped\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0.0, |v| v.parse::<f64>().unwrap())
    };
    let before = skipped(&scrape().await);
    let registered = app.register("Cache Outage", "owner@example.com").await;
    let token = registered["token"].as_str().unwrap();
    for _ in 0..3 {
        let dashboard = app
            .get_authed(
                "/api/metrics/dashboard?from=2026-01-01&to=2026-01-31",
                token,
            )
            .await;
        assert_eq!(dashboard.status(), 200);
    }
    assert!(skipped(&scrape().await) >= before + 2.0);
}

#[tokio::test]
async fn readyz_is_503_naming_postgres_when_it_is_unreachable() {
    let database = fresh_database_name();
    // Port 9 (discard) has no PostgreSQL on it.
    let config = test_config(
        &database,
        &[(
            "DATABASE_URL",
            &format!("postgres://xeno_app@127.0.0.1:9/{database}"),
        )],
    );
    let app = TestApp::start(config, database).await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let body = expect_problem(response, 503, "unavailable").await;
    assert!(body["context"]["checks"]["postgres"]
        .as_str()
        .unwrap()
        .starts_with("error"));
    assert_eq!(body["context"]["checks"]["redis"], "not_configured");
    assert!(body["detail"].as_str().unwrap().contains("postgres"));

    // Requests that need the database answer 503 too, not 500.
    let login = app
        .post_json(
            "/api/auth/login",
            &json!({"email": "a@example.com", "password": "whatever 12"}),
        )
        .await;
    expect_problem(login, 503, "unavailable").await;
}

/// Global directories are keyed by what a caller holds before it knows its tenant (a person
/// belongs to several); a deleted tenant's only trace belongs to no tenant. A tenant's table
/// may point at a directory (a reference table under Citus) by the directory's own key.
const GLOBAL_TABLES: [&str; 5] = [
    "_sqlx_migrations",
    "people",
    "memberships",
    "shop_domains",
    "tenant_deletions",
];

#[tokio::test]
async fn every_key_and_index_of_a_tenant_table_leads_with_tenant_id() {
    let app = TestApp::spawn().await;
    let mut conn = app.connect_as("xeno_owner").await;
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname, \
                EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped), \
                c.relrowsecurity AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) \
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(tables.len() >= 15, "schema v1 is present: {tables:?}");
    for (table, has_tenant, has_rls) in &tables {
        if GLOBAL_TABLES.contains(&table.as_str()) {
            continue;
        }
        assert!(has_tenant, "{table} has no tenant_id column");
        assert!(has_rls, "{table} lacks row-level security");
    }

    // Constraints (primary, unique, foreign) and indexes whose first column is not tenant_id.
    let offenders: Vec<(String, String)> = sqlx::query_as(
        "WITH tenant_tables AS ( \
             SELECT c.oid, c.relname, a.attnum AS tenant_col FROM pg_class c \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' \
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' \
               AND NOT (c.relname = ANY($1))) \
         SELECT t.relname::text, con.conname::text FROM pg_constraint con JOIN tenant_tables t ON t.oid = con.conrelid \
         WHERE con.contype IN ('p', 'u', 'f') AND con.conkey[1] <> t.tenant_col \
           AND NOT (con.contype = 'f' AND con.confrelid::regclass::text = ANY($1)) \
         UNION ALL \
         SELECT t.relname::text, ic.relname::text FROM pg_index i JOIN tenant_tables t ON t.oid = i.indrelid \
         JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indkey[0] <> t.tenant_col",
    )
    .bind(GLOBAL_TABLES.map(str::to_owned).to_vec())
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        offenders.is_empty(),
        "keys not led by tenant_id: {offenders:?}"
    );

    // Foreign keys must also point at the referenced table's tenant_id first.
    let cross: Vec<(String, String)> = sqlx::query_as(
        "SELECT con.conrelid::regclass::text, con.conname::text FROM pg_constraint con \
         JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = con.confkey[1] \
         WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace AND a.attname <> 'tenant_id' \
           AND NOT (con.confrelid::regclass::text = ANY($1))",
    )
    .bind(GLOBAL_TABLES.map(str::to_owned).to_vec())
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(
        cross.is_empty(),
        "foreign keys not led by tenant_id: {cross:?}"
    );
}

#[tokio::test]
async fn the_service_role_sees_nothing_without_a_tenant_and_only_its_own_with_one() {
    let app = TestApp::spawn().await;
    let a = app.register("Tenant A", "a@example.com").await;
    let b = app.register("Tenant B", "b@example.com").await;
    let (a_id, b_id) = (
        a["tenant_id"].as_str().unwrap(),
        b["tenant_id"].as_str().unwrap(),
    );

    let mut conn = app.connect_as("xeno_app").await;
    let role: (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        role,
        (false, false),
        "the service role is neither superuser nor BYPASSRLS"
    );

    // A query that forgets its tenant sees nothing.
    for table in ["tenants", "users"] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(count, 0, "{table} without a tenant setting");
    }

    // With tenant A's setting, only A's rows, whatever the query asks for.
    let mut tx = sqlx::Connection::begin(&mut conn).await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(a_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT tenant_id::text AS t FROM users UNION ALL SELECT tenant_id::text FROM tenants",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let seen: Vec<String> = rows.iter().map(|r| r.get("t")).collect();
    assert_eq!(seen, [a_id, a_id], "A sees its user and tenant only");
    let b_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE tenant_id = $1::uuid")
        .bind(b_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(b_rows, 0, "asking for B by id finds nothing");

    // Nor can A write a row into B.
    let write = sqlx::query("INSERT INTO tenants (tenant_id, name) VALUES ($1::uuid, 'intruder')")
        .bind(uuid::Uuid::now_v7().to_string())
        .execute(&mut *tx)
        .await;
    assert!(
        write.is_err(),
        "row-level security refuses a row for another tenant"
    );
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn openapi_is_valid_and_lists_every_route() {
    let app = TestApp::spawn().await;
    let spec: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(spec, serde_json::to_value(xeno_http::openapi()).unwrap());

    // Every reference resolves (generated clients refuse a document where one does not).
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let mut targets = Vec::new();
    refs(&spec, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let pointer = target.strip_prefix('#').unwrap();
        assert!(spec.pointer(pointer).is_some(), "{target} resolves");
    }

    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/me",
        "/healthz",
        "/readyz",
        "/api/openapi.json",
        "/api/docs",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    // Every documented operation is mounted: it answers something other than the fallback.
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str();
            let id = id.unwrap_or_else(|| panic!("{method} {path} has an operation id"));
            assert!(
                operation_ids.insert(id.to_owned()),
                "{method} {path}: operation id {id} is used once"
            );
            // A parameter documented in the path must be one of the path's own segments;
            // anything else (from, to, store_id, limit, cursor…) is a query parameter.
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let placeholder = format!("{{{name}}}");
                assert_eq!(
                    parameter["in"] == "path",
                    path.contains(&placeholder),
                    "{method} {path}: parameter {name} is declared where it is sent"
                );
            }
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                !responses.is_empty(),
                "{method} {path} documents its responses"
            );
            for response in responses.values() {
                if let Some(schema_ref) = response.pointer("/content/application~1json/schema/$ref")
                {
                    let name = schema_ref.as_str().unwrap().rsplit('/').next().unwrap();
                    assert!(
                        spec["components"]["schemas"][name].is_object(),
                        "{name} is defined"
                    );
                }
            }
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .unwrap();
            assert_ne!(answer.status(), 405, "{method} {path} is mounted");
            if answer.status() == 404 {
                let body: Value = answer.json().await.unwrap();
                assert_ne!(
                    body["detail"], "no such route",
                    "{method} {path} is mounted"
                );
            }
        }
    }

    let docs = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("/api/openapi.json"));
}

#[tokio::test]
async fn the_dashboard_is_served_with_client_routes_and_cache_headers() {
    let dir = std::env::temp_dir().join(format!("xeno-web-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Xeno app</title>",
    )
    .unwrap();
    std::fs::write(dir.join("assets/index-abc123.js"), "console.log(1)").unwrap();
    let app = TestApp::spawn_with(&[("XENO_WEB_DIR", dir.to_str().unwrap())]).await;

    // The app, and client-side routes that fall back to it: never cached.
    for path in ["/", "/customers/abc/1", "/stores"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        assert!(response.text().await.unwrap().contains("Xeno app"));
    }
    // Hashed assets: cached for good.
    let asset = app
        .client
        .get(app.url("/assets/index-abc123.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(asset.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    // The API keeps its own 404s and methods.
    expect_problem(
        app.client.get(app.url("/api/nope")).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let post = app.client.post(app.url("/somewhere")).send().await.unwrap();
    assert_eq!(post.status(), 404);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Sends only a request head over a raw connection (no body follows) and returns the
/// status line and body of the answer.
async fn head_only(app: &TestApp, head: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // The server answers without the body and closes; a guard, not a timing assertion.
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(
        read.is_ok(),
        "no answer while the declared body was never sent"
    );
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

#[tokio::test]
async fn a_declared_oversized_body_is_refused_before_it_is_sent() {
    let app = TestApp::spawn().await;
    for (path, extra) in [
        ("/api/auth/login", ""),
        (
            "/api/webhooks/shopify",
            "X-Shopify-Topic: orders/create\r\n",
        ),
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}\
             Content-Length: 104857600\r\nConnection: close\r\n\r\n"
        );
        let (status, body) = head_only(&app, &head).await;
        assert!(status.contains(" 413 "), "{path}: {status}");
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["status"], 413);
        assert!(problem["detail"].as_str().unwrap().contains("104857600"));
    }
}

/// The schema the migrations make, as `pg_dump` prints it without its session settings and
/// comments: one file a reader can open instead of replaying every migration.
fn normalized_dump(dump: &str) -> String {
    let mut out = String::new();
    let mut blank = true;
    for line in dump.lines() {
        let noise = line.starts_with("--")
            || line.starts_with("SET ")
            || line.starts_with("SELECT pg_catalog.set_config")
            || line.starts_with("\\restrict")
            || line.starts_with("\\unrestrict");
        if noise || (line.is_empty() && blank) {
            continue;
        }
        blank = line.is_empty();
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned() + "\n"
}

#[tokio::test]
async fn the_committed_schema_is_what_the_migrations_make() {
    let app = TestApp::spawn().await;
    let dump = std::process::Command::new("pg_dump")
        .args([
            "--schema-only",
            "--no-comments",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ])
        .arg(&app.database)
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let schema = normalized_dump(&String::from_utf8(dump.stdout).unwrap());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../storage/schema.sql");
    if std::env::var_os("XENO_WRITE_SCHEMA").is_some() {
        std::fs::write(path, &schema).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == schema,
        "crates/storage/schema.sql is not what the migrations make: after changing a migration, \
         run XENO_WRITE_SCHEMA=1 cargo nextest run -p xeno -E 'test(committed_schema)' and commit it"
    );
}

/// Whether the server closes a connection that has sent `sent` (and then nothing) within
/// `guard`: the guard bounds the wait, it is not a timing assertion.
async fn closed_after(app: &TestApp, sent: &str, guard: std::time::Duration) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(sent.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(guard, stream.read_to_end(&mut answer))
        .await
        .is_ok()
}

#[tokio::test]
async fn a_client_that_sends_its_request_head_too_slowly_is_cut_off() {
    let app = TestApp::spawn_with(&[("XENO_HEADER_TIMEOUT", "1")]).await;
    let guard = std::time::Duration::from_secs(20);
    // Half a request head, then silence; and a connection that sends nothing at all.
    assert!(closed_after(&app, "GET /healthz HTTP/1.1\r\nHost: x\r\n", guard).await);
    assert!(closed_after(&app, "", guard).await);
    // Whole requests are unaffected.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once_and_the_cap_frees_up() {
    use tokio::io::AsyncWriteExt;
    let app =
        TestApp::spawn_with(&[("XENO_MAX_CONNECTIONS", "2"), ("XENO_HEADER_TIMEOUT", "60")]).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Two clients hold the two connections, mid-request.
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        holders.push(stream);
    }
    // Let the server accept both before the third arrives.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // The third is closed at once (well before the 60 s header deadline).
    let guard = std::time::Duration::from_secs(10);
    assert!(closed_after(&app, "GET /healthz HTTP/1.1\r\n", guard).await);
    drop(holders);
    // Once they leave, requests are served again.
    let mut served = false;
    for _ in 0..100 {
        let client = reqwest::Client::new();
        if let Ok(answer) = client.get(app.url("/healthz")).send().await {
            served = answer.status() == 200;
            if served {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(served, "served again once the held connections closed");
}

#[tokio::test]
async fn the_container_health_check_passes_only_while_the_service_answers() {
    let app = TestApp::spawn().await;
    let bind = app.base.trim_start_matches("http://").to_owned();
    // Run off the runtime: the check blocks until it has an answer.
    let check = |bind: String| async move {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_xeno"))
                .arg("healthcheck")
                .env("XENO_BIND", bind)
                .env_remove("PORT")
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    assert!(check(bind).await.status.success());
    // Nothing listens on a port just released.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = free.local_addr().unwrap().to_string();
    drop(free);
    let failed = check(closed).await;
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("did not answer"));
}
