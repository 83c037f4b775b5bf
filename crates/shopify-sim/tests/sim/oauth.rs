//! OAuth installs and token lifecycles as Shopify runs them.

use super::*;

#[tokio::test]
async fn oauth_redirect_is_signed_as_shopify_signs_it_and_codes_work_once() {
    let sim = start(1.0).await;
    create_shop(&sim, "oauth.myshopify.com", json!({ "orders": 10 })).await;
    let (params, token) = install(&sim, "oauth.myshopify.com", false).await;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("shop"), "oauth.myshopify.com");
    assert_eq!(get("state"), "nonce-1");
    assert!(get("timestamp").parse::<i64>().is_ok());
    assert!(!get("host").is_empty());
    // Independent computation: sorted name=value pairs except hmac, joined by &.
    let mut pairs: Vec<String> = params
        .iter()
        .filter(|(k, _)| k != "hmac")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.sort();
    assert_eq!(get("hmac"), hmac_hex(SECRET, &pairs.join("&")));

    assert!(token["access_token"]
        .as_str()
        .unwrap()
        .starts_with("shpat_"));
    assert_eq!(
        token["scope"],
        "read_orders,read_customers,read_products,read_checkouts"
    );
    assert!(
        token.get("expires_in").is_none(),
        "offline tokens do not expire by default"
    );

    let reuse = client()
        .post(format!(
            "{}/oauth.myshopify.com/admin/oauth/access_token",
            sim.base_url()
        ))
        .json(&json!({ "client_id": KEY, "client_secret": SECRET, "code": get("code") }))
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), 400, "a code works once");

    let bad_client = client()
        .get(format!("{}/oauth.myshopify.com/admin/oauth/authorize?client_id=nope&scope=read_orders&redirect_uri=http://x/cb", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_client.status(), 400);

    let (status, _) = graphql(
        &sim,
        "oauth.myshopify.com",
        "shpat_wrong",
        "{ shop { name } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = graphql(
        &sim,
        "oauth.myshopify.com",
        token["access_token"].as_str().unwrap(),
        "{ shop { name currencyCode ianaTimezone plan { displayName } } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["shop"]["currencyCode"], "USD");
    assert_eq!(body["data"]["shop"]["ianaTimezone"], "America/New_York");
    assert_eq!(body["data"]["shop"]["name"], "Oauth");
}

#[tokio::test]
async fn expiring_tokens_expire_and_refresh_rotates() {
    // 3600 s / 3600 = a one-second access token.
    let sim = start(3600.0).await;
    let shop = "expiring.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 5 })).await;
    let (_, first) = install(&sim, shop, true).await;
    assert_eq!(first["expires_in"], 1);
    assert!(first["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("shprt_"));
    assert!(first["refresh_token_expires_in"].as_u64().unwrap() >= 2160);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(
        graphql(&sim, shop, access, "{ shop { name } }", json!({}))
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        graphql(&sim, shop, access, "{ shop { name } }", json!({}))
            .await
            .0,
        401,
        "expired"
    );

    let refresh = |token: String| {
        let url = format!("{}/{shop}/admin/oauth/access_token", sim.base_url());
        async move {
            client()
                .post(url)
                .form(&[
                    ("client_id", KEY),
                    ("client_secret", SECRET),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &token),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let second: Value = refresh(r1.clone()).await.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "the refresh token rotates");
    // The answer was "lost": retrying with the same refresh token still works once.
    let retried = refresh(r1.clone()).await;
    assert_eq!(retried.status(), 200);
    let third: Value = retried.json().await.unwrap();
    let r3 = third["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        graphql(
            &sim,
            shop,
            third["access_token"].as_str().unwrap(),
            "{ shop { name } }",
            json!({})
        )
        .await
        .0,
        200
    );
    // Using the newest retires everything older.
    let fourth = refresh(r3).await;
    assert_eq!(fourth.status(), 200);
    assert_eq!(refresh(r1).await.status(), 400);
    assert_eq!(refresh(r2).await.status(), 400);
}

#[tokio::test]
async fn a_non_expiring_token_migrates_once_to_an_expiring_one() {
    let sim = start(1.0).await;
    let shop = "migrate.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 5 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let old = token["access_token"].as_str().unwrap().to_owned();
    let exchange = |subject: String| {
        let url = format!("{}/{shop}/admin/oauth/access_token", sim.base_url());
        async move {
            client()
                .post(url)
                .json(&json!({
                    "client_id": KEY, "client_secret": SECRET, "expiring": 1,
                    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                    "subject_token": subject,
                    "subject_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
                    "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
                }))
                .send()
                .await
                .unwrap()
        }
    };
    let migrated = exchange(old.clone()).await;
    assert_eq!(migrated.status(), 200);
    let migrated: Value = migrated.json().await.unwrap();
    assert_eq!(migrated["expires_in"], 3600);
    assert!(migrated["refresh_token"].is_string());
    assert_eq!(
        graphql(&sim, shop, &old, "{ shop { name } }", json!({}))
            .await
            .0,
        401,
        "the old token is retired"
    );
    assert_eq!(exchange(old).await.status(), 400, "and migrates only once");
    assert_eq!(
        graphql(
            &sim,
            shop,
            migrated["access_token"].as_str().unwrap(),
            "{ shop { name } }",
            json!({})
        )
        .await
        .0,
        200
    );
}
