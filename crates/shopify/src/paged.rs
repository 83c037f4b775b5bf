//! Paged exports: the fallback when Shopify will not run a bulk export (bulk operations are
//! only open to some access tokens, and an export can fail). Each bulk document is turned into
//! a paged one, so both ways select the same fields and map to the same records: the root
//! connection is paged by cursor, nested connections come a few at a time with each parent,
//! and a parent with more than that is followed through `node(id:)` until it is complete.
//! The result reaches the sink in the shape a bulk file has: each root with its children.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::admin::AdminClient;
use crate::bulk::{self, AsyncSink};
use crate::ShopifyError;

/// A bulk export document turned into pages.
#[derive(Debug)]
pub struct PagedExport {
    /// The root connection, as in `orders`.
    root: String,
    page: &'static str,
    nested: Vec<Nested>,
}

/// A connection nested in each root node.
#[derive(Debug)]
struct Nested {
    /// Field names from a root node to the connection, as in `["refunds", "refundLineItems"]`.
    path: Vec<String>,
    /// Pages of one parent's connection past the first.
    more: &'static str,
}

/// How many records a page asks for.
#[derive(Debug, Clone, Copy)]
pub struct PageSizes {
    /// Root records per page to begin with; fewer when Shopify says the query would cost
    /// more than a single query may.
    pub first: u32,
    /// Records of each nested connection that come with their parent.
    pub nested: u32,
}

impl Default for PageSizes {
    fn default() -> Self {
        // Most orders have a handful of lines: five keep a page of orders cheap, and the rare
        // bigger one is followed up on its own.
        Self {
            first: 250,
            nested: 5,
        }
    }
}

const PAGE_INFO: &str = "pageInfo { hasNextPage endCursor }";

/// Documents built once for the life of the process: the Admin client's cost ledger keys its
/// estimates by document.
fn leak(document: String) -> &'static str {
    Box::leak(document.into_boxed_str())
}

pub static CUSTOMERS: LazyLock<PagedExport> =
    LazyLock::new(|| PagedExport::of(bulk::CUSTOMERS, &[]));
pub static PRODUCTS: LazyLock<PagedExport> =
    LazyLock::new(|| PagedExport::of(bulk::PRODUCTS, &[("variants", "Product")]));
pub static ORDERS: LazyLock<PagedExport> = LazyLock::new(|| {
    PagedExport::of(
        bulk::ORDERS,
        &[
            ("lineItems", "Order"),
            ("refundLineItems", "Refund"),
            ("refundShippingLines", "Refund"),
        ],
    )
});
pub static ABANDONED_CHECKOUTS: LazyLock<PagedExport> = LazyLock::new(|| {
    PagedExport::of(
        bulk::ABANDONED_CHECKOUTS,
        &[("lineItems", "AbandonedCheckout")],
    )
});
pub static CUSTOMER_IDS: LazyLock<PagedExport> =
    LazyLock::new(|| PagedExport::of(bulk::CUSTOMER_IDS, &[]));
pub static PRODUCT_IDS: LazyLock<PagedExport> =
    LazyLock::new(|| PagedExport::of(bulk::PRODUCT_IDS, &[]));
pub static ORDER_IDS: LazyLock<PagedExport> =
    LazyLock::new(|| PagedExport::of(bulk::ORDER_IDS, &[]));

impl PagedExport {
    /// Turns one of the bulk documents (one field per line, a selection's `{` ending its
    /// line) into pages. `owners` names the type holding each nested connection, for the
    /// `node(id:)` that follows one parent's connection past its first page.
    ///
    /// # Panics
    /// On a nested connection missing from `owners`: the documents are the crate's own, and
    /// a test turns every one.
    pub fn of(bulk: &str, owners: &[(&str, &str)]) -> Self {
        let lines: Vec<&str> = bulk.lines().collect();
        let name = lines
            .first()
            .and_then(|l| l.trim().strip_prefix("query "))
            .and_then(|l| l.strip_suffix(" {"))
            .map_or("Export", |n| n.trim_start_matches("Bulk"));
        let mut root = String::new();
        let mut nested = Vec::new();
        let mut body = Vec::new();
        // The fields open at the current line, from the root connection down.
        let mut open: Vec<String> = Vec::new();
        for (i, line) in lines.iter().enumerate().skip(1) {
            let trimmed = line.trim();
            let indent = &line[..line.len() - line.trim_start().len()];
            if trimmed == "}" {
                open.pop();
                body.push((*line).to_owned());
                continue;
            }
            let Some(head) = trimmed.strip_suffix(" {") else {
                body.push((*line).to_owned());
                continue;
            };
            let field = head.split('(').next().unwrap_or(head).trim().to_owned();
            let is_connection = lines
                .get(i + 1)
                .is_some_and(|next| matches!(next.trim(), "edges {" | "nodes {"));
            if !is_connection {
                body.push((*line).to_owned());
            } else if open.is_empty() {
                root.clone_from(&field);
                body.push(format!(
                    "{indent}{field}(first: $first, after: $after, query: $query) {{"
                ));
                body.push(format!("{indent}  {PAGE_INFO}"));
            } else {
                let owner = owners
                    .iter()
                    .find(|(connection, _)| *connection == field)
                    .map(|(_, owner)| *owner)
                    .unwrap_or_else(|| panic!("no owner type for the nested connection {field}"));
                let selection = block(&lines, i).join("\n");
                // Below the root's `edges { node {`.
                let mut path: Vec<String> = open.iter().skip(3).cloned().collect();
                path.push(field.clone());
                let more = format!(
                    "query {name}More{n}($id: ID!, $first: Int!, $after: String) {{\n  node(id: $id) {{\n    ... on {owner} {{\n      {field}(first: $first, after: $after) {{\n        {PAGE_INFO}\n{selection}\n      }}\n    }}\n  }}\n}}\n",
                    n = nested.len() + 1,
                );
                nested.push(Nested {
                    path,
                    more: leak(more),
                });
                body.push(format!("{indent}{field}(first: $nested) {{"));
                body.push(format!("{indent}  {PAGE_INFO}"));
            }
            open.push(field);
        }
        let nested_variable = if nested.is_empty() {
            ""
        } else {
            ", $nested: Int!"
        };
        let page = format!(
            "query Paged{name}($first: Int!, $after: String, $query: String{nested_variable}) {{\n{}\n",
            body.join("\n")
        );
        Self {
            root,
            page: leak(page),
            nested,
        }
    }

    /// Every document the export may send: its pages and their follow-ups.
    pub fn documents(&self) -> Vec<&'static str> {
        std::iter::once(self.page)
            .chain(self.nested.iter().map(|n| n.more))
            .collect()
    }
}

/// The lines inside the selection that opens on line `at`.
fn block<'a>(lines: &[&'a str], at: usize) -> Vec<&'a str> {
    let mut depth = 0_i32;
    let mut inside = Vec::new();
    for line in &lines[at..] {
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if depth <= 0 {
            break;
        }
        inside.push(*line);
    }
    inside.into_iter().skip(1).collect()
}

impl AdminClient {
    /// Exports page by page what `export`'s bulk document would, limited by a Shopify
    /// `search` when given, handing each page to `sink` as roots with their children.
    /// Returns the sink and when the first page was answered, by Shopify's clock: pages go
    /// by ascending id, so a record that existed then and is missing was deleted.
    pub async fn paged_export<S: AsyncSink>(
        &self,
        export: &PagedExport,
        search: Option<&str>,
        sizes: PageSizes,
        mut sink: S,
    ) -> Result<(S, Option<DateTime<Utc>>), ShopifyError> {
        let mut first = sizes.first.max(1);
        let mut after: Option<String> = None;
        let mut began = None;
        loop {
            let variables =
                json!({ "after": after, "query": search, "nested": sizes.nested.max(1) });
            let (mut data, date) = self
                .affordable_page(export.page, variables, &mut first)
                .await?;
            began = began.or(date);
            let connection = data[export.root.as_str()].take();
            let mut batch = Vec::new();
            for mut node in connection_nodes(&connection) {
                for nested in &export.nested {
                    self.complete(&mut node, nested, sizes.first.max(1)).await?;
                }
                batch.push(children_apart(node, &export.nested));
            }
            if !batch.is_empty() {
                sink.accept(batch).await?;
            }
            match next_cursor(&connection) {
                Some(cursor) => after = Some(cursor),
                None => return Ok((sink, began)),
            }
        }
    }

    /// One page of `document` with `first` records, or as many fewer as keep the query
    /// within the most a single query may cost (remembered for the pages after).
    async fn affordable_page(
        &self,
        document: &'static str,
        mut variables: Value,
        first: &mut u32,
    ) -> Result<(Value, Option<DateTime<Utc>>), ShopifyError> {
        loop {
            variables["first"] = json!(*first);
            match self.dated_query::<Value>(document, variables.clone()).await {
                Err(ShopifyError::TooCostly { cost, max }) if *first > 1 => {
                    let fits = u64::from(*first) * max / cost.max(1);
                    *first = u32::try_from(fits).unwrap_or(1).clamp(1, *first - 1);
                }
                answer => return answer,
            }
        }
    }

    /// Fetches the rest of `nested` for every parent in `node` with more than a page.
    async fn complete(
        &self,
        node: &mut Value,
        nested: &Nested,
        first: u32,
    ) -> Result<(), ShopifyError> {
        let Some((field, to_parent)) = nested.path.split_last() else {
            return Ok(());
        };
        let mut parents = Vec::new();
        parents_at(node, to_parent, &mut parents);
        for parent in parents {
            let mut first = first;
            let id = parent["id"].clone();
            while let Some(after) = next_cursor(&parent[field.as_str()]) {
                let variables = json!({ "id": id, "after": after });
                let (mut data, _) = self
                    .affordable_page(nested.more, variables, &mut first)
                    .await?;
                let more = data["node"][field.as_str()].take();
                let connection = &mut parent[field.as_str()];
                for list in ["edges", "nodes"] {
                    if let (Some(have), Some(extra)) = (
                        connection.get_mut(list).and_then(Value::as_array_mut),
                        more.get(list).and_then(Value::as_array),
                    ) {
                        have.extend(extra.iter().cloned());
                    }
                }
                connection["pageInfo"] = more["pageInfo"].clone();
            }
        }
        Ok(())
    }
}

/// The objects `path` leads to from `value`, through lists as through objects.
fn parents_at<'a>(value: &'a mut Value, path: &[String], out: &mut Vec<&'a mut Value>) {
    let Some((head, rest)) = path.split_first() else {
        out.push(value);
        return;
    };
    match value.get_mut(head.as_str()) {
        Some(Value::Array(items)) => {
            for item in items {
                parents_at(item, rest, out);
            }
        }
        Some(inner @ Value::Object(_)) => parents_at(inner, rest, out),
        _ => {}
    }
}

/// The nodes of a connection answered with `edges { node }` or `nodes`.
fn connection_nodes(connection: &Value) -> Vec<Value> {
    if let Some(edges) = connection["edges"].as_array() {
        edges.iter().map(|edge| edge["node"].clone()).collect()
    } else {
        connection["nodes"].as_array().cloned().unwrap_or_default()
    }
}

/// The cursor after a connection's page when there are more.
fn next_cursor(connection: &Value) -> Option<String> {
    let info = &connection["pageInfo"];
    (info["hasNextPage"] == true)
        .then(|| info["endCursor"].as_str().map(str::to_owned))
        .flatten()
}

/// A root node as a bulk file has it: its own connections taken out as children (nested
/// ones deeper down stay in place, as a bulk file keeps them).
fn children_apart(mut node: Value, nested: &[Nested]) -> (Value, Vec<Value>) {
    let mut children = Vec::new();
    for nested in nested.iter().filter(|n| n.path.len() == 1) {
        if let Some(connection) = node
            .as_object_mut()
            .and_then(|fields| fields.remove(&nested.path[0]))
        {
            children.extend(connection_nodes(&connection));
        }
    }
    (node, children)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bulk_document_pages_its_root_and_nested_connections() {
        let orders = &*ORDERS;
        assert_eq!(orders.root, "orders");
        assert!(orders.page.starts_with(
            "query PagedOrders($first: Int!, $after: String, $query: String, $nested: Int!) {"
        ));
        assert!(orders
            .page
            .contains("orders(first: $first, after: $after, query: $query) {"));
        assert!(orders.page.contains("lineItems(first: $nested) {"));
        assert!(orders.page.contains("refundLineItems(first: $nested) {"));
        let paths: Vec<_> = orders.nested.iter().map(|n| n.path.join(".")).collect();
        assert_eq!(
            paths,
            [
                "refunds.refundLineItems",
                "refunds.refundShippingLines",
                "lineItems"
            ]
        );
        assert!(orders.nested[0].more.contains("... on Refund {"));
        assert!(orders.nested[1].more.contains("... on Refund {"));
        assert!(orders.nested[2].more.contains("... on Order {"));
        for export in [
            &*CUSTOMERS,
            &*PRODUCTS,
            &*ABANDONED_CHECKOUTS,
            &*CUSTOMER_IDS,
            &*PRODUCT_IDS,
            &*ORDER_IDS,
        ] {
            assert!(!export.root.is_empty());
            for document in export.documents() {
                // Balanced, and every selection the bulk document had is still there.
                assert_eq!(
                    document.matches('{').count(),
                    document.matches('}').count(),
                    "{document}"
                );
            }
        }
        assert_eq!(PRODUCTS.nested.len(), 1);
        assert!(CUSTOMERS.nested.is_empty() && !CUSTOMERS.page.contains("$nested"));
    }
}
