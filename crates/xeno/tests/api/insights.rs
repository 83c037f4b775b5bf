//! The insights API against expectations computed here, independently, from the
//! simulator's ground truth: two stores (one at UTC+14, one in yen) for one tenant, a
//! second tenant beside them, live refunds and cancellations, orders either side of a
//! store's local midnight.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::ingest::{
    activity, app_for, authorize, create_shop, drain, no_redirects, post_webhook, signature, sim,
    truth, wait_for_sync, SECRET,
};
use crate::support::{expect_problem, TestApp};
use xeno_domain::ids::{StoreId, TenantId};
use xeno_storage::insights::{ReportLimits, Scope};

struct Shop {
    domain: String,
    store_id: String,
    tz: Tz,
    currency: String,
    truth: Value,
}

fn d(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        other => panic!("not a decimal: {other}"),
    }
}

/// A Shopify id as the API gives it: a string, since it may exceed 2^53.
fn api_id(v: &Value) -> i64 {
    v.as_str().unwrap().parse().unwrap()
}

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn local_day(v: &Value, tz: Tz) -> NaiveDate {
    instant(v).with_timezone(&tz).date_naive()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Sums {
    orders: i64,
    units: i64,
    gross: Decimal,
    discounts: Decimal,
    returns: Decimal,
    shipping: Decimal,
    taxes: Decimal,
}

impl Sums {
    fn add(&mut self, other: &Sums) {
        self.orders += other.orders;
        self.units += other.units;
        self.gross += other.gross;
        self.discounts += other.discounts;
        self.returns += other.returns;
        self.shipping += other.shipping;
        self.taxes += other.taxes;
    }
    fn net(&self) -> Decimal {
        self.gross - self.discounts - self.returns
    }
    fn total(&self) -> Decimal {
        self.net() + self.shipping + self.taxes
    }
}

fn counted(order: &Value) -> bool {
    !order["test"].as_bool().unwrap()
}

/// A line's whole discount as Shopify's reports count it: its allocations (order-level code
/// discounts included).
fn line_discount(line: &Value) -> Decimal {
    line["discount_allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| d(&a["amount"]))
        .sum()
}

/// A refund's shipping given back and the tax on it, from its shipping refund adjustments.
fn refunded_shipping(refund: &Value) -> (Decimal, Decimal) {
    refund["order_adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "shipping_refund")
        .fold((Decimal::ZERO, Decimal::ZERO), |(s, t), a| {
            (s - d(&a["amount"]), t - d(&a["tax_amount"]))
        })
}

/// Sales by (store-local day, currency), from the records themselves, by Shopify's
/// definitions: gift cards are not sales; discounts include allocated code discounts; a
/// refund lowers returns, shipping and taxes on its day; a cancellation reverses on its day
/// whatever refunds left of the order.
fn expected_days(shops: &[&Shop]) -> BTreeMap<(NaiveDate, String), Sums> {
    let mut days: BTreeMap<(NaiveDate, String), Sums> = BTreeMap::new();
    for shop in shops {
        for order in shop.truth["orders"].as_array().unwrap() {
            if !counted(order) {
                continue;
            }
            let day = local_day(&order["processed_at"], shop.tz);
            let sums = days.entry((day, shop.currency.clone())).or_default();
            let sold: Vec<&Value> = order["line_items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| !l["gift_card"].as_bool().unwrap())
                .collect();
            let gross: Decimal = sold
                .iter()
                .map(|l| d(&l["price"]) * Decimal::from(l["quantity"].as_i64().unwrap()))
                .sum();
            let discounts: Decimal = sold.iter().map(|l| line_discount(l)).sum();
            let shipping: Decimal = order["shipping_lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| d(&l["price"]))
                .sum();
            sums.orders += 1;
            sums.gross += gross;
            sums.discounts += discounts;
            sums.shipping += shipping;
            sums.taxes += d(&order["total_tax"]);
            sums.units += order["line_items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["quantity"].as_i64().unwrap())
                .sum::<i64>();
            let (mut goods_back, mut shipping_back, mut tax_back) =
                (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
            for refund in order["refunds"].as_array().unwrap() {
                let day = local_day(&refund["created_at"], shop.tz);
                let sums = days.entry((day, shop.currency.clone())).or_default();
                for line in refund["refund_line_items"].as_array().unwrap() {
                    sums.returns += d(&line["subtotal"]);
                    sums.taxes -= d(&line["total_tax"]);
                    goods_back += d(&line["subtotal"]);
                    tax_back += d(&line["total_tax"]);
                }
                let (shipping, tax) = refunded_shipping(refund);
                sums.shipping -= shipping;
                sums.taxes -= tax;
                shipping_back += shipping;
                tax_back += tax;
            }
            if !order["cancelled_at"].is_null() {
                let day = local_day(&order["cancelled_at"], shop.tz);
                let sums = days.entry((day, shop.currency.clone())).or_default();
                sums.returns += (gross - discounts - goods_back).max(Decimal::ZERO);
                sums.shipping -= (shipping - shipping_back).max(Decimal::ZERO);
                sums.taxes -= (d(&order["total_tax"]) - tax_back).max(Decimal::ZERO);
            }
        }
    }
    days
}

fn in_range(day: NaiveDate, from: NaiveDate, to: NaiveDate) -> bool {
    from <= day && day <= to
}

fn totals_of(
    days: &BTreeMap<(NaiveDate, String), Sums>,
    from: NaiveDate,
    to: NaiveDate,
) -> BTreeMap<String, Sums> {
    let mut totals: BTreeMap<String, Sums> = BTreeMap::new();
    for ((day, currency), sums) in days {
        if in_range(*day, from, to) {
            totals.entry(currency.clone()).or_default().add(sums);
        }
    }
    totals
}

fn average(amount: Decimal, count: i64, digits: u32) -> Decimal {
    if count == 0 {
        return Decimal::ZERO;
    }
    (amount / Decimal::from(count))
        .round_dp_with_strategy(digits, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

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

/// A checkout funnel in one currency.
#[derive(Debug, Default, PartialEq)]
struct Funnel {
    started: i64,
    completed: i64,
    abandoned: i64,
    recovered: i64,
    abandoned_value: Decimal,
    completed_value: Decimal,
    recovered_value: Decimal,
}

/// (currency, store, customer)
type SpendKey = (String, String, i64);
/// (orders, spent, last order)
type Spend = (i64, Decimal, DateTime<Utc>);
/// (currency, product, orders, units, revenue)
type ProductFigures = (String, Option<i64>, i64, i64, Decimal);

/// (currency, store, product) → (orders, units, revenue)
type Sold = BTreeMap<(String, String, Option<i64>), (BTreeSet<i64>, i64, Decimal)>;

/// Customers, buyers and top spenders, from the records.
struct People {
    customers: i64,
    accounts_created: i64,
    buyers: i64,
    returning: i64,
    repeat: i64,
    spend: BTreeMap<SpendKey, Spend>,
}

fn expected_people(shops: &[&Shop], from: NaiveDate, to: NaiveDate) -> People {
    let mut people = People {
        customers: 0,
        accounts_created: 0,
        buyers: 0,
        returning: 0,
        repeat: 0,
        spend: BTreeMap::new(),
    };
    for shop in shops {
        for customer in shop.truth["customers"].as_array().unwrap() {
            let day = local_day(&customer["created_at"], shop.tz);
            if day <= to {
                people.customers += 1;
            }
            if in_range(day, from, to) {
                people.accounts_created += 1;
            }
        }
        // customer → (orders in range, ordered before the range)
        let mut buyers: BTreeMap<i64, (i64, bool)> = BTreeMap::new();
        for order in shop.truth["orders"].as_array().unwrap() {
            let Some(customer) = order["customer"]["id"].as_i64() else {
                continue;
            };
            if !counted(order) {
                continue;
            }
            let day = local_day(&order["processed_at"], shop.tz);
            let entry = buyers.entry(customer).or_insert((0, false));
            if day < from {
                entry.1 = true;
            } else if day <= to {
                entry.0 += 1;
                let spend = people
                    .spend
                    .entry((shop.currency.clone(), shop.store_id.clone(), customer))
                    .or_insert((0, Decimal::ZERO, instant(&order["processed_at"])));
                spend.0 += 1;
                spend.1 += d(&order["current_total_price"]);
                spend.2 = spend.2.max(instant(&order["processed_at"]));
            }
        }
        for (orders, before) in buyers.values() {
            if *orders > 0 {
                people.buyers += 1;
                people.returning += i64::from(*before);
                people.repeat += i64::from(*before || *orders > 1);
            }
        }
    }
    people
}

pub(crate) async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let response = app.get_authed(path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
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

pub(crate) async fn connect_shop(app: &TestApp, token: &str, shop: &str) {
    let callback = authorize(app, token, shop).await;
    let done = no_redirects().get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
}

pub(crate) async fn store_id_of(app: &TestApp, token: &str, domain: &str) -> String {
    let stores = get(app, token, "/api/stores").await;
    stores["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["shop_domain"] == domain)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An order placed at `processed_at` (local time with its offset), sent as Shopify would.
pub(crate) async fn send_webhook(
    app: &TestApp,
    domain: &str,
    topic: &str,
    payload: &Value,
    id: &str,
) {
    let body = serde_json::to_vec(payload).unwrap();
    let sig = signature(&body, SECRET);
    let response = post_webhook(
        app,
        &[
            ("content-type", "application/json"),
            ("x-shopify-topic", topic),
            ("x-shopify-hmac-sha256", &sig),
            ("x-shopify-shop-domain", domain),
            ("x-shopify-webhook-id", id),
        ],
        body,
    )
    .await;
    assert_eq!(response.status(), 200);
}

/// The id of the only order before `month` of a customer who orders again in that month.
fn first_order_of_a_returning_buyer(truth: &Value, tz: Tz, month: NaiveDate) -> i64 {
    let mut by_customer: BTreeMap<i64, Vec<(NaiveDate, i64)>> = BTreeMap::new();
    for order in truth["orders"].as_array().unwrap() {
        if let (true, Some(customer)) = (counted(order), order["customer"]["id"].as_i64()) {
            let day = local_day(&order["processed_at"], tz);
            by_customer
                .entry(customer)
                .or_default()
                .push((day, order["id"].as_i64().unwrap()));
        }
    }
    let next = month + Duration::days(31);
    by_customer
        .values()
        .find_map(|orders| {
            let before: Vec<_> = orders.iter().filter(|(day, _)| *day < month).collect();
            let during = orders.iter().any(|(day, _)| *day >= month && *day < next);
            (before.len() == 1 && during).then(|| before[0].1)
        })
        .expect("a buyer with one order before the month and one in it")
}

/// The id of a counted order whose buyer has no other counted order (none of `besides`).
fn only_order_of_a_buyer(truth: &Value, besides: &[i64]) -> i64 {
    let mut by_customer: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for order in truth["orders"].as_array().unwrap() {
        if let (true, Some(customer)) = (counted(order), order["customer"]["id"].as_i64()) {
            by_customer
                .entry(customer)
                .or_default()
                .push(order["id"].as_i64().unwrap());
        }
    }
    by_customer
        .values()
        .find_map(|orders| match orders[..] {
            [only] if !besides.contains(&only) => Some(only),
            _ => None,
        })
        .expect("a buyer with a single order")
}

/// Each buyer's stored history (first, second and last order) and lifetime spend per
/// currency equal what the records say.
async fn check_buyer_summaries(app: &TestApp, shop: &Shop) {
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
async fn check_report_methods_agree(app: &TestApp, token: &str, ids: &[String]) {
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
        },
        // The walk in many small rounds.
        ReportLimits {
            buyer_probes: 1_000_000,
            first_candidates: 1,
            max_candidates: 1_000_000,
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

async fn send_order(app: &TestApp, domain: &str, template: &Value, id: i64, processed_at: &str) {
    let mut order = template.clone();
    order["id"] = json!(id);
    order["admin_graphql_api_id"] = json!(format!("gid://shopify/Order/{id}"));
    order["name"] = json!(format!("#M{id}"));
    for field in ["created_at", "updated_at", "processed_at"] {
        order[field] = json!(processed_at);
    }
    order["refunds"] = json!([]);
    order["cancelled_at"] = Value::Null;
    order["current_total_price"] = order["total_price"].clone();
    for (i, line) in order["line_items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        line["id"] = json!(id * 10 + i as i64);
        line["current_quantity"] = line["quantity"].clone();
    }
    let body = serde_json::to_vec(&order).unwrap();
    let sig = signature(&body, SECRET);
    let webhook_id = format!("midnight-{id}");
    let response = post_webhook(
        app,
        &[
            ("content-type", "application/json"),
            ("x-shopify-topic", "orders/create"),
            ("x-shopify-hmac-sha256", &sig),
            ("x-shopify-shop-domain", domain),
            ("x-shopify-webhook-id", &webhook_id),
        ],
        body,
    )
    .await;
    assert_eq!(response.status(), 200);
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

    // Live changes arrive as webhooks: new orders, refunds and cancellations dated today.
    for (domain, _, _, _) in &specs {
        activity(
            &sim,
            domain,
            json!({ "orders": 12, "refunds": 8, "cancellations": 5, "customers": 4,
                    "order_updates": 6, "checkouts": 8 }),
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
    let (from, to) = (date("2026-08-01"), date("2026-11-30"));
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
        check_buyer_summaries(&app, shop).await;
    }
    check_report_methods_agree(&app, &token, &ids).await;
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

    // Top products, by revenue and by units, within each currency.
    for sort in ["revenue", "units"] {
        let body = get(
            &app,
            &token,
            &format!("/api/metrics/products?from={from}&to={to}&sort={sort}&limit=7"),
        )
        .await;
        let expected = expected_products(&tenant_shops, from, to, sort, 7);
        let got: Vec<ProductFigures> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["currency"].as_str().unwrap().to_owned(),
                    p["product_id"].as_str().map(|id| id.parse().unwrap()),
                    p["orders"].as_i64().unwrap(),
                    p["units"].as_i64().unwrap(),
                    d(&p["revenue"]),
                )
            })
            .collect();
        assert_eq!(got, expected, "top products by {sort}");
    }

    // Checkouts: what Shopify lets an app know (abandoned ones, and every checkout since
    // connecting, through webhooks).
    let body = get(
        &app,
        &token,
        &format!("/api/metrics/checkouts?from={from}&to={to}"),
    )
    .await;
    let connected_at = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut expected: BTreeMap<String, Funnel> = BTreeMap::new();
    for shop in &tenant_shops {
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
        &app,
        &token,
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

    check_cohorts_and_segments(&app, &token, &tenant_shops).await;

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

fn expected_products(
    shops: &[&Shop],
    from: NaiveDate,
    to: NaiveDate,
    sort: &str,
    limit: usize,
) -> Vec<ProductFigures> {
    let mut sold: Sold = BTreeMap::new();
    for shop in shops {
        for order in shop.truth["orders"].as_array().unwrap() {
            if !counted(order) {
                continue;
            }
            // Returns by product on their own day: refunded lines, and what a cancellation
            // took back of each line beyond its refunds.
            let lines = order["line_items"].as_array().unwrap();
            let product_of = |line_id: i64| {
                lines
                    .iter()
                    .find(|l| l["id"].as_i64() == Some(line_id) && l["gift_card"] == false)
                    .map(|l| l["product_id"].as_i64())
            };
            let mut refunded: BTreeMap<i64, Decimal> = BTreeMap::new();
            for refund in order["refunds"].as_array().unwrap() {
                let day = local_day(&refund["created_at"], shop.tz);
                for line in refund["refund_line_items"].as_array().unwrap() {
                    let id = line["line_item_id"].as_i64().unwrap();
                    *refunded.entry(id).or_default() += d(&line["subtotal"]);
                    if let (true, Some(product)) = (in_range(day, from, to), product_of(id)) {
                        sold.entry((shop.currency.clone(), shop.store_id.clone(), product))
                            .or_default()
                            .2 -= d(&line["subtotal"]);
                    }
                }
            }
            if !order["cancelled_at"].is_null()
                && in_range(local_day(&order["cancelled_at"], shop.tz), from, to)
            {
                for line in lines.iter().filter(|l| l["gift_card"] == false) {
                    let id = line["id"].as_i64().unwrap();
                    let net = d(&line["price"]) * Decimal::from(line["quantity"].as_i64().unwrap())
                        - line_discount(line);
                    let back =
                        (net - refunded.get(&id).copied().unwrap_or_default()).max(Decimal::ZERO);
                    sold.entry((
                        shop.currency.clone(),
                        shop.store_id.clone(),
                        line["product_id"].as_i64(),
                    ))
                    .or_default()
                    .2 -= back;
                }
            }
            if !in_range(local_day(&order["processed_at"], shop.tz), from, to) {
                continue;
            }
            for line in order["line_items"].as_array().unwrap() {
                if line["gift_card"].as_bool().unwrap() {
                    continue;
                }
                let entry = sold
                    .entry((
                        shop.currency.clone(),
                        shop.store_id.clone(),
                        line["product_id"].as_i64(),
                    ))
                    .or_default();
                let quantity = line["quantity"].as_i64().unwrap();
                entry.0.insert(order["id"].as_i64().unwrap());
                entry.1 += quantity;
                entry.2 += d(&line["price"]) * Decimal::from(quantity) - line_discount(line);
            }
        }
    }
    let mut by_currency: BTreeMap<String, Vec<ProductFigures>> = BTreeMap::new();
    for ((currency, store, product), (orders, units, revenue)) in sold {
        by_currency.entry(currency).or_default().push((
            store,
            product,
            orders.len() as i64,
            units,
            revenue,
        ));
    }
    let mut out = Vec::new();
    for (currency, mut list) in by_currency {
        list.sort_by(|a, b| {
            let primary = if sort == "units" {
                b.3.cmp(&a.3).then(b.4.cmp(&a.4))
            } else {
                b.4.cmp(&a.4).then(b.3.cmp(&a.3))
            };
            primary.then(a.0.cmp(&b.0)).then(match (a.1, b.1) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
        });
        for (_, product, orders, units, revenue) in list.into_iter().take(limit) {
            out.push((currency.clone(), product, orders, units, revenue));
        }
    }
    out
}

/// Buyers up to the end of `to`: (currency, store, customer) → (orders, spent, last order).
fn buyers_until(shops: &[&Shop], to: NaiveDate) -> BTreeMap<SpendKey, Spend> {
    let mut buyers: BTreeMap<SpendKey, Spend> = BTreeMap::new();
    for shop in shops {
        for order in shop.truth["orders"].as_array().unwrap() {
            let Some(customer) = order["customer"]["id"].as_i64() else {
                continue;
            };
            if !counted(order) || local_day(&order["processed_at"], shop.tz) > to {
                continue;
            }
            let at = instant(&order["processed_at"]);
            let entry = buyers
                .entry((shop.currency.clone(), shop.store_id.clone(), customer))
                .or_insert((0, Decimal::ZERO, at));
            entry.0 += 1;
            entry.1 += d(&order["current_total_price"]);
            entry.2 = entry.2.max(at);
        }
    }
    buyers
}

/// Orders two buyers (customer id, what they bought).
type Ranking = dyn Fn(&(i64, Spend), &(i64, Spend)) -> std::cmp::Ordering;

/// PostgreSQL's ntile(5) for the row at `index` (0-based) of `n`.
fn quintile(index: usize, n: usize) -> i32 {
    let (size, extra) = (n / 5, n % 5);
    let bucket = if index < extra * (size + 1) {
        index / (size + 1)
    } else {
        extra + (index - extra * (size + 1)) / size
    };
    bucket as i32 + 1
}

/// (currency, spent, segment)
type Member = (String, Decimal, &'static str);

/// Segment per (store, customer), scored within each store.
fn expected_segments(shops: &[&Shop], to: NaiveDate) -> BTreeMap<(String, i64), Member> {
    let buyers = buyers_until(shops, to);
    let mut out = BTreeMap::new();
    for shop in shops {
        let mine: Vec<(i64, Spend)> = buyers
            .iter()
            .filter(|((_, store, _), _)| *store == shop.store_id)
            .map(|((_, _, customer), spend)| (*customer, *spend))
            .collect();
        let n = mine.len();
        let score = |key: &Ranking| {
            let mut sorted = mine.clone();
            sorted.sort_by(|a, b| key(a, b).then(a.0.cmp(&b.0)));
            sorted
                .iter()
                .enumerate()
                .map(|(i, (customer, _))| (*customer, quintile(i, n)))
                .collect::<BTreeMap<i64, i32>>()
        };
        let recency = score(&|a, b| a.1 .2.cmp(&b.1 .2));
        let frequency = score(&|a, b| a.1 .0.cmp(&b.1 .0));
        for (customer, spend) in &mine {
            let (r, f) = (recency[customer], frequency[customer]);
            let segment = match (r, f) {
                (4.., 4..) => "champions",
                (3.., 3..) => "loyal",
                (4.., _) => "promising",
                (3, _) => "needs_attention",
                (_, 3..) => "at_risk",
                (2, _) => "hibernating",
                _ => "lost",
            };
            out.insert(
                (shop.store_id.clone(), *customer),
                (shop.currency.clone(), spend.1, segment),
            );
        }
    }
    out
}

async fn check_cohorts_and_segments(app: &TestApp, token: &str, shops: &[&Shop]) {
    let (from, to) = (date("2026-09-01"), date("2026-11-30"));
    // Cohorts: each buyer's months with orders, in their store's zone.
    let month = |day: NaiveDate| day.with_day(1).unwrap();
    let mut expected: BTreeMap<NaiveDate, BTreeMap<i32, i64>> = BTreeMap::new();
    for shop in shops {
        let mut months: BTreeMap<i64, BTreeSet<NaiveDate>> = BTreeMap::new();
        for order in shop.truth["orders"].as_array().unwrap() {
            let Some(customer) = order["customer"]["id"].as_i64() else {
                continue;
            };
            let day = local_day(&order["processed_at"], shop.tz);
            if counted(order) && day <= to {
                months.entry(customer).or_default().insert(month(day));
            }
        }
        for months in months.values() {
            let first = *months.iter().next().unwrap();
            if first < month(from) {
                continue;
            }
            for m in months {
                let offset = (m.year() * 12 + m.month0() as i32)
                    - (first.year() * 12 + first.month0() as i32);
                *expected
                    .entry(first)
                    .or_default()
                    .entry(offset)
                    .or_default() += 1;
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
        for cell in retention {
            let offset = cell["month_offset"].as_i64().unwrap() as i32;
            let customers = counts.get(&offset).copied().unwrap_or(0);
            assert_eq!(cell["customers"], customers, "{first} +{offset}");
            assert_eq!(cell["rate"].as_f64().unwrap(), rate(customers, size));
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
}

/// Every page of a list, following `next_cursor`; `between` runs after the first page.
async fn all_pages(
    app: &TestApp,
    token: &str,
    path: &str,
    between: impl AsyncFnOnce(),
) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    let mut between = Some(between);
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{separator}cursor={c}"),
            None => path.to_owned(),
        };
        let page = get(app, token, &url).await;
        rows.extend(page["data"].as_array().unwrap().iter().cloned());
        if let Some(between) = between.take() {
            between().await;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return rows,
        }
    }
}

#[tokio::test]
async fn lists_page_through_everything_once_even_while_records_arrive() {
    let c = crate::ingest::connect(
        json!({ "customers": 90, "products": 25, "orders": 160, "timezone": "Pacific/Pago_Pago" }),
        &[],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    wait_for_sync(app, token, &c.store_id).await;
    let truth = truth(&c.sim, &c.shop).await;
    let tz: Tz = "Pacific/Pago_Pago".parse().unwrap();

    // Customers, newest first, seven a page; new customers arriving meanwhile sort before
    // the cursor and never shift what follows.
    let rows = all_pages(app, token, "/api/customers?limit=7", async || {
        activity(&c.sim, &c.shop, json!({ "customers": 3 })).await;
        drain(app).await;
    })
    .await;
    let mut expected: Vec<(DateTime<Utc>, i64)> = truth["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (instant(&c["created_at"]), c["id"].as_i64().unwrap()))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    let got: Vec<(DateTime<Utc>, i64)> = rows
        .iter()
        .map(|c| (instant(&c["created_at"]), api_id(&c["id"])))
        .collect();
    // The first page may already hold some of the newest; the rest is exactly the truth's order.
    let first_page = 7;
    assert_eq!(
        got[first_page..],
        expected[first_page..],
        "no row skipped or repeated"
    );
    assert_eq!(got[..first_page], expected[..first_page]);
    let spent_by_customer: BTreeMap<i64, (i64, Decimal)> = {
        let mut spent = BTreeMap::new();
        for order in truth["orders"].as_array().unwrap() {
            if let (Some(customer), true) = (order["customer"]["id"].as_i64(), counted(order)) {
                let entry = spent.entry(customer).or_insert((0, Decimal::ZERO));
                entry.0 += 1;
                entry.1 += d(&order["current_total_price"]);
            }
        }
        spent
    };
    for row in &rows {
        let (orders, spent) = spent_by_customer
            .get(&api_id(&row["id"]))
            .copied()
            .unwrap_or((0, Decimal::ZERO));
        assert_eq!(row["orders"], orders);
        assert_eq!(d(&row["spent"]), spent);
    }

    // Search by part of an email, any case.
    let someone = truth["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| c["email"].as_str())
        .unwrap();
    let fragment = someone.split('@').next().unwrap().to_uppercase();
    let found = get(
        app,
        token,
        &format!("/api/customers?q={fragment}&limit=200"),
    )
    .await;
    let wanted = truth["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            let email = c["email"].as_str().unwrap_or_default().to_lowercase();
            let name = format!(
                "{} {}",
                c["first_name"].as_str().unwrap_or_default(),
                c["last_name"].as_str().unwrap_or_default()
            )
            .to_lowercase();
            email.contains(&fragment.to_lowercase()) || name.contains(&fragment.to_lowercase())
        })
        .count();
    assert_eq!(found["data"].as_array().unwrap().len(), wanted);
    assert!(wanted >= 1);

    // A customer's detail: their orders, newest first.
    let (customer, (orders, spent)) = spent_by_customer.iter().next_back().unwrap();
    let detail = get(
        app,
        token,
        &format!("/api/customers/{}/{customer}", c.store_id),
    )
    .await;
    assert_eq!(detail["customer"]["orders"], *orders);
    assert_eq!(d(&detail["customer"]["spent"]), *spent);
    assert_eq!(detail["orders"].as_array().unwrap().len() as i64, *orders);
    let missing = app
        .get_authed(&format!("/api/customers/{}/1", c.store_id), token)
        .await;
    expect_problem(missing, 404, "not_found").await;
    let malformed = app.get_authed("/api/customers/nope/1", token).await;
    expect_problem(malformed, 400, "bad_request").await;

    // Orders by total, largest first, every one once; and filters that match the truth.
    let orders = all_pages(
        app,
        token,
        "/api/orders?sort=total_price&limit=13",
        async || {},
    )
    .await;
    let totals: Vec<Decimal> = orders.iter().map(|o| d(&o["total_price"])).collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "largest first");
    let ids: BTreeSet<i64> = orders.iter().map(|o| api_id(&o["id"])).collect();
    let all: BTreeSet<i64> = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, all);
    assert_eq!(orders.len(), all.len());
    let refunded = get(
        app,
        token,
        "/api/orders?financial_status=refunded&limit=200",
    )
    .await;
    let wanted = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["financial_status"] == "refunded")
        .count();
    assert_eq!(refunded["data"].as_array().unwrap().len(), wanted);
    let (from, to) = (date("2026-10-10"), date("2026-10-20"));
    let ranged = all_pages(
        app,
        token,
        &format!("/api/orders?from={from}&to={to}&order=asc&limit=50"),
        async || {},
    )
    .await;
    let wanted: BTreeSet<i64> = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| in_range(local_day(&o["processed_at"], tz), from, to))
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    let got: BTreeSet<i64> = ranged.iter().map(|o| api_id(&o["id"])).collect();
    assert_eq!(got, wanted, "days in the store's zone");
    assert!(!wanted.is_empty());

    // An order's detail: its lines and refunds as the shop has them.
    let refunded_order = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| !o["refunds"].as_array().unwrap().is_empty())
        .unwrap();
    let detail = get(
        app,
        token,
        &format!("/api/orders/{}/{}", c.store_id, refunded_order["id"]),
    )
    .await;
    assert_eq!(
        detail["line_items"].as_array().unwrap().len(),
        refunded_order["line_items"].as_array().unwrap().len()
    );
    assert_eq!(
        detail["refunds"].as_array().unwrap().len(),
        refunded_order["refunds"].as_array().unwrap().len()
    );
    assert_eq!(
        d(&detail["order"]["total_price"]),
        d(&refunded_order["total_price"])
    );
    assert_eq!(
        d(&detail["total_shipping"]),
        d(&refunded_order["total_shipping_price_set"]["shop_money"]["amount"])
    );
    let missing = app
        .get_authed(&format!("/api/orders/{}/1", c.store_id), token)
        .await;
    expect_problem(missing, 404, "not_found").await;

    // A product's detail: its variants.
    let product = &truth["products"][0];
    let detail = get(
        app,
        token,
        &format!("/api/products/{}/{}", c.store_id, product["id"]),
    )
    .await;
    assert_eq!(detail["product"]["title"], product["title"]);
    assert_eq!(
        detail["variants"].as_array().unwrap().len(),
        product["variants"].as_array().unwrap().len()
    );

    // Products by title.
    let products = all_pages(app, token, "/api/products?limit=4", async || {}).await;
    let titles: Vec<String> = products
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(titles.windows(2).all(|w| w[0] <= w[1]), "by title");
    assert_eq!(products.len(), truth["products"].as_array().unwrap().len());

    // Bad requests say what is wrong; another tenant sees nothing.
    let first = get(app, token, "/api/orders?limit=5").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    for query in [
        "/api/orders?sort=weight".to_owned(),
        "/api/orders?limit=0".to_owned(),
        "/api/orders?cursor=garbage".to_owned(),
        format!("/api/orders?sort=total_price&cursor={cursor}"),
        "/api/orders?from=2026-10-02&to=2026-10-01".to_owned(),
    ] {
        expect_problem(app.get_authed(&query, token).await, 400, "bad_request").await;
    }
    let stranger = app.register("Stranger", "stranger@example.com").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for list in ["/api/customers", "/api/orders", "/api/products"] {
        let page = get(app, &stranger, list).await;
        assert_eq!(page["data"].as_array().unwrap().len(), 0, "{list}");
    }
}
