//! `POST /{shop}/admin/api/{version}/graphql.json`: authentication, calculated query cost,
//! the leaky bucket, fault injection, then the schema.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Value, Variables};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::graphql::{schema_once, RequestData};
use crate::oauth::authenticate;
use crate::state::{lock, Sim};

/// A single query may not ask for more than this, however full the bucket.
pub const MAX_QUERY_COST: u64 = 1000;

#[derive(Debug, Deserialize)]
struct GraphqlRequest {
    query: String,
    #[serde(default)]
    variables: Option<serde_json::Value>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

/// Valid API versions look like `2026-10`: a year and a quarter's first month.
fn valid_version(version: &str) -> bool {
    version.len() == 7
        && version[..4].chars().all(|c| c.is_ascii_digit())
        && matches!(&version[4..], "-01" | "-04" | "-07" | "-10")
        || version == "unstable"
}

pub async fn graphql(
    State(sim): State<Arc<Sim>>,
    Path((shop, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(entry) = sim.shop(&shop) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "errors": "Not Found" })),
        )
            .into_response();
    };
    if !valid_version(&version) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "errors": "Not Found" })),
        )
            .into_response();
    }
    let Some(scopes) = authenticate(&sim, &shop, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" })),
        )
            .into_response();
    };
    let faults = sim.faults();
    if faults.admin_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.admin_delay_ms)).await;
    }
    if faults.failing_shops.contains(&shop) || sim.roll(faults.admin_error_rate) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "errors": "Service Unavailable" })),
        )
            .into_response();
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let request: GraphqlRequest = match serde_json::from_slice(&body) {
        Ok(request) if is_json => request,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "errors": { "query": "Required parameter missing or invalid" } })),
            )
                .into_response()
        }
    };
    let variables = Variables::from_json(request.variables.clone().unwrap_or(json!({})));

    // The requested cost is known before running; reject or throttle on it.
    let (requested, mutation_cost) = async_graphql::parser::parse_query(&request.query)
        .map(|document| requested_cost(&document, request.operation_name.as_deref(), &variables))
        .unwrap_or((0, 0));
    let status = |available: f64| {
        json!({
            "maximumAvailable": faults.bucket_size,
            "currentlyAvailable": available.floor(),
            "restoreRate": faults.restore_rate,
        })
    };
    if requested > MAX_QUERY_COST {
        let available = lock(&entry.grant).bucket.level(&faults);
        return Json(json!({
            "errors": [{
                "message": format!("Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"),
                "extensions": { "code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST },
            }],
            "extensions": { "cost": { "requestedQueryCost": requested, "actualQueryCost": null, "throttleStatus": status(available) } },
        }))
        .into_response();
    }
    let admitted = {
        let mut grant = lock(&entry.grant);
        let ok = grant.bucket.take(requested as f64, &faults);
        (ok, grant.bucket.level(&faults))
    };
    if !admitted.0 {
        return Json(json!({
            "errors": [{
                "message": "Throttled",
                "extensions": { "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits" },
            }],
            "extensions": { "cost": { "requestedQueryCost": requested, "actualQueryCost": null, "throttleStatus": status(admitted.1) } },
        }))
        .into_response();
    }

    let tag_changes = Arc::new(crate::graphql::TagChanges::default());
    let data = RequestData {
        shop: Arc::new(Arc::clone(&entry.data).read_owned().await),
        sim: Arc::clone(&sim),
        entry: Arc::clone(&entry),
        bulk: false,
        partition: None,
        version,
        scopes,
        tag_changes: Arc::clone(&tag_changes),
    };
    let mut gql = async_graphql::Request::new(request.query)
        .variables(variables)
        .data(data);
    if let Some(name) = request.operation_name {
        gql = gql.operation_name(name);
    }
    let response = schema_once().execute(gql).await;
    // The request's read of the shop has ended: apply what it asked to change.
    let changes = tag_changes.take();
    if !changes.is_empty() {
        let now = chrono::Utc::now();
        let caused: Vec<_> = {
            let mut shop = entry.data.write().await;
            changes.iter().filter_map(|c| shop.retag(c, now)).collect()
        };
        let deliveries = crate::webhooks::plan(&sim, &shop, &caused);
        let sim = Arc::clone(&sim);
        tokio::spawn(async move { crate::webhooks::deliver_all(&sim, deliveries).await });
    }
    let mut body = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
    // The root `data` object is not a field; a mutation's flat cost is always spent.
    let touched = body
        .get("data")
        .map_or(0, |data| actual_cost(data).saturating_sub(1));
    let actual = (touched + mutation_cost).min(requested);
    let available = {
        let mut grant = lock(&entry.grant);
        grant.bucket.refund((requested - actual) as f64, &faults);
        grant.bucket.level(&faults)
    };
    if let Some(object) = body.as_object_mut() {
        object.insert(
            "extensions".to_owned(),
            json!({ "cost": { "requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status(available) } }),
        );
    }
    Json(body).into_response()
}

/// Shopify's calculated cost: scalars 0, objects 1, connections 2 plus their page size times
/// the cost of one node, mutations 10. Returns the cost and the mutation's flat part.
pub fn requested_cost(
    document: &ExecutableDocument,
    operation: Option<&str>,
    variables: &Variables,
) -> (u64, u64) {
    let op = match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) => ops.values().next().map(|op| &op.node),
    };
    let Some(op) = op else { return (0, 0) };
    let base = if op.ty == OperationType::Mutation {
        10
    } else {
        0
    };
    (
        base + selection_cost(document, &op.selection_set.node, variables),
        base,
    )
}

fn page_size(field: &async_graphql::parser::types::Field, variables: &Variables) -> Option<u64> {
    field.arguments.iter().find_map(|(name, value)| {
        if name.node != "first" && name.node != "last" {
            return None;
        }
        match &value.node {
            async_graphql_value::Value::Number(n) => n.as_u64(),
            async_graphql_value::Value::Variable(var) => {
                match variables.get(&Name::new(var.as_str())) {
                    Some(Value::Number(n)) => n.as_u64(),
                    _ => None,
                }
            }
            _ => None,
        }
    })
}

fn selection_cost(document: &ExecutableDocument, set: &SelectionSet, variables: &Variables) -> u64 {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let children = &field.selection_set.node;
                if children.items.is_empty() {
                    return 0;
                }
                let inner = selection_cost(document, children, variables);
                match field.name.node.as_str() {
                    // Connection plumbing costs nothing itself.
                    "edges" | "node" if is_wrapper(field) => inner,
                    "pageInfo" => 0,
                    "nodes"
                        if page_size(field, variables).is_none() && field.arguments.is_empty() =>
                    {
                        inner
                    }
                    _ => match page_size(field, variables) {
                        Some(n) => 2 + n * (1 + inner),
                        None => 1 + inner,
                    },
                }
            }
            Selection::InlineFragment(fragment) => {
                selection_cost(document, &fragment.node.selection_set.node, variables)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| {
                    selection_cost(document, &fragment.node.selection_set.node, variables)
                }),
        })
        .sum()
}

fn is_wrapper(field: &async_graphql::parser::types::Field) -> bool {
    field.arguments.is_empty()
}

/// What the query really touched: every object returned, connections 2 more.
pub fn actual_cost(data: &serde_json::Value) -> u64 {
    match data {
        serde_json::Value::Object(map) => {
            let is_connection = ["pageInfo", "edges", "nodes"]
                .iter()
                .any(|key| map.contains_key(*key));
            let own = if is_connection { 2 } else { 1 };
            own + map
                .iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("pageInfo", _) => 0,
                    // An edge is plumbing: count its node only.
                    ("edges", serde_json::Value::Array(edges)) => edges
                        .iter()
                        .map(|edge| edge.get("node").map_or(0, actual_cost))
                        .sum(),
                    _ => actual_cost(value),
                })
                .sum::<u64>()
        }
        serde_json::Value::Array(items) => items.iter().map(actual_cost).sum(),
        _ => 0,
    }
}

/// `GET /_sim/bulk/{id}.jsonl`: a finished bulk operation's result.
pub async fn download_bulk(State(sim): State<Arc<Sim>>, Path(file): Path<String>) -> Response {
    let Some(id) = file
        .strip_suffix(".jsonl")
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let entries: Vec<_> = sim
        .shops
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .values()
        .cloned()
        .collect();
    for entry in entries {
        let result = lock(&entry.grant)
            .bulk
            .iter()
            .find(|op| op.id == id)
            .and_then(|op| op.result.clone());
        if let Some(result) = result {
            return ([(header::CONTENT_TYPE, "application/jsonl")], result).into_response();
        }
    }
    StatusCode::NOT_FOUND.into_response()
}
