//! Xeno's stored records compared with the simulator's, field by field.

use serde_json::{json, Value};
use sqlx::Row;
use std::collections::BTreeMap;

pub fn dec(v: &Value) -> String {
    // Normalise decimals: "10.50" and 10.5 compare equal.
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed
    }
}

pub fn ts(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp()
}

/// Customers, orders (with line items and refunds) and products (with variants) in Xeno
/// equal the shop's, field by field; records the shop deleted are gone.
pub async fn assert_matches_truth(conn: &mut sqlx::PgConnection, truth: &Value) {
    let customers: BTreeMap<i64, Value> = truth["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c.clone()))
        .collect();
    let rows = sqlx::query(
        "SELECT customer_id, email, first_name, last_name, state, tags, updated_at FROM customers",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut seen = 0;
    for row in &rows {
        let id: i64 = row.get("customer_id");
        let Some(expected) = customers.get(&id) else {
            panic!("customer {id} is not in the shop")
        };
        seen += 1;
        assert_eq!(
            row.get::<Option<String>, _>("email").as_deref(),
            expected["email"].as_str(),
            "customer {id}"
        );
        assert_eq!(
            row.get::<Option<String>, _>("first_name").as_deref(),
            expected["first_name"].as_str()
        );
        assert_eq!(
            row.get::<Option<String>, _>("state").as_deref(),
            expected["state"].as_str()
        );
        let tags: Vec<String> = row.get("tags");
        assert_eq!(
            tags.join(","),
            expected["tags"].as_str().unwrap().replace(", ", ","),
            "customer {id} tags"
        );
        assert_eq!(
            row.get::<chrono::DateTime<chrono::Utc>, _>("updated_at")
                .timestamp(),
            ts(&expected["updated_at"])
        );
    }
    assert_eq!(seen, customers.len(), "every customer arrived");

    let orders: BTreeMap<i64, Value> = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_i64().unwrap(), o.clone()))
        .collect();
    let rows = sqlx::query(
        "SELECT order_id, total_price::text AS total, current_total_price::text AS current, financial_status, \
             cancelled_at, updated_at, customer_id, test FROM orders",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), orders.len(), "every order, none extra");
    for row in &rows {
        let id: i64 = row.get("order_id");
        let expected = &orders[&id];
        assert_eq!(
            dec(&json!(row.get::<String, _>("total"))),
            dec(&expected["total_price"]),
            "order {id}"
        );
        assert_eq!(
            dec(&json!(row.get::<String, _>("current"))),
            dec(&expected["current_total_price"]),
            "order {id} current"
        );
        assert_eq!(
            row.get::<Option<String>, _>("financial_status").as_deref(),
            expected["financial_status"].as_str(),
            "order {id}"
        );
        assert_eq!(
            row.get::<Option<chrono::DateTime<chrono::Utc>>, _>("cancelled_at")
                .map(|t| t.timestamp()),
            expected["cancelled_at"]
                .as_str()
                .map(|_| ts(&expected["cancelled_at"]))
        );
        assert_eq!(
            row.get::<chrono::DateTime<chrono::Utc>, _>("updated_at")
                .timestamp(),
            ts(&expected["updated_at"]),
            "order {id}"
        );
        assert_eq!(
            row.get::<Option<i64>, _>("customer_id"),
            expected["customer"]["id"].as_i64()
        );
        assert_eq!(
            row.get::<bool, _>("test"),
            expected["test"].as_bool().unwrap()
        );
    }
    // Line items and refunds, compared as sets.
    let lines: Vec<(i64, i64, i32, Option<i32>, String)> =
        sqlx::query_as("SELECT order_id, line_item_id, quantity, current_quantity, price::text FROM order_line_items ORDER BY 1, 2")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let mut expected_lines = Vec::new();
    let mut expected_refunds = Vec::new();
    for order in orders.values() {
        let id = order["id"].as_i64().unwrap();
        for l in order["line_items"].as_array().unwrap() {
            expected_lines.push((
                id,
                l["id"].as_i64().unwrap(),
                l["quantity"].as_i64().unwrap() as i32,
                Some(l["current_quantity"].as_i64().unwrap() as i32),
                dec(&l["price"]),
            ));
        }
        for r in order["refunds"].as_array().unwrap() {
            let amount: f64 = r["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["amount"].as_str().unwrap().parse::<f64>().unwrap())
                .sum();
            expected_refunds.push((r["id"].as_i64().unwrap(), id, format!("{amount:.2}")));
        }
    }
    expected_lines.sort();
    let lines: Vec<_> = lines
        .into_iter()
        .map(|(o, l, q, c, p)| (o, l, q, c, dec(&json!(p))))
        .collect();
    assert_eq!(lines, expected_lines);
    let mut refunds: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT refund_id, order_id, to_char(amount, 'FM999999990.00') FROM refunds",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    refunds.sort();
    expected_refunds.sort();
    assert_eq!(refunds, expected_refunds);

    // Products (deleted ones gone), with variants.
    let products: BTreeMap<i64, Value> = truth["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p.clone()))
        .collect();
    let rows: Vec<(i64, String, Option<String>, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT product_id, title, status, updated_at FROM products")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        rows.len(),
        products.len(),
        "every product still in the shop"
    );
    for (id, title, status, updated_at) in &rows {
        let expected = products
            .get(id)
            .unwrap_or_else(|| panic!("product {id} was deleted in the shop"));
        assert_eq!(title, expected["title"].as_str().unwrap());
        assert_eq!(status.as_deref(), expected["status"].as_str());
        assert_eq!(updated_at.timestamp(), ts(&expected["updated_at"]));
        let variants: Vec<(i64, String, Option<i32>)> = sqlx::query_as(
            "SELECT variant_id, price::text, inventory_quantity FROM product_variants WHERE product_id = $1 ORDER BY 1",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let expected_variants: Vec<(i64, String, Option<i32>)> = expected["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["id"].as_i64().unwrap(),
                    dec(&v["price"]),
                    Some(v["inventory_quantity"].as_i64().unwrap() as i32),
                )
            })
            .collect();
        let variants: Vec<_> = variants
            .into_iter()
            .map(|(i, p, q)| (i, dec(&json!(p)), q))
            .collect();
        assert_eq!(variants, expected_variants, "product {id} variants");
    }
}
