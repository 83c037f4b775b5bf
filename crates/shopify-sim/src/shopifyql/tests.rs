//! ShopifyQL queries against hand-computed answers.

use super::*;
use crate::model::*;
use crate::shop::ShopSpec;

fn money(text: &str) -> Decimal {
    text.parse().unwrap_or_default()
}

fn at(text: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(text).unwrap_or_default()
}

fn line(id: i64, price: &str, quantity: i32, discount: &str, tax: &str) -> LineItem {
    let allocations = if money(discount).is_zero() {
        Vec::new()
    } else {
        vec![DiscountAllocation {
            amount: money(discount),
            amount_set: MoneySet::new(money(discount), "USD"),
            discount_application_index: 0,
        }]
    };
    LineItem {
        id,
        admin_graphql_api_id: gid("LineItem", id),
        product_id: Some(id * 10),
        variant_id: None,
        title: format!("Item {id}"),
        variant_title: None,
        sku: None,
        vendor: None,
        quantity,
        current_quantity: quantity,
        price: money(price),
        price_set: MoneySet::new(money(price), "USD"),
        total_discount: Decimal::ZERO,
        discount_allocations: allocations,
        gift_card: false,
        taxable: true,
        tax_lines: vec![TaxLine {
            title: "Tax".to_owned(),
            price: money(tax),
            rate: Decimal::ZERO,
        }],
        duties: Vec::new(),
    }
}

fn refund(id: i64, on: &str, lines: Vec<RefundLineItem>, shipping: &str) -> Refund {
    Refund {
        id,
        admin_graphql_api_id: gid("Refund", id),
        order_id: 0,
        note: None,
        created_at: at(on),
        processed_at: at(on),
        refund_line_items: lines,
        refund_shipping_lines: if money(shipping).is_zero() {
            Vec::new()
        } else {
            vec![RefundShippingLine {
                id,
                shipping_line_id: 0,
                subtotal_amount_set: MoneySet::new(money(shipping), "USD"),
                tax_amount_set: MoneySet::new(Decimal::ZERO, "USD"),
            }]
        },
        transactions: Vec::new(),
        order_adjustments: Vec::new(),
        duties: Vec::new(),
    }
}

/// The cases Xeno's parity test sends as webhooks, built here in the simulator's own
/// model: a code discount, a gift card, a shipping-only refund, a line refund, and an
/// order cancelled without a refund; and a cross-border order with duties, a fee and a tip,
/// refunded in full.
fn fixture_shop() -> Shop {
    let spec: ShopSpec = serde_json::from_value(json!({
        "domain": "fixture.myshopify.com", "orders": 1, "customers": 0, "products": 1,
        "timezone": "America/New_York", "history_end": "2026-10-01T00:00:00Z"
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut shop = Shop::generate(&spec).unwrap_or_else(|e| panic!("{e}"));
    let template = shop
        .orders
        .values()
        .next()
        .cloned()
        .unwrap_or_else(|| panic!("an order"));
    shop.orders.clear();
    let order = |id: i64, placed: &str, lines: Vec<LineItem>, shipping: &str| {
        let mut order = template.clone();
        order.id = id;
        order.test = false;
        order.processed_at = at(placed);
        order.cancelled_at = None;
        order.line_items = lines;
        order.refunds = Vec::new();
        order.original_total_additional_fees_set = None;
        order.total_tip_received = Decimal::ZERO;
        order.shipping_lines = vec![ShippingLine {
            id: id + 7,
            title: "Standard".to_owned(),
            price: money(shipping),
            discounted_price: money(shipping),
            code: "STD".to_owned(),
            discount_allocations: Vec::new(),
        }];
        order
    };
    let mut gift = line(12, "25.00", 1, "0", "0");
    gift.gift_card = true;
    gift.tax_lines.clear();
    let mut a = order(
        1,
        "2026-11-03T10:00:00-05:00",
        vec![line(11, "50.00", 2, "10.00", "7.20"), gift],
        "10.00",
    );
    // 4.00 off its shipping: 6.00 charged.
    a.shipping_lines[0]
        .discount_allocations
        .push(DiscountAllocation {
            amount: money("4.00"),
            amount_set: MoneySet::new(money("4.00"), "USD"),
            discount_application_index: 1,
        });
    a.shipping_lines[0].discounted_price = money("6.00");
    let mut b = order(
        2,
        "2026-11-04T12:00:00-05:00",
        vec![line(21, "80.00", 1, "0", "6.40")],
        "5.00",
    );
    b.refunds = vec![
        refund(31, "2026-11-06T09:00:00-05:00", Vec::new(), "5.00"),
        refund(
            32,
            "2026-11-07T09:00:00-05:00",
            vec![RefundLineItem {
                id: 1,
                line_item_id: 21,
                quantity: 1,
                subtotal: money("80.00"),
                total_tax: money("6.40"),
            }],
            "0",
        ),
    ];
    let mut c = order(
        3,
        "2026-11-05T15:00:00-05:00",
        vec![line(41, "40.00", 1, "4.00", "2.88")],
        "0",
    );
    c.cancelled_at = Some(at("2026-11-08T11:00:00-05:00"));
    let mut test = order(
        4,
        "2026-11-05T15:00:00-05:00",
        vec![line(51, "999.00", 1, "0", "0")],
        "0",
    );
    test.test = true;
    let mut abroad_line = line(61, "60.00", 1, "0", "4.80");
    abroad_line.duties.push(Duty {
        id: 62,
        admin_graphql_api_id: gid("Duty", 62),
        harmonized_system_code: "6109100010".to_owned(),
        country_code_of_origin: "PT".to_owned(),
        price_set: MoneySet::new(money("3.60"), "USD"),
    });
    let mut abroad = order(5, "2026-11-09T10:00:00-05:00", vec![abroad_line], "0");
    abroad.original_total_additional_fees_set = Some(MoneySet::new(money("1.50"), "USD"));
    abroad.total_tip_received = money("6.00");
    let mut back = refund(
        63,
        "2026-11-10T10:00:00-05:00",
        vec![RefundLineItem {
            id: 2,
            line_item_id: 61,
            quantity: 1,
            subtotal: money("60.00"),
            total_tax: money("4.80"),
        }],
        "0",
    );
    back.duties.push(RefundDuty {
        duty_id: 62,
        amount_set: MoneySet::new(money("3.60"), "USD"),
    });
    abroad.refunds = vec![back];
    for o in [a, b, c, test, abroad] {
        shop.orders.insert(o.id, o);
    }
    shop
}

#[test]
fn daily_sales_equal_a_hand_computation() {
    let shop = fixture_shop();
    let query = parse(
        "FROM sales SHOW orders, gross_sales, discounts, returns, net_sales, shipping_charges, taxes, duties, additional_fees, total_sales TIMESERIES day SINCE 2026-11-03 UNTIL 2026-11-10",
        day("2026-11-29"),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let (columns, rows) = run(&shop, &query);
    assert_eq!(columns[0].name, "day");
    assert_eq!(columns[1].data_type, "INTEGER");
    assert_eq!(columns[2].data_type, "MONEY");
    let expected = [
        // orders, gross, discounts, returns, net, shipping, taxes, duties, fees, total
        (
            "2026-11-03",
            1,
            [
                "100.00", "10.00", "0.00", "90.00", "6.00", "7.20", "0.00", "0.00", "103.20",
            ],
        ),
        (
            "2026-11-04",
            1,
            [
                "80.00", "0.00", "0.00", "80.00", "5.00", "6.40", "0.00", "0.00", "91.40",
            ],
        ),
        (
            "2026-11-05",
            1,
            [
                "40.00", "4.00", "0.00", "36.00", "0.00", "2.88", "0.00", "0.00", "38.88",
            ],
        ),
        (
            "2026-11-06",
            0,
            [
                "0.00", "0.00", "0.00", "0.00", "-5.00", "0.00", "0.00", "0.00", "-5.00",
            ],
        ),
        (
            "2026-11-07",
            0,
            [
                "0.00", "0.00", "80.00", "-80.00", "0.00", "-6.40", "0.00", "0.00", "-86.40",
            ],
        ),
        (
            "2026-11-08",
            0,
            [
                "0.00", "0.00", "36.00", "-36.00", "0.00", "-2.88", "0.00", "0.00", "-38.88",
            ],
        ),
        // The tip (6.00) is in the order's total and in no sales figure.
        (
            "2026-11-09",
            1,
            [
                "60.00", "0.00", "0.00", "60.00", "0.00", "4.80", "3.60", "1.50", "69.90",
            ],
        ),
        // Refunded in full with its duties; the fee stays charged.
        (
            "2026-11-10",
            0,
            [
                "0.00", "0.00", "60.00", "-60.00", "0.00", "-4.80", "-3.60", "0.00", "-68.40",
            ],
        ),
    ];
    assert_eq!(rows.len(), expected.len());
    let names = [
        "gross_sales",
        "discounts",
        "returns",
        "net_sales",
        "shipping_charges",
        "taxes",
        "duties",
        "additional_fees",
        "total_sales",
    ];
    for (row, (date, orders, money)) in rows.iter().zip(expected) {
        assert_eq!(row["day"], date);
        assert_eq!(row["orders"], orders, "{date}");
        for (name, value) in names.iter().zip(money) {
            assert_eq!(row[*name], value, "{date} {name}");
        }
    }
    let totals = parse(
        "FROM sales SHOW total_sales SINCE 2026-11-01 UNTIL 2026-11-30",
        day("2026-11-29"),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        run(&shop, &totals).1,
        vec![json!({ "total_sales": "104.70" })]
    );
}

#[test]
fn by_product_sales_are_net_of_allocated_discounts() {
    let shop = fixture_shop();
    let query = parse(
        "FROM sales SHOW net_sales GROUP BY product_id SINCE 2026-11-03 UNTIL 2026-11-03",
        day("2026-11-29"),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let (_, rows) = run(&shop, &query);
    // The shipping row has no product; the mugs are 100.00 − 10.00.
    assert_eq!(
        rows,
        vec![
            json!({ "product_id": null, "net_sales": "0.00" }),
            json!({ "product_id": "110", "net_sales": "90.00" }),
        ]
    );
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

#[test]
fn parses_the_queries_xeno_sends() {
    let query = parse(
        "FROM sales SHOW orders, gross_sales, net_sales TIMESERIES day SINCE 2026-10-01 UNTIL 2026-10-31",
        day("2026-11-29"),
    );
    assert_eq!(
        query,
        Ok(SalesQuery {
            metrics: vec![Metric::Orders, Metric::GrossSales, Metric::NetSales],
            grain: Some(Grain::Day),
            by_product: false,
            since: day("2026-10-01"),
            until: day("2026-10-31"),
        })
    );
    let relative = parse(
        "from SALES show total_sales since -7d until yesterday",
        day("2026-11-29"),
    );
    assert_eq!(
        relative.map(|q| (q.since, q.until)),
        Ok((day("2026-11-22"), day("2026-11-28")))
    );
}

#[test]
fn mistakes_are_parse_errors() {
    let today = day("2026-11-29");
    assert!(parse("FROM orders SHOW total_sales", today).is_err());
    assert_eq!(
        parse("FROM sales SHOW total_sales, profit", today),
        Err(vec![
            "Column `profit` does not exist in table `sales`".to_owned()
        ])
    );
    assert!(parse(
        "FROM sales SHOW total_sales SINCE 2026-11-02 UNTIL 2026-11-01",
        today
    )
    .is_err());
    assert!(parse("FROM sales SHOW total_sales TIMESERIES hour", today).is_err());
}

#[test]
fn weeks_start_on_monday_and_months_on_the_first() {
    // 2026-11-29 is a Sunday.
    assert_eq!(Grain::Week.start(day("2026-11-29")), day("2026-11-23"));
    assert_eq!(Grain::Month.start(day("2026-11-29")), day("2026-11-01"));
    assert_eq!(Grain::Month.next(day("2026-12-01")), day("2027-01-01"));
}
