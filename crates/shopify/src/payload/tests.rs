//! Payload mapping against Shopify's published shapes.

use rust_decimal::Decimal;
use serde_json::json;

use super::*;

#[test]
fn an_order_maps_with_big_ids_string_money_and_float_refund_lines() {
    let payload = json!({
        "id": 9_007_199_254_740_993_i64, "name": "#1001", "order_number": 1001,
        "email": "a@example.com", "created_at": "2026-11-20T23:30:00-05:00",
        "updated_at": "2026-11-21T10:00:00-05:00", "processed_at": "2026-11-20T23:30:00-05:00",
        "currency": "USD", "total_price": "108.00", "subtotal_price": "90.00", "total_tax": "8.00",
        "total_discounts": "10.00", "total_line_items_price": "100.00", "current_total_price": "54.00",
        "financial_status": "partially_refunded", "test": false, "tags": "vip, gift",
        "customer": null,
        "line_items": [{ "id": 1, "product_id": null, "variant_id": null, "title": "Mug", "quantity": 2, "price": "50.00", "total_discount": "10.00" }],
        "refunds": [{ "id": 5, "order_id": 9_007_199_254_740_993_i64, "created_at": "2026-11-22T09:00:00-05:00",
                      "refund_line_items": [{ "line_item_id": 1, "quantity": 1, "subtotal": 45.0, "total_tax": 4.0 }],
                      "transactions": [{ "kind": "refund", "status": "success", "amount": "49.00" }, { "kind": "refund", "status": "failure", "amount": "49.00" }] }],
        "shipping_lines": [{ "price": "10.00" },
                           { "price": "6.00", "discount_allocations": [{ "amount": "6.00" }] }],
    });
    let mapped = change("orders/updated", &payload.to_string(), Utc::now()).unwrap();
    assert!(!mapped.dated_on_receipt, "every date is there");
    let Change::Order(order) = mapped.change else {
        panic!("an order")
    };
    assert_eq!(order.order_id, 9_007_199_254_740_993);
    assert_eq!(order.processed_at.to_rfc3339(), "2026-11-21T04:30:00+00:00");
    assert_eq!(order.total_shipping, Decimal::new(1000, 2));
    assert_eq!(order.tags, ["vip", "gift"]);
    assert!(order.customer.is_none(), "a guest");
    assert_eq!(
        order.refunds[0].amount,
        Decimal::new(4900, 2),
        "failed transactions do not count"
    );
    assert_eq!(order.refunds[0].lines[0].subtotal, Decimal::new(45, 0));
}

#[test]
fn null_dates_fall_back_instead_of_failing() {
    let received = DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .map(utc)
        .unwrap_or_default();
    let order = r#"{"id": 1, "created_at": null, "updated_at": null,
        "processed_at": "2026-11-20T10:00:00-05:00", "currency": "USD", "total_price": "1.00",
        "line_items": [], "refunds": [{"id": 2, "order_id": 1, "created_at": null}]}"#;
    let mapped = change("orders/create", order, received).unwrap();
    // The refund had no date at all: the event log will say it was dated on receipt.
    assert!(mapped.dated_on_receipt);
    let Change::Order(order) = mapped.change else {
        panic!("an order without created_at maps");
    };
    assert_eq!(order.created_at.to_rfc3339(), "2026-11-20T15:00:00+00:00");
    assert_eq!(order.refunds[0].created_at, received);
    let checkout = r#"{"id": 3, "created_at": null, "updated_at": null, "currency": "USD",
        "total_price": "1.00"}"#;
    let Ok(Mapped {
        change: Change::Checkout(checkout),
        dated_on_receipt: true,
    }) = change("checkouts/create", checkout, received)
    else {
        panic!("a checkout without dates maps");
    };
    assert_eq!(checkout.created_at, received);
    let cart = r#"{"id": "c", "token": "c", "created_at": null, "updated_at": null}"#;
    assert!(matches!(
        change("carts/create", cart, received),
        Ok(Mapped {
            change: Change::Cart(_),
            dated_on_receipt: true
        })
    ));
}

#[test]
fn bad_payloads_say_why_and_deletes_carry_only_ids() {
    let err = change("orders/create", r#"{ "id": "x" }"#, Utc::now()).unwrap_err();
    assert!(
        err.to_string().starts_with("orders/create payload:"),
        "{err}"
    );
    assert_eq!(
        change("products/delete", r#"{ "id": 42 }"#, Utc::now())
            .unwrap()
            .change,
        Change::ProductDeleted(42)
    );
    assert_eq!(
        change("shop/update", "{}", Utc::now()).unwrap().change,
        Change::Ignored
    );
}

mod properties {
    //! Whatever a body holds, mapping it answers a change or an error, never a panic.

    use chrono::Utc;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use crate::payload::change;

    const TOPICS: [&str; 14] = [
        "customers/create",
        "customers/delete",
        "products/create",
        "products/delete",
        "orders/create",
        "orders/updated",
        "orders/cancelled",
        "refunds/create",
        "checkouts/create",
        "carts/create",
        "app/uninstalled",
        "customers/redact",
        "shop/redact",
        "no/such-topic",
    ];

    /// The keys Shopify's payloads use, so generated objects reach the mapper's fields.
    const KEYS: [&str; 24] = [
        "id",
        "created_at",
        "updated_at",
        "processed_at",
        "cancelled_at",
        "currency",
        "total_price",
        "price",
        "quantity",
        "line_items",
        "refunds",
        "refund_line_items",
        "subtotal",
        "customer",
        "email",
        "variants",
        "product_id",
        "order_id",
        "shipping_lines",
        "discount_allocations",
        "amount",
        "test",
        "tags",
        "title",
    ];

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            // Money and ids as strings, huge ones included; and any text at all.
            "-?[0-9]{1,40}(\\.[0-9]{1,12})?".prop_map(Value::from),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?"
                .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 96, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..10)
                    .prop_map(|fields| {
                        Value::Object(
                            fields
                                .into_iter()
                                .map(|(k, v)| (k.to_owned(), v))
                                .collect::<Map<_, _>>(),
                        )
                    }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_text_maps_or_is_refused(topic in prop::sample::select(TOPICS.to_vec()), text in "\\PC{0,200}") {
            let _ = change(topic, &text, Utc::now());
        }

        #[test]
        fn shopify_shaped_json_with_any_values_maps_or_is_refused(
            topic in prop::sample::select(TOPICS.to_vec()),
            body in json(),
        ) {
            let text = body.to_string();
            let first = change(topic, &text, Utc::now()).is_ok();
            // The same body maps the same way twice.
            prop_assert_eq!(first, change(topic, &text, Utc::now()).is_ok());
        }
    }
}
