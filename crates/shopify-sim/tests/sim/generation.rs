//! Shop generation: deterministic, with every case analytics must handle, and paced activity.

use super::*;

#[test]
fn the_same_seed_gives_the_same_shop_byte_for_byte() {
    let spec: ShopSpec = serde_json::from_value(json!({
        "domain": "det.myshopify.com", "seed": 42, "customers": 100, "products": 20, "orders": 500,
        "history_end": history_end(),
    }))
    .unwrap();
    let dump = |shop: &Shop| {
        serde_json::to_vec(&(
            shop.customers.values().collect::<Vec<_>>(),
            shop.products.values().collect::<Vec<_>>(),
            shop.orders.values().collect::<Vec<_>>(),
            shop.checkouts.values().collect::<Vec<_>>(),
            shop.carts.values().collect::<Vec<_>>(),
        ))
        .unwrap()
    };
    let a = dump(&Shop::generate(&spec).unwrap());
    let b = dump(&Shop::generate(&spec).unwrap());
    assert_eq!(a, b);
    let other = ShopSpec { seed: 43, ..spec };
    assert_ne!(a, dump(&Shop::generate(&other).unwrap()));
}

#[tokio::test]
async fn generated_history_has_the_cases_analytics_must_handle() {
    let sim = start(1.0).await;
    create_shop(
        &sim,
        "cases.myshopify.com",
        json!({ "orders": 1500, "customers": 200 }),
    )
    .await;
    let truth = truth(&sim, "cases.myshopify.com").await;
    let orders = truth["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1500);
    let customers_with_orders: BTreeSet<i64> = orders
        .iter()
        .filter_map(|o| o["customer"]["id"].as_i64())
        .collect();
    let all_customers = truth["customers"].as_array().unwrap();
    assert!(
        all_customers
            .iter()
            .any(|c| !customers_with_orders.contains(&c["id"].as_i64().unwrap())),
        "customers without orders"
    );
    assert!(
        orders.iter().any(|o| o["customer"].is_null()),
        "guest orders"
    );
    assert!(orders.iter().any(|o| o["test"] == true), "test orders");
    assert!(
        orders.iter().any(|o| !o["cancelled_at"].is_null()),
        "cancellations"
    );
    assert!(
        orders
            .iter()
            .any(|o| o["financial_status"] == "partially_refunded"),
        "partial refunds"
    );
    assert!(
        orders.iter().any(|o| o["financial_status"] == "refunded"),
        "full refunds"
    );
    assert!(
        orders.iter().any(|o| o["total_discounts"] != "0"),
        "discounts"
    );
    // The shapes Shopify's reports treat specially, each present.
    let lines = || {
        orders
            .iter()
            .flat_map(|o| o["line_items"].as_array().unwrap())
    };
    assert!(
        lines().any(|l| l["total_discount"] == "0"
            && !l["discount_allocations"].as_array().unwrap().is_empty()),
        "code discounts carried only as allocations"
    );
    assert!(lines().any(|l| l["gift_card"] == true), "gift card lines");
    let refunds = || orders.iter().flat_map(|o| o["refunds"].as_array().unwrap());
    assert!(
        refunds().any(|r| r["refund_line_items"].as_array().unwrap().is_empty()
            && r["order_adjustments"][0]["kind"] == "shipping_refund"
            && !r["refund_shipping_lines"].as_array().unwrap().is_empty()),
        "refunds of shipping alone"
    );
    assert!(
        refunds().any(|r| !r["refund_line_items"].as_array().unwrap().is_empty()
            && !r["refund_shipping_lines"].as_array().unwrap().is_empty()
            && r["duties"].as_array().unwrap().is_empty()),
        "partial refunds mixing an item and the shipping"
    );
    assert!(
        orders.iter().any(|o| !o["cancelled_at"].is_null()
            && o["refunds"].as_array().unwrap().is_empty()
            && o["financial_status"] == "paid"),
        "paid orders cancelled without a refund"
    );
    assert!(
        orders
            .iter()
            .any(|o| !o["cancelled_at"].is_null() && o["financial_status"] == "voided"),
        "unpaid orders cancelled and voided"
    );
    assert!(
        all_customers
            .iter()
            .any(|c| c["email_marketing_consent"]["state"] == "subscribed"),
        "consent"
    );
    assert!(
        truth["checkouts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["completed_at"].is_null()),
        "abandoned checkouts"
    );
    assert!(!truth["carts"].as_array().unwrap().is_empty());

    let dec = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
    let mut shipping_discounted = 0;
    let (mut with_duties, mut with_fees, mut with_tips, mut duties_refunded) = (0, 0, 0, 0);
    for order in orders {
        // REST conventions: integer ids above 2^53, money as strings, offsets on timestamps.
        assert!(order["id"].as_i64().unwrap() > 1 << 53);
        assert!(order["admin_graphql_api_id"]
            .as_str()
            .unwrap()
            .starts_with("gid://shopify/Order/"));
        let created = order["created_at"].as_str().unwrap();
        assert!(
            created.ends_with("-05:00") || created.ends_with("-04:00"),
            "{created}"
        );
        // Totals agree with their parts, computed here independently.
        let lines: f64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| dec(&l["price"]) * l["quantity"].as_f64().unwrap())
            .sum();
        let tax: f64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| {
                l["tax_lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| dec(&t["price"]))
            })
            .sum();
        let shipping: f64 = order["shipping_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| dec(&s["price"]))
            .sum();
        assert!((dec(&order["total_line_items_price"]) - lines).abs() < 0.001);
        // Shopify's total_discounts holds every allocation, shipping discounts included.
        let allocated: f64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .chain(order["shipping_lines"].as_array().unwrap())
            .flat_map(|l| l["discount_allocations"].as_array().unwrap())
            .map(|a| dec(&a["amount"]))
            .sum();
        assert!(
            (dec(&order["total_discounts"]) - allocated).abs() < 0.001,
            "{}: discounts are the allocations",
            order["name"]
        );
        for line in order["shipping_lines"].as_array().unwrap() {
            let off: f64 = line["discount_allocations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| dec(&a["amount"]))
                .sum();
            assert!((dec(&line["discounted_price"]) - (dec(&line["price"]) - off)).abs() < 0.001);
            shipping_discounted += usize::from(off > 0.0);
        }
        // Duties, additional fees and tips are in the total too.
        let duties: f64 = order["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["duties"].as_array().unwrap())
            .map(|d| dec(&d["price_set"]["shop_money"]["amount"]))
            .sum();
        let fees = match &order["original_total_additional_fees_set"] {
            Value::Null => 0.0,
            set => dec(&set["shop_money"]["amount"]),
        };
        let tip = dec(&order["total_tip_received"]);
        with_duties += usize::from(duties > 0.0);
        with_fees += usize::from(fees > 0.0);
        with_tips += usize::from(tip > 0.0);
        if duties > 0.0 {
            let total = dec(&order["original_total_duties_set"]["shop_money"]["amount"]);
            assert!((total - duties).abs() < 0.001, "{}", order["name"]);
        } else {
            assert!(order["original_total_duties_set"].is_null());
        }
        duties_refunded += order["refunds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !r["duties"].as_array().unwrap().is_empty())
            .count();
        let expected =
            lines - dec(&order["total_discounts"]) + tax + shipping + duties + fees + tip;
        assert!(
            (dec(&order["total_price"]) - expected).abs() < 0.001,
            "{}",
            order["name"]
        );
        let refunded: f64 = order["refunds"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| {
                r["transactions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| dec(&t["amount"]))
            })
            .sum();
        assert!((dec(&order["current_total_price"]) - (expected - refunded)).abs() < 0.001);
        for refund in order["refunds"].as_array().unwrap() {
            for line in refund["refund_line_items"].as_array().unwrap() {
                assert!(
                    line["subtotal"].is_f64() || line["subtotal"].is_i64(),
                    "subtotal is a JSON number"
                );
            }
        }
    }
    assert!(
        shipping_discounted > 0,
        "shipping discounts (free shipping codes)"
    );
    assert!(with_duties > 0, "cross-border orders with duties");
    assert!(duties_refunded > 0, "duties refunded");
    assert!(with_fees > 0, "additional fees");
    assert!(with_tips > 0, "tips");

    create_shop(
        &sim,
        "yen.myshopify.com",
        json!({ "currency": "JPY", "timezone": "Asia/Tokyo", "orders": 100 }),
    )
    .await;
    let yen = truth_orders(&sim, "yen.myshopify.com").await;
    for order in &yen {
        assert!(
            !order["total_price"].as_str().unwrap().contains('.'),
            "JPY has no minor units: {}",
            order["total_price"]
        );
        assert!(order["created_at"].as_str().unwrap().ends_with("+09:00"));
    }
}

#[tokio::test]
async fn paced_activity_trickles_out_in_the_background() {
    let sim = start(1.0).await;
    let shop = "paced.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 5 })).await;
    let before = truth_orders(&sim, shop).await.len();
    let response = client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "orders": 4, "customers": 2, "rate": 40.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scheduled"], 6);
    let mut orders = before;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        orders = truth_orders(&sim, shop).await.len();
        if orders == before + 4 {
            break;
        }
    }
    assert_eq!(orders, before + 4);
    let bad = client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "orders": 1, "rate": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}
