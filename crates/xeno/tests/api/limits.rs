//! Rate limits shared through Redis (and kept per process when it is gone), per-shop intake
//! quotas, and admission control shedding one tenant's flood while everyone else is served.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::shop::{connect, SECRET};
use crate::support::webhooks::{event_count, metric, post_webhook, signature};
use crate::support::{expect_problem, fresh_database_name, test_config, TestApp, XenoProcess};
use serde_json::{json, Value};

fn header(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

/// Calls `/api/auth/me` on `apps` in turn until a 429; returns how many passed first and
/// the refusal.
async fn until_refused(apps: &[&TestApp], token: &str) -> (usize, reqwest::Response) {
    let mut remaining = Vec::new();
    for i in 0..40 {
        let app = apps[i % apps.len()];
        let response = app.get_authed("/api/auth/me", token).await;
        if response.status() == 429 {
            // Each pass said how many were left, counting down.
            assert!(remaining.windows(2).all(|w| w[0] >= w[1]), "{remaining:?}");
            return (i, response);
        }
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-limit"), Some(10));
        remaining.push(header(&response, "ratelimit-remaining").unwrap());
    }
    panic!("never limited: {remaining:?}");
}

async fn expect_rate_limited(refused: reqwest::Response) {
    let retry_after = header(&refused, "retry-after").unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&refused, "ratelimit-remaining"), Some(0));
    assert!(header(&refused, "ratelimit-reset").is_some());
    expect_problem(refused, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_tenants_quota_holds_across_two_serve_processes_sharing_redis() {
    // One request a second with a burst of ten, for each tenant.
    let quota = [("XENO_TENANT_RATE", "1")];
    let database = fresh_database_name();
    let shared = [quota[0], ("REDIS_URL", "redis://127.0.0.1:6379")];
    let first = XenoProcess::serve(&database, &shared).await;
    let second = XenoProcess::serve(&database, &shared).await;
    let apps: Vec<TestApp> = [&first, &second]
        .iter()
        .map(|p| {
            TestApp::attach(
                test_config(&database, &[]),
                database.clone(),
                p.base.clone(),
            )
        })
        .collect();
    let token = apps[0].register("Shared", "owner@shared.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (passed, refused) = until_refused(&[&apps[0], &apps[1]], &token).await;
    // Ten between them (eleven if a second went by), not ten each.
    assert!((10..=11).contains(&passed), "{passed} passed");
    expect_rate_limited(refused).await;
    // Another tenant has a quota of its own.
    let other = apps[1].register("Other", "owner@other.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        apps[1].get_authed("/api/auth/me", &other).await.status(),
        200
    );

    // Password guesses count across processes too: five on one, and the other makes the
    // next wait, even for the right password.
    let login = |app: &TestApp, password: &str| {
        let body = json!({ "email": "owner@other.example", "password": password });
        let request = app.client.post(app.url("/api/auth/login")).json(&body);
        async move { request.send().await.unwrap() }
    };
    for _ in 0..6 {
        assert_eq!(login(&apps[0], "not the password 1").await.status(), 401);
    }
    expect_problem(
        login(&apps[1], "correct horse 9").await,
        429,
        "rate_limited",
    )
    .await;
}

/// A Redis of this test's own, so it can be stopped.
struct OwnRedis(Child, u16);

impl OwnRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Stopped (killed and waited for) on drop.
        #[allow(clippy::zombie_processes)]
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self(child, port);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("redis-server did not start");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.1)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn limits_fall_back_to_each_process_when_redis_stops() {
    let mut redis = OwnRedis::start().await;
    let url = redis.url();
    let app = TestApp::spawn_with(&[("REDIS_URL", &url), ("XENO_TENANT_RATE", "1")]).await;
    let token = app.register("Fallback", "owner@fallback.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Two requests drawn from the quota kept in Redis.
    for _ in 0..2 {
        assert_eq!(app.get_authed("/api/auth/me", &token).await.status(), 200);
    }
    let keys: Vec<String> = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
        .send_packed_command(redis::cmd("KEYS").arg("xeno:limit:*:tenant:*"))
        .await
        .and_then(|v| redis::from_redis_value(&v))
        .unwrap();
    assert_eq!(keys.len(), 1, "the tenant's quota lives in Redis: {keys:?}");

    redis.0.kill().unwrap();
    redis.0.wait().unwrap();
    let before = metric(&app, "xeno_rate_limit_fallbacks_total{limit=\"tenant\"}").await;
    // The service answers on, and the limit still holds, now in this process.
    let (passed, refused) = until_refused(&[&app], &token).await;
    assert!((10..=11).contains(&passed), "{passed} passed");
    expect_rate_limited(refused).await;
    let after = metric(&app, "xeno_rate_limit_fallbacks_total{limit=\"tenant\"}").await;
    assert!(
        after >= before + 10.0,
        "fallbacks counted: {before} → {after}"
    );
}

#[tokio::test]
async fn a_shops_deliveries_past_their_quota_are_refused_and_not_stored() {
    // One delivery a second with a burst of sixty for the shop.
    let c = connect(json!({}), &[("XENO_SHOP_WEBHOOK_RATE", "1")], 1.0).await;
    let stored_before = event_count(&c.app).await;
    let mut passed = 0;
    let mut refused = None;
    for i in 0..80 {
        let body = serde_json::to_vec(&json!({
            "id": 9_000 + i, "email": format!("c{i}@example.com"),
            "created_at": "2026-11-20T10:00:00-05:00", "updated_at": "2026-11-20T10:00:00-05:00"
        }))
        .unwrap();
        let sig = signature(&body, SECRET);
        let id = format!("quota-{i}");
        let headers = [
            ("content-type", "application/json"),
            ("x-shopify-topic", "customers/create"),
            ("x-shopify-hmac-sha256", sig.as_str()),
            ("x-shopify-shop-domain", c.shop.as_str()),
            ("x-shopify-webhook-id", id.as_str()),
        ];
        let response = post_webhook(&c.app, &headers, body).await;
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), 200);
        passed += 1;
    }
    assert!((60..=62).contains(&passed), "{passed} passed");
    let refused = refused.expect("the quota ran out");
    assert!(header(&refused, "retry-after").is_some());
    expect_problem(refused, 429, "rate_limited").await;
    // What was refused was not stored; Shopify delivers it again later.
    assert_eq!(event_count(&c.app).await - stored_before, passed);
}

#[tokio::test]
async fn a_tenants_flood_is_shed_fast_while_others_health_and_intake_are_served() {
    let app = TestApp::spawn_with(&[
        ("XENO_MAX_IN_FLIGHT", "4"),
        ("XENO_TENANT_IN_FLIGHT", "1"),
        ("XENO_QUEUE_WAIT_MS", "300"),
    ])
    .await;
    let token = |body: Value| body["token"].as_str().unwrap().to_owned();
    let flooder = token(app.register("Flood", "owner@flood.example").await);
    let neighbour = token(app.register("Calm", "owner@calm.example").await);

    // Stores cannot be read while this lock is held: the flooder's requests stay in flight.
    let mut admin = app.connect_as("xeno_owner").await;
    sqlx::query("BEGIN").execute(&mut admin).await.unwrap();
    sqlx::query("LOCK TABLE stores IN ACCESS EXCLUSIVE MODE")
        .execute(&mut admin)
        .await
        .unwrap();
    let flood: Vec<_> = (0..10)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/api/stores");
            let flooder = flooder.clone();
            tokio::spawn(async move { client.get(url).bearer_auth(flooder).send().await.unwrap() })
        })
        .collect();
    // The requests that found no room are shed, not left to pile up.
    let mut shed = 0;
    let mut waiting = Vec::new();
    for request in flood {
        tokio::time::sleep(Duration::from_millis(1)).await;
        if request.is_finished() {
            let response = request.await.unwrap();
            assert_eq!(header(&response, "retry-after"), Some(1));
            expect_problem(response, 503, "overloaded").await;
            shed += 1;
        } else {
            waiting.push(request);
        }
    }
    // Meanwhile everyone else is served: another tenant, health, readiness and intake.
    assert_eq!(
        app.get_authed("/api/auth/me", &neighbour).await.status(),
        200
    );
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let body = br#"{"id": 1}"#.to_vec();
    let sig = signature(&body, "unknown");
    let intake = post_webhook(
        &app,
        &[
            ("x-shopify-topic", "customers/create"),
            ("x-shopify-hmac-sha256", sig.as_str()),
            ("x-shopify-shop-domain", "nobody.myshopify.com"),
            ("x-shopify-webhook-id", "flood-1"),
        ],
        body,
    )
    .await;
    // Admitted and answered (the signature is refused: this app has no Shopify secret).
    assert_eq!(intake.status(), 401);

    // Past the queue wait, so the queued requests have been shed before room frees up.
    tokio::time::sleep(Duration::from_millis(600)).await;
    sqlx::query("ROLLBACK").execute(&mut admin).await.unwrap();
    let mut statuses = Vec::new();
    for request in waiting {
        let response = request.await.unwrap();
        statuses.push(response.status().as_u16());
    }
    // One of the flood ran (its tenant's share); every other request was shed with 503.
    let served = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(served, 1, "{statuses:?}");
    assert_eq!(shed + statuses.len() - served, 9, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 503].contains(s)),
        "{statuses:?}"
    );
    // And the tenant is served again the moment the load drops.
    assert_eq!(app.get_authed("/api/stores", &flooder).await.status(), 200);
    let shed_total = metric(&app, "xeno_requests_shed_total{budget=\"tenant\"}").await;
    assert!(shed_total >= 9.0, "{shed_total}");
}
