//! The audit log: who did what to the tenant, when and from where, newest first.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries per page, 1–250 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    id: Uuid,
    at: DateTime<Utc>,
    /// The person who acted (for an API key, its creator).
    actor_user: Option<Uuid>,
    actor_email: Option<String>,
    /// The API key that acted, if one did.
    actor_key: Option<Uuid>,
    /// `resource.verb`: `store.connect`, `store.disconnect`, `store.delete`, `sync.start`,
    /// `event.replay`, `segment.export`, `member.invite`, `member.join`, `member.role`,
    /// `member.remove`, `member.leave`, `member.email`, `member.password`,
    /// `member.invitation_revoke`, `segment.tag_on`, `segment.tag_off`, `tenant.transfer`,
    /// `tenant.export`, `key.create`, `key.revoke`, `auth.failures`.
    action: String,
    subject: Option<String>,
    #[schema(value_type = Object)]
    detail: serde_json::Value,
    address: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    data: Vec<AuditOut>,
    next_cursor: Option<String>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "members",
    params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, description = "a bad cursor or limit", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_audit(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = i64::from(crate::paging::page_limit(query.limit)?);
    let after = query
        .cursor
        .as_deref()
        .map(crate::paging::decode_cursor::<(DateTime<Utc>, Uuid)>)
        .transpose()?;
    let rows = state
        .db
        .list_audit(caller.tenant_id, after, limit + 1)
        .await?;
    let more = rows.len() as i64 > limit;
    let data: Vec<AuditOut> = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| AuditOut {
            id: r.audit_id,
            at: r.at,
            actor_user: r.actor_user,
            actor_email: r.actor_email,
            actor_key: r.actor_key,
            action: r.action,
            subject: r.subject,
            detail: r.detail.0,
            address: r.address,
        })
        .collect();
    let next_cursor = match (more, data.last()) {
        (true, Some(last)) => Some(crate::paging::encode_cursor(&(last.at, last.id))),
        _ => None,
    };
    Ok(Json(AuditPage { data, next_cursor }))
}
