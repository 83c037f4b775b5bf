//! Bulk operations: run a whole-connection query in the background and publish JSONL in
//! which nested connection items are separate lines pointing at their parent by `__parentId`.

use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use bytes::Bytes;
use chrono::Utc;
use serde_json::{json, Map, Value};

use crate::graphql::{BulkOperationNode, BulkOperationUserErrorCode, RequestData};
use crate::model::gid;
use crate::shop::Change;
use crate::state::{lock, BulkOperation, ShopEntry, Sim};
use crate::webhooks;

/// Validates and starts a bulk query; the error is a `userErrors` message.
pub fn start(
    request: &RequestData,
    query: String,
) -> Result<BulkOperationNode, (BulkOperationUserErrorCode, String)> {
    let invalid = |message: String| (BulkOperationUserErrorCode::Invalid, message);
    let document = async_graphql::parser::parse_query(&query)
        .map_err(|err| invalid(format!("Invalid bulk query: {err}")))?;
    let op = match &document.operations {
        DocumentOperations::Single(op) => &op.node,
        DocumentOperations::Multiple(_) => {
            return Err(invalid(
                "Bulk queries must contain exactly one operation".to_owned(),
            ))
        }
    };
    if op.ty != OperationType::Query {
        return Err(invalid(
            "Bulk queries must be queries; use bulkOperationRunMutation for mutations".to_owned(),
        ));
    }
    let roots: Vec<_> = op
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|item| match &item.node {
            Selection::Field(field) => Some(field.node.name.node.to_string()),
            _ => None,
        })
        .collect();
    const CONNECTIONS: [&str; 4] = ["orders", "customers", "products", "abandonedCheckouts"];
    if roots.len() != 1 || !CONNECTIONS.contains(&roots[0].as_str()) {
        return Err(invalid(format!(
            "Bulk queries must select exactly one top-level connection, one of {CONNECTIONS:?}"
        )));
    }

    // Up to API 2025-10 one bulk query runs at a time; from 2026-01, five.
    let limit = if request.version.as_str() >= "2026-01" {
        5
    } else {
        1
    };
    let id = request.sim.next_id();
    let node = {
        let mut grant = lock(&request.entry.grant);
        let running = grant
            .bulk
            .iter()
            .filter(|op| matches!(op.status, "CREATED" | "RUNNING"))
            .count();
        if running >= limit {
            return Err((
                BulkOperationUserErrorCode::OperationInProgress,
                "A bulk query operation for this app and shop is already in progress".to_owned(),
            ));
        }
        let operation = BulkOperation {
            id,
            status: "CREATED",
            query: query.clone(),
            created_at: Utc::now(),
            completed_at: None,
            object_count: 0,
            root_object_count: 0,
            error_code: None,
            result: None,
        };
        let node = BulkOperationNode::from_state(&operation, &request.sim.base_url);
        grant.bulk.push(operation);
        node
    };
    let sim = Arc::clone(&request.sim);
    let entry = Arc::clone(&request.entry);
    let version = request.version.clone();
    tokio::spawn(async move { run(sim, entry, id, query, version).await });
    Ok(node)
}

async fn run(sim: Arc<Sim>, entry: Arc<ShopEntry>, id: i64, query: String, version: String) {
    set(&entry, id, |op| op.status = "RUNNING");
    let shop = Arc::new(Arc::clone(&entry.data).read_owned().await);
    let domain = shop.domain.clone();
    let data = RequestData {
        shop,
        sim: Arc::clone(&sim),
        entry: Arc::clone(&entry),
        bulk: true,
        version,
    };
    let response = crate::admin::schema_once()
        .execute(async_graphql::Request::new(query).data(data))
        .await;
    let outcome = if response.errors.is_empty() {
        serde_json::to_value(&response.data)
            .ok()
            .map(|data| tokio::task::spawn_blocking(move || to_jsonl(&data)))
    } else {
        tracing::warn!(errors = ?response.errors, "bulk query failed");
        None
    };
    let result = match outcome {
        Some(task) => task.await.ok(),
        None => None,
    };
    let now = Utc::now();
    set(&entry, id, |op| {
        op.completed_at = Some(now);
        match &result {
            Some((bytes, objects, roots)) => {
                op.status = "COMPLETED";
                op.object_count = *objects;
                op.root_object_count = *roots;
                op.result = Some(bytes.clone());
            }
            None => {
                op.status = "FAILED";
                op.error_code = Some("INTERNAL_SERVER_ERROR");
            }
        }
    });
    let payload = json!({
        "admin_graphql_api_id": gid("BulkOperation", id),
        "completed_at": now.to_rfc3339(),
        "created_at": now.to_rfc3339(),
        "error_code": if result.is_some() { Value::Null } else { json!("internal_server_error") },
        "status": if result.is_some() { "completed" } else { "failed" },
        "type": "query",
    });
    let deliveries = webhooks::plan(
        &sim,
        &domain,
        &[Change {
            topic: "bulk_operations/finish",
            payload,
        }],
    );
    webhooks::deliver_all(&sim, deliveries).await;
}

fn set(entry: &ShopEntry, id: i64, change: impl FnOnce(&mut BulkOperation)) {
    if let Some(op) = lock(&entry.grant).bulk.iter_mut().find(|op| op.id == id) {
        change(op);
    }
}

fn connection_nodes(connection: &Value) -> Vec<&Value> {
    if let Some(Value::Array(edges)) = connection.get("edges") {
        edges.iter().filter_map(|edge| edge.get("node")).collect()
    } else if let Some(Value::Array(nodes)) = connection.get("nodes") {
        nodes.iter().collect()
    } else {
        Vec::new()
    }
}

fn is_connection(value: &Value) -> bool {
    matches!(value.get("edges"), Some(Value::Array(_)))
        || matches!(value.get("nodes"), Some(Value::Array(_)))
}

/// Flattens the response: one line per node, children after their parent.
/// Returns the file, the number of objects and the number of root objects.
pub fn to_jsonl(data: &Value) -> (Bytes, u64, u64) {
    let mut out = Vec::new();
    let mut objects = 0;
    let mut roots = 0;
    if let Some(root) = data.as_object().and_then(|map| map.values().next()) {
        for node in connection_nodes(root) {
            roots += 1;
            emit(node, None, &mut out, &mut objects);
        }
    }
    (Bytes::from(out), objects, roots)
}

fn emit(node: &Value, parent: Option<&Value>, out: &mut Vec<u8>, objects: &mut u64) {
    let Some(map) = node.as_object() else { return };
    let mut line = Map::with_capacity(map.len() + 1);
    let mut children = Vec::new();
    for (key, value) in map {
        if is_connection(value) {
            children.push(value);
        } else {
            line.insert(key.clone(), value.clone());
        }
    }
    if let Some(parent) = parent {
        line.insert("__parentId".to_owned(), parent.clone());
    }
    let id = line.get("id").cloned();
    if serde_json::to_writer(&mut *out, &line).is_ok() {
        out.push(b'\n');
        *objects += 1;
    }
    for child in children {
        for item in connection_nodes(child) {
            emit(item, id.as_ref(), out, objects);
        }
    }
}
