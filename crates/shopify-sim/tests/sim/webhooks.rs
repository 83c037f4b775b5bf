//! Webhook subscriptions, signed deliveries, faults and retries.

use super::*;

/// A webhook receiver that records every delivery; answers `status`.
async fn receiver(status: StatusCode) -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/webhooks",
        post(move |headers: HeaderMap, body: Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock().unwrap().push((headers, body));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

async fn subscribe(sim: &RunningSim, shop: &str, token: &str, topic: &str, url: &str) -> String {
    let mutation = "mutation($topic: WebhookSubscriptionTopic!, $url: URL!) { webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) { webhookSubscription { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } userErrors { field message } } }";
    let (_, body) = graphql(
        sim,
        shop,
        token,
        mutation,
        json!({ "topic": topic, "url": url }),
    )
    .await;
    let created = &body["data"]["webhookSubscriptionCreate"];
    assert_eq!(created["userErrors"], json!([]), "{body}");
    assert_eq!(
        created["webhookSubscription"]["endpoint"]["callbackUrl"],
        url
    );
    created["webhookSubscription"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn webhooks_are_signed_shaped_and_faulted_as_configured() {
    let sim = start(1.0).await;
    let shop = "hooks.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 20 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let (url, received) = receiver(StatusCode::OK).await;
    for topic in [
        "ORDERS_CREATE",
        "CUSTOMERS_CREATE",
        "REFUNDS_CREATE",
        "PRODUCTS_DELETE",
    ] {
        subscribe(&sim, shop, &token, topic, &url).await;
    }
    let activity: Value = client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "orders": 5, "customers": 2, "refunds": 2, "deletions": 1 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deliveries = received.lock().unwrap().clone();
    assert_eq!(
        deliveries.len() as u64,
        activity["deliveries"].as_u64().unwrap()
    );
    let mut topics: HashMap<String, usize> = HashMap::new();
    for (headers, body) in &deliveries {
        let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body);
        assert_eq!(
            header("x-shopify-hmac-sha256"),
            BASE64.encode(mac.finalize().into_bytes())
        );
        assert_eq!(header("x-shopify-shop-domain"), shop);
        assert_eq!(header("x-shopify-api-version"), "2026-10");
        assert!(!header("x-shopify-webhook-id").is_empty());
        assert!(!header("x-shopify-event-id").is_empty());
        assert!(chrono::DateTime::parse_from_rfc3339(&header("x-shopify-triggered-at")).is_ok());
        let payload: Value = serde_json::from_slice(body).unwrap();
        assert!(payload["id"].is_i64(), "integer ids");
        *topics.entry(header("x-shopify-topic")).or_default() += 1;
    }
    assert_eq!(topics["orders/create"], 5);
    assert_eq!(topics["customers/create"], 2);
    assert_eq!(topics["products/delete"], 1);
    assert!(topics.get("refunds/create").copied().unwrap_or(0) >= 1);

    // Duplicates: every delivery twice, with the same webhook id.
    received.lock().unwrap().clear();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "duplicate_rate": 1.0 }))
        .send()
        .await
        .unwrap();
    client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "customers": 3 }))
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["x-shopify-webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 6);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 3);

    // Drops: nothing arrives, yet the change is in the shop for reconciliation to find.
    received.lock().unwrap().clear();
    client()
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "drop_rate": 1.0 }))
        .send()
        .await
        .unwrap();
    let before = truth(&sim, shop).await["customers"]
        .as_array()
        .unwrap()
        .len();
    client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "customers": 4 }))
        .send()
        .await
        .unwrap();
    assert!(received.lock().unwrap().is_empty());
    assert_eq!(
        truth(&sim, shop).await["customers"]
            .as_array()
            .unwrap()
            .len(),
        before + 4
    );
}

#[tokio::test]
async fn failing_deliveries_are_retried_then_the_subscription_is_deleted() {
    // Shopify's 4-hour retry schedule in about 1.5 s.
    let sim = start(10_000.0).await;
    let shop = "failing.myshopify.com";
    create_shop(&sim, shop, json!({ "orders": 5 })).await;
    let (_, token) = install(&sim, shop, false).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let (url, received) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    subscribe(&sim, shop, &token, "CUSTOMERS_CREATE", &url).await;
    client()
        .post(format!("{}/_sim/shops/{shop}/activity", sim.base_url()))
        .json(&json!({ "customers": 1 }))
        .send()
        .await
        .unwrap();
    let list = "{ webhookSubscriptions(first: 10) { nodes { id topic } } }";
    let mut gone = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (_, body) = graphql(&sim, shop, &token, list, json!({})).await;
        if body["data"]["webhookSubscriptions"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            gone = true;
            break;
        }
    }
    assert!(gone, "the subscription is deleted after the retries fail");
    let attempts = received.lock().unwrap().len();
    assert_eq!(attempts, 9, "one delivery and eight retries");
    let ids: BTreeSet<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(h, _)| h["x-shopify-webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "retries keep the webhook id");
}
