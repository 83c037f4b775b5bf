//! The checkout funnel against the simulator's checkouts: what Shopify lets an app know.

use crate::support::oracle::{d, in_range, instant, local_day, Funnel, Shop};
use crate::support::shop::get;
use crate::support::TestApp;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

pub async fn check_checkouts(
    app: &TestApp,
    token: &str,
    tenant_shops: &[&Shop],
    (from, to): (NaiveDate, NaiveDate),
) {
    // Checkouts: what Shopify lets an app know (abandoned ones, and every checkout since
    // connecting, through webhooks).
    let body = get(
        app,
        token,
        &format!("/api/metrics/checkouts?from={from}&to={to}"),
    )
    .await;
    let connected_at = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut expected: BTreeMap<String, Funnel> = BTreeMap::new();
    for shop in tenant_shops {
        for checkout in shop.truth["checkouts"].as_array().unwrap() {
            let completed = !checkout["completed_at"].is_null();
            if completed && instant(&checkout["created_at"]) < connected_at {
                continue;
            }
            if !in_range(local_day(&checkout["created_at"], shop.tz), from, to) {
                continue;
            }
            let abandoned =
                !completed && instant(&checkout["updated_at"]) < Utc::now() - Duration::hours(10);
            let recovered = completed
                && instant(&checkout["completed_at"])
                    >= instant(&checkout["created_at"]) + Duration::hours(10);
            let e = expected.entry(shop.currency.clone()).or_default();
            let price = d(&checkout["total_price"]);
            e.started += 1;
            e.completed += i64::from(completed);
            e.abandoned += i64::from(abandoned);
            e.recovered += i64::from(recovered);
            if abandoned {
                e.abandoned_value += price;
            }
            if completed {
                e.completed_value += price;
            }
            if recovered {
                e.recovered_value += price;
            }
        }
    }
    let got: BTreeMap<String, Funnel> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["currency"].as_str().unwrap().to_owned(),
                Funnel {
                    started: c["started"].as_i64().unwrap(),
                    completed: c["completed"].as_i64().unwrap(),
                    abandoned: c["abandoned"].as_i64().unwrap(),
                    recovered: c["recovered"].as_i64().unwrap(),
                    abandoned_value: d(&c["abandoned_value"]),
                    completed_value: d(&c["completed_value"]),
                    recovered_value: d(&c["recovered_value"]),
                },
            )
        })
        .collect();
    assert_eq!(got, expected, "checkouts");
    for row in body["data"].as_array().unwrap() {
        let n = |field: &str| row[field].as_i64().unwrap();
        // Every checkout is in exactly one state, and the rate says since when it can know.
        assert_eq!(
            n("open"),
            n("started") - n("completed") - n("abandoned"),
            "{row}"
        );
        let since = DateTime::parse_from_rfc3339(row["completions_known_since"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc);
        assert!(since > connected_at, "{row}");
    }
    // A range wholly before the stores were connected cannot know completions: no rate
    // (it used to read 100 % abandoned).
    let before = get(
        app,
        token,
        "/api/metrics/checkouts?from=2026-09-01&to=2026-09-30",
    )
    .await;
    assert!(!before["data"].as_array().unwrap().is_empty(), "{before}");
    assert!(
        before["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["abandonment_rate"].is_null() && row["abandoned"].as_i64().unwrap() > 0),
        "{before}"
    );
    assert!(
        got.values().any(|c| c.completed > 0),
        "live checkouts completed"
    );
    assert!(
        got.values().any(|c| c.abandoned > 0),
        "some checkouts abandoned"
    );
}
