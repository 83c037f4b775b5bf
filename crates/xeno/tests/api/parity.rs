//! Xeno's figures beside Shopify Analytics on the cases that tell them apart, from fixtures
//! written here in Shopify's REST webhook shapes and figures computed by hand from Shopify's
//! definitions (Help Center, "Sales report"): a code discount carried only as discount
//! allocations, a gift card line, a refund of shipping alone, an older refund line without
//! `subtotal`, an order cancelled without a refund, a test notification's product with null
//! dates, and duties, an additional fee and a tip. Then reconciliation with Shopify Analytics (the simulator's ShopifyQL) on
//! shops with every shape.

use crate::support::shop::{
    app_for, connect_shop, create_shop, get, send_webhook, sim, store_id_of, truth, wait_for_sync,
    SECRET,
};
use crate::support::webhooks::{drain, metric, post_webhook, signature};
use crate::support::TestApp;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const SHOP: &str = "parity.myshopify.com";

fn money(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn line(id: i64, product_id: i64, title: &str, price: &str, quantity: i64) -> Value {
    json!({
        "id": id, "admin_graphql_api_id": format!("gid://shopify/LineItem/{id}"),
        "product_id": product_id, "variant_id": product_id + 1, "title": title,
        "variant_title": null, "sku": null, "vendor": "Parity", "quantity": quantity,
        "current_quantity": quantity, "price": price, "total_discount": "0.00",
        "discount_allocations": [], "gift_card": false, "taxable": true,
    })
}

#[allow(clippy::too_many_arguments)]
fn order(
    id: i64,
    processed_at: &str,
    lines: Vec<Value>,
    shipping: &str,
    tax: &str,
    total_discounts: &str,
    refunds: Vec<Value>,
    cancelled_at: Option<&str>,
) -> Value {
    json!({
        "id": id, "admin_graphql_api_id": format!("gid://shopify/Order/{id}"),
        "name": format!("#{}", id % 10_000), "order_number": id % 10_000, "email": null,
        "created_at": processed_at, "updated_at": cancelled_at.unwrap_or(processed_at),
        "processed_at": processed_at, "cancelled_at": cancelled_at,
        "cancel_reason": cancelled_at.map(|_| "customer"), "closed_at": null,
        "currency": "USD", "presentment_currency": "USD",
        "total_price": "0.00", "subtotal_price": "0.00", "total_tax": tax,
        "total_discounts": total_discounts, "total_line_items_price": "0.00",
        "current_total_price": "0.00",
        "financial_status": if cancelled_at.is_some() { "voided" } else { "paid" },
        "fulfillment_status": null, "test": false, "source_name": "web", "tags": "",
        "customer": null, "line_items": lines, "refunds": refunds,
        "shipping_lines": [{ "id": id + 7, "title": "Standard", "price": shipping, "code": "STD" }],
        "discount_codes": [], "billing_address": null, "shipping_address": null,
    })
}

/// One day's figures from the dashboard: (orders, gross, discounts, returns, net, shipping,
/// taxes, total).
async fn day(app: &TestApp, token: &str, store: &str, day: &str) -> [Decimal; 8] {
    let body: Value = app
        .get_authed(
            &format!("/api/metrics/dashboard?from={day}&to={day}&store_id={store}"),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    let sales = &body["totals"]["sales"];
    let Some(usd) = sales.as_array().unwrap().first() else {
        return [Decimal::ZERO; 8];
    };
    let m = |field: &str| money(usd[field].as_str().unwrap());
    [
        Decimal::from(usd["orders"].as_i64().unwrap()),
        m("gross_sales"),
        m("discounts"),
        m("returns"),
        m("net_sales"),
        m("shipping"),
        m("taxes"),
        m("total_sales"),
    ]
}

/// An empty New York shop connected to a new tenant, for fixtures sent as webhooks: the
/// simulator (kept alive), the service, the owner's token and the store's id.
async fn fixture_store(
    tenant: &str,
    email: &str,
) -> (shopify_sim::RunningSim, TestApp, String, String) {
    let sim = sim(1.0).await;
    create_shop(
        &sim,
        SHOP,
        json!({ "orders": 0, "customers": 0, "products": 1, "timezone": "America/New_York" }),
    )
    .await;
    let app = app_for(&sim, &[]).await;
    let token = app.register(tenant, email).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    connect_shop(&app, &token, SHOP).await;
    let store = store_id_of(&app, &token, SHOP).await;
    wait_for_sync(&app, &token, &store).await;
    (sim, app, token, store)
}

#[tokio::test]
async fn figures_on_shopify_shaped_fixtures_equal_a_hand_computation() {
    let (_sim, app, token, store) = fixture_store("Parity", "owner@parity.example").await;

    // A: two mugs at 50.00 with code SAVE10 (10.00, carried only as an allocation) and a
    // 25.00 gift card; shipping 10.00, tax 7.20.
    let mut mugs = line(
        9_100_000_000_000_011,
        9_100_000_000_000_500,
        "Mug",
        "50.00",
        2,
    );
    mugs["discount_allocations"] = json!([{ "amount": "10.00", "discount_application_index": 0,
        "amount_set": { "shop_money": { "amount": "10.00", "currency_code": "USD" } } }]);
    let mut gift = line(
        9_100_000_000_000_012,
        9_100_000_000_000_600,
        "Gift Card",
        "25.00",
        1,
    );
    gift["gift_card"] = json!(true);
    gift["taxable"] = json!(false);
    let a = order(
        9_100_000_000_000_001,
        "2026-11-03T10:00:00-05:00",
        vec![mugs, gift],
        "10.00",
        "7.20",
        "10.00",
        Vec::new(),
        None,
    );
    // B: one lamp at 80.00, shipping 5.00, tax 6.40; its shipping refunded alone on the 6th
    // (Shopify writes both refund_shipping_lines and a shipping_refund adjustment), then
    // the lamp on the 7th by an older payload without `subtotal`.
    let lamp = line(
        9_100_000_000_000_021,
        9_100_000_000_000_700,
        "Lamp",
        "80.00",
        1,
    );
    let b_id = 9_100_000_000_000_002_i64;
    let shipping_refund = json!({
        "id": 9_100_000_000_000_031_i64, "order_id": b_id, "note": "late parcel",
        "created_at": "2026-11-06T09:00:00-05:00", "processed_at": "2026-11-06T09:00:00-05:00",
        "refund_line_items": [],
        "refund_shipping_lines": [{ "id": 1, "shipping_line_id": b_id + 7,
            "subtotal_amount_set": { "shop_money": { "amount": "5.00", "currency_code": "USD" } },
            "tax_amount_set": { "shop_money": { "amount": "0.00", "currency_code": "USD" } } }],
        "order_adjustments": [{ "id": 2, "order_id": b_id, "refund_id": 9_100_000_000_000_031_i64,
            "kind": "shipping_refund", "reason": "Shipping refund", "amount": "-5.00",
            "tax_amount": "0.00" }],
        "transactions": [{ "kind": "refund", "status": "success", "amount": "5.00" }],
    });
    let lamp_refund = json!({
        "id": 9_100_000_000_000_032_i64, "order_id": b_id, "note": null,
        "created_at": "2026-11-07T09:00:00-05:00", "processed_at": "2026-11-07T09:00:00-05:00",
        "refund_line_items": [{ "line_item_id": 9_100_000_000_000_021_i64, "quantity": 1,
            "total_tax": 6.4, "line_item": lamp.clone() }],
        "order_adjustments": [],
        "transactions": [{ "kind": "refund", "status": "success", "amount": "86.40" }],
    });
    let b = order(
        b_id,
        "2026-11-04T12:00:00-05:00",
        vec![lamp],
        "5.00",
        "6.40",
        "0.00",
        Vec::new(),
        None,
    );
    // C: a 40.00 vase with 4.00 off by code, no shipping, tax 2.88; cancelled on the 8th
    // before payment was captured, so no refund exists.
    let mut vase = line(
        9_100_000_000_000_041,
        9_100_000_000_000_800,
        "Vase",
        "40.00",
        1,
    );
    vase["discount_allocations"] = json!([{ "amount": "4.00", "discount_application_index": 0 }]);
    let c = order(
        9_100_000_000_000_003,
        "2026-11-05T15:00:00-05:00",
        vec![vase],
        "0.00",
        "2.88",
        "4.00",
        Vec::new(),
        Some("2026-11-08T11:00:00-05:00"),
    );
    // Shopify's test notification for products/create has null dates.
    let product = json!({ "id": 9_100_000_000_000_900_i64, "title": "Example T-Shirt",
        "handle": "example-t-shirt", "vendor": "Acme", "product_type": "Shirts",
        "status": "active", "tags": "", "created_at": null, "updated_at": null,
        "published_at": null, "variants": [] });

    send_webhook(&app, SHOP, "orders/create", &a, "parity-a").await;
    send_webhook(&app, SHOP, "orders/create", &b, "parity-b").await;
    send_webhook(&app, SHOP, "refunds/create", &shipping_refund, "parity-b-1").await;
    send_webhook(&app, SHOP, "refunds/create", &lamp_refund, "parity-b-2").await;
    send_webhook(&app, SHOP, "orders/create", &c, "parity-c").await;
    send_webhook(&app, SHOP, "orders/cancelled", &c, "parity-c-cancel").await;
    send_webhook(&app, SHOP, "products/create", &product, "parity-product").await;
    drain(&app).await;

    let z = Decimal::ZERO;
    let n = |v: &str| money(v);
    // [orders, gross, discounts, returns, net, shipping, taxes, total], by hand.
    let expected = [
        // A: gross 100 (the gift card is no sale), discounts 10, net 90; +10 +7.20 = 107.20.
        (
            "2026-11-03",
            [
                n("1"),
                n("100"),
                n("10"),
                z,
                n("90"),
                n("10"),
                n("7.20"),
                n("107.20"),
            ],
        ),
        // B: 80 + 5 + 6.40.
        (
            "2026-11-04",
            [
                n("1"),
                n("80"),
                z,
                z,
                n("80"),
                n("5"),
                n("6.40"),
                n("91.40"),
            ],
        ),
        // C: 40 − 4 = 36, + 2.88.
        (
            "2026-11-05",
            [
                n("1"),
                n("40"),
                n("4"),
                z,
                n("36"),
                z,
                n("2.88"),
                n("38.88"),
            ],
        ),
        // B's shipping refund lowers shipping, not returns.
        ("2026-11-06", [z, z, z, z, z, n("-5"), z, n("-5")]),
        // B's lamp back: 80.00 × 1 − no discount, its 6.40 tax with it.
        (
            "2026-11-07",
            [z, z, z, n("80"), n("-80"), z, n("-6.40"), n("-86.40")],
        ),
        // C cancelled without a refund: a return of 36.00 and its tax.
        (
            "2026-11-08",
            [z, z, z, n("36"), n("-36"), z, n("-2.88"), n("-38.88")],
        ),
    ];
    for (date, figures) in expected {
        assert_eq!(day(&app, &token, &store, date).await, figures, "{date}");
    }
    // Over the whole range the cancelled and refunded orders net to nothing: only A is left.
    let body: Value = app
        .get_authed(
            &format!("/api/metrics/dashboard?from=2026-11-01&to=2026-11-10&store_id={store}"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["totals"]["sales"][0]["total_sales"], "107.20");

    // By product, the mugs are net of the code discount (90.00, not 100.00).
    let top: Value = app
        .get_authed(
            &format!("/api/metrics/products?from=2026-11-01&to=2026-11-10&store_id={store}"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    let mug = top["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Mug")
        .unwrap_or_else(|| panic!("mugs are listed: {top}"));
    assert_eq!(money(mug["revenue"].as_str().unwrap()), n("90"));
    // Net of returns in the range: the lamp came back on the 7th and the vase's order was
    // cancelled on the 8th, so over the 1st to the 10th both net to nothing; over the 4th
    // to the 5th, before either, they are sales.
    let revenue = |top: &Value, title: &str| {
        top["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == title)
            .map(|p| money(p["revenue"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("{title} is listed: {top}"))
    };
    assert_eq!(revenue(&top, "Lamp"), z);
    assert_eq!(revenue(&top, "Vase"), z);
    let before: Value = app
        .get_authed(
            &format!("/api/metrics/products?from=2026-11-04&to=2026-11-05&store_id={store}"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revenue(&before, "Lamp"), n("80"));
    assert_eq!(revenue(&before, "Vase"), n("36"));

    // The null-dated product is stored, nothing is dead-lettered.
    let dead: Value = app
        .get_authed("/api/webhooks/events?status=dead", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dead["data"], json!([]), "{dead}");
    let products: Value = app
        .get_authed(&format!("/api/products?q=Example&store_id={store}"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        products["data"][0]["title"], "Example T-Shirt",
        "{products}"
    );
}

/// Duties and an additional fee are sales figures; a tip is not. D: a coat at 120.00 shipped
/// abroad with a 7.20 duty on its line, a 2.00 fee, a 12.00 tip and 9.60 tax, refunded in
/// full with its duty two days later (the fee stays charged).
#[tokio::test]
async fn duties_fees_and_tips_on_shopify_shaped_fixtures_equal_a_hand_computation() {
    let (_sim, app, token, store) = fixture_store("Duties", "owner@duties.example").await;

    let duty = |amount: &str| json!({ "shop_money": { "amount": amount, "currency_code": "USD" } });
    let line_id = 9_200_000_000_000_011_i64;
    let mut coat = line(line_id, 9_200_000_000_000_500, "Coat", "120.00", 1);
    coat["duties"] = json!([{ "id": 9_200_000_000_000_091_i64, "harmonized_system_code": "6201",
        "country_code_of_origin": "PT", "price_set": duty("7.20") }]);
    let d_id = 9_200_000_000_000_001_i64;
    let mut d = order(
        d_id,
        "2026-11-10T10:00:00-05:00",
        vec![coat.clone()],
        "0.00",
        "9.60",
        "0.00",
        Vec::new(),
        None,
    );
    d["original_total_duties_set"] = duty("7.20");
    d["original_total_additional_fees_set"] = duty("2.00");
    d["total_tip_received"] = json!("12.00");
    let refund = json!({
        "id": 9_200_000_000_000_031_i64, "order_id": d_id, "note": null,
        "created_at": "2026-11-12T09:00:00-05:00", "processed_at": "2026-11-12T09:00:00-05:00",
        "refund_line_items": [{ "line_item_id": line_id, "quantity": 1, "subtotal": 120.0,
            "total_tax": 9.6, "line_item": coat }],
        "duties": [{ "duty_id": 9_200_000_000_000_091_i64, "amount_set": duty("7.20") }],
        "order_adjustments": [],
        "transactions": [{ "kind": "refund", "status": "success", "amount": "136.80" }],
    });
    send_webhook(&app, SHOP, "orders/create", &d, "duties-d").await;
    send_webhook(&app, SHOP, "refunds/create", &refund, "duties-d-1").await;
    drain(&app).await;

    let usd = |body: &Value| body["totals"]["sales"][0].clone();
    let on = |day: &str| format!("/api/metrics/dashboard?from={day}&to={day}&store_id={store}");
    // The sale: net 120, tax 9.60, duties 7.20, fee 2.00; total 138.80 (the tip is no sale).
    let sale = usd(&get(&app, &token, &on("2026-11-10")).await);
    for (field, value) in [
        ("net_sales", "120"),
        ("taxes", "9.60"),
        ("duties", "7.20"),
        ("additional_fees", "2.00"),
        ("total_sales", "138.80"),
    ] {
        assert_eq!(
            money(sale[field].as_str().unwrap()),
            money(value),
            "sale {field}"
        );
    }
    // The refund: returns 120, tax −9.60, duties −7.20, the fee untouched; total −136.80.
    let back = usd(&get(&app, &token, &on("2026-11-12")).await);
    for (field, value) in [
        ("returns", "120"),
        ("taxes", "-9.60"),
        ("duties", "-7.20"),
        ("additional_fees", "0"),
        ("total_sales", "-136.80"),
    ] {
        assert_eq!(
            money(back[field].as_str().unwrap()),
            money(value),
            "refund {field}"
        );
    }
}

/// The stores' reconciliation results, by shop domain.
async fn reconciliations(app: &TestApp, token: &str) -> Value {
    get(app, token, "/api/reconciliation").await
}

#[tokio::test]
async fn reconciliation_matches_shopify_analytics_and_names_the_day_a_wrong_webhook_changed() {
    let sim = sim(1.0).await;
    // Every shape (allocations, gift cards, shipping refunds, cancellations with and without
    // refunds) in two currencies and two zones, with history up to today.
    let shops = [
        ("recon-usd.myshopify.com", "USD", "America/New_York", 11),
        ("recon-jpy.myshopify.com", "JPY", "Asia/Tokyo", 12),
    ];
    for (domain, currency, timezone, seed) in shops {
        create_shop(
            &sim,
            domain,
            json!({ "seed": seed, "orders": 400, "customers": 80, "products": 12, "days": 75,
                    "currency": currency, "timezone": timezone, "history_end": null }),
        )
        .await;
    }
    // Routine checks cover 45 days here (60 by default).
    let app = app_for(&sim, &[("XENO_RECONCILE_DAYS", "45")]).await;
    let token = app.register("Recon", "owner@recon.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stores = Vec::new();
    for (domain, ..) in shops {
        connect_shop(&app, &token, domain).await;
        let store = store_id_of(&app, &token, domain).await;
        wait_for_sync(&app, &token, &store).await;
        stores.push(store);
    }

    // The backfill's check covered the whole history, and every day matched.
    let checks = reconciliations(&app, &token).await;
    for check in checks["data"].as_array().unwrap() {
        assert_eq!(check["status"], "matched", "{check}");
        assert_eq!(check["mismatches"], json!([]), "{check}");
        let days = check["days_checked"].as_i64().unwrap();
        assert!(days >= 70, "the whole history is checked: {check}");
        assert_eq!(check["days_matched"], days);
        assert_eq!(
            check["summary"],
            format!("Matches Shopify Analytics for {days} of {days} days")
        );
    }

    // One delivery carries a wrong tax on a past order: the check names that day, and
    // exactly the metrics the tax feeds, with both values.
    let usd = &checks["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["shop_domain"] == shops[0].0)
        .unwrap()
        .clone();
    // A day well inside the 45 days a check on demand covers.
    let window_to =
        chrono::NaiveDate::parse_from_str(usd["window_to"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let window_from = (window_to - chrono::Duration::days(30)).to_string();
    let window_to = window_to.to_string();
    let truth = truth(&sim, shops[0].0).await;
    let order = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            o["test"] == false
                && o["cancelled_at"].is_null()
                && o["processed_at"].as_str().unwrap()[..10] > *window_from.as_str()
                && o["processed_at"].as_str().unwrap()[..10] <= *window_to.as_str()
        })
        .unwrap()
        .clone();
    let day = order["processed_at"].as_str().unwrap()[..10].to_owned();
    let tax = money(order["total_tax"].as_str().unwrap());
    let mut wrong = order.clone();
    wrong["total_tax"] = json!((tax + Decimal::ONE).to_string());
    let updated = chrono::DateTime::parse_from_rfc3339(order["updated_at"].as_str().unwrap())
        .unwrap()
        + chrono::Duration::seconds(1);
    wrong["updated_at"] = json!(updated.to_rfc3339());
    send_webhook(
        &app,
        shops[0].0,
        "orders/updated",
        &wrong,
        "recon-wrong-tax",
    )
    .await;
    drain(&app).await;
    let response = app
        .post_json(&format!("/api/reconciliation/{}", stores[0]), &json!({}))
        .await;
    assert_eq!(response.status(), 401, "checking needs a token");
    let checked: Value = app
        .client
        .post(app.url(&format!("/api/reconciliation/{}", stores[0])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(checked["status"], "mismatched", "{checked}");
    assert_eq!(
        checked["days_checked"], 45,
        "the configured window: {checked}"
    );
    let (from, to) = (
        chrono::NaiveDate::parse_from_str(checked["window_from"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap(),
        chrono::NaiveDate::parse_from_str(checked["window_to"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap(),
    );
    assert_eq!((to - from).num_days(), 44, "{checked}");
    assert_eq!(
        checked["days_checked"].as_i64().unwrap() - checked["days_matched"].as_i64().unwrap(),
        1
    );
    let mismatches: Vec<(String, String, Decimal)> = checked["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["day"].as_str().unwrap().to_owned(),
                m["metric"].as_str().unwrap().to_owned(),
                money(m["xeno"].as_str().unwrap()) - money(m["shopify"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        mismatches,
        [
            (day.clone(), "taxes".to_owned(), Decimal::ONE),
            (day.clone(), "total_sales".to_owned(), Decimal::ONE)
        ]
    );
    // The latest check is what the list shows, and what operators are alerted on.
    let listed = reconciliations(&app, &token).await;
    assert!(listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["status"] == "mismatched" && c["mismatches"] == checked["mismatches"]));
    assert_eq!(
        metric(&app, "xeno_reconciliation_mismatched_days").await,
        1.0
    );

    // A store connected without read_reports is not checked, and says how to fix it.
    let plain = app_for(
        &sim,
        &[(
            "SHOPIFY_SCOPES",
            "read_customers,read_orders,read_all_orders,read_products,read_checkouts",
        )],
    )
    .await;
    let other = plain.register("Plain", "owner@plain.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    connect_shop(&plain, &other, shops[1].0).await;
    let store = store_id_of(&plain, &other, shops[1].0).await;
    wait_for_sync(&plain, &other, &store).await;
    let check = &reconciliations(&plain, &other).await["data"][0];
    assert_eq!(check["status"], "not_checked", "{check}");
    assert!(
        check["detail"].as_str().unwrap().contains("read_reports"),
        "{check}"
    );
    // Another tenant's store is no one's to check.
    let foreign = plain
        .client
        .post(plain.url(&format!("/api/reconciliation/{}", stores[0])))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
}

/// Delivers `order` as `orders/updated`, stamped with `triggered_at` when given.
async fn deliver_version(app: &TestApp, order: &Value, id: &str, triggered_at: Option<&str>) {
    let body = serde_json::to_vec(order).unwrap();
    let sig = signature(&body, SECRET);
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-shopify-topic", "orders/updated"),
        ("x-shopify-hmac-sha256", sig.as_str()),
        ("x-shopify-shop-domain", SHOP),
        ("x-shopify-webhook-id", id),
    ];
    if let Some(at) = triggered_at {
        headers.push(("x-shopify-triggered-at", at));
    }
    let response = post_webhook(app, &headers, body).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn of_two_versions_within_one_second_the_later_made_wins_whatever_the_delivery_order() {
    let sim = sim(1.0).await;
    create_shop(
        &sim,
        SHOP,
        json!({ "orders": 0, "customers": 0, "products": 1 }),
    )
    .await;
    let app = app_for(&sim, &[]).await;
    let token = app.register("Versions", "owner@versions.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    connect_shop(&app, &token, SHOP).await;
    let store = store_id_of(&app, &token, SHOP).await;
    wait_for_sync(&app, &token, &store).await;

    // Two versions Shopify made 400 ms apart: REST timestamps have whole seconds, so they
    // share updated_at; the later one (tagged "second") arrives first.
    let lamp = line(
        9_200_000_000_000_011,
        9_200_000_000_000_500,
        "Lamp",
        "80.00",
        1,
    );
    let mut first = order(
        9_200_000_000_000_001,
        "2026-11-10T10:00:00-05:00",
        vec![lamp],
        "5.00",
        "6.40",
        "0.00",
        Vec::new(),
        None,
    );
    first["updated_at"] = json!("2026-11-10T10:00:07-05:00");
    first["tags"] = json!("first");
    let mut second = first.clone();
    second["tags"] = json!("second");
    let made = chrono::Utc::now() - chrono::Duration::seconds(5);
    let at = |ms: i64| {
        (made + chrono::Duration::milliseconds(ms))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    deliver_version(&app, &second, "version-2", Some(&at(600))).await;
    deliver_version(&app, &first, "version-1", Some(&at(200))).await;
    // A delivery that does not say when it was made cannot displace one that does.
    deliver_version(&app, &first, "version-1-undated", None).await;
    drain(&app).await;
    let tags = || async {
        let mut conn = app.connect_as("xeno_owner").await;
        sqlx::query_scalar::<_, Vec<String>>("SELECT tags FROM orders WHERE order_id = $1")
            .bind(9_200_000_000_000_001_i64)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(tags().await, ["second"]);

    // A later version (a second on) wins as ever, dated or not.
    let mut third = first.clone();
    third["updated_at"] = json!("2026-11-10T10:00:08-05:00");
    third["tags"] = json!("third");
    deliver_version(&app, &third, "version-3", None).await;
    drain(&app).await;
    assert_eq!(tags().await, ["third"]);
}
