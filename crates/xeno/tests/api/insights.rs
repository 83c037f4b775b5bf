//! The insights API against expectations computed here, independently, from the
//! simulator's ground truth: two stores (one at UTC+14, one in yen) for one tenant, a
//! second tenant beside them, live refunds and cancellations, orders either side of a
//! store's local midnight.

use crate::cohorts::check_cohorts_and_segments;
use crate::support::expect_problem;
use crate::support::oracle::{
    api_id, average, counted, d, date, expected_days, expected_people, expected_products,
    first_order_of_a_returning_buyer, in_range, instant, only_order_of_a_buyer, rate,
    through_today, totals_of, Shop, Sums,
};
use crate::support::shop::{
    activity, app_for, connect_shop, create_shop, get, send_order, send_webhook, sim, store_id_of,
    truth, wait_for_sync,
};
use crate::support::webhooks::drain;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

fn check_sales(api: &Value, expected: &BTreeMap<String, Sums>, what: &str) {
    let api = api.as_array().unwrap();
    let currencies: Vec<&str> = api
        .iter()
        .map(|s| s["currency"].as_str().unwrap())
        .collect();
    let wanted: Vec<&str> = expected
        .iter()
        .filter(|(_, s)| **s != Sums::default())
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(currencies, wanted, "{what}: currencies");
    for sales in api {
        let currency = sales["currency"].as_str().unwrap();
        let e = &expected[currency];
        let digits = if currency == "JPY" { 0 } else { 2 };
        assert_eq!(sales["orders"], e.orders, "{what} {currency} orders");
        assert_eq!(sales["units_sold"], e.units, "{what} {currency} units");
        for (field, value) in [
            ("gross_sales", e.gross),
            ("discounts", e.discounts),
            ("returns", e.returns),
            ("net_sales", e.net()),
            ("shipping", e.shipping),
            ("taxes", e.taxes),
            ("duties", e.duties),
            ("additional_fees", e.fees),
            ("total_sales", e.total()),
            (
                "average_order_value",
                average(e.gross - e.discounts, e.orders, digits),
            ),
        ] {
            assert!(sales[field].is_string(), "{what}: money is a string");
            assert_eq!(d(&sales[field]), value, "{what} {currency} {field}");
        }
    }
}

/// Checks a dashboard answer against the records, for all of `shops` over the range.
fn check_dashboard(
    body: &Value,
    shops: &[&Shop],
    from: NaiveDate,
    to: NaiveDate,
    granularity: &str,
) {
    let days = expected_days(shops);
    let totals = totals_of(&days, from, to);
    let what = format!("{from}..{to}");
    check_sales(&body["totals"]["sales"], &totals, &what);
    let orders: i64 = totals.values().map(|s| s.orders).sum();
    assert_eq!(body["totals"]["orders"], orders, "{what} orders");

    let people = expected_people(shops, from, to);
    let t = &body["totals"];
    assert_eq!(t["customers"], people.customers, "{what} customers");
    assert_eq!(
        t["accounts_created"], people.accounts_created,
        "{what} accounts created"
    );
    assert_eq!(t["buyers"], people.buyers, "{what} buyers");
    assert_eq!(t["returning_buyers"], people.returning, "{what} returning");
    assert_eq!(
        t["new_customers"],
        people.buyers - people.returning,
        "{what} new customers are first-time buyers"
    );
    assert_eq!(
        t["repeat_purchase_rate"].as_f64().unwrap(),
        rate(people.repeat, people.buyers),
        "{what} repeat rate"
    );

    // Every bucket, zeros included, each equal to its days' sums.
    let bucket = |day: NaiveDate| -> NaiveDate {
        let start = match granularity {
            "week" => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            "month" => day.with_day(1).unwrap(),
            _ => day,
        };
        start.max(from)
    };
    let mut expected_series: BTreeMap<NaiveDate, BTreeMap<String, Sums>> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        expected_series.entry(bucket(day)).or_default();
        day += Duration::days(1);
    }
    for ((day, currency), sums) in &days {
        if in_range(*day, from, to) {
            expected_series
                .get_mut(&bucket(*day))
                .unwrap()
                .entry(currency.clone())
                .or_default()
                .add(sums);
        }
    }
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), expected_series.len(), "{what}: every bucket");
    for (period, (start, sums)) in series.iter().zip(&expected_series) {
        assert_eq!(period["start"], start.to_string());
        let orders: i64 = sums.values().map(|s| s.orders).sum();
        assert_eq!(period["orders"], orders, "{what} {start} orders");
        for sales in period["sales"].as_array().unwrap() {
            let e = &sums[sales["currency"].as_str().unwrap()];
            assert_eq!(d(&sales["gross_sales"]), e.gross, "{start} gross");
            assert_eq!(d(&sales["net_sales"]), e.net(), "{start} net");
            assert_eq!(d(&sales["total_sales"]), e.total(), "{start} total");
        }
        let listed: BTreeSet<&str> = period["sales"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["currency"].as_str().unwrap())
            .collect();
        let wanted: BTreeSet<&str> = sums.keys().map(String::as_str).collect();
        assert_eq!(listed, wanted, "{what} {start} currencies");
    }

    // Top spenders, ranked within each currency.
    let limit = 5;
    let mut ranked: BTreeMap<String, Vec<(Decimal, i64, String, i64)>> = BTreeMap::new();
    for ((currency, store, customer), (orders, spent, _)) in &people.spend {
        ranked.entry(currency.clone()).or_default().push((
            *spent,
            *orders,
            store.clone(),
            *customer,
        ));
    }
    let mut expected_top = Vec::new();
    for (currency, mut list) in ranked {
        list.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.cmp(&a.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
        for (spent, orders, store, customer) in list.into_iter().take(limit) {
            let last = people.spend[&(currency.clone(), store.clone(), customer)].2;
            expected_top.push((currency.clone(), customer, orders, spent, last));
        }
    }
    let top: Vec<(String, i64, i64, Decimal, DateTime<Utc>)> = body["top_customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["currency"].as_str().unwrap().to_owned(),
                api_id(&c["customer_id"]),
                c["orders"].as_i64().unwrap(),
                d(&c["spent"]),
                instant(&c["last_order_at"]),
            )
        })
        .collect();
    assert_eq!(top, expected_top, "{what} top customers");
}

#[tokio::test]
async fn dashboard_products_and_checkouts_equal_figures_computed_from_the_records() {
    let sim = sim(1.0).await;
    let specs = [
        ("kiritimati.myshopify.com", "USD", "Pacific/Kiritimati", 5),
        ("tokyo.myshopify.com", "JPY", "Asia/Tokyo", 6),
        ("other.myshopify.com", "USD", "UTC", 7),
    ];
    for (domain, currency, timezone, seed) in specs {
        create_shop(
            &sim,
            domain,
            json!({ "seed": seed, "customers": 120, "products": 15, "orders": 260, "days": 75,
                    "currency": currency, "timezone": timezone }),
        )
        .await;
    }
    let app = app_for(&sim, &[]).await;
    let token = app.register("Acme", "owner@acme.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_token = app.register("Other", "owner@other.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    connect_shop(&app, &token, specs[0].0).await;
    connect_shop(&app, &token, specs[1].0).await;
    connect_shop(&app, &other_token, specs[2].0).await;
    let mut ids = Vec::new();
    for (domain, _, _, _) in &specs[..2] {
        ids.push(store_id_of(&app, &token, domain).await);
    }
    let other_id = store_id_of(&app, &other_token, specs[2].0).await;
    for id in &ids {
        wait_for_sync(&app, &token, id).await;
    }
    wait_for_sync(&app, &other_token, &other_id).await;

    // Live changes arrive as webhooks: new orders (some abroad with duties, some tipped),
    // refunds of items, of shipping and of both, and cancellations, dated today.
    for (domain, _, _, _) in &specs {
        activity(
            &sim,
            domain,
            json!({ "orders": 12, "refunds": 8, "cancellations": 5, "customers": 4,
                    "order_updates": 6, "checkouts": 8, "cross_border_orders": 3,
                    "tipped_orders": 2, "mixed_refunds": 2, "shipping_refunds": 2 }),
        )
        .await;
    }
    drain(&app).await;

    // A cached answer, asked for again after more writes, must not be stale.
    let midnight = format!(
        "/api/metrics/dashboard?from=2026-10-20&to=2026-10-21&store_id={}",
        ids[0]
    );
    let before = get(&app, &token, &midnight).await;

    // Two orders a second apart either side of midnight at UTC+14: the same UTC day,
    // different local days.
    let kiritimati_truth = truth(&sim, specs[0].0).await;
    let template = kiritimati_truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            counted(o)
                && o["customer"]["id"].is_i64()
                && o["refunds"].as_array().unwrap().is_empty()
        })
        .unwrap()
        .clone();
    send_order(
        &app,
        specs[0].0,
        &template,
        8_000_000_000_000_001,
        "2026-10-20T23:59:59+14:00",
    )
    .await;
    send_order(
        &app,
        specs[0].0,
        &template,
        8_000_000_000_000_002,
        "2026-10-21T00:00:00+14:00",
    )
    .await;
    drain(&app).await;

    // A returning October buyer's only earlier order is deleted: they become new in October
    // (their first order moves), which the figures below must show.
    let october = date("2026-10-01");
    let deleted =
        first_order_of_a_returning_buyer(&kiritimati_truth, specs[0].2.parse().unwrap(), october);
    send_webhook(
        &app,
        specs[0].0,
        "orders/delete",
        &json!({ "id": deleted }),
        "delete-first",
    )
    .await;
    // Another buyer's first order is made a test after the fact: no longer counted, their
    // first order moves too (an update that changes what the summaries hold).
    let mut retested = kiritimati_truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            counted(o)
                && o["customer"]["id"].is_i64()
                && o["refunds"].as_array().unwrap().is_empty()
                && o["id"] != json!(deleted)
        })
        .min_by_key(|o| instant(&o["processed_at"]))
        .unwrap()
        .clone();
    retested["test"] = json!(true);
    retested["updated_at"] = json!(Utc::now().to_rfc3339());
    send_webhook(
        &app,
        specs[0].0,
        "orders/updated",
        &retested,
        "retest-first",
    )
    .await;
    // A buyer's only order is deleted: the buyer leaves the summaries altogether.
    let only = only_order_of_a_buyer(
        &kiritimati_truth,
        &[deleted, retested["id"].as_i64().unwrap()],
    );
    send_webhook(
        &app,
        specs[0].0,
        "orders/delete",
        &json!({ "id": only }),
        "delete-only",
    )
    .await;
    drain(&app).await;
    let mut owner = app.connect_as("postgres").await;
    let orphans: i64 =
        sqlx::query_scalar("SELECT count(*) FROM order_line_items WHERE order_id = ANY($1)")
            .bind([deleted, only])
            .fetch_one(&mut owner)
            .await
            .unwrap();
    assert_eq!(orphans, 0, "a deleted order's line items go with it");

    let mut shops = Vec::new();
    for ((domain, currency, timezone, _), store_id) in
        specs.iter().zip(ids.iter().chain([&other_id]))
    {
        let mut truth = truth(&sim, domain).await;
        if *domain == specs[0].0 {
            let orders = truth["orders"].as_array_mut().unwrap();
            for (id, at) in [
                (8_000_000_000_000_001_i64, "2026-10-20T23:59:59+14:00"),
                (8_000_000_000_000_002, "2026-10-21T00:00:00+14:00"),
            ] {
                let mut order = template.clone();
                order["id"] = json!(id);
                order["processed_at"] = json!(at);
                order["created_at"] = json!(at);
                order["current_total_price"] = order["total_price"].clone();
                orders.push(order);
            }
            orders.retain(|o| o["id"] != json!(deleted) && o["id"] != json!(only));
            for order in orders.iter_mut().filter(|o| o["id"] == retested["id"]) {
                order["test"] = json!(true);
            }
        }
        shops.push(Shop {
            domain: (*domain).to_owned(),
            store_id: store_id.clone(),
            tz: timezone.parse().unwrap(),
            currency: (*currency).to_owned(),
            truth,
        });
    }
    let tenant_shops: Vec<&Shop> = shops[..2].iter().collect();

    let after = get(&app, &token, &midnight).await;
    assert_eq!(
        after["totals"]["orders"].as_i64().unwrap(),
        before["totals"]["orders"].as_i64().unwrap() + 2,
        "a write shows at once, cache or not"
    );
    check_dashboard(
        &after,
        &tenant_shops[..1],
        date("2026-10-20"),
        date("2026-10-21"),
        "day",
    );
    let per_day = expected_days(&tenant_shops[..1]);
    for day in ["2026-10-20", "2026-10-21"] {
        let one = get(
            &app,
            &token,
            &format!(
                "/api/metrics/dashboard?from={day}&to={day}&store_id={}",
                ids[0]
            ),
        )
        .await;
        check_dashboard(&one, &tenant_shops[..1], date(day), date(day), "day");
        assert!(per_day[&(date(day), "USD".to_owned())].orders >= 1);
    }

    // The whole history and today's live changes, both stores, each granularity.
    let (from, to) = (date("2026-08-01"), through_today("2026-11-30"));
    for granularity in ["day", "week", "month"] {
        let body = get(
            &app,
            &token,
            &format!("/api/metrics/dashboard?from={from}&to={to}&granularity={granularity}&compare=previous_period"),
        )
        .await;
        check_dashboard(&body, &tenant_shops, from, to, granularity);
        let stores: Vec<&str> = body["stores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["timezone"].as_str().unwrap())
            .collect();
        assert_eq!(stores, ["Pacific/Kiritimati", "Asia/Tokyo"]);
        // The previous period: the same length, just before.
        let previous = &body["previous"];
        let length = (to - from).num_days() + 1;
        let (previous_from, previous_to) =
            (from - Duration::days(length), from - Duration::days(1));
        assert_eq!(previous["from"], previous_from.to_string());
        assert_eq!(previous["to"], previous_to.to_string());
        let previous_totals = totals_of(&expected_days(&tenant_shops), previous_from, previous_to);
        check_sales(&previous["totals"]["sales"], &previous_totals, "previous");
        // Its series is the one the previous range has on its own, bucket for bucket.
        let alone = get(
            &app,
            &token,
            &format!("/api/metrics/dashboard?from={previous_from}&to={previous_to}&granularity={granularity}"),
        )
        .await;
        assert_eq!(previous["series"], alone["series"], "{granularity}");
        // And it says whether the stores were selling yet when it began.
        let first_sale = *expected_days(&tenant_shops)
            .keys()
            .map(|(day, _)| day)
            .min()
            .unwrap();
        assert_eq!(previous["complete"], json!(first_sale <= previous_from));
        let now_orders = body["totals"]["orders"].as_i64().unwrap();
        let before_orders = previous["totals"]["orders"].as_i64().unwrap();
        let change = &previous["change"]["orders"];
        if before_orders == 0 {
            assert!(change.is_null());
        } else {
            let expected = ((now_orders - before_orders) as f64 / before_orders as f64 * 10_000.0)
                .round()
                / 10_000.0;
            assert_eq!(change.as_f64().unwrap(), expected);
        }
    }
    // A year later against the same days a year before: the compared figures are those
    // days' figures, bucket for bucket, and the range itself (still to come) has none.
    let (later_from, later_to) = (date("2027-08-01"), date("2027-11-30"));
    let body = get(
        &app,
        &token,
        &format!(
            "/api/metrics/dashboard?from={later_from}&to={later_to}&granularity=week&compare=previous_year"
        ),
    )
    .await;
    let previous = &body["previous"];
    let (year_from, year_to) = (date("2026-08-01"), date("2026-11-30"));
    assert_eq!(previous["from"], year_from.to_string());
    assert_eq!(previous["to"], year_to.to_string());
    let year_totals = totals_of(&expected_days(&tenant_shops), year_from, year_to);
    assert!(
        year_totals.values().any(|s| s.orders > 0),
        "the year before sold"
    );
    check_sales(&previous["totals"]["sales"], &year_totals, "previous year");
    let alone = get(
        &app,
        &token,
        &format!("/api/metrics/dashboard?from={year_from}&to={year_to}&granularity=week"),
    )
    .await;
    assert_eq!(
        previous["series"], alone["series"],
        "the year before, week by week"
    );
    assert_eq!(body["totals"]["orders"], 0);
    assert!(previous["change"]["orders"].as_f64().unwrap() == -1.0);

    // The month the deleted order changed, and each buyer's summaries as stored.
    let body = get(
        &app,
        &token,
        &format!(
            "/api/metrics/dashboard?from=2026-10-01&to=2026-10-31&store_id={}",
            ids[0]
        ),
    )
    .await;
    check_dashboard(
        &body,
        &tenant_shops[..1],
        october,
        date("2026-10-31"),
        "day",
    );
    for shop in &tenant_shops {
        crate::report_reads::check_buyer_summaries(&app, shop).await;
    }
    crate::report_reads::check_report_methods_agree(&app, &token, &ids).await;
    // A month, one store, against the previous month.
    for (i, shop) in tenant_shops.iter().enumerate() {
        let body = get(
            &app,
            &token,
            &format!(
                "/api/metrics/dashboard?from=2026-10-01&to=2026-10-31&store_id={}&limit=100",
                ids[i]
            ),
        )
        .await;
        check_dashboard_limit(&body, shop, 100);
    }

    // Top products, by revenue and by units, within each currency: over whole months, over
    // edge days either side of a whole month, and over days inside one month.
    let ranges = [
        (from, to),
        (date("2026-09-12"), date("2026-11-03")),
        (date("2026-10-05"), date("2026-10-27")),
    ];
    for (from, to) in ranges {
        for sort in ["revenue", "units"] {
            crate::sellers::check_top_sellers(&app, &token, &tenant_shops, (from, to), sort).await;
        }
    }
    // The products list shows each product's units and net sales in a range, the same way.
    // (currency, product) → each store's (units, net sales).
    type Sold = Vec<(i64, Decimal)>;
    let mut expected: BTreeMap<(String, i64), Sold> = BTreeMap::new();
    for (currency, product, _, units, revenue) in
        expected_products(&tenant_shops, from, to, "revenue", usize::MAX)
    {
        if let Some(product) = product {
            expected
                .entry((currency, product))
                .or_default()
                .push((units, revenue));
        }
    }
    let mut listed_sales = 0;
    let mut cursor = String::new();
    loop {
        let page = get(
            &app,
            &token,
            &format!("/api/products?from={from}&to={to}&limit=50{cursor}"),
        )
        .await;
        for product in page["data"].as_array().unwrap() {
            let id: i64 = product["id"].as_str().unwrap().parse().unwrap();
            for sale in product["sales"].as_array().unwrap() {
                let currency = sale["currency"].as_str().unwrap().to_owned();
                let want = expected
                    .get(&(currency.clone(), id))
                    .unwrap_or_else(|| panic!("product {id} sold nothing in {currency}"));
                assert!(
                    want.contains(&(sale["units"].as_i64().unwrap(), d(&sale["net_sales"]))),
                    "product {id}: {sale} vs {want:?}"
                );
                listed_sales += 1;
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(
        listed_sales,
        expected.values().map(Vec::len).sum::<usize>(),
        "every product that sold, once per currency"
    );

    crate::checkouts::check_checkouts(&app, &token, &tenant_shops, (from, to)).await;

    check_cohorts_and_segments(&app, &token, &tenant_shops).await;
    crate::rollups::check_rollups_equal_a_recount(&app).await;

    // The other tenant sees its own store only, and not the first tenant's.
    let theirs = get(
        &app,
        &other_token,
        &format!("/api/metrics/dashboard?from={from}&to={to}"),
    )
    .await;
    check_dashboard(&theirs, &[&shops[2]], from, to, "day");
    let refused = app
        .get_authed(
            &format!("/api/metrics/dashboard?store_id={}", ids[0]),
            &other_token,
        )
        .await;
    expect_problem(refused, 404, "not_found").await;

    // Bad input is a clear 400.
    for query in [
        "from=2026-10-02&to=2026-10-01",
        "from=yesterday",
        "from=2020-01-01&to=2026-01-01",
        "limit=0",
        "limit=101",
        "granularity=hour",
        "store_id=not-a-uuid",
    ] {
        let response = app
            .get_authed(&format!("/api/metrics/dashboard?{query}"), &token)
            .await;
        let problem = expect_problem(response, 400, "bad_request").await;
        assert!(
            problem["detail"].as_str().unwrap().len() > 10,
            "{query}: {problem}"
        );
    }
    let unauthenticated = app
        .client
        .get(app.url("/api/metrics/dashboard"))
        .send()
        .await
        .unwrap();
    expect_problem(unauthenticated, 401, "unauthenticated").await;
}

/// One store's month with up to `limit` top customers.
fn check_dashboard_limit(body: &Value, shop: &Shop, limit: usize) {
    let (from, to) = (date("2026-10-01"), date("2026-10-31"));
    let people = expected_people(&[shop], from, to);
    let top = body["top_customers"].as_array().unwrap();
    assert_eq!(
        top.len(),
        people.spend.len().min(limit),
        "{}: every spender up to the limit",
        shop.domain
    );
    let spent: Decimal = top.iter().map(|c| d(&c["spent"])).sum();
    let expected: Decimal = people.spend.values().map(|s| s.1).sum();
    assert_eq!(spent, expected, "{}: all spend listed", shop.domain);
    let totals = totals_of(&expected_days(&[shop]), from, to);
    check_sales(&body["totals"]["sales"], &totals, &shop.domain);
}
