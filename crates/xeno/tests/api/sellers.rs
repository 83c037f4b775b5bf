//! Best sellers by product and by variant: net of every discount and of returns, variants
//! named by their options, against an oracle computed from the records.

use crate::support::oracle::{d, expected_sellers, Shop, VariantFigures};
use crate::support::shop::get;
use crate::support::TestApp;
use chrono::NaiveDate;
use serde_json::Value;

/// The best sellers of a range by `sort`, per product (top 7) and per variant (top 9).
pub async fn check_top_sellers(
    app: &TestApp,
    token: &str,
    tenant_shops: &[&Shop],
    (from, to): (NaiveDate, NaiveDate),
    sort: &str,
) {
    let sellers = async |by: &str, limit: usize| -> (Value, Vec<VariantFigures>) {
        let body = get(
            app,
            token,
            &format!("/api/metrics/products?from={from}&to={to}&sort={sort}&limit={limit}&by={by}"),
        )
        .await;
        let figures = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["currency"].as_str().unwrap().to_owned(),
                    p["product_id"].as_str().map(|id| id.parse().unwrap()),
                    p["variant_id"].as_str().map(|id| id.parse().unwrap()),
                    p["orders"].as_i64().unwrap(),
                    p["units"].as_i64().unwrap(),
                    d(&p["revenue"]),
                )
            })
            .collect();
        (body, figures)
    };
    let expected = expected_sellers(tenant_shops, from, to, sort, 7, false);
    assert!(!expected.is_empty(), "products sold from {from} to {to}");
    let (_, got) = sellers("product", 7).await;
    assert_eq!(got, expected, "top products by {sort} from {from} to {to}");

    // Per variant, each variant on its own, named by its options.
    let (body, got) = sellers("variant", 9).await;
    let expected = expected_sellers(tenant_shops, from, to, sort, 9, true);
    assert_eq!(got, expected, "top variants by {sort}");
    let mut named = 0;
    for row in body["data"].as_array().unwrap() {
        let shop = tenant_shops
            .iter()
            .find(|s| row["store_id"] == s.store_id.as_str())
            .unwrap();
        let variant = shop.truth["products"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["variants"].as_array().unwrap())
            .find(|v| Some(v["id"].to_string()) == row["variant_id"].as_str().map(str::to_owned));
        if let Some(variant) = variant {
            assert_eq!(row["variant_title"], variant["title"], "{row}");
            named += 1;
        }
    }
    assert!(
        named > 0,
        "variants are named by their own titles ({from} to {to}): {body}"
    );
}
