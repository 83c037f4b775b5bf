//! The control API under `/_sim/`: create shops, run activity, read ground truth, set faults.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::activity::ActivitySpec;
use crate::shop::{Change, Shop, ShopSpec};
use crate::state::{lock, Faults, Sim};
use crate::webhooks;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|err| format!("invalid body: {err}"))
}

/// Shop domains as Shopify allows them.
pub fn valid_shop_domain(domain: &str) -> bool {
    domain.strip_suffix(".myshopify.com").is_some_and(|name| {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

pub async fn create_shop(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let spec: ShopSpec = match parse(&body) {
        Ok(spec) => spec,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    if !valid_shop_domain(&spec.domain) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "domain must look like name.myshopify.com",
        );
    }
    if sim.shop(&spec.domain).is_some() {
        return error(StatusCode::CONFLICT, format!("{} exists", spec.domain));
    }
    let generated = tokio::task::spawn_blocking(move || Shop::generate(&spec)).await;
    let shop = match generated {
        Ok(Ok(shop)) => shop,
        Ok(Err(message)) => return error(StatusCode::UNPROCESSABLE_ENTITY, message),
        Err(err) => return error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    };
    let summary = summary(&shop);
    if !sim.insert_shop(shop) {
        return error(StatusCode::CONFLICT, "the shop was created concurrently");
    }
    (StatusCode::CREATED, Json(summary)).into_response()
}

fn summary(shop: &Shop) -> serde_json::Value {
    json!({
        "id": shop.id,
        "domain": shop.domain,
        "name": shop.name,
        "currency": shop.currency,
        "timezone": shop.timezone.name(),
        "plan": shop.plan,
        "customers": shop.customers.len(),
        "products": shop.products.len(),
        "orders": shop.orders.len(),
        "checkouts": shop.checkouts.len(),
        "carts": shop.carts.len(),
    })
}

pub async fn list_shops(State(sim): State<Arc<Sim>>) -> Response {
    let entries: Vec<_> = sim
        .shops
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .values()
        .cloned()
        .collect();
    let mut shops = Vec::new();
    for entry in entries {
        shops.push(summary(&*entry.data.read().await));
    }
    Json(shops).into_response()
}

pub async fn run_activity(
    State(sim): State<Arc<Sim>>,
    Path(domain): Path<String>,
    body: Bytes,
) -> Response {
    let spec: ActivitySpec = match parse(&body) {
        Ok(spec) => spec,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let Some(entry) = sim.shop(&domain) else {
        return error(StatusCode::NOT_FOUND, "no such shop");
    };
    if let Some(rate) = spec.rate {
        if !(rate > 0.0 && rate.is_finite()) {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rate must be a positive number of changes per second",
            );
        }
        let units = spec.units();
        let scheduled = units.len();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs_f64(1.0 / rate));
            for unit in units {
                tick.tick().await;
                let changes = entry.data.write().await.apply_activity(&unit);
                let deliveries = webhooks::plan(&sim, &domain, &changes);
                webhooks::deliver_all(&sim, deliveries).await;
            }
        });
        return (
            StatusCode::ACCEPTED,
            Json(json!({ "scheduled": scheduled, "seconds": scheduled as f64 / rate })),
        )
            .into_response();
    }
    let changes = entry.data.write().await.apply_activity(&spec);
    let deliveries = webhooks::plan(&sim, &domain, &changes);
    let planned = deliveries.len();
    webhooks::deliver_all(&sim, deliveries).await;
    Json(json!({ "changes": changes.len(), "deliveries": planned })).into_response()
}

/// The shop's current records in REST shape: what a perfect copy would hold.
pub async fn truth(State(sim): State<Arc<Sim>>, Path(domain): Path<String>) -> Response {
    let Some(entry) = sim.shop(&domain) else {
        return error(StatusCode::NOT_FOUND, "no such shop");
    };
    let shop = entry.data.read().await;
    let body = json!({
        "shop": summary(&shop),
        "customers": shop.customers.values().collect::<Vec<_>>(),
        "products": shop.products.values().collect::<Vec<_>>(),
        "orders": shop.orders.values().collect::<Vec<_>>(),
        "checkouts": shop.checkouts.values().collect::<Vec<_>>(),
        "carts": shop.carts.values().collect::<Vec<_>>(),
        "deletions": shop.deletions,
    });
    Json(body).into_response()
}

/// Uninstalls the app: `app/uninstalled` goes out, then every token and subscription is gone.
pub async fn uninstall(State(sim): State<Arc<Sim>>, Path(domain): Path<String>) -> Response {
    let Some(entry) = sim.shop(&domain) else {
        return error(StatusCode::NOT_FOUND, "no such shop");
    };
    let payload = {
        let shop = entry.data.read().await;
        json!({
            "id": shop.id,
            "name": shop.name,
            "domain": shop.domain,
            "myshopify_domain": shop.domain,
            "currency": shop.currency,
            "iana_timezone": shop.timezone.name(),
            "plan_name": shop.plan,
        })
    };
    let deliveries = webhooks::plan(
        &sim,
        &domain,
        &[Change {
            topic: "app/uninstalled",
            payload,
        }],
    );
    webhooks::deliver_all(&sim, deliveries).await;
    let mut grant = lock(&entry.grant);
    grant.installed = false;
    grant.tokens.clear();
    grant.refresh = None;
    grant.subscriptions.clear();
    Json(json!({ "uninstalled": domain })).into_response()
}

/// Revokes every token the app holds for the shop, without uninstalling it (as when the
/// merchant revokes access or a scope is withdrawn): calls answer 401 until a new grant.
pub async fn revoke(State(sim): State<Arc<Sim>>, Path(domain): Path<String>) -> Response {
    let Some(entry) = sim.shop(&domain) else {
        return error(StatusCode::NOT_FOUND, "no such shop");
    };
    let mut grant = lock(&entry.grant);
    grant.tokens.clear();
    grant.refresh = None;
    Json(json!({ "revoked": domain })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestNotification {
    /// `products/create`, `orders/create` or `customers/create`.
    topic: String,
}

/// Sends a test notification as the admin's "Send test notification" does: Shopify's sample
/// payload for the topic (a record that is not in the shop), with its dates `null`, as
/// Shopify's own samples carry them, to each subscription of the topic.
pub async fn test_notification(
    State(sim): State<Arc<Sim>>,
    Path(domain): Path<String>,
    body: Bytes,
) -> Response {
    let request: TestNotification = match parse(&body) {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    if sim.shop(&domain).is_none() {
        return error(StatusCode::NOT_FOUND, "no such shop");
    }
    let (topic, payload): (&'static str, serde_json::Value) = match request.topic.as_str() {
        "products/create" => (
            "products/create",
            json!({
                "id": 788032119674292922_i64, "title": "Example T-Shirt", "body_html": null,
                "vendor": "Acme", "product_type": "Shirts", "handle": "example-t-shirt",
                "created_at": null, "updated_at": null, "published_at": null,
                "status": "active", "tags": "example, mens, t-shirt",
                "admin_graphql_api_id": "gid://shopify/Product/788032119674292922",
                "variants": [{
                    "id": 642667041472713922_i64, "product_id": 788032119674292922_i64,
                    "title": "Small", "price": "19.99", "sku": "example-shirt-s",
                    "inventory_quantity": 75, "created_at": null, "updated_at": null,
                }],
                "options": [], "images": [], "image": null,
            }),
        ),
        "orders/create" => (
            "orders/create",
            json!({
                "id": 820982911946154508_i64, "name": "#9999", "order_number": 1234,
                "email": "jon@example.com", "created_at": null, "updated_at": null,
                "processed_at": null, "cancelled_at": null, "closed_at": null,
                "currency": "USD", "presentment_currency": "USD",
                "total_price": "403.00", "subtotal_price": "393.00", "total_tax": "0.00",
                "total_discounts": "5.00", "total_line_items_price": "398.00",
                "financial_status": "voided", "fulfillment_status": "pending", "test": true,
                "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
                "customer": null, "discount_applications": [], "discount_codes": [],
                "line_items": [{
                    "id": 866550311766439020_i64, "product_id": 788032119674292922_i64,
                    "variant_id": 642667041472713922_i64, "title": "Example T-Shirt",
                    "variant_title": "Small", "sku": "example-shirt-s", "vendor": "Acme",
                    "quantity": 1, "current_quantity": 1, "price": "199.00",
                    "total_discount": "0.00", "discount_allocations": [], "gift_card": false,
                    "taxable": true, "tax_lines": [],
                }],
                "shipping_lines": [{ "id": 271878346596884015_i64, "title": "Generic Shipping",
                    "price": "10.00", "discounted_price": "10.00", "code": null,
                    "discount_allocations": [] }],
                "refunds": [],
            }),
        ),
        "customers/create" => (
            "customers/create",
            json!({
                "id": 706405506930370084_i64, "email": "bob@biller.com", "first_name": "Bob",
                "last_name": "Biller", "phone": null, "state": "disabled", "tags": "",
                "created_at": null, "updated_at": null, "orders_count": 0,
                "total_spent": "0.00", "currency": "USD", "verified_email": true,
                "admin_graphql_api_id": "gid://shopify/Customer/706405506930370084",
                "addresses": [], "default_address": null,
            }),
        ),
        other => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{other:?} has no test notification here (products/create, orders/create, customers/create)"),
            )
        }
    };
    let deliveries = webhooks::plan(&sim, &domain, &[Change { topic, payload }]);
    let sent = deliveries.len();
    webhooks::deliver_all(&sim, deliveries).await;
    Json(json!({ "topic": topic, "deliveries": sent })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyRequest {
    /// `customers/data_request`, `customers/redact` or `shop/redact`.
    topic: String,
    /// The app's compliance webhook URL (set in the app's configuration, not the API).
    callback_url: String,
    customer_id: Option<i64>,
}

/// Sends one of the three mandatory privacy webhooks.
pub async fn privacy_request(
    State(sim): State<Arc<Sim>>,
    Path(domain): Path<String>,
    body: Bytes,
) -> Response {
    let request: PrivacyRequest = match parse(&body) {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let Some(entry) = sim.shop(&domain) else {
        return error(StatusCode::NOT_FOUND, "no such shop");
    };
    let payload = {
        let shop = entry.data.read().await;
        let customer = request.customer_id.and_then(|id| shop.customers.get(&id));
        let orders: Vec<i64> = request
            .customer_id
            .map(|id| {
                shop.orders
                    .values()
                    .filter(|o| o.customer.as_ref().is_some_and(|c| c.id == id))
                    .map(|o| o.id)
                    .collect()
            })
            .unwrap_or_default();
        let customer_json =
            customer.map(|c| json!({ "id": c.id, "email": c.email, "phone": c.phone }));
        match request.topic.as_str() {
            "customers/data_request" => json!({
                "shop_id": shop.id, "shop_domain": shop.domain, "customer": customer_json,
                "orders_requested": orders, "data_request": { "id": sim.next_id() },
            }),
            "customers/redact" => json!({
                "shop_id": shop.id, "shop_domain": shop.domain, "customer": customer_json,
                "orders_to_redact": orders,
            }),
            "shop/redact" => json!({ "shop_id": shop.id, "shop_domain": shop.domain }),
            other => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("{other:?} is not a privacy topic"),
                )
            }
        }
    };
    let delivery = webhooks::Delivery {
        subscription_id: 0,
        callback_url: request.callback_url,
        topic: request.topic,
        shop: domain,
        webhook_id: format!("privacy-{}", sim.next_id()),
        event_id: format!("privacy-{}", sim.next_id()),
        triggered_at: chrono::Utc::now().to_rfc3339(),
        body: Bytes::from(serde_json::to_vec(&payload).unwrap_or_default()),
    };
    webhooks::deliver_all(&sim, vec![delivery]).await;
    Json(json!({ "sent": payload })).into_response()
}

pub async fn subscriptions(State(sim): State<Arc<Sim>>, Path(domain): Path<String>) -> Response {
    let Some(entry) = sim.shop(&domain) else {
        return error(StatusCode::NOT_FOUND, "no such shop");
    };
    let subscriptions: Vec<_> = lock(&entry.grant).subscriptions.values().cloned().collect();
    Json(subscriptions).into_response()
}

/// Removes the shop's subscriptions to `topic` (all of them without one), as Shopify does
/// after a subscription's deliveries keep failing.
pub async fn remove_subscriptions(
    State(sim): State<Arc<Sim>>,
    Path(domain): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(entry) = sim.shop(&domain) else {
        return error(StatusCode::NOT_FOUND, "no such shop");
    };
    let mut grant = lock(&entry.grant);
    let before = grant.subscriptions.len();
    let topic = query.get("topic");
    grant
        .subscriptions
        .retain(|_, s| topic.is_some_and(|t| *t != s.topic));
    let removed = before - grant.subscriptions.len();
    Json(json!({ "removed": removed })).into_response()
}

pub async fn set_faults(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let faults: Faults = match parse(&body) {
        Ok(faults) => faults,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    for (name, rate) in [
        ("duplicate_rate", faults.duplicate_rate),
        ("drop_rate", faults.drop_rate),
        ("admin_error_rate", faults.admin_error_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{name} must be between 0 and 1"),
            );
        }
    }
    if faults.bucket_size <= 0.0 || faults.restore_rate <= 0.0 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bucket_size and restore_rate must be positive",
        );
    }
    *sim.faults
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = faults.clone();
    Json(faults).into_response()
}

pub async fn get_faults(State(sim): State<Arc<Sim>>) -> Response {
    Json(sim.faults()).into_response()
}

pub async fn deliveries(State(sim): State<Arc<Sim>>) -> Response {
    Json(sim.deliveries.snapshot()).into_response()
}
