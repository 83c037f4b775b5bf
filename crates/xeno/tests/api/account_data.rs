//! An account's end: deleting it leaves no row behind, and its owner can take everything
//! away first.

use crate::support::expect_problem;
use crate::support::shop::get;
use crate::teams::{call, invite, team, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn deleting_the_account_leaves_no_row_of_it_behind() {
    let (c, [owner, admin, _, _]) = team().await;
    let app = &c.app;
    // Data of every kind: webhooks, keys, an invitation, sessions, the audit log.
    crate::support::shop::activity(
        &c.sim,
        &c.shop,
        json!({ "orders": 5, "refunds": 2, "customers": 2 }),
    )
    .await;
    crate::support::webhooks::drain(app).await;
    call(
        app,
        Method::POST,
        "/api/keys",
        &admin,
        Some(json!({ "name": "bi" })),
    )
    .await;
    invite(app, &owner, "later@acme.example", "viewer").await;
    let tenant = get(app, &owner, "/api/auth/me").await["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Only the owner, and only with the account's name typed again.
    let wrong = json!({ "confirm": "Not Acme" });
    expect_problem(
        call(
            app,
            Method::POST,
            "/api/tenant/deletion",
            &admin,
            Some(json!({ "confirm": "Acme" })),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        call(
            app,
            Method::POST,
            "/api/tenant/deletion",
            &owner,
            Some(wrong),
        )
        .await,
        422,
        "invalid_fields",
    )
    .await;
    let other = app.register("Other", "boss@other.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = call(
        app,
        Method::POST,
        "/api/tenant/deletion",
        &owner,
        Some(json!({ "confirm": "Acme" })),
    )
    .await;
    assert_eq!(deleted.status(), 204);

    // Every table with a tenant_id, read from the catalog, holds nothing of it.
    let mut db = app.connect_as("postgres").await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert!(tables.len() >= 30, "{tables:?}");
    for table in &tables {
        let left: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1::uuid"
        ))
        .bind(&tenant)
        .fetch_one(&mut db)
        .await
        .unwrap();
        assert_eq!(left, 0, "{table} keeps {left} rows of the deleted account");
    }
    let (stores, members): (i32, i32) = sqlx::query_as(
        "SELECT stores, members FROM tenant_deletions WHERE former_tenant_id = $1::uuid",
    )
    .bind(&tenant)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!((stores, members), (1, 4));
    // Its shop was unsubscribed at Shopify, its people are signed out, its email is free,
    // and the other account is untouched.
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
    assert_eq!(subscriptions, json!([]));
    assert_eq!(
        call(app, Method::GET, "/api/orders", &owner, None)
            .await
            .status(),
        401
    );
    assert_eq!(
        call(app, Method::GET, "/api/orders", &admin, None)
            .await
            .status(),
        401
    );
    assert_eq!(app.post_json("/api/auth/register", &json!({ "tenant_name": "Acme again", "email": "owner@acme.example", "password": PASSWORD })).await.status(), 201);
    assert_eq!(
        get(app, &other, "/api/auth/me").await["tenant"]["name"],
        "Other"
    );
}

#[tokio::test]
async fn the_owner_takes_everything_away_as_csv_without_credentials() {
    let (c, [owner, admin, _, _]) = team().await;
    let app = &c.app;
    let other = app.register("Other", "boss@other.example").await;
    let other_email = "boss@other.example";
    assert!(other["token"].is_string());
    expect_problem(
        call(app, Method::GET, "/api/tenant/export", &admin, None).await,
        403,
        "forbidden",
    )
    .await;
    let answer = call(app, Method::GET, "/api/tenant/export", &owner, None).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/zip");
    assert!(answer.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("xeno-export-"));
    let bytes = answer.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut files = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).unwrap();
        files.insert(name, text);
    }
    // One file per tenant table; the orders are the store's orders, row for row.
    for table in [
        "orders.csv",
        "customers.csv",
        "order_line_items.csv",
        "users.csv",
        "audit_events.csv",
        "stores.csv",
    ] {
        assert!(files.contains_key(table), "{table} in {:?}", files.keys());
    }
    let store = get(app, &owner, &format!("/api/stores/{}", c.store_id)).await;
    let orders = files["orders.csv"].lines().count() - 1;
    assert_eq!(orders as i64, store["counts"]["orders"].as_i64().unwrap());
    // Members without their passwords; stores without their tokens; no other account's data.
    let users = &files["users.csv"];
    assert!(users.lines().next().unwrap().contains("email"));
    assert!(!users.contains("password_hash") && !users.contains("$argon2"));
    assert_eq!(users.lines().count() - 1, 4);
    let header = |file: &str| -> Vec<String> {
        files[file]
            .lines()
            .next()
            .unwrap()
            .split(',')
            .map(str::to_owned)
            .collect()
    };
    for secret in ["access_token", "refresh_token", "webhook_secret"] {
        assert!(
            !header("stores.csv").contains(&secret.to_owned()),
            "{secret}"
        );
    }
    assert!(header("stores.csv").contains(&"access_token_expires_at".to_owned()));
    assert!(files.values().all(|text| !text.contains(other_email)));
    assert!(files["sessions.csv"]
        .lines()
        .next()
        .unwrap()
        .contains("family_id"));
    assert!(!files["sessions.csv"].contains("refresh_hash"));
}
