//! Storage's report reads checked below the API: per-buyer summaries against the records,
//! the two ways of counting buyers and top customers agreeing, and one snapshot per answer.

use crate::support::oracle::{counted, d, date, instant, Shop};
use crate::support::shop::{activity, get};
use crate::support::webhooks::drain;
use crate::support::TestApp;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::BTreeMap;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_storage::insights::{ReportLimits, Scope};

/// Each buyer's stored history (first, second and last order) and lifetime spend per
/// currency equal what the records say.
pub async fn check_buyer_summaries(app: &TestApp, shop: &Shop) {
    type History = (DateTime<Utc>, Option<DateTime<Utc>>, DateTime<Utc>);
    let mut times: BTreeMap<i64, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut spend: BTreeMap<(i64, String), (i64, Decimal)> = BTreeMap::new();
    for order in shop.truth["orders"].as_array().unwrap() {
        if let (true, Some(customer)) = (counted(order), order["customer"]["id"].as_i64()) {
            times
                .entry(customer)
                .or_default()
                .push(instant(&order["processed_at"]));
            let currency = order["currency"].as_str().unwrap().to_owned();
            let sum = spend.entry((customer, currency)).or_default();
            sum.0 += 1;
            sum.1 += d(&order["current_total_price"]);
        }
    }
    let expected: BTreeMap<i64, History> = times
        .into_iter()
        .map(|(customer, mut at)| {
            at.sort();
            (customer, (at[0], at.get(1).copied(), at[at.len() - 1]))
        })
        .collect();
    let mut owner = app.connect_as("postgres").await;
    let stored: BTreeMap<i64, History> = sqlx::query_as::<
        _,
        (i64, DateTime<Utc>, Option<DateTime<Utc>>, DateTime<Utc>),
    >(
        "SELECT customer_id, first_order_at, second_order_at, last_order_at FROM buyer_history \
         WHERE store_id = $1::uuid",
    )
    .bind(&shop.store_id)
    .fetch_all(&mut owner)
    .await
    .unwrap()
    .into_iter()
    .map(|(customer, first, second, last)| (customer, (first, second, last)))
    .collect();
    assert_eq!(stored, expected, "{}: buyer history", shop.domain);
    let stored: Vec<(i64, String, i64, Decimal)> = sqlx::query_as(
        "SELECT customer_id, currency::text, orders, spent FROM buyer_spend WHERE store_id = $1::uuid",
    )
    .bind(&shop.store_id)
    .fetch_all(&mut owner)
    .await
    .unwrap();
    let stored: BTreeMap<(i64, String), (i64, Decimal)> = stored
        .into_iter()
        .map(|(customer, currency, orders, spent)| ((customer, currency), (orders, spent)))
        .collect();
    assert_eq!(stored, spend, "{}: buyer spend", shop.domain);
}

/// Buyers and top customers come from per-buyer summaries or, past some limits, from the
/// range's orders. Whichever method limits force, the figures are the same as the ones the
/// dashboard served (which the checks above compared with the records).
pub async fn check_report_methods_agree(app: &TestApp, token: &str, ids: &[String]) {
    let me = get(app, token, "/api/auth/me").await;
    let tenant = TenantId(me["tenant"]["id"].as_str().unwrap().parse().unwrap());
    let default = xeno::db(&app.config);
    let forced = [
        // Every buyer who ordered before and after the range counted from the range's orders;
        // the top-spender walk gives up at once.
        ReportLimits {
            buyer_probes: 0,
            first_candidates: 1,
            max_candidates: 1,
            aggregate_below: 0,
        },
        // The walk in many small rounds.
        ReportLimits {
            buyer_probes: 1_000_000,
            first_candidates: 1,
            max_candidates: 1_000_000,
            aggregate_below: 0,
        },
    ];
    let scopes = [
        (Some(&ids[0]), "2026-10-01", "2026-10-31"),
        (Some(&ids[1]), "2026-10-15", "2026-11-02"),
        (None, "2026-09-20", "2026-10-20"),
        (None, "2026-10-10", "2026-11-30"),
    ];
    for (store, from, to) in scopes {
        let scope = Scope {
            tenant,
            store: store.map(|id| StoreId(id.parse().unwrap())),
            from: date(from),
            to: date(to),
        };
        let buyers = default.buyers(&scope).await.unwrap();
        assert!(
            buyers.returning > 0 && buyers.repeat > 0,
            "{from}..{to}: a range that tells methods apart"
        );
        for limit in [1, 5, 100] {
            let top = default.top_customers(&scope, limit).await.unwrap();
            for limits in forced {
                let db = xeno::db(&app.config).with_report_limits(limits);
                assert_eq!(
                    db.buyers(&scope).await.unwrap(),
                    buyers,
                    "{from}..{to} {limits:?}"
                );
                assert_eq!(
                    db.top_customers(&scope, limit).await.unwrap(),
                    top,
                    "{from}..{to} top {limit} {limits:?}"
                );
            }
        }
    }
}

/// Figures read in parallel for one answer come from one snapshot: orders applied after it
/// was taken change fresh reads, not reads joined to it.
#[tokio::test]
async fn reads_joined_to_a_snapshot_see_one_moment_while_orders_arrive() {
    let c = crate::support::shop::connect(json!({ "orders": 40 }), &[], 1.0).await;
    crate::support::shop::wait_for_sync(&c.app, &c.token, &c.store_id).await;
    let me = get(&c.app, &c.token, "/api/auth/me").await;
    let scope = Scope {
        tenant: TenantId(me["tenant"]["id"].as_str().unwrap().parse().unwrap()),
        store: None,
        from: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
    };
    let orders =
        |days: &[xeno_domain::sales::CurrencyDay]| days.iter().map(|d| d.sales.orders).sum::<i64>();
    let db = xeno::db(&c.app.config);
    let before = orders(&db.daily_sales(&scope).await.unwrap());
    let version = db.data_version(scope.tenant).await.unwrap();

    let snapshot = db.snapshot().await.unwrap();
    let frozen = db.at(&snapshot);
    activity(&c.sim, &c.shop, json!({ "orders": 6 })).await;
    drain(&c.app).await;

    let after = orders(&db.daily_sales(&scope).await.unwrap());
    assert!(
        after > before,
        "the new orders count in a fresh read: {before} → {after}"
    );
    assert_eq!(orders(&frozen.daily_sales(&scope).await.unwrap()), before);
    assert_eq!(frozen.data_version(scope.tenant).await.unwrap(), version);
    assert!(db.data_version(scope.tenant).await.unwrap() > version);
    drop(snapshot);
}
