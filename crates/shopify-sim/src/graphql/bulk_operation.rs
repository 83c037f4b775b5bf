//! Bulk operations: status, listing, and `bulkOperationRunQuery`.

use super::*;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BulkOperationStatus", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum BulkOperationStatus {
    Canceled,
    Canceling,
    Completed,
    Created,
    Expired,
    Failed,
    Running,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BulkOperationErrorCode", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum BulkOperationErrorCode {
    AccessDenied,
    InternalServerError,
    Timeout,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BulkOperationsSortKeys", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum BulkOperationsSortKeys {
    CompletedAt,
    CreatedAt,
}

/// The statuses a `bulkOperations(query:)` names (`status:RUNNING OR status:CREATED`);
/// `None` for no filter. Other terms are refused rather than ignored.
pub(crate) fn bulk_status_filter(query: Option<&str>) -> Result<Option<Vec<String>>> {
    let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    query
        .split(" OR ")
        .map(|term| {
            term.trim()
                .strip_prefix("status:")
                .map(str::to_uppercase)
                .ok_or_else(|| {
                    Error::new(format!(
                        "the simulator filters bulk operations by status only, not `{term}`"
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BulkOperationType", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum BulkOperationType {
    Mutation,
    Query,
}

/// A snapshot of a bulk operation for the API.
pub struct BulkOperationNode {
    pub id: i64,
    pub status: &'static str,
    pub error_code: Option<&'static str>,
    pub created_at: chrono::DateTime<Utc>,
    pub completed_at: Option<chrono::DateTime<Utc>>,
    pub object_count: u64,
    pub root_object_count: u64,
    pub file_size: Option<u64>,
    pub url: Option<String>,
    pub query: String,
}

impl BulkOperationNode {
    pub fn from_state(op: &crate::state::BulkOperation, base_url: &str) -> Self {
        let has_data = op.result.as_ref().is_some_and(|r| !r.is_empty());
        Self {
            id: op.id,
            status: op.status,
            error_code: op.error_code,
            created_at: op.created_at,
            completed_at: op.completed_at,
            object_count: op.object_count,
            root_object_count: op.root_object_count,
            file_size: op.result.as_ref().map(|r| r.len() as u64),
            // Empty exports have no file, as on Shopify.
            url: has_data.then(|| format!("{base_url}/_sim/bulk/{}.jsonl", op.id)),
            query: op.query.clone(),
        }
    }
}

#[Object(name = "BulkOperation")]
impl BulkOperationNode {
    pub(crate) async fn id(&self) -> ID {
        ID(gid("BulkOperation", self.id))
    }
    async fn status(&self) -> BulkOperationStatus {
        match self.status {
            "CREATED" => BulkOperationStatus::Created,
            "RUNNING" => BulkOperationStatus::Running,
            "COMPLETED" => BulkOperationStatus::Completed,
            "CANCELED" => BulkOperationStatus::Canceled,
            "EXPIRED" => BulkOperationStatus::Expired,
            _ => BulkOperationStatus::Failed,
        }
    }
    async fn error_code(&self) -> Option<BulkOperationErrorCode> {
        self.error_code.map(|code| match code {
            "ACCESS_DENIED" => BulkOperationErrorCode::AccessDenied,
            "TIMEOUT" => BulkOperationErrorCode::Timeout,
            _ => BulkOperationErrorCode::InternalServerError,
        })
    }
    #[graphql(name = "type")]
    async fn kind(&self) -> BulkOperationType {
        BulkOperationType::Query
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.created_at.fixed_offset())
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.completed_at.map(|at| DateTime(at.fixed_offset()))
    }
    async fn object_count(&self) -> UnsignedInt64 {
        UnsignedInt64(self.object_count)
    }
    async fn root_object_count(&self) -> UnsignedInt64 {
        UnsignedInt64(self.root_object_count)
    }
    async fn file_size(&self) -> Option<UnsignedInt64> {
        self.file_size.map(UnsignedInt64)
    }
    async fn url(&self) -> Option<Url> {
        self.url.clone().map(Url)
    }
    async fn partial_data_url(&self) -> Option<Url> {
        None
    }
    async fn query(&self) -> &str {
        &self.query
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "BulkOperationUserErrorCode",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum BulkOperationUserErrorCode {
    Invalid,
    OperationInProgress,
}

#[derive(SimpleObject)]
#[graphql(name = "BulkOperationUserError")]
pub struct BulkOperationUserError {
    pub(crate) code: Option<BulkOperationUserErrorCode>,
    pub(crate) field: Option<Vec<String>>,
    pub(crate) message: String,
}

#[derive(SimpleObject)]
#[graphql(name = "BulkOperationRunQueryPayload")]
pub struct BulkOperationRunQueryPayload {
    pub(crate) bulk_operation: Option<BulkOperationNode>,
    pub(crate) user_errors: Vec<BulkOperationUserError>,
}

#[derive(Default)]
pub struct BulkOperationMutation;

#[Object]
impl BulkOperationMutation {
    async fn bulk_operation_run_query(
        &self,
        ctx: &Context<'_>,
        query: String,
        #[graphql(default = false)] group_objects: bool,
    ) -> Result<Option<BulkOperationRunQueryPayload>> {
        self.run_bulk_query(ctx, query, group_objects)
            .await
            .map(Some)
    }
}

impl BulkOperationMutation {
    pub(crate) async fn run_bulk_query(
        &self,
        ctx: &Context<'_>,
        query: String,
        group_objects: bool,
    ) -> Result<BulkOperationRunQueryPayload> {
        let request = data(ctx)?;
        if request.sim.faults().bulk_unavailable {
            return Err(coded_error(
                "Access denied for bulkOperationRunQuery field.",
                "ACCESS_DENIED",
            ));
        }
        // `groupObjects` came with API 2026-01, defaulting to false; before, exports were
        // always grouped (one schema serves every version here: asking for grouping from an
        // older version is refused as Shopify refuses the unknown argument).
        let grouped = if request.version.as_str() >= "2026-01" {
            group_objects
        } else if group_objects {
            return Err(Error::new(
                "Field 'bulkOperationRunQuery' doesn't accept argument 'groupObjects'",
            ));
        } else {
            true
        };
        let started = match bulk_export::validate(request, &query).await {
            Ok(()) => bulk_export::start(request, query, grouped),
            Err(message) => Err((BulkOperationUserErrorCode::Invalid, message)),
        };
        match started {
            Ok(node) => Ok(BulkOperationRunQueryPayload {
                bulk_operation: Some(node),
                user_errors: Vec::new(),
            }),
            Err((code, message)) => Ok(BulkOperationRunQueryPayload {
                bulk_operation: None,
                user_errors: vec![BulkOperationUserError {
                    code: Some(code),
                    field: Some(vec!["query".to_owned()]),
                    message,
                }],
            }),
        }
    }
}

#[derive(Default)]
pub struct BulkOperationQuery;

#[Object]
impl BulkOperationQuery {
    async fn bulk_operation(&self, ctx: &Context<'_>, id: ID) -> Result<Option<BulkOperationNode>> {
        let request = data(ctx)?;
        let wanted = parse_gid(&id).filter(|(kind, _)| *kind == "BulkOperation");
        let grant = lock(&request.entry.grant);
        Ok(wanted.and_then(|(_, id)| {
            grant
                .bulk
                .iter()
                .find(|op| op.id == id)
                .map(|op| BulkOperationNode::from_state(op, &request.sim.base_url))
        }))
    }

    /// The app's bulk operations on this shop; `query` filters by `status:` (terms joined
    /// with `OR`), the filter Shopify suggests in place of `currentBulkOperation`.
    #[allow(clippy::too_many_arguments)]
    async fn bulk_operations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        query: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(BulkOperationsSortKeys::CreatedAt)")] sort_key: Option<
            BulkOperationsSortKeys,
        >,
    ) -> Result<Connection<String, BulkOperationNode>> {
        let request = data(ctx)?;
        let statuses = bulk_status_filter(query.as_deref())?;
        let items = {
            let grant = lock(&request.entry.grant);
            grant
                .bulk
                .iter()
                .filter(|op| {
                    statuses
                        .as_ref()
                        .is_none_or(|s| s.iter().any(|s| s == op.status))
                })
                .map(|op| {
                    let at = match sort_key {
                        Some(BulkOperationsSortKeys::CompletedAt) => {
                            op.completed_at.unwrap_or(op.created_at)
                        }
                        _ => op.created_at,
                    };
                    (
                        at.timestamp_millis(),
                        op.id,
                        BulkOperationNode::from_state(op, &request.sim.base_url),
                    )
                })
                .collect()
        };
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: false,
            },
            |node| node,
        )
    }

    #[graphql(deprecation = "Use `bulkOperations` with status filter instead.")]
    async fn current_bulk_operation(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type", default_with = "Some(BulkOperationType::Query)")] _kind: Option<
            BulkOperationType,
        >,
    ) -> Result<Option<BulkOperationNode>> {
        let request = data(ctx)?;
        let grant = lock(&request.entry.grant);
        Ok(grant
            .bulk
            .last()
            .map(|op| BulkOperationNode::from_state(op, &request.sim.base_url)))
    }
}
