//! Predictive segments that reach Shopify as customer tags: switched on, asked
//! `write_customers` for only then, shown as a dry run, applied by a sync, kept in step when
//! membership changes (customers who leave lose the tag), and taken off when switched off.
//! The simulator's own record of each customer's tags is the judge.

use std::collections::BTreeSet;

use crate::support::shop::{
    activity, all_pages, connect, get, no_redirects, settle, sim_token_with, start_sync, truth,
    wait_for_sync, Connected,
};
use crate::support::{expect_problem, TestApp};
use crate::teams::call;
use reqwest::Method;
use serde_json::{json, Value};

const TAG: &str = "xeno-likely";
const SEGMENT: &str = "likely_to_return";

/// The shop's customers carrying `tag`, by the simulator's truth.
async fn tagged_at_shopify(c: &Connected, tag: &str) -> BTreeSet<i64> {
    let shop = truth(&c.sim, &c.shop).await;
    shop["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|customer| {
            customer["tags"]
                .as_str()
                .unwrap()
                .split(',')
                .any(|t| t.trim() == tag)
        })
        .map(|customer| customer["id"].as_i64().unwrap())
        .collect()
}

/// The segment's customers as Xeno lists them now.
async fn members(app: &TestApp, token: &str, store: &str) -> BTreeSet<i64> {
    let path = format!("/api/predictions/segments/customers?store_id={store}&segment={SEGMENT}");
    all_pages(app, token, &path, async || {})
        .await
        .iter()
        .map(|m| m["customer_id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// The customers Xeno's copy shows with the tag, once it is `expected` (Shopify's webhooks
/// arrive after its answers) or after ten seconds, whichever is first.
async fn copy_once_delivered(app: &TestApp, expected: &BTreeSet<i64>) -> BTreeSet<i64> {
    let mut db = app.connect_as("xeno_owner").await;
    let mut copied = BTreeSet::new();
    for _ in 0..100 {
        settle(app).await;
        copied = sqlx::query_scalar("SELECT customer_id FROM customers WHERE $1 = ANY(tags)")
            .bind(TAG)
            .fetch_all(&mut db)
            .await
            .unwrap()
            .into_iter()
            .collect();
        if &copied == expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    copied
}

/// Runs a sync of the store (after any still running) and lets its effects land.
async fn sync_and_settle(c: &Connected) {
    wait_for_sync(&c.app, &c.token, &c.store_id).await;
    start_sync(&c.app, &c.token, &c.store_id).await;
    wait_for_sync(&c.app, &c.token, &c.store_id).await;
    // The customers/update webhooks the tagging caused reach Xeno's copy.
    settle(&c.app).await;
}

async fn plan(c: &Connected) -> Value {
    get(
        &c.app,
        &c.token,
        &format!("/api/stores/{}/segment-tags/{SEGMENT}/plan", c.store_id),
    )
    .await
}

fn ids(list: &Value) -> BTreeSet<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_segment_reaches_shopify_as_a_tag_and_follows_its_members() {
    let c = connect(
        json!({ "customers": 60, "orders": 700, "days": 365 }),
        &[],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    let base = format!("/api/stores/{}/segment-tags", c.store_id);
    let on = format!("{base}/{SEGMENT}");

    // Bad input is refused clearly; nothing is switched on by it.
    for bad in ["", "two,tags", &"x".repeat(41)] {
        let answer = call(app, Method::PUT, &on, token, Some(json!({ "tag": bad }))).await;
        expect_problem(answer, 422, "invalid_fields").await;
    }
    let unknown = call(
        app,
        Method::PUT,
        &format!("{base}/champions"),
        token,
        Some(json!({ "tag": TAG })),
    )
    .await;
    expect_problem(unknown, 404, "not_found").await;
    for (method, path) in [
        (Method::GET, format!("{on}/plan")),
        (Method::DELETE, on.clone()),
    ] {
        expect_problem(
            call(app, method, &path, token, None).await,
            404,
            "not_found",
        )
        .await;
    }

    // Switched on: Shopify has not granted write_customers, so the answer links to the page
    // that asks for it (and only now is it asked for).
    let switched = call(app, Method::PUT, &on, token, Some(json!({ "tag": TAG }))).await;
    assert_eq!(switched.status(), 200);
    let switched: Value = switched.json().await.unwrap();
    assert_eq!(switched["write_customers"], false, "{switched}");
    assert_eq!(switched["data"][0]["status"], "on");
    let authorize = switched["authorize_url"].as_str().unwrap().to_owned();
    let scope = crate::support::shop::query_of(&authorize)
        .into_iter()
        .find(|(k, _)| k == "scope")
        .unwrap()
        .1;
    assert!(scope.split(',').any(|s| s == "write_customers"), "{scope}");
    let taken = call(
        app,
        Method::PUT,
        &format!("{base}/one_and_done"),
        token,
        Some(json!({ "tag": TAG })),
    )
    .await;
    expect_problem(taken, 409, "conflict").await;

    // The dry run lists exactly the segment's customers, and changes nothing.
    let want = members(app, token, &c.store_id).await;
    assert!(want.len() >= 3, "a segment worth tagging: {want:?}");
    let dry = plan(&c).await;
    assert_eq!(ids(&dry["add"]), want);
    assert_eq!(dry["add_count"], want.len());
    assert_eq!(dry["remove_count"], 0);
    assert!(tagged_at_shopify(&c, TAG).await.is_empty());

    // A sync without the scope tags nobody and says why.
    sync_and_settle(&c).await;
    assert!(tagged_at_shopify(&c, TAG).await.is_empty());
    let listed = get(app, token, &base).await;
    assert!(
        listed["data"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("write_customers"),
        "{listed}"
    );

    // The merchant grants it; the next sync tags exactly the segment.
    let approved = no_redirects().get(&authorize).send().await.unwrap();
    assert_eq!(approved.status(), 302);
    let callback = approved.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        no_redirects().get(&callback).send().await.unwrap().status(),
        303
    );
    wait_for_sync(app, token, &c.store_id).await;
    sync_and_settle(&c).await;
    assert_eq!(tagged_at_shopify(&c, TAG).await, want);
    let listed = get(app, token, &base).await;
    assert_eq!(listed["write_customers"], true, "{listed}");
    assert!(listed["authorize_url"].is_null());
    let sync = &listed["data"][0];
    assert_eq!(sync["tagged"], want.len(), "{sync}");
    assert_eq!(sync["last_error"], Value::Null, "{sync}");
    assert_eq!(
        (
            sync["pending_add"].as_u64(),
            sync["pending_remove"].as_u64()
        ),
        (Some(0), Some(0))
    );
    // Xeno's copy of each customer comes to show the tag (Shopify says so by webhook).
    assert_eq!(copy_once_delivered(app, &want).await, want);

    // Membership changes: someone outside the segment carries the tag (another app put it
    // there), and new orders move customers in. The next sync ends with the tag on exactly
    // the segment again.
    let other_app = xeno_shopify::admin::AdminClient::new(
        reqwest::Client::new(),
        &c.sim.shop_url_template().replace("{shop}", &c.shop),
        "2026-10",
        &sim_token_with(&c.sim, &c.shop, "write_customers").await,
    );
    activity(&c.sim, &c.shop, json!({ "orders": 150 })).await;
    settle(app).await;
    let refit = call(
        app,
        Method::POST,
        &format!("/api/predictions/{}", c.store_id),
        token,
        None,
    )
    .await;
    assert_eq!(refit.status(), 200);
    let now = members(app, token, &c.store_id).await;
    let outsider = truth(&c.sim, &c.shop).await["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|customer| customer["id"].as_i64().unwrap())
        .find(|id| !want.contains(id) && !now.contains(id))
        .unwrap();
    assert!(other_app.tag_customer(outsider, TAG, true).await.unwrap());
    let shown: BTreeSet<i64> = want.iter().copied().chain([outsider]).collect();
    assert_eq!(copy_once_delivered(app, &shown).await, shown);
    let dry = plan(&c).await;
    let had: BTreeSet<i64> = want.iter().copied().chain([outsider]).collect();
    assert_eq!(ids(&dry["add"]), &now - &had, "the dry run's additions");
    assert_eq!(ids(&dry["remove"]), &had - &now, "the dry run's removals");
    assert!(ids(&dry["remove"]).contains(&outsider));
    sync_and_settle(&c).await;
    assert_eq!(tagged_at_shopify(&c, TAG).await, now);
    let dry = plan(&c).await;
    assert_eq!(
        (dry["add_count"].as_u64(), dry["remove_count"].as_u64()),
        (Some(0), Some(0))
    );

    // A customer's other tags are theirs: only this one comes and goes.
    let member = *now.iter().next().unwrap();
    assert!(other_app.tag_customer(member, "vip", true).await.unwrap());

    // Switched off: the next sync takes the tag off everyone, then the sync is gone.
    let off = call(app, Method::DELETE, &on, token, None).await;
    assert_eq!(off.status(), 202);
    let off: Value = off.json().await.unwrap();
    assert_eq!(off["data"][0]["status"], "switching_off");
    sync_and_settle(&c).await;
    assert!(tagged_at_shopify(&c, TAG).await.is_empty());
    let listed = get(app, token, &base).await;
    assert_eq!(listed["data"], json!([]), "{listed}");
    assert!(tagged_at_shopify(&c, "vip").await.contains(&member));

    // Each switch is in the audit log.
    let log = get(app, token, "/api/audit?limit=250").await;
    let actions: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("segment.tag"))
        .collect();
    assert_eq!(actions, ["segment.tag_off", "segment.tag_on"]);
}
