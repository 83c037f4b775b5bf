//! Connecting stores: OAuth installs, tampered callbacks, custom-app and expiring tokens.

use crate::support::shop::query_of;
use crate::support::shop::{
    app_for, authorize, connect, create_shop, no_redirects, sim, sim_token, store_rows, stores,
    wait_for_sync, SECRET,
};
use crate::support::webhooks::{drain, post_webhook, signature};
use crate::support::{expect_problem, TestApp};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::Duration;

#[tokio::test]
async fn oauth_install_connects_the_store_and_subscribes_its_webhooks() {
    let c = connect(
        json!({ "currency": "JPY", "timezone": "Asia/Tokyo" }),
        &[],
        1.0,
    )
    .await;
    let list = stores(&c.app, &c.token).await;
    assert_eq!(list.len(), 1);
    let store = &list[0];
    assert_eq!(store["id"], c.store_id.as_str());
    assert_eq!(store["shop_domain"], "acme.myshopify.com");
    assert_eq!(store["status"], "active");
    assert_eq!(store["currency"], "JPY");
    assert_eq!(store["iana_timezone"], "Asia/Tokyo");
    assert_eq!(store["connection_kind"], "oauth");
    assert!(
        store["shopify_shop_id"].is_string(),
        "big ids travel as strings"
    );
    assert!(
        store["token_expires_at"].is_string(),
        "an expiring offline token by default"
    );
    let scopes: Vec<&str> = store["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"read_all_orders"));

    let subscriptions: Value = reqwest::get(format!(
        "{}/_sim/shops/{}/subscriptions",
        c.sim.base_url(),
        c.shop
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let subscriptions = subscriptions.as_array().unwrap();
    assert_eq!(subscriptions.len(), xeno_ingest::connect::TOPICS.len());
    assert!(subscriptions
        .iter()
        .all(|s| s["callback_url"] == c.app.url("/api/webhooks/shopify")));

    // The token at rest is sealed, not the token.
    let mut conn = c.app.connect_as("xeno_owner").await;
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT access_token FROM stores")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(!sealed.windows(6).any(|w| w == b"shpat_"));

    // Another account cannot take the shop over.
    let other = c.app.register("Rival", "rival@example.com").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback = authorize(&c.app, &other, &c.shop).await;
    let refused = no_redirects().get(&callback).send().await.unwrap();
    expect_problem(refused, 409, "conflict").await;
    assert!(stores(&c.app, &other).await.is_empty());
}

fn sign_query(params: &[(&str, String)]) -> String {
    let mut pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(pairs.join("&").as_bytes());
    hex_encode(&mac.finalize().into_bytes())
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn with_params(app: &TestApp, params: &[(&str, String)], hmac: &str) -> String {
    let mut url = url::Url::parse(&app.url("/api/shopify/callback")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        q.append_pair("hmac", hmac);
    }
    url.to_string()
}

#[tokio::test]
async fn tampered_callbacks_are_refused_and_store_nothing() {
    let sim = sim(1.0).await;
    let shop = "acme.myshopify.com";
    create_shop(&sim, shop, json!({})).await;
    let app = app_for(&sim, &[]).await;
    let token = app.register("Acme", "a@acme.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.register("Other", "o@other.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = no_redirects();

    // A wrong hmac.
    let callback = authorize(&app, &token, shop).await;
    let mut params = query_of(&callback);
    let tampered: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| {
            if k == "hmac" {
                (k.clone(), "00".repeat(32))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    let url = with_params(
        &app,
        &tampered
            .iter()
            .filter(|(k, _)| k != "hmac")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect::<Vec<_>>(),
        &"00".repeat(32),
    );
    expect_problem(http.get(url).send().await.unwrap(), 401, "unauthenticated").await;

    // A shop that is not a myshopify.com host, correctly signed.
    params.retain(|(k, _)| k != "hmac");
    let mut evil: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (k, v) in &mut evil {
        if *k == "shop" {
            *v = "acme.evil.com".to_owned();
        }
    }
    let hmac = sign_query(&evil);
    expect_problem(
        http.get(with_params(&app, &evil, &hmac))
            .send()
            .await
            .unwrap(),
        400,
        "bad_request",
    )
    .await;

    // A stale timestamp, correctly signed.
    let mut stale: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (k, v) in &mut stale {
        if *k == "timestamp" {
            *v = (chrono::Utc::now().timestamp() - 3600).to_string();
        }
    }
    let hmac = sign_query(&stale);
    expect_problem(
        http.get(with_params(&app, &stale, &hmac))
            .send()
            .await
            .unwrap(),
        400,
        "bad_request",
    )
    .await;

    // An expired state, signed with the service's own key.
    let state_keys = xeno_http::auth::StateKeys::new(app.config.jwt_secret.as_bytes());
    let claims: Value = {
        let state = params.iter().find(|(k, _)| k == "state").unwrap().1.clone();
        let payload = state.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    let expired = state_keys
        .issue(&xeno_http::auth::InstallState {
            tid: claims["tid"].as_str().unwrap().parse().unwrap(),
            sub: claims["sub"].as_str().unwrap().parse().unwrap(),
            shop: shop.to_owned(),
            nonce: claims["nonce"].as_str().unwrap().to_owned(),
            exp: chrono::Utc::now().timestamp() - 10,
        })
        .unwrap();
    let mut old: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (k, v) in &mut old {
        if *k == "state" {
            *v = expired.clone();
        }
    }
    let hmac = sign_query(&old);
    expect_problem(
        http.get(with_params(&app, &old, &hmac))
            .send()
            .await
            .unwrap(),
        401,
        "unauthenticated",
    )
    .await;

    // The right state, but claiming another tenant: that tenant never issued the nonce.
    let other_me: Value = app
        .get_authed("/api/auth/me", &other)
        .await
        .json()
        .await
        .unwrap();
    let hijack = state_keys
        .issue(&xeno_http::auth::InstallState {
            tid: other_me["tenant"]["id"].as_str().unwrap().parse().unwrap(),
            sub: other_me["user"]["id"].as_str().unwrap().parse().unwrap(),
            shop: shop.to_owned(),
            nonce: claims["nonce"].as_str().unwrap().to_owned(),
            exp: chrono::Utc::now().timestamp() + 300,
        })
        .unwrap();
    let mut wrong_tenant: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    for (k, v) in &mut wrong_tenant {
        if *k == "state" {
            *v = hijack.clone();
        }
    }
    let hmac = sign_query(&wrong_tenant);
    expect_problem(
        http.get(with_params(&app, &wrong_tenant, &hmac))
            .send()
            .await
            .unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(
        store_rows(&app).await,
        0,
        "nothing stored by any refused callback"
    );

    // The genuine callback works once; replaying it is refused.
    let first = http.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), 303);
    let again = http.get(&callback).send().await.unwrap();
    expect_problem(again, 401, "unauthenticated").await;
    assert_eq!(store_rows(&app).await, 1);
}

#[tokio::test]
async fn custom_app_tokens_are_verified_before_saving() {
    let sim = sim(1.0).await;
    let shop = "custom.myshopify.com";
    create_shop(
        &sim,
        shop,
        json!({ "currency": "EUR", "timezone": "Europe/Berlin" }),
    )
    .await;
    let app = app_for(&sim, &[]).await;
    let token = app.register("Custom", "c@custom.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |body: Value| {
        let request = app
            .client
            .post(app.url("/api/stores"))
            .bearer_auth(&token)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let wrong = post(json!({ "shop_domain": shop, "access_token": "shpat_wrong" })).await;
    let body = expect_problem(wrong, 422, "invalid_fields").await;
    assert_eq!(body["errors"][0]["field"], "access_token");
    let bad_domain =
        post(json!({ "shop_domain": "custom.example.com", "access_token": "x" })).await;
    expect_problem(bad_domain, 422, "invalid_fields").await;
    assert_eq!(store_rows(&app).await, 0);

    // A real custom-app token (issued by the simulator's OAuth, non-expiring).
    let access_token = sim_token(&sim, shop).await;
    let created = post(json!({ "shop_domain": shop, "access_token": access_token, "webhook_secret": "custom-secret" })).await;
    assert_eq!(created.status(), 201);
    let store: Value = created.json().await.unwrap();
    assert_eq!(store["connection_kind"], "custom_app");
    assert_eq!(store["currency"], "EUR");
    assert!(
        store["token_expires_at"].is_null(),
        "custom-app tokens do not expire"
    );

    // Its webhooks verify with its own secret.
    let body =
        br#"{"id": 5, "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z"}"#
            .to_vec();
    let ok = post_webhook(
        &app,
        &[
            ("x-shopify-topic", "customers/create"),
            ("x-shopify-hmac-sha256", &signature(&body, "custom-secret")),
            ("x-shopify-shop-domain", shop),
            ("x-shopify-webhook-id", "custom-1"),
        ],
        body,
    )
    .await;
    assert_eq!(ok.status(), 200);

    // Disconnecting deletes the subscriptions at Shopify and purges on request.
    let run = wait_for_sync(&app, &token, store["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "completed", "{run}");
    drain(&app).await;
    let deleted = app
        .client
        .delete(app.url(&format!(
            "/api/stores/{}?purge=true",
            store["id"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let subscriptions: Value = reqwest::get(format!(
        "{}/_sim/shops/{shop}/subscriptions",
        sim.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(subscriptions, json!([]));
    let after: Value = app
        .get_authed(
            &format!("/api/stores/{}", store["id"].as_str().unwrap()),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["status"], "disconnected");
    assert_eq!(after["counts"]["customers"], 0);
}

#[tokio::test]
async fn expiring_tokens_refresh_through_many_expiries_with_two_workers_racing() {
    // One-second access tokens.
    let c = connect(json!({}), &[], 3600.0).await;
    let tenant: Value = c
        .app
        .get_authed("/api/auth/me", &c.token)
        .await
        .json()
        .await
        .unwrap();
    let tenant =
        xeno_domain::ids::TenantId(tenant["tenant"]["id"].as_str().unwrap().parse().unwrap());
    let store = xeno_domain::ids::StoreId(c.store_id.parse().unwrap());
    let state = xeno::app_state(&c.app.config, &xeno::services(&c.app.config).unwrap()).unwrap();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let state = state.clone();
        let shop = c.shop.clone();
        workers.push(tokio::spawn(async move {
            for _ in 0..8 {
                let token = xeno_ingest::connect::access_token(
                    &state.db,
                    &state.cipher,
                    &state.shopify,
                    &state.http,
                    tenant,
                    store,
                    &shop,
                )
                .await
                .expect("a live token");
                let admin = xeno_shopify::admin::AdminClient::new(
                    state.http.clone(),
                    &state.shopify.base_url(&shop),
                    &state.shopify.api_version,
                    &token,
                );
                admin.shop().await.expect("every API call succeeds");
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let store: Value = c
        .app
        .get_authed(&format!("/api/stores/{}", c.store_id), &c.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(store["status"], "active");
}

#[tokio::test]
async fn a_revoked_token_marks_the_store_for_reauthorisation() {
    let c = connect(json!({ "customers": 20, "orders": 30 }), &[], 1.0).await;
    let (app, token) = (&c.app, c.token.as_str());
    let revoked = reqwest::Client::new()
        .post(format!("{}/_sim/shops/{}/revoke", c.sim.base_url(), c.shop))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);

    let sync_now = || async {
        app.client
            .post(app.url(&format!("/api/sync/{}", c.store_id)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(sync_now().await.status(), 202);
    let run = wait_for_sync(app, token, &c.store_id).await;
    assert_eq!(run["status"], "failed", "{run}");
    let store: Value = app
        .get_authed(&format!("/api/stores/{}", c.store_id), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(store["status"], "needs_reauth", "{store}");
    assert!(
        store["status_reason"]
            .as_str()
            .unwrap()
            .contains("reconnect"),
        "{store}"
    );
    // Nothing retries against a refused token: syncing asks for a reconnection first.
    let refused = expect_problem(sync_now().await, 409, "conflict").await;
    assert!(
        refused["detail"].as_str().unwrap().contains("reconnect"),
        "{refused}"
    );
}
