//! Customer-lifetime predictions in the product: fitted after the backfill on the store's own
//! purchase histories, which the test rebuilds from the shop's records to fit independently.

use std::collections::BTreeMap;

use crate::support::oracle::{counted, d, local_day};
use crate::support::shop::{connect, get, truth, wait_for_sync};
use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use xeno_domain::clv::{BgNbd, GammaGamma, History};

#[tokio::test]
async fn a_store_is_fitted_on_its_own_histories_and_each_customer_gets_predictions() {
    let zone = "America/New_York";
    let c = connect(
        json!({ "customers": 90, "orders": 1200, "timezone": zone, "days": 365 }),
        // Lifetime values discounted 2 % a month instead of the default 1 %.
        &[("XENO_CLV_MONTHLY_DISCOUNT_PERCENT", "2")],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    wait_for_sync(app, token, &c.store_id).await;
    // The backfill refitted already; refit now so the test and the fit share "today".
    let refit = app
        .client
        .post(app.url(&format!("/api/predictions/{}", c.store_id)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(refit.status(), 200);
    let fit: Value = refit.json().await.unwrap();
    assert_eq!(fit["status"], "fitted", "{fit}");

    // The histories, from the shop's own records: purchases by day in the store's zone, not
    // test orders, not cancelled ones; repeat purchases' mean value net of refunds.
    let tz: Tz = zone.parse().unwrap();
    let today: NaiveDate = chrono::Utc::now().with_timezone(&tz).date_naive();
    let shop = truth(&c.sim, &c.shop).await;
    let mut days: BTreeMap<i64, BTreeMap<NaiveDate, Decimal>> = BTreeMap::new();
    for order in shop["orders"].as_array().unwrap() {
        let (Some(customer), true, true) = (
            order["customer"]["id"].as_i64(),
            counted(order),
            order["cancelled_at"].is_null(),
        ) else {
            continue;
        };
        *days
            .entry(customer)
            .or_default()
            .entry(local_day(&order["processed_at"], tz))
            .or_default() += d(&order["current_total_price"]);
    }
    let mut histories = Vec::new();
    let mut spends = Vec::new();
    for by_day in days.values() {
        let first = *by_day.keys().next().unwrap();
        let last = *by_day.keys().last().unwrap();
        let repeat: Vec<Decimal> = by_day.values().skip(1).copied().collect();
        let weeks = |from: NaiveDate, to: NaiveDate| (to - from).num_days() as f64 / 7.0;
        histories.push(History {
            frequency: repeat.len() as f64,
            recency: weeks(first, last),
            age: weeks(first, today),
        });
        let mean = if repeat.is_empty() {
            0.0
        } else {
            let total: Decimal = repeat.iter().sum();
            f64::try_from(total / Decimal::from(repeat.len())).unwrap()
        };
        spends.push((repeat.len() as f64, mean));
    }
    assert_eq!(fit["customers"], histories.len());
    assert_eq!(
        fit["repeaters"],
        histories.iter().filter(|h| h.frequency > 0.0).count()
    );

    // The same fit, made here.
    let bgnbd = BgNbd::fit(&histories).unwrap();
    let gamma_gamma = GammaGamma::fit(&spends).unwrap();
    let close =
        |got: &Value, want: f64| (got.as_f64().unwrap() - want).abs() <= 1e-9 * want.abs().max(1.0);
    for (name, want) in [
        ("r", bgnbd.r),
        ("alpha", bgnbd.alpha),
        ("a", bgnbd.a),
        ("b", bgnbd.b),
    ] {
        assert!(
            close(&fit["bgnbd"][name], want),
            "{name}: {} vs {want}",
            fit["bgnbd"][name]
        );
    }
    for (name, want) in [
        ("p", gamma_gamma.p),
        ("q", gamma_gamma.q),
        ("gamma", gamma_gamma.gamma),
    ] {
        assert!(
            close(&fit["gamma_gamma"][name], want),
            "{name}: {} vs {want}",
            fit["gamma_gamma"][name]
        );
    }

    assert_eq!(fit["monthly_discount"], 0.02, "{fit}");

    // Each customer's page carries their predictions; a year's value is each month's
    // expected orders times the expected order value, discounted 2 % a month.
    let month = 365.25 / 12.0;
    for (((customer, _), history), (x, mean)) in days.iter().zip(&histories).zip(&spends).take(15) {
        let detail = get(
            app,
            token,
            &format!("/api/customers/{}/{customer}", c.store_id),
        )
        .await;
        let p = &detail["predictions"];
        assert!(
            close(&p["p_alive"], bgnbd.probability_alive(history)),
            "{customer}: {p}"
        );
        assert!(
            close(
                &p["expected_orders_90"],
                bgnbd.expected_purchases(90.0 / 7.0, history)
            ),
            "{customer}: {p}"
        );
        let alive = p["p_alive"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&alive));
        let spend = gamma_gamma.expected_spend(*x, *mean);
        let within = |days: f64| bgnbd.expected_purchases(days / 7.0, history);
        let clv: f64 = (1..=12)
            .map(|k| {
                let k = f64::from(k);
                (within(k * month) - within((k - 1.0) * month)) * spend / 1.02_f64.powf(k)
            })
            .sum();
        let got: f64 = d(&p["clv_365"]).try_into().unwrap();
        assert!(
            (got - clv).abs() <= 0.005 + 1e-9,
            "{customer}: {got} vs {clv}"
        );
    }
    let summary = get(
        app,
        token,
        &format!("/api/predictions/summary?store_id={}", c.store_id),
    )
    .await;
    assert_eq!(summary["data"][0]["status"], "fitted");
    // What existing customers are expected to spend in 90 days, summed.
    let expected: f64 = histories
        .iter()
        .zip(&spends)
        .map(|(h, (x, mean))| {
            let spend = (gamma_gamma.expected_spend(*x, *mean) * 100.0).round() / 100.0;
            bgnbd.expected_purchases(90.0 / 7.0, h) * spend
        })
        .sum();
    let got: f64 = d(&summary["data"][0]["expected_revenue_90"])
        .try_into()
        .unwrap();
    assert!((got - expected).abs() < 0.02, "{got} vs {expected}");

    // Customers sort by their predicted value: the highest first.
    let page = get(app, token, "/api/customers?sort=predicted_value&limit=12").await;
    let mut values = Vec::new();
    for row in page["data"].as_array().unwrap() {
        let detail = get(
            app,
            token,
            &format!(
                "/api/customers/{}/{}",
                c.store_id,
                row["id"].as_str().unwrap()
            ),
        )
        .await;
        values.push(d(&detail["predictions"]["clv_365"]));
        // The customer's page shows the list's figures, from the same fit.
        assert_eq!(
            d(&detail["customer"]["predicted_value_365"]),
            d(&detail["predictions"]["clv_365"])
        );
        assert_eq!(
            detail["customer"]["chance_alive"],
            detail["predictions"]["p_alive"]
        );
    }
    assert_eq!(values.len(), 12);
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    // And by their chance of still being customers, or their expected orders: each row's
    // figure is the one this test's own fit gives, in order.
    let alive_of: BTreeMap<String, f64> = days
        .keys()
        .zip(&histories)
        .map(|(customer, h)| (customer.to_string(), bgnbd.probability_alive(h)))
        .collect();
    let orders_of: BTreeMap<String, f64> = days
        .keys()
        .zip(&histories)
        .map(|(customer, h)| {
            (
                customer.to_string(),
                bgnbd.expected_purchases(365.0 / 7.0, h),
            )
        })
        .collect();
    for (sort, field, truth) in [
        ("chance_alive", "chance_alive", &alive_of),
        ("expected_orders", "expected_orders_365", &orders_of),
    ] {
        let page = get(app, token, &format!("/api/customers?sort={sort}&limit=20")).await;
        let shown: Vec<f64> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let value = row[field].as_f64().unwrap();
                let expected = truth[row["id"].as_str().unwrap()];
                assert!(
                    (value - expected).abs() < 1e-6,
                    "{sort}: {value} vs {expected}"
                );
                value
            })
            .collect();
        assert_eq!(shown.len(), 20);
        assert!(shown.windows(2).all(|w| w[0] >= w[1]), "{sort}: {shown:?}");
    }

    // Predictive segments, counted here from the same fit and the shop's records.
    let mut all_orders: BTreeMap<i64, (i64, Decimal)> = BTreeMap::new();
    for order in shop["orders"].as_array().unwrap() {
        if let (Some(customer), true) = (order["customer"]["id"].as_i64(), counted(order)) {
            let entry = all_orders.entry(customer).or_default();
            entry.0 += 1;
            entry.1 += d(&order["current_total_price"]);
        }
    }
    let customers: Vec<i64> = days.keys().copied().collect();
    let mut by_spend: Vec<(Decimal, i64)> =
        customers.iter().map(|id| (all_orders[id].1, *id)).collect();
    by_spend.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let top_fifth: std::collections::BTreeSet<i64> = by_spend
        .iter()
        .take(customers.len().div_ceil(5))
        .map(|(_, id)| *id)
        .collect();
    let mut want = BTreeMap::from([
        ("high_value_at_risk", 0),
        ("likely_to_return", 0),
        ("one_and_done", 0),
    ]);
    for (id, history) in customers.iter().zip(&histories) {
        if bgnbd.expected_purchases(90.0 / 7.0, history) >= 0.5 {
            *want.get_mut("likely_to_return").unwrap() += 1;
        }
        if top_fifth.contains(id) && bgnbd.probability_alive(history) < 0.5 {
            *want.get_mut("high_value_at_risk").unwrap() += 1;
        }
        if all_orders[id].0 == 1 && bgnbd.expected_purchases(365.0 / 7.0, history) < 0.25 {
            *want.get_mut("one_and_done").unwrap() += 1;
        }
    }
    let segments = get(
        app,
        token,
        &format!("/api/predictions/segments?store_id={}", c.store_id),
    )
    .await;
    let got: BTreeMap<String, i64> = segments["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["segment"].as_str().unwrap().to_owned(),
                s["customers"].as_i64().unwrap(),
            )
        })
        .collect();
    let want: BTreeMap<String, i64> = want.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    assert_eq!(got, want);
    assert!(want.values().any(|n| *n > 0), "{want:?}");

    // A segment opens its customers: exactly those the test's fit places there, page by page,
    // the highest expected value first.
    let likely: std::collections::BTreeSet<String> = customers
        .iter()
        .zip(&histories)
        .filter(|(_, h)| bgnbd.expected_purchases(90.0 / 7.0, h) >= 0.5)
        .map(|(id, _)| id.to_string())
        .collect();
    let path = format!(
        "/api/predictions/segments/customers?store_id={}&segment=likely_to_return&limit=7",
        c.store_id
    );
    let members = crate::support::shop::all_pages(app, token, &path, async || {}).await;
    let listed: std::collections::BTreeSet<String> = members
        .iter()
        .map(|m| m["customer_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), members.len(), "each customer once");
    assert!(likely.len() > 7, "more than a page: {}", likely.len());
    assert_eq!(listed, likely);
    let values: Vec<Decimal> = members
        .iter()
        .map(|m| d(&m["predicted_value_365"]))
        .collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]));
    let unknown = app
        .get_authed(
            &format!(
                "/api/predictions/segments/customers?store_id={}&segment=champions",
                c.store_id
            ),
            token,
        )
        .await;
    crate::support::expect_problem(unknown, 404, "not_found").await;
}

/// Calibration and holdout, as the papers check the model: fit on a simulated shop's first
/// 39 weeks, predict each customer's repeat purchases in the next 39, and compare with what
/// the shop's customers did (in total, and by how often they bought in calibration).
#[test]
fn predicted_repeat_purchases_match_a_simulated_holdout() {
    use shopify_sim::shop::{Shop, ShopSpec};
    let spec: ShopSpec = serde_json::from_value(json!({
        "domain": "holdout.myshopify.com", "seed": 21, "customers": 1500, "products": 30,
        "orders": 9000, "days": 546, "history_end": "2026-11-01T00:00:00Z", "timezone": "UTC",
    }))
    .unwrap();
    let shop = Shop::generate(&spec).unwrap();
    let end = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .date_naive();
    let cutoff = end - chrono::Duration::weeks(39);
    let mut days: BTreeMap<i64, Vec<NaiveDate>> = BTreeMap::new();
    for order in shop.orders.values() {
        let order = serde_json::to_value(order).unwrap();
        let (Some(customer), true, true) = (
            order["customer"]["id"].as_i64(),
            counted(&order),
            order["cancelled_at"].is_null(),
        ) else {
            continue;
        };
        let day = local_day(&order["processed_at"], chrono_tz::UTC);
        let list = days.entry(customer).or_default();
        if !list.contains(&day) {
            list.push(day);
        }
    }
    let weeks = |from: NaiveDate, to: NaiveDate| (to - from).num_days() as f64 / 7.0;
    let mut calibration = Vec::new();
    let mut actual = Vec::new();
    for list in days.values_mut() {
        list.sort();
        let before: Vec<NaiveDate> = list.iter().copied().filter(|d| *d < cutoff).collect();
        let (Some(first), Some(last)) = (before.first(), before.last()) else {
            continue;
        };
        calibration.push(History {
            frequency: (before.len() - 1) as f64,
            recency: weeks(*first, *last),
            age: weeks(*first, cutoff),
        });
        actual.push(list.iter().filter(|d| **d >= cutoff && **d < end).count() as f64);
    }
    let model = BgNbd::fit(&calibration).unwrap();
    let predicted: Vec<f64> = calibration
        .iter()
        .map(|h| model.expected_purchases(weeks(cutoff, end), h))
        .collect();
    let (total_predicted, total_actual): (f64, f64) = (predicted.iter().sum(), actual.iter().sum());
    println!(
        "{} customers; holdout repeat purchases predicted {total_predicted:.0}, actual {total_actual:.0}",
        calibration.len()
    );
    // By calibration frequency, as the papers' conditional expectations are shown.
    let mut by_frequency: BTreeMap<usize, (f64, f64, usize)> = BTreeMap::new();
    for ((h, p), a) in calibration.iter().zip(&predicted).zip(&actual) {
        let bucket = (h.frequency as usize).min(7);
        let entry = by_frequency.entry(bucket).or_default();
        entry.0 += p;
        entry.1 += a;
        entry.2 += 1;
    }
    for (bucket, (p, a, n)) in &by_frequency {
        println!(
            "  {bucket}{} repeat purchases: {n} customers, predicted {:.2} each, actual {:.2}",
            if *bucket == 7 { "+" } else { "" },
            p / *n as f64,
            a / *n as f64
        );
    }
    assert!(
        (total_predicted - total_actual).abs() / total_actual < 0.15,
        "predicted {total_predicted:.0} against {total_actual:.0}"
    );
}
