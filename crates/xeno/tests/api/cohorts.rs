//! Cohorts and RFM segments against oracles computed from the simulator's records.

use crate::support::oracle::{
    counted, d, date, expected_segments, local_day, rate, through_today, Shop,
};
use crate::support::shop::get;
use crate::support::{expect_problem, TestApp};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

pub async fn check_cohorts_and_segments(app: &TestApp, token: &str, shops: &[&Shop]) {
    let (from, to) = (date("2026-09-01"), through_today("2026-11-30"));
    // Cohorts: each buyer's months with orders, in their store's zone.
    let month = |day: NaiveDate| day.with_day(1).unwrap();
    let mut expected: BTreeMap<NaiveDate, BTreeMap<i32, i64>> = BTreeMap::new();
    // (cohort, offset) → orders, and revenue per currency.
    type Spent = (i64, BTreeMap<String, Decimal>);
    let mut spent: BTreeMap<(NaiveDate, i32), Spent> = BTreeMap::new();
    for shop in shops {
        let mut months: BTreeMap<i64, BTreeMap<NaiveDate, (i64, Decimal)>> = BTreeMap::new();
        for order in shop.truth["orders"].as_array().unwrap() {
            let Some(customer) = order["customer"]["id"].as_i64() else {
                continue;
            };
            let day = local_day(&order["processed_at"], shop.tz);
            if counted(order) && day <= to {
                let entry = months
                    .entry(customer)
                    .or_default()
                    .entry(month(day))
                    .or_default();
                entry.0 += 1;
                entry.1 += d(&order["current_total_price"]);
            }
        }
        for months in months.values() {
            let first = *months.keys().next().unwrap();
            if first < month(from) {
                continue;
            }
            for (m, (orders, revenue)) in months {
                let offset = (m.year() * 12 + m.month0() as i32)
                    - (first.year() * 12 + first.month0() as i32);
                *expected
                    .entry(first)
                    .or_default()
                    .entry(offset)
                    .or_default() += 1;
                let cell = spent.entry((first, offset)).or_default();
                cell.0 += orders;
                *cell.1.entry(shop.currency.clone()).or_default() += revenue;
            }
        }
    }
    let body = get(
        app,
        token,
        &format!("/api/metrics/cohorts?from={from}&to={to}"),
    )
    .await;
    let cohorts = body["data"].as_array().unwrap();
    assert_eq!(cohorts.len(), expected.len(), "one row per cohort month");
    for (row, (first, counts)) in cohorts.iter().zip(&expected) {
        assert_eq!(row["cohort"], first.to_string());
        let size = counts[&0];
        assert_eq!(row["customers"], size);
        let retention = row["retention"].as_array().unwrap();
        let months_to_end =
            (to.year() * 12 + to.month0() as i32) - (first.year() * 12 + first.month0() as i32);
        assert_eq!(
            retention.len() as i32,
            months_to_end + 1,
            "every month, zeros included"
        );
        let mut cumulative: BTreeMap<String, Decimal> = BTreeMap::new();
        for cell in retention {
            let offset = cell["month_offset"].as_i64().unwrap() as i32;
            let customers = counts.get(&offset).copied().unwrap_or(0);
            assert_eq!(cell["customers"], customers, "{first} +{offset}");
            assert_eq!(cell["rate"].as_f64().unwrap(), rate(customers, size));
            // Orders and revenue that month, and the cohort's revenue per customer so far.
            let (orders, revenue) = spent.get(&(*first, offset)).cloned().unwrap_or_default();
            assert_eq!(cell["orders"], orders, "{first} +{offset}");
            let got: BTreeMap<String, Decimal> = cell["revenue"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| (a["currency"].as_str().unwrap().to_owned(), d(&a["amount"])))
                .collect();
            assert_eq!(got, revenue, "{first} +{offset}");
            for (currency, amount) in &revenue {
                *cumulative.entry(currency.clone()).or_default() += amount;
            }
            let per_customer: BTreeMap<String, Decimal> = cell["cumulative_revenue_per_customer"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| (a["currency"].as_str().unwrap().to_owned(), d(&a["amount"])))
                .collect();
            let want: BTreeMap<String, Decimal> = cumulative
                .iter()
                .map(|(c, total)| (c.clone(), xeno_domain::money::average(*total, size, c)))
                .collect();
            assert_eq!(per_customer, want, "{first} +{offset}");
        }
    }
    assert!(
        expected.values().any(|c| c.len() > 1),
        "some customers came back"
    );

    // Segments: counts and revenue per segment, and the CSV of one.
    let as_of = date("2026-11-30");
    let segments = expected_segments(shops, as_of);
    let body = get(app, token, &format!("/api/metrics/segments?to={as_of}")).await;
    assert_eq!(body["buyers"], segments.len());
    for row in body["data"].as_array().unwrap() {
        let name = row["segment"].as_str().unwrap();
        let members: Vec<&(String, Decimal, &str)> =
            segments.values().filter(|s| s.2 == name).collect();
        assert_eq!(row["customers"], members.len(), "{name}");
        let mut revenue: BTreeMap<String, Decimal> = BTreeMap::new();
        for (currency, spent, _) in &members {
            *revenue.entry(currency.clone()).or_default() += *spent;
        }
        let got: BTreeMap<String, Decimal> = row["revenue"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["currency"].as_str().unwrap().to_owned(), d(&a["amount"])))
            .collect();
        assert_eq!(got, revenue, "{name} revenue");
    }
    let response = app
        .get_authed(
            &format!("/api/metrics/segments/export?segment=champions&to={as_of}"),
            token,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("champions-2026-11-30.csv"));
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("store_id,customer_id,email"));
    let listed: BTreeSet<(String, i64)> = lines
        .map(|line| {
            let mut fields = line.split(',');
            let store = fields.next().unwrap().to_owned();
            (store, fields.next().unwrap().parse().unwrap())
        })
        .collect();
    let champions: BTreeSet<(String, i64)> = segments
        .iter()
        .filter(|(_, s)| s.2 == "champions")
        .map(|(k, _)| k.clone())
        .collect();
    assert!(!champions.is_empty());
    assert_eq!(listed, champions, "the CSV lists exactly the champions");
    let unknown = app
        .get_authed("/api/metrics/segments/export?segment=royalty", token)
        .await;
    expect_problem(unknown, 400, "bad_request").await;

    // Each segment's customers, a page at a time: exactly its members, most spent first.
    for name in [
        "champions",
        "loyal",
        "promising",
        "needs_attention",
        "at_risk",
        "hibernating",
        "lost",
    ] {
        let mut rows: Vec<serde_json::Value> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let after = cursor
                .as_deref()
                .map(|c| format!("&cursor={c}"))
                .unwrap_or_default();
            let page = get(
                app,
                token,
                &format!(
                    "/api/metrics/segments/customers?segment={name}&to={as_of}&limit=7{after}"
                ),
            )
            .await;
            let members = segments.values().filter(|s| s.2 == name).count();
            assert_eq!(page["total"], members, "{name}");
            rows.extend(page["data"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let listed: BTreeMap<(String, i64), Decimal> = rows
            .iter()
            .map(|r| {
                let key = (
                    r["store_id"].as_str().unwrap().to_owned(),
                    r["customer_id"].as_str().unwrap().parse().unwrap(),
                );
                (key, d(&r["spent"]))
            })
            .collect();
        let expected: BTreeMap<(String, i64), Decimal> = segments
            .iter()
            .filter(|(_, s)| s.2 == name)
            .map(|(k, s)| (k.clone(), s.1))
            .collect();
        assert_eq!(listed.len(), rows.len(), "{name}: no customer twice");
        assert_eq!(
            listed, expected,
            "{name}: exactly its members, each one's spend"
        );
        let spent: Vec<Decimal> = rows.iter().map(|r| d(&r["spent"])).collect();
        assert!(
            spent.windows(2).all(|w| w[0] >= w[1]),
            "{name}: most spent first"
        );
    }
    let forged = app
        .get_authed(
            "/api/metrics/segments/customers?segment=loyal&cursor=bm90IG91cnM",
            token,
        )
        .await;
    expect_problem(forged, 400, "bad_request").await;
}
