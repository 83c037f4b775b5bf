//! Bulk operations: JSONL exports and the queries Shopify refuses at submission.

use super::*;

const BULK_ORDERS: &str =
    "{ orders { edges { node { id name lineItems { edges { node { id quantity sku } } } } } } }";

#[tokio::test]
async fn bulk_jsonl_reconstructs_exactly_what_paging_returns() {
    let sim = start(1.0).await;
    let shop = "bulk.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 700 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "bucket_size": 100000.0, "restore_rate": 100000.0 }))
        .send()
        .await
        .unwrap();

    // From API 2026-01 children follow their parent only when the export asks for it.
    let grouped = bulk_file(&sim, shop, &token, true).await;
    let ungrouped = bulk_file(&sim, shop, &token, false).await;
    let (from_bulk, adjacent) = reassemble(&grouped);
    assert!(adjacent, "grouped: children follow their parent");
    let (from_ungrouped, adjacent) = reassemble(&ungrouped);
    assert!(
        !adjacent,
        "ungrouped: children come apart from their parent"
    );
    assert_eq!(from_ungrouped, from_bulk);

    let page_query = "query($after: String) { orders(first: 10, after: $after) { nodes { id name lineItems(first: 10) { nodes { id quantity } } } pageInfo { hasNextPage endCursor } } }";
    let mut from_pages = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let (_, body) = graphql(&sim, shop, &token, page_query, json!({ "after": after })).await;
        let orders = &body["data"]["orders"];
        for node in orders["nodes"].as_array().unwrap() {
            let lines = node["lineItems"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["id"].as_str().unwrap().to_owned(),
                        l["quantity"].as_i64().unwrap(),
                    )
                })
                .collect();
            from_pages.insert(
                node["id"].as_str().unwrap().to_owned(),
                (node["name"].as_str().unwrap().to_owned(), lines),
            );
        }
        if orders["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = orders["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(from_bulk.len(), 700);
    assert_eq!(from_bulk, from_pages);
}

type Reassembled = BTreeMap<String, (String, Vec<(String, i64)>)>;

/// Runs `BULK_ORDERS` as a bulk export and downloads its file.
async fn bulk_file(sim: &RunningSim, shop: &str, token: &str, grouped: bool) -> String {
    let start = "mutation($q: String!, $g: Boolean!) { bulkOperationRunQuery(query: $q, groupObjects: $g) { bulkOperation { id status } userErrors { field message } } }";
    let (_, body) = graphql(
        sim,
        shop,
        token,
        start,
        json!({ "q": BULK_ORDERS, "g": grouped }),
    )
    .await;
    assert_eq!(
        body["data"]["bulkOperationRunQuery"]["userErrors"],
        json!([]),
        "{body}"
    );
    let id = body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut url = None;
    for _ in 0..100 {
        let (_, body) = graphql(
            sim,
            shop,
            token,
            "{ currentBulkOperation { id status objectCount rootObjectCount url } }",
            json!({}),
        )
        .await;
        let op = &body["data"]["currentBulkOperation"];
        assert_eq!(op["id"], id.as_str());
        if op["status"] == "COMPLETED" {
            assert_eq!(op["rootObjectCount"], "700");
            url = op["url"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = url.expect("the bulk operation completes with a file");
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Puts lines with `__parentId` back under the line that introduced that id; also says
/// whether every child came right after its parent (or a sibling).
fn reassemble(jsonl: &str) -> (Reassembled, bool) {
    let mut orders = Reassembled::new();
    let mut last_parent = String::new();
    let mut adjacent = true;
    for line in jsonl.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        let id = value["id"].as_str().unwrap().to_owned();
        match value["__parentId"].as_str() {
            None => {
                orders.insert(
                    id.clone(),
                    (value["name"].as_str().unwrap().to_owned(), Vec::new()),
                );
                last_parent = id;
            }
            Some(parent) => {
                adjacent &= parent == last_parent;
                orders
                    .get_mut(parent)
                    .unwrap()
                    .1
                    .push((id, value["quantity"].as_i64().unwrap()));
            }
        }
    }
    (orders, adjacent)
}

#[tokio::test]
async fn bulk_queries_shopify_would_refuse_are_refused_when_submitted() {
    let sim = start(1.0).await;
    let shop = "bulkcheck.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 20 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let submit = "mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) { bulkOperation { id status } userErrors { code field message } } }";
    for (query, why) in [
        ("{ orders { edges { node { id nonsense } } } }", "nonsense"),
        ("{ node(id: \"gid://shopify/Order/1\") { id } }", "not one"),
        ("{ shop { name } }", "not one"),
        (
            "{ orders { edges { node { id } } } customers { edges { node { id } } } }",
            "exactly one",
        ),
        (
            "{ orders { edges { node { name lineItems { edges { node { id } } } } } } }",
            "must select `id`",
        ),
        (
            "mutation { webhookSubscriptionDelete(id: \"x\") { userErrors { message } } }",
            "queries",
        ),
    ] {
        let (_, body) = graphql(&sim, shop, &token, submit, json!({ "q": query })).await;
        let answer = &body["data"]["bulkOperationRunQuery"];
        assert!(answer["bulkOperation"].is_null(), "{query}: {body}");
        let error = &answer["userErrors"][0];
        assert_eq!(error["code"], "INVALID", "{query}: {body}");
        assert!(
            error["message"].as_str().unwrap().contains(why),
            "{query}: {body}"
        );
    }
    // Nothing refused was started.
    let listed = "{ bulkOperations(first: 10) { nodes { id status } } }";
    let (_, body) = graphql(&sim, shop, &token, listed, json!({})).await;
    assert_eq!(body["data"]["bulkOperations"]["nodes"], json!([]), "{body}");

    // A valid query starts, and is found by id and by status (the replacements for the
    // deprecated currentBulkOperation).
    let query = "{ orders { edges { node { id lineItems { edges { node { id quantity } } } } } } }";
    let (_, body) = graphql(&sim, shop, &token, submit, json!({ "q": query })).await;
    let id = body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let mut done = false;
    for _ in 0..100 {
        let (_, body) = graphql(
            &sim,
            shop,
            &token,
            "query($id: ID!) { bulkOperation(id: $id) { id status } }",
            json!({ "id": id }),
        )
        .await;
        if body["data"]["bulkOperation"]["status"] == "COMPLETED" {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(done, "the export completes");
    let completed = "{ bulkOperations(first: 5, query: \"status:COMPLETED\") { nodes { id } } }";
    let (_, body) = graphql(&sim, shop, &token, completed, json!({})).await;
    assert_eq!(
        body["data"]["bulkOperations"]["nodes"][0]["id"],
        id.as_str()
    );
    let running = "{ bulkOperations(first: 5, query: \"status:RUNNING OR status:CREATED\") { nodes { id } } }";
    let (_, body) = graphql(&sim, shop, &token, running, json!({})).await;
    assert_eq!(body["data"]["bulkOperations"]["nodes"], json!([]));
}

/// Runs `query` as a bulk export and answers its JSONL lines.
async fn export(sim: &RunningSim, shop: &str, token: &str, query: &str) -> Vec<Value> {
    let submit = "mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) { bulkOperation { id } userErrors { code message } } }";
    let (_, body) = graphql(sim, shop, token, submit, json!({ "q": query })).await;
    let answer = &body["data"]["bulkOperationRunQuery"];
    assert_eq!(answer["userErrors"], json!([]), "{query}: {body}");
    let id = answer["bulkOperation"]["id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        let status = "query($id: ID!) { bulkOperation(id: $id) { status url } }";
        let (_, body) = graphql(sim, shop, token, status, json!({ "id": id })).await;
        let op = &body["data"]["bulkOperation"];
        if op["status"] == "COMPLETED" {
            let Some(url) = op["url"].as_str() else {
                return Vec::new();
            };
            let text = client()
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            return text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{query} did not complete");
}

/// The children a JSONL export lists under `parent` (by `__parentId`) whose id is of `kind`.
fn children<'a>(lines: &'a [Value], parent: &Value, kind: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["__parentId"] == parent["id"])
        .filter(|l| {
            l["id"]
                .as_str()
                .is_some_and(|id| id.contains(&format!("/{kind}/")))
        })
        .collect()
}

/// What a production connector exports beyond Xeno's fields (order transactions and risk,
/// customer addresses, product media, metafields) is there in a bulk export, and agrees
/// with the shop's records.
#[tokio::test]
async fn a_connectors_bulk_queries_run_and_agree_with_the_records() {
    let sim = start(1.0).await;
    let shop = "connector.myshopify.com";
    create_shop(
        &sim,
        shop,
        json!({ "orders": 150, "customers": 40, "products": 12 }),
    )
    .await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let truth = truth(&sim, shop).await;
    let dec = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();

    let orders = export(&sim, shop, &token, "{ orders { edges { node { id totalPriceSet { shopMoney { amount } } \
        transactions(first: 20) { id kind status gateway amountSet { shopMoney { amount } } processedAt } \
        risk { recommendation assessments { riskLevel facts { description sentiment } } } \
        metafields(first: 10) { edges { node { id namespace key value type } } } } } } }").await;
    let roots: Vec<&Value> = orders
        .iter()
        .filter(|l| l["__parentId"].is_null())
        .collect();
    assert_eq!(roots.len(), truth["orders"].as_array().unwrap().len());
    let (mut gift_notes, mut risky) = (0, 0);
    for record in truth["orders"].as_array().unwrap() {
        let id = record["admin_graphql_api_id"].as_str().unwrap();
        let line = roots.iter().find(|l| l["id"] == id).unwrap();
        let transactions = line["transactions"].as_array().unwrap();
        // The payment, then one refund transaction per refund, each for what the records say.
        let payment = &transactions[0];
        assert_eq!(
            payment["amountSet"]["shopMoney"]["amount"],
            line["totalPriceSet"]["shopMoney"]["amount"]
        );
        let paid = matches!(
            record["financial_status"].as_str().unwrap(),
            "paid" | "partially_refunded" | "refunded"
        );
        assert_eq!(
            payment["kind"] == "SALE" && payment["status"] == "SUCCESS",
            paid,
            "{id}"
        );
        let refunded: f64 = transactions
            .iter()
            .filter(|t| t["kind"] == "REFUND")
            .map(|t| dec(&t["amountSet"]["shopMoney"]["amount"]))
            .sum();
        let expected: f64 = record["refunds"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["transactions"].as_array().unwrap())
            .map(|t| dec(&t["amount"]))
            .sum();
        assert!((refunded - expected).abs() < 0.001, "{id}: refunds");
        let level = line["risk"]["assessments"][0]["riskLevel"]
            .as_str()
            .unwrap();
        assert!(matches!(level, "LOW" | "MEDIUM" | "HIGH"));
        risky += usize::from(level != "LOW");
        gift_notes += children(&orders, line, "Metafield").len();
    }
    assert!(
        risky > 0 && gift_notes > 0,
        "some risky orders and some gift notes"
    );

    let customers = export(
        &sim,
        shop,
        &token,
        "{ customers { edges { node { id \
        addressesV2 { edges { node { id address1 city countryCodeV2 zip } } } \
        metafields(namespace: \"custom\") { edges { node { id key value } } } } } } }",
    )
    .await;
    for record in truth["customers"].as_array().unwrap() {
        let id = record["admin_graphql_api_id"].as_str().unwrap();
        let line = customers.iter().find(|l| l["id"] == id).unwrap();
        let addresses = children(&customers, line, "MailingAddress");
        let expected = record["addresses"].as_array().unwrap();
        assert_eq!(addresses.len(), expected.len(), "{id}");
        for (got, want) in addresses.iter().zip(expected) {
            assert_eq!(got["city"], want["city"]);
            assert_eq!(got["countryCodeV2"], want["country_code"]);
            assert_eq!(got["zip"], want["zip"]);
        }
        let keys: Vec<&str> = children(&customers, line, "Metafield")
            .iter()
            .map(|m| m["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["loyalty_tier", "birthday_month"]);
    }

    let products = export(&sim, shop, &token, "{ products { edges { node { id \
        media { edges { node { id alt mediaContentType ... on MediaImage { image { url width height } } } } } \
        metafields(keys: [\"custom.material\"]) { edges { node { key value } } } } } } }").await;
    for record in truth["products"].as_array().unwrap() {
        let id = record["admin_graphql_api_id"].as_str().unwrap();
        let line = products.iter().find(|l| l["id"] == id).unwrap();
        let media = children(&products, line, "MediaImage");
        assert!(!media.is_empty(), "{id}: a picture");
        for picture in media {
            assert_eq!(picture["mediaContentType"], "IMAGE");
            assert!(picture["image"]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://"));
        }
        // Only the metafield asked for by key.
        let fields: Vec<&Value> = products
            .iter()
            .filter(|l| l["__parentId"] == line["id"] && l.get("key").is_some())
            .collect();
        assert_eq!(fields.len(), 1, "{id}");
        assert_eq!(fields[0]["key"], "material");
    }
}
