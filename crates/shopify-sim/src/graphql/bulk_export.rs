//! Bulk operations: run a whole-connection query in the background and publish JSONL in
//! which nested connection items are separate lines pointing at their parent by `__parentId`.

use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, Field, OperationType, Selection, SelectionSet,
};
use async_graphql::Value as GqlValue;
use bytes::Bytes;
use chrono::Utc;
use serde_json::{json, Value};

use crate::graphql::{BulkOperationNode, BulkOperationUserErrorCode, RequestData};
use crate::model::gid;
use crate::shop::Change;
use crate::state::{lock, BulkOperation, ShopEntry, Sim};
use crate::webhooks;

/// Checks a bulk query as Shopify does when it is submitted, so that a query Shopify would
/// refuse is refused now, in `userErrors`, and never fails later as `INTERNAL_SERVER_ERROR`
/// (which Shopify keeps for transient failures):
/// - one operation, a query, whose only root field is a connection (not `node`/`nodes`);
/// - at most five connections in all, nested at most two levels below the root;
/// - a nested connection's parent selects `id` (the JSONL links children by it);
/// - every field and argument exists (the query runs once on a single root record).
pub async fn validate(request: &RequestData, query: &str) -> Result<(), String> {
    let document = async_graphql::parser::parse_query(query)
        .map_err(|err| format!("Invalid bulk query: {err}"))?;
    let op = match &document.operations {
        DocumentOperations::Single(op) => &op.node,
        DocumentOperations::Multiple(ops) if ops.len() == 1 => ops
            .values()
            .next()
            .map(|op| &op.node)
            .ok_or_else(|| "Bulk queries must contain exactly one operation".to_owned())?,
        DocumentOperations::Multiple(_) => {
            return Err("Bulk queries must contain exactly one operation".to_owned())
        }
    };
    if op.ty != OperationType::Query {
        return Err(
            "Bulk queries must be queries; use bulkOperationRunMutation for mutations".to_owned(),
        );
    }
    let roots: Vec<&Field> = fields(&op.selection_set.node);
    let [root] = roots.as_slice() else {
        return Err("Bulk queries must select exactly one top-level field".to_owned());
    };
    let name = root.name.node.as_str();
    if matches!(name, "node" | "nodes") || !selects_connection(root) {
        return Err(format!(
            "Bulk queries must select a connection at the top level; `{name}` is not one"
        ));
    }
    let mut connections = Vec::new();
    nested_connections(&root.selection_set.node, 1, &mut connections)?;
    if connections.len() + 1 > MAX_CONNECTIONS {
        return Err(format!(
            "Bulk queries cannot contain more than {MAX_CONNECTIONS} connections"
        ));
    }
    if let Some((field, depth)) = connections.iter().find(|(_, depth)| *depth > MAX_NESTING) {
        return Err(format!(
            "Bulk queries cannot nest connections more than {MAX_NESTING} levels deep; `{field}` is {depth}"
        ));
    }
    // The fields themselves: run the query on one root record.
    let data = RequestData {
        shop: Arc::clone(&request.shop),
        sim: Arc::clone(&request.sim),
        entry: Arc::clone(&request.entry),
        bulk: true,
        partition: Some((0, usize::MAX)),
        version: request.version.clone(),
        scopes: String::new(),
        tag_changes: Default::default(),
    };
    let response = super::schema_once()
        .execute(async_graphql::Request::new(query.to_owned()).data(data))
        .await;
    match response.errors.first() {
        Some(error) => Err(format!("Invalid bulk query: {}", error.message)),
        None => Ok(()),
    }
}

/// Shopify's limits on a bulk query's connections.
const MAX_CONNECTIONS: usize = 5;
const MAX_NESTING: usize = 2;

fn fields(set: &SelectionSet) -> Vec<&Field> {
    set.items
        .iter()
        .filter_map(|item| match &item.node {
            Selection::Field(field) => Some(&field.node),
            _ => None,
        })
        .collect()
}

/// A connection is a field selecting `edges` or `nodes`.
fn selects_connection(field: &Field) -> bool {
    fields(&field.selection_set.node)
        .iter()
        .any(|f| matches!(f.name.node.as_str(), "edges" | "nodes"))
}

/// The connections below a selection, with their depth below the root connection; a
/// connection's parent must select `id`.
fn nested_connections(
    set: &SelectionSet,
    depth: usize,
    out: &mut Vec<(String, usize)>,
) -> Result<(), String> {
    for field in fields(set) {
        let name = field.name.node.as_str();
        let inner = &field.selection_set.node;
        if matches!(name, "edges" | "node" | "nodes") {
            nested_connections(inner, depth, out)?;
        } else if selects_connection(field) {
            if !fields(set).iter().any(|f| f.name.node.as_str() == "id") {
                return Err(format!(
                    "The parent of the nested connection `{name}` must select `id`"
                ));
            }
            out.push((name.to_owned(), depth));
            nested_connections(inner, depth + 1, out)?;
        } else {
            nested_connections(inner, depth, out)?;
        }
    }
    Ok(())
}

/// Starts a bulk query that [`validate`] accepted; the error is a `userErrors` message.
pub fn start(
    request: &RequestData,
    query: String,
    grouped: bool,
) -> Result<BulkOperationNode, (BulkOperationUserErrorCode, String)> {
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
    tokio::spawn(async move { run(sim, entry, id, query, version, grouped).await });
    Ok(node)
}

async fn run(
    sim: Arc<Sim>,
    entry: Arc<ShopEntry>,
    id: i64,
    query: String,
    version: String,
    grouped: bool,
) {
    wait_for_turn(&entry, id).await;
    set(&entry, id, |op| op.status = "RUNNING");
    let hold = sim.faults().bulk_delay_ms;
    if hold > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(hold)).await;
    }
    let shop = Arc::new(Arc::clone(&entry.data).read_owned().await);
    let domain = shop.domain.clone();
    let started = std::time::Instant::now();
    // Export the root connection in contiguous parts, one per core, then join them in order.
    let parts = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let mut tasks = Vec::with_capacity(parts);
    for part in 0..parts {
        let data = RequestData {
            shop: Arc::clone(&shop),
            sim: Arc::clone(&sim),
            entry: Arc::clone(&entry),
            bulk: true,
            partition: Some((part, parts)),
            version: version.clone(),
            // Exports read records only; no report runs inside one.
            scopes: String::new(),
            tag_changes: Default::default(),
        };
        let request = async_graphql::Request::new(query.clone()).data(data);
        // Exporting is long and CPU-bound, with few points to yield at: it runs on a thread
        // of its own so the API and everything else on the runtime stay responsive (as
        // Shopify's do while an export runs).
        let runtime = tokio::runtime::Handle::current();
        tasks.push(tokio::task::spawn_blocking(move || {
            let response = runtime.block_on(super::schema_once().execute(request));
            if response.errors.is_empty() {
                Some(to_jsonl(&response.data, grouped))
            } else {
                tracing::warn!(errors = ?response.errors, "bulk query failed");
                None
            }
        }));
    }
    let mut result = Some((Vec::new(), 0, 0));
    for task in tasks {
        match (task.await.ok().flatten(), result.as_mut()) {
            (Some((bytes, objects, roots)), Some((all, all_objects, all_roots))) => {
                all.extend_from_slice(&bytes);
                *all_objects += objects;
                *all_roots += roots;
            }
            _ => result = None,
        }
    }
    drop(shop);
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        parts,
        "bulk file written"
    );
    let now = Utc::now();
    set(&entry, id, |op| {
        op.completed_at = Some(now);
        match result {
            Some((bytes, objects, roots)) => {
                op.status = "COMPLETED";
                op.object_count = objects;
                op.root_object_count = roots;
                op.result = Some(Bytes::from(bytes));
            }
            None => {
                op.status = "FAILED";
                op.error_code = Some("INTERNAL_SERVER_ERROR");
            }
        }
    });
    entry.bulk_built.notify_waiters();
    let completed = lock(&entry.grant)
        .bulk
        .iter()
        .any(|op| op.id == id && op.status == "COMPLETED");
    let payload = json!({
        "admin_graphql_api_id": gid("BulkOperation", id),
        "completed_at": now.to_rfc3339(),
        "created_at": now.to_rfc3339(),
        "error_code": if completed { Value::Null } else { json!("internal_server_error") },
        "status": if completed { "completed" } else { "failed" },
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

/// Waits until every export of the shop asked for before `id` has been built.
async fn wait_for_turn(entry: &ShopEntry, id: i64) {
    loop {
        // Listening before looking, so a build that ends in between is not missed.
        let built = entry.bulk_built.notified();
        tokio::pin!(built);
        built.as_mut().enable();
        let turn = lock(&entry.grant)
            .bulk
            .iter()
            .take_while(|op| op.id != id)
            .all(|op| !matches!(op.status, "CREATED" | "RUNNING"));
        if turn {
            return;
        }
        built.await;
    }
}

fn set(entry: &ShopEntry, id: i64, change: impl FnOnce(&mut BulkOperation)) {
    if let Some(op) = lock(&entry.grant).bulk.iter_mut().find(|op| op.id == id) {
        change(op);
    }
}

fn connection_nodes(connection: &GqlValue) -> Vec<&GqlValue> {
    let GqlValue::Object(map) = connection else {
        return Vec::new();
    };
    match (map.get("edges"), map.get("nodes")) {
        (Some(GqlValue::List(edges)), _) => edges
            .iter()
            .filter_map(|edge| match edge {
                GqlValue::Object(edge) => edge.get("node"),
                _ => None,
            })
            .collect(),
        (_, Some(GqlValue::List(nodes))) => nodes.iter().collect(),
        _ => Vec::new(),
    }
}

fn is_connection(value: &GqlValue) -> bool {
    matches!(value, GqlValue::Object(map)
        if matches!(map.get("edges"), Some(GqlValue::List(_))) || matches!(map.get("nodes"), Some(GqlValue::List(_))))
}

/// Flattens a response: one line per node, written straight from the response tree.
/// Grouped, children follow their parent; ungrouped (as Shopify may answer from API 2026-01),
/// every root comes first and the children after them all. Returns the file, the number of
/// objects and of root objects.
pub fn to_jsonl(data: &GqlValue, grouped: bool) -> (Vec<u8>, u64, u64) {
    let mut out = Vec::new();
    let mut later = Vec::new();
    let mut objects = 0;
    let mut roots = 0;
    if let Some(root) = match data {
        GqlValue::Object(map) => map.values().next(),
        _ => None,
    } {
        for node in connection_nodes(root) {
            roots += 1;
            let children = if grouped { None } else { Some(&mut later) };
            emit(node, None, &mut out, children, &mut objects);
        }
    }
    out.extend_from_slice(&later);
    (out, objects, roots)
}

/// Writes `node` and its descendants: into `out`, or the descendants into `children` when
/// given.
fn emit(
    node: &GqlValue,
    parent: Option<&GqlValue>,
    out: &mut Vec<u8>,
    children: Option<&mut Vec<u8>>,
    objects: &mut u64,
) {
    let GqlValue::Object(map) = node else { return };
    out.push(b'{');
    let mut first = true;
    let mut field = |out: &mut Vec<u8>, key: &str, value: &GqlValue| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        // Writing to a Vec cannot fail, and every GraphQL value serialises.
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, value);
    };
    for (key, value) in map {
        if !is_connection(value) {
            field(out, key.as_str(), value);
        }
    }
    if let Some(parent) = parent {
        field(out, "__parentId", parent);
    }
    out.extend_from_slice(b"}\n");
    *objects += 1;
    let id = map.get("id");
    let out = children.unwrap_or(out);
    for value in map.values().filter(|value| is_connection(value)) {
        for child in connection_nodes(value) {
            emit(child, id, out, None, objects);
        }
    }
}
