//! The Admin GraphQL API: paging, filters and cost throttling.

use super::*;

const ORDERS_PAGE: &str =
    "query($first: Int!, $after: String, $query: String, $sortKey: OrderSortKeys) {
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    edges { cursor node { id legacyResourceId updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}";

async fn page_all(
    sim: &RunningSim,
    shop: &str,
    token: &str,
    query: Option<&str>,
    during: impl Fn(usize) -> Option<Value>,
) -> Vec<Value> {
    let mut after: Option<String> = None;
    let mut all = Vec::new();
    for page in 0.. {
        if let Some(activity) = during(page) {
            client()
                .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
                .json(&activity)
                .send()
                .await
                .unwrap();
        }
        let (status, body) = graphql(
            sim,
            shop,
            token,
            ORDERS_PAGE,
            json!({ "first": 50, "after": after, "query": query, "sortKey": "UPDATED_AT" }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"].is_null(), "{body}");
        let connection = &body["data"]["orders"];
        all.extend(
            connection["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone()),
        );
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    all
}

#[tokio::test]
async fn pagination_is_exhaustive_and_stable_while_activity_runs() {
    let sim = start(1.0).await;
    let shop = "pages.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 400 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    // The bucket is the real one; make it roomy so this test measures paging only.
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "bucket_size": 100000.0, "restore_rate": 100000.0 }))
        .send()
        .await
        .unwrap();
    let before: BTreeSet<i64> = truth_orders(&sim, shop)
        .await
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    // New orders arrive while we page (they sort after every existing one by updated_at).
    let seen = page_all(&sim, shop, &token, None, |page| {
        (page % 2 == 1).then(|| json!({ "orders": 3 }))
    })
    .await;
    let ids: Vec<i64> = seen
        .iter()
        .map(|n| n["legacyResourceId"].as_str().unwrap().parse().unwrap())
        .collect();
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no record twice");
    assert!(
        before.is_subset(&unique),
        "every record that existed before paging began appears"
    );
    let after: BTreeSet<i64> = truth_orders(&sim, shop)
        .await
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert!(unique.is_subset(&after));
}

#[tokio::test]
async fn updated_at_filters_are_exact_at_the_boundaries() {
    let sim = start(1.0).await;
    let shop = "bounds.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 300 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "bucket_size": 100000.0, "restore_rate": 100000.0 }))
        .send()
        .await
        .unwrap();
    let orders = truth_orders(&sim, shop).await;
    let mut stamps: Vec<chrono::DateTime<chrono::Utc>> = orders
        .iter()
        .map(|o| {
            chrono::DateTime::parse_from_rfc3339(o["updated_at"].as_str().unwrap())
                .unwrap()
                .to_utc()
        })
        .collect();
    stamps.sort();
    let boundary = stamps[stamps.len() / 2];
    let text = boundary.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (op, keep) in [(">", 0), (">=", 1), ("<", 2), ("<=", 3)] {
        let expected = stamps
            .iter()
            .filter(|t| match keep {
                0 => **t > boundary,
                1 => **t >= boundary,
                2 => **t < boundary,
                _ => **t <= boundary,
            })
            .count();
        let query = format!("updated_at:{op}'{text}'");
        let got = page_all(&sim, shop, &token, Some(&query), |_| None)
            .await
            .len();
        assert_eq!(got, expected, "{query}");
    }
}

#[tokio::test]
async fn a_burst_of_expensive_queries_is_throttled_and_recovers_at_the_restore_rate() {
    let sim = start(1.0).await;
    let shop = "throttle.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 300 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "bucket_size": 1000.0, "restore_rate": 50.0 }))
        .send()
        .await
        .unwrap();
    // 2 + 100 × (1 + 2 + (2 + 10 × 1)) = 1502 > 1000: refused outright, not throttled.
    let too_big = "{ orders(first: 100) { nodes { id totalPriceSet { shopMoney { amount } } lineItems(first: 10) { nodes { id } } } } }";
    let (_, body) = graphql(&sim, shop, &token, too_big, json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED",
        "{body}"
    );
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 1502);

    // 2 + 100 × (1 + 1) = 202 each: five fit in 1000 points, the sixth does not.
    let expensive = "{ orders(first: 100) { nodes { id customer { id } } } }";
    let mut throttled = None;
    for _ in 0..10 {
        let (status, body) = graphql(&sim, shop, &token, expensive, json!({})).await;
        assert_eq!(status, 200, "throttling is a 200 with an error, not a 429");
        assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 202);
        if body["errors"][0]["extensions"]["code"] == "THROTTLED" {
            assert!(body["extensions"]["cost"]["actualQueryCost"].is_null());
            throttled = Some(body);
            break;
        }
        // Only what was used is charged: guests have no customer object.
        let actual = body["extensions"]["cost"]["actualQueryCost"]
            .as_u64()
            .unwrap();
        assert!(actual < 202, "{actual}");
    }
    let throttled = throttled.expect("the burst is throttled");
    let level = throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
        .as_f64()
        .unwrap();
    assert_eq!(
        throttled["extensions"]["cost"]["throttleStatus"]["restoreRate"],
        50.0
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, body) = graphql(&sim, shop, &token, "{ shop { name } }", json!({})).await;
    let status = &body["extensions"]["cost"]["throttleStatus"];
    let now = status["currentlyAvailable"].as_f64().unwrap();
    // Two seconds at 50 points/s restore 100 points (the shop query then costs 1).
    assert!(
        (now - (level + 100.0 - 1.0)).abs() <= 6.0,
        "restored from {level} to {now}"
    );
}
