//! API keys: a BI tool reads with a key, an analyst's key changes nothing, keys are kept only
//! as hashes, and a revoked or expired key is refused at once.

use crate::support::expect_problem;
use crate::support::shop::{all_pages, connect, get, wait_for_sync};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn a_program_reads_with_an_api_key_within_its_role_until_it_is_revoked() {
    let c = connect(json!({ "customers": 30, "orders": 120 }), &[], 1.0).await;
    let (app, token) = (&c.app, c.token.as_str());
    wait_for_sync(app, token, &c.store_id).await;
    let create = |body: Value| {
        let request = app
            .client
            .post(app.url("/api/keys"))
            .bearer_auth(token)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let created = create(json!({ "name": "Looker" })).await;
    assert_eq!(created.status(), 201);
    let analyst: Value = created.json().await.unwrap();
    let secret = analyst["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("xeno_"), "{secret}");
    assert_eq!(analyst["role"], "analyst");
    // The prefix shown is the key id's end, which the key carries.
    let shown = analyst["prefix"]
        .as_str()
        .unwrap()
        .trim_start_matches("xeno_…");
    assert!(secret.contains(shown), "{secret} {shown}");

    // A plain HTTP client pages through every order and reads the dashboard with the key.
    let orders = all_pages(app, &secret, "/api/orders?limit=50", async || {})
        .await
        .len();
    let store = get(app, token, &format!("/api/stores/{}", c.store_id)).await;
    assert_eq!(orders as i64, store["counts"]["orders"].as_i64().unwrap());
    let plain = reqwest::Client::new();
    let path = "/api/metrics/dashboard?from=2025-01-01&to=2026-12-31";
    let with_key: Value = plain
        .get(app.url(path))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(with_key["totals"], get(app, token, path).await["totals"]);

    // An analyst's key changes nothing and manages no keys; an admin's key may sync.
    let sync = |key: String| {
        let request = plain
            .post(app.url(&format!("/api/sync/{}", c.store_id)))
            .bearer_auth(key);
        async move { request.send().await.unwrap() }
    };
    expect_problem(sync(secret.clone()).await, 403, "forbidden").await;
    let listing = plain
        .get(app.url("/api/keys"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    expect_problem(listing, 403, "forbidden").await;
    let admin: Value = create(json!({ "name": "ops", "role": "admin" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        sync(admin["secret"].as_str().unwrap().to_owned())
            .await
            .status(),
        202
    );
    expect_problem(
        create(json!({ "name": "x", "role": "owner" })).await,
        422,
        "invalid_fields",
    )
    .await;

    // Only a hash is kept; the list shows no secret, and when and where a key was last used.
    let mut owner = app.connect_as("xeno_owner").await;
    let hash: Vec<u8> =
        sqlx::query_scalar("SELECT secret_hash FROM api_keys WHERE name = 'Looker'")
            .fetch_one(&mut owner)
            .await
            .unwrap();
    // xeno_<tenant>_<key>_<secret>: the secret may hold underscores itself.
    let secret_part = secret.splitn(4, '_').nth(3).unwrap();
    assert_eq!(hash, Sha256::digest(secret_part.as_bytes()).to_vec());
    let mut listed = Value::Null;
    for _ in 0..50 {
        listed = get(app, token, "/api/keys").await;
        if listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| !k["last_used_at"].is_null())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let keys = listed["data"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.get("secret").is_none()), "{listed}");
    assert!(
        keys.iter().all(|k| k["last_used_ip"] == "127.0.0.1"),
        "{listed}"
    );

    // Revoked: refused at once. Expired: refused too.
    let id = analyst["id"].as_str().unwrap();
    let revoked = app
        .client
        .delete(app.url(&format!("/api/keys/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let refused = plain
        .get(app.url("/api/orders"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    expect_problem(refused, 401, "unauthenticated").await;
    let expiring: Value = create(json!({ "name": "temp", "expires_in_days": 1 }))
        .await
        .json()
        .await
        .unwrap();
    sqlx::query("UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE name = 'temp'")
        .execute(&mut owner)
        .await
        .unwrap();
    let expired = plain
        .get(app.url("/api/orders"))
        .bearer_auth(expiring["secret"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    expect_problem(expired, 401, "unauthenticated").await;
    // A forged key of the right shape is refused the same way.
    let last = if secret.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{last}", &secret[..secret.len() - 1]);
    let forged = plain
        .get(app.url("/api/orders"))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    expect_problem(forged, 401, "unauthenticated").await;
}

/// A key limited to one store reads that store, named in each request, and nothing of the
/// tenant's other stores or across them.
#[tokio::test]
async fn a_key_limited_to_a_store_reads_only_that_store() {
    let c = connect(json!({ "orders": 20 }), &[], 1.0).await;
    let (app, token) = (&c.app, c.token.as_str());
    wait_for_sync(app, token, &c.store_id).await;
    let second = "second.myshopify.com";
    crate::support::shop::create_shop(&c.sim, second, json!({ "orders": 10 })).await;
    crate::support::shop::connect_shop(app, token, second).await;
    let other_store = crate::support::shop::store_id_of(app, token, second).await;
    let create = |body: Value| {
        let request = app
            .client
            .post(app.url("/api/keys"))
            .bearer_auth(token)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let stranger = "00000000-0000-0000-0000-000000000001";
    expect_problem(
        create(json!({ "name": "x", "store_ids": [stranger] })).await,
        422,
        "invalid_fields",
    )
    .await;
    expect_problem(
        create(json!({ "name": "x", "store_ids": [] })).await,
        422,
        "invalid_fields",
    )
    .await;
    let key: Value = create(json!({ "name": "one shop", "store_ids": [c.store_id] }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(key["store_ids"], json!([c.store_id]));
    let secret = key["secret"].as_str().unwrap().to_owned();
    let status = |path: String| {
        let request = app.client.get(app.url(&path)).bearer_auth(&secret);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        status(format!("/api/orders?store_id={}", c.store_id)).await,
        200
    );
    assert_eq!(status(format!("/api/stores/{}", c.store_id)).await, 200);
    assert_eq!(
        status(format!("/api/metrics/dashboard?store_id={}", c.store_id)).await,
        200
    );
    assert_eq!(status("/api/auth/me".to_owned()).await, 200);
    for refused in [
        "/api/orders".to_owned(),
        "/api/stores".to_owned(),
        "/api/metrics/dashboard".to_owned(),
        format!("/api/orders?store_id={other_store}"),
        format!("/api/stores/{other_store}"),
    ] {
        assert_eq!(status(refused.clone()).await, 403, "{refused}");
    }
}
