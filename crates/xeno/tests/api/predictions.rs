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
        &[],
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

    // Each customer's page carries their predictions.
    for ((customer, _), history) in days.iter().zip(&histories).take(15) {
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
    }
    assert_eq!(values.len(), 12);
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
}
