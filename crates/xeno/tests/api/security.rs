//! Webhooks bound to their shop: Shopify signs the body only, so the shop, topic and ids in
//! the headers are anyone's to set. A body signed for one shop of the app must not act on
//! another, come out of turn, or be replayed.

use crate::support::shop::{
    app_for, connect_shop, create_shop, get, sim, store_id_of, wait_for_sync, SECRET,
};
use crate::support::webhooks::{drain, post_webhook, signature};
use crate::support::{expect_problem, TestApp};
use serde_json::{json, Value};

const ALPHA: &str = "alpha.myshopify.com";
const BETA: &str = "beta.myshopify.com";

/// Delivers `payload` signed with the app's secret, as if for `shop`.
async fn deliver(
    app: &TestApp,
    shop: &str,
    topic: &str,
    payload: &Value,
    webhook_id: &str,
    event_id: &str,
    triggered_at: &str,
) -> reqwest::Response {
    let body = serde_json::to_vec(payload).unwrap();
    let sig = signature(&body, SECRET);
    post_webhook(
        app,
        &[
            ("content-type", "application/json"),
            ("x-shopify-topic", topic),
            ("x-shopify-hmac-sha256", &sig),
            ("x-shopify-shop-domain", shop),
            ("x-shopify-webhook-id", webhook_id),
            ("x-shopify-event-id", event_id),
            ("x-shopify-triggered-at", triggered_at),
        ],
        body,
    )
    .await
}

#[tokio::test]
async fn a_body_signed_for_one_shop_cannot_act_on_another_or_out_of_turn() {
    let sim = sim(1.0).await;
    create_shop(&sim, ALPHA, json!({ "orders": 30 })).await;
    create_shop(&sim, BETA, json!({ "orders": 10, "seed": 9 })).await;
    let app = app_for(&sim, &[]).await;
    let victim = app.register("Victim", "owner@victim.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    connect_shop(&app, &victim, ALPHA).await;
    let alpha = store_id_of(&app, &victim, ALPHA).await;
    wait_for_sync(&app, &victim, &alpha).await;
    let orders_before =
        get(&app, &victim, &format!("/api/stores/{alpha}")).await["counts"]["orders"].clone();
    assert!(orders_before.as_i64().unwrap() > 0);
    let alpha_id: i64 = get(&app, &victim, &format!("/api/stores/{alpha}")).await
        ["shopify_shop_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = chrono::Utc::now().to_rfc3339();

    // Bodies Shopify signed for beta (the attacker's own shop), aimed at alpha.
    let beta_shop = json!({ "id": 77, "name": "Beta", "domain": BETA, "myshopify_domain": BETA });
    let cases = [
        ("shop/redact", json!({ "shop_id": 77, "shop_domain": BETA })),
        ("app/uninstalled", beta_shop),
        (
            "customers/redact",
            json!({ "shop_id": 77, "shop_domain": BETA,
                    "customer": { "id": 1, "email": "a@b.example", "phone": null },
                    "orders_to_redact": [] }),
        ),
        // Addressed to alpha, but alpha is still installed: Shopify sends shop/redact only
        // 48 hours after an uninstall.
        (
            "shop/redact",
            json!({ "shop_id": alpha_id, "shop_domain": ALPHA }),
        ),
    ];
    for (i, (topic, payload)) in cases.iter().enumerate() {
        let response = deliver(
            &app,
            ALPHA,
            topic,
            payload,
            &format!("attack-{i}"),
            &format!("action-{i}"),
            &now,
        )
        .await;
        assert_eq!(response.status(), 200, "stored, to be seen");
    }
    drain(&app).await;

    // Nothing was applied: alpha is installed and has its data; each attempt is visible.
    let store = get(&app, &victim, &format!("/api/stores/{alpha}")).await;
    assert_eq!(store["status"], "active", "{store}");
    assert_eq!(store["counts"]["orders"], orders_before);
    let rejected = get(&app, &victim, "/api/webhooks/events?status=rejected").await;
    let reasons: Vec<&str> = rejected["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["last_error"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 4, "{rejected}");
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("is for beta.myshopify.com, but was delivered for alpha"))
            .count(),
        3,
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("still installed")),
        "{reasons:?}"
    );

    // An irreversible action delivered again under a fresh webhook id is one delivery.
    let request = json!({ "shop_id": alpha_id, "shop_domain": ALPHA,
                          "customer": { "id": 1, "email": null, "phone": null },
                          "orders_requested": [] });
    let topic = "customers/data_request";
    let first = deliver(&app, ALPHA, topic, &request, "w-1", "same-action", &now).await;
    let again = deliver(&app, ALPHA, topic, &request, "w-2", "same-action", &now).await;
    let first: Value = first.json().await.unwrap();
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        (first["stored"].clone(), again["stored"].clone()),
        (json!(true), json!(false))
    );
    // Its event id under another topic is another delivery (one action, several topics).
    let order = json!({ "id": 1 });
    let other = deliver(
        &app,
        ALPHA,
        "orders/updated",
        &order,
        "w-3",
        "same-action",
        &now,
    )
    .await;
    assert_eq!(other.json::<Value>().await.unwrap()["stored"], true);

    // A delivery made long before Shopify's retries end is a replay.
    let old = (chrono::Utc::now() - chrono::Duration::hours(25)).to_rfc3339();
    let replay = deliver(
        &app,
        ALPHA,
        "orders/delete",
        &order,
        "w-4",
        "old-action",
        &old,
    )
    .await;
    assert_eq!(replay.status(), 400);
    drain(&app).await;

    // An uninstall older than the store's latest install is stale.
    let earlier = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let alpha_shop = json!({ "id": alpha_id, "domain": ALPHA, "myshopify_domain": ALPHA });
    deliver(
        &app,
        ALPHA,
        "app/uninstalled",
        &alpha_shop,
        "w-5",
        "uninstall-1",
        &earlier,
    )
    .await;
    drain(&app).await;
    let store = get(&app, &victim, &format!("/api/stores/{alpha}")).await;
    assert_eq!(store["status"], "active", "{store}");
    // A current one, for this shop, uninstalls.
    deliver(
        &app,
        ALPHA,
        "app/uninstalled",
        &alpha_shop,
        "w-6",
        "uninstall-2",
        &now,
    )
    .await;
    drain(&app).await;
    let store = get(&app, &victim, &format!("/api/stores/{alpha}")).await;
    assert_eq!(store["status"], "uninstalled", "{store}");
}

#[tokio::test]
async fn browser_and_cache_headers_protect_every_answer() {
    let app = TestApp::spawn_with(&[("XENO_PUBLIC_URL", "https://xeno.example")]).await;
    let token = app.register("Headers", "owner@headers.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (path, authed) in [
        ("/api/auth/me", true),
        ("/api/orders", true),
        ("/api/auth/me", false),
        ("/healthz", false),
        ("/", false),
        ("/api/docs", false),
    ] {
        let response = if authed {
            app.get_authed(path, &token).await
        } else {
            app.client.get(app.url(path)).send().await.unwrap()
        };
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            h["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
        assert!(h["permissions-policy"]
            .to_str()
            .unwrap()
            .contains("camera=()"));
        assert!(h["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age="));
        if path.starts_with("/api/") && path != "/api/docs" {
            assert_eq!(
                h["cache-control"], "no-store",
                "{path}: tenant data is never cached"
            );
        }
    }
    // The API's own page runs no inline script.
    let docs = app
        .client
        .get(app.url("/api/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(docs.contains(r#"<script src="/api/docs.js"></script>"#));
    assert!(!docs.contains("<script>"));
    let script = app
        .client
        .get(app.url("/api/docs.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));

    // Over plain http there is no HSTS.
    let plain = TestApp::spawn().await;
    let response = plain
        .client
        .get(plain.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get("strict-transport-security")
        .is_none());
}

#[tokio::test]
async fn metrics_answer_only_the_configured_token() {
    let app = TestApp::spawn_with(&[("XENO_METRICS_TOKEN", "scrape-secret")]).await;
    let metrics = |token: Option<&'static str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(metrics(None).await.unwrap().status(), 401);
    assert_eq!(metrics(Some("wrong")).await.unwrap().status(), 401);
    let answer = metrics(Some("scrape-secret")).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer
        .text()
        .await
        .unwrap()
        .contains("xeno_webhook_events_due"));
}

#[tokio::test]
async fn hostile_query_values_are_a_clear_400_never_a_500() {
    let app = TestApp::spawn().await;
    let token = app.register("Hostile", "owner@hostile.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        "/api/customers?q=a%00b",
        "/api/orders?q=%00",
        "/api/webhooks/events?topic=orders%2Fcreate%00",
        "/api/metrics/dashboard?from=-262143-01-01&to=2026-11-01",
        "/api/metrics/dashboard?to=-262143-01-01",
        "/api/metrics/checkouts?from=1969-12-31&to=1970-01-05",
        "/api/orders?from=-262143-01-01",
        "/api/metrics/segments?to=-262143-01-01",
        "/api/metrics/dashboard?from=2026-11-01&to=3000-01-01",
        "/api/reconciliation?store_id=not-a-store",
        "/api/sync/runs?store_id=%00",
    ] {
        let response = app.get_authed(path, &token).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains("query"),
            "{path}: {body}"
        );
    }
    // A store id that is no id, in a path, is a 400; an unknown one a 404.
    for (path, status) in [
        ("/api/reconciliation/not-a-store", 400),
        (
            "/api/reconciliation/01900000-0000-7000-8000-000000000000",
            404,
        ),
    ] {
        let response = app
            .client
            .post(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    let unknown = app
        .get_authed(
            "/api/reconciliation?store_id=01900000-0000-7000-8000-000000000000",
            &token,
        )
        .await;
    assert_eq!(unknown.status(), 404);
    // The bounds themselves are fine.
    let edge = app
        .get_authed(
            "/api/metrics/dashboard?from=2999-12-01&to=2999-12-31",
            &token,
        )
        .await;
    assert_eq!(edge.status(), 200);
}

#[tokio::test]
async fn a_password_guessing_flood_is_slowed_then_locked_and_cleared_by_success() {
    let app = TestApp::spawn().await;
    app.register("Flood", "owner@flood.example").await;
    let app = &app;
    let login = |password: &'static str| async move {
        app.post_json(
            "/api/auth/login",
            &json!({ "email": "owner@flood.example", "password": password }),
        )
        .await
    };
    // The first failures are answered as failures.
    for _ in 0..5 {
        assert_eq!(login("not the password 1").await.status(), 401);
    }
    // The next earns a wait: refused before any password is checked, the right one too.
    assert_eq!(login("not the password 1").await.status(), 401);
    let held = login("correct horse 9").await;
    assert_eq!(held.status(), 429);
    let wait: u64 = held.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = held.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    // After the wait, the right password works and clears the account.
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(login("correct horse 9").await.status(), 200);
    assert_eq!(login("not the password 1").await.status(), 401);

    // Registrations from one address are limited too.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let response = app
            .post_json(
                "/api/auth/register",
                &json!({ "tenant_name": "Spam", "email": format!("spam{i}@flood.example"),
                         "password": "correct horse 9" }),
            )
            .await;
        statuses.push(response.status().as_u16());
    }
    // One registration already came from this address (the owner's).
    assert_eq!(statuses, [201, 201, 201, 201, 429, 429]);
}

#[tokio::test]
async fn one_bad_delivery_never_fails_the_deliveries_beside_it() {
    let sim = sim(1.0).await;
    create_shop(&sim, ALPHA, json!({ "orders": 5 })).await;
    let app = app_for(&sim, &[]).await;
    let token = app.register("Poison", "owner@poison.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    connect_shop(&app, &token, ALPHA).await;
    let store = store_id_of(&app, &token, ALPHA).await;
    wait_for_sync(&app, &token, &store).await;

    // 200 ordinary deliveries sent at once with 20 whose webhook id no index can hold and 5
    // bodies nested 30,000 deep; a quarter of the ordinary ones twice, as Shopify retries.
    let url = app.url("/api/webhooks/shopify");
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000)).into_bytes();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..250_u32 {
        let (client, url, deep) = (app.client.clone(), url.clone(), deep.clone());
        sends.spawn(async move {
            let (kind, id, body) = match i {
                0..200 => (
                    "ok",
                    format!("ok-{i}"),
                    serde_json::to_vec(&json!({ "id": 1000 + i })).unwrap(),
                ),
                200..220 => ("long", "x".repeat(6_000), b"{\"id\": 1}".to_vec()),
                220..225 => ("deep", format!("deep-{i}"), deep),
                _ => (
                    "ok",
                    format!("ok-{}", i - 225),
                    serde_json::to_vec(&json!({ "id": 1000 + i - 225 })).unwrap(),
                ),
            };
            let sig = signature(&body, SECRET);
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .header("x-shopify-topic", "products/delete")
                .header("x-shopify-hmac-sha256", sig)
                .header("x-shopify-shop-domain", ALPHA)
                .header("x-shopify-webhook-id", id)
                .body(body)
                .send()
                .await
                .unwrap();
            (kind, response.status().as_u16())
        });
    }
    let mut outcomes: Vec<(&str, u16)> = Vec::new();
    while let Some(done) = sends.join_next().await {
        outcomes.push(done.unwrap());
    }
    let count = |kind: &str, status: u16| outcomes.iter().filter(|o| **o == (kind, status)).count();
    assert_eq!(count("ok", 200), 225, "{outcomes:?}");
    assert_eq!(count("long", 400), 20, "{outcomes:?}");
    assert_eq!(
        count("deep", 200),
        5,
        "kept as received, to fail visibly: {outcomes:?}"
    );

    // Each ordinary delivery is stored once; the deep ones are dead letters saying why.
    drain(&app).await;
    let mut conn = app.connect_as("xeno_owner").await;
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE webhook_id LIKE 'ok-%'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(stored, 200);
    let dead = get(&app, &token, "/api/webhooks/events?status=dead").await;
    let dead = dead["data"].as_array().unwrap();
    assert_eq!(dead.len(), 5);
    assert!(dead.iter().all(|e| e["last_error"]
        .as_str()
        .unwrap()
        .contains("nested more than 128 deep")));
}

#[tokio::test]
async fn cross_origin_calls_only_from_the_configured_origins() {
    let preflight = |app: &TestApp, origin: &'static str| {
        let request = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/api/orders"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization");
        async move { request.send().await.unwrap() }
    };
    let allowed = |response: &reqwest::Response| {
        response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };

    // Off by default: no origin is allowed, not even for a simple GET.
    let closed = TestApp::spawn().await;
    assert_eq!(
        allowed(&preflight(&closed, "https://bi.example.com").await),
        None
    );
    let get = closed
        .client
        .get(closed.url("/healthz"))
        .header("origin", "https://bi.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed(&get), None);

    let open = TestApp::spawn_with(&[(
        "XENO_CORS_ORIGINS",
        "https://bi.example.com, https://sheets.example.org",
    )])
    .await;
    let answer = preflight(&open, "https://bi.example.com").await;
    assert!(answer.status().is_success(), "{}", answer.status());
    assert_eq!(allowed(&answer).as_deref(), Some("https://bi.example.com"));
    let methods = answer.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("GET"), "{methods}");
    assert_eq!(
        allowed(&preflight(&open, "https://evil.example").await),
        None
    );
    // A real call from an allowed origin still needs its token.
    let registered = open.register("Cors", "cors@example.com").await;
    let call = open
        .client
        .get(open.url("/api/orders"))
        .header("origin", "https://sheets.example.org")
        .bearer_auth(registered["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 200);
    assert_eq!(
        allowed(&call).as_deref(),
        Some("https://sheets.example.org")
    );
}

#[tokio::test]
async fn metrics_can_live_on_an_address_of_their_own() {
    // A free port for the scraper's listener.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[("XENO_METRICS_BIND", bind.as_str())]).await;
    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    expect_problem(public, 404, "not_found").await;
    let scraped = app
        .client
        .get(format!("http://{bind}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(text.contains("xeno_dependency_up"), "{text}");
    // Only /metrics is there: the API is not on the scraper's port.
    let api = app
        .client
        .get(format!("http://{bind}/api/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
}

/// Walks every route the OpenAPI document marks as needing a token (so a new route is
/// covered as soon as it is documented): without a token, with a signed-out session's token,
/// and with another tenant's token aimed at this tenant's store and records.
#[tokio::test]
async fn every_protected_route_refuses_no_token_an_ended_session_and_another_tenants_ids() {
    let c = crate::support::shop::connect(
        json!({ "customers": 10, "products": 5, "orders": 20 }),
        &[],
        1.0,
    )
    .await;
    crate::support::shop::wait_for_sync(&c.app, &c.token, &c.store_id).await;
    let app = &c.app;
    let first_id = |path: &'static str| {
        let token = c.token.clone();
        async move {
            let page: Value = app.get_authed(path, &token).await.json().await.unwrap();
            page["data"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    let (customer, order, product) = (
        first_id("/api/customers").await,
        first_id("/api/orders").await,
        first_id("/api/products").await,
    );
    let mine = [
        c.store_id.clone(),
        c.shop.clone(),
        customer.clone(),
        order.clone(),
    ];

    let other = app.register("Other tenant", "other@example.com").await;
    let other_token = other["token"].as_str().unwrap().to_owned();
    let ended = app
        .post_json(
            "/api/auth/login",
            &json!({ "email": "other@example.com", "password": "correct horse 9" }),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = app
        .client
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&ended)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);

    let spec: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = get(app, &c.token, "/api/auth/me").await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut walked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation["security"].is_null() {
                continue;
            }
            walked += 1;
            let concrete = path
                .replace("{user_id}", &me)
                .replace("{store_id}", &c.store_id)
                .replace("{customer_id}", &customer)
                .replace("{order_id}", &order)
                .replace("{product_id}", &product)
                .replace("{segment}", "likely_to_return")
                .replace("{id}", &c.store_id);
            // Every query-scoped route is aimed at this tenant's store too.
            let url = app.url(&format!(
                "{concrete}?store_id={}&segment=champions",
                c.store_id
            ));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let send = |token: Option<&str>| {
                let mut request = app.client.request(method.clone(), &url);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
                    // A valid role and tag, so a member or tag route reaches its lookup (and
                    // its 404).
                    request = request.json(&json!({ "role": "viewer", "tag": "walk" }));
                }
                async move { request.send().await.unwrap() }
            };
            let what = format!("{method} {path}");
            assert_eq!(send(None).await.status(), 401, "{what} without a token");
            assert_eq!(
                send(Some(&ended)).await.status(),
                401,
                "{what} after sign-out"
            );
            if matches!(
                path.as_str(),
                // Starting an install names a shop, not a store of anyone's; signing out
                // would end the very session the walk goes on with.
                "/api/shopify/install" | "/api/auth/logout"
            ) {
                continue;
            }
            let answer = send(Some(&other_token)).await;
            let status = answer.status();
            let body = answer.text().await.unwrap();
            assert!(!status.is_server_error(), "{what}: {status} {body}");
            for secret in &mine {
                assert!(
                    !body.contains(secret.as_str()),
                    "{what} shows another tenant's {secret}: {body}"
                );
            }
            if path.contains('{') {
                assert_eq!(status, 404, "{what} with another tenant's ids: {body}");
            }
        }
    }
    assert!(walked >= 20, "only {walked} protected routes were walked");
    // The other tenant's DELETE changed nothing: the store is still here, with its data.
    let store = app
        .get_authed(&format!("/api/stores/{}", c.store_id), &c.token)
        .await;
    assert_eq!(store.status(), 200);
}
