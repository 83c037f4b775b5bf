//! `xeno demo`: a newcomer's one command connects a simulated shop for real.

use crate::support::shop::wait_for_sync;
use crate::support::{fresh_database_name, test_config, TestApp};
use serde_json::Value;
use tokio::net::TcpListener;

#[tokio::test]
async fn demo_connects_and_backfills_a_simulated_shop_through_oauth() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let database = fresh_database_name();
    let database_again = database.clone();
    let config = test_config(
        &database,
        &[
            ("XENO_PUBLIC_URL", &url),
            ("XENO_BULK_POLL_MS", "20"),
            ("XENO_WORKER_BACKOFF_MS", "50"),
        ],
    );
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let size = xeno::demo::DemoSize {
        customers: 50,
        products: 10,
        orders: 200,
    };
    let demo = xeno::demo::start(config.clone(), listener, size, stopping)
        .await
        .unwrap();
    assert_eq!(demo.url, url);

    // The printed login works, and the demo shop is connected and backfilled.
    let app = TestApp::attach(config, database, url);
    let login = app
        .post_json(
            "/api/auth/login",
            &serde_json::json!({ "email": xeno::demo::DEMO_EMAIL, "password": xeno::demo::DEMO_PASSWORD }),
        )
        .await;
    assert_eq!(login.status(), 200);
    let stores: Value = app
        .get_authed("/api/stores", &demo.token)
        .await
        .json()
        .await
        .unwrap();
    let store = &stores["data"][0];
    assert_eq!(store["shop_domain"], xeno::demo::DEMO_SHOP);
    assert_eq!(store["status"], "active");
    assert_eq!(store["connection_kind"], "oauth");
    let run = wait_for_sync(&app, &demo.token, store["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "completed", "{run}");
    let detail: Value = app
        .get_authed(
            &format!("/api/stores/{}", store["id"].as_str().unwrap()),
            &demo.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        detail["counts"]["orders"].as_i64().unwrap() >= 200,
        "{detail}"
    );
    assert_eq!(detail["counts"]["customers"].as_i64().unwrap(), 50);
    assert!(!demo.reset);

    // A deletion recorded in this run: a later run's simulator makes the same ids afresh.
    let mut owner = app.connect_as("xeno_owner").await;
    let (tenant, store_id, order_id): (uuid::Uuid, uuid::Uuid, i64) = sqlx::query_as(
        "SELECT tenant_id, store_id, order_id FROM orders ORDER BY order_id LIMIT 1",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO tombstones (tenant_id, store_id, resource, resource_id) VALUES ($1, $2, 'order', $3)",
    )
    .bind(tenant)
    .bind(store_id)
    .bind(order_id)
    .execute(&mut owner)
    .await
    .unwrap();
    stop.send(true).unwrap();

    // The demo run again on the same database resets its store and says so; nothing of the
    // earlier run outranks the new simulator's records.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = test_config(
        &database_again,
        &[
            ("XENO_PUBLIC_URL", &url),
            ("XENO_BULK_POLL_MS", "20"),
            ("XENO_WORKER_BACKOFF_MS", "50"),
        ],
    );
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    let again = xeno::demo::start(config.clone(), listener, size, stopping)
        .await
        .unwrap();
    assert!(again.reset);
    let app = TestApp::attach(config, database_again, url);
    // The new run's backfill (the earlier run's sync is in the history too: wait for data).
    let mut detail = Value::Null;
    for _ in 0..600 {
        detail = app
            .get_authed(&format!("/api/stores/{store_id}"), &again.token)
            .await
            .json()
            .await
            .unwrap();
        if detail["counts"]["orders"].as_i64().unwrap_or(0) >= 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        detail["counts"]["orders"].as_i64().unwrap() >= 200,
        "{detail}"
    );
    assert_eq!(detail["counts"]["customers"].as_i64().unwrap(), 50);
    let present = app
        .get_authed(&format!("/api/orders/{store_id}/{order_id}"), &again.token)
        .await;
    assert_eq!(
        present.status(),
        200,
        "the earlier run's deletion does not hide the order"
    );
}
