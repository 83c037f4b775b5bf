//! A tenant's members: their roles, removing one, and handing the tenant over.
//! Invitations are in `invitations`, the audit log in `audit`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;
use xeno_domain::account::Role;
use xeno_domain::ids::{TenantId, UserId};
use xeno_storage::members::Member;

use crate::audit::record;
use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    id: Uuid,
    email: String,
    /// `owner`, `admin`, `analyst` or `viewer`.
    role: String,
    joined_at: DateTime<Utc>,
}

impl From<Member> for MemberOut {
    fn from(m: Member) -> Self {
        Self {
            id: m.user_id,
            email: m.email,
            role: m.role,
            joined_at: m.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Members {
    data: Vec<MemberOut>,
}

/// The tenant's members, the owner first.
#[utoipa::path(get, path = "/api/members", tag = "members",
    security(("bearer" = [])),
    responses((status = 200, body = Members)))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<Members>, ApiError> {
    let members = state.db.list_members(caller.tenant_id).await?;
    Ok(Json(Members {
        data: members.into_iter().map(MemberOut::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleIn {
    /// `admin`, `analyst` or `viewer` (the owner's role moves only by handing over).
    role: String,
}

/// A role an admin may give: any but the owner's, and none above their own.
pub(crate) fn grantable(caller: &AuthUser, role: &str) -> Result<Role, ApiError> {
    let role = Role::parse(role)
        .filter(|role| *role != Role::Owner)
        .ok_or_else(|| ApiError::invalid("role", "must be admin, analyst or viewer"))?;
    if role > caller.role {
        return Err(ApiError::invalid(
            "role",
            format!("cannot be above your own ({})", caller.role.name()),
        ));
    }
    Ok(role)
}

/// The member's role, unless they are the owner (whose role only handing over changes).
async fn not_the_owner(state: &AppState, tenant: TenantId, user: Uuid) -> Result<String, ApiError> {
    match state.db.member_role(tenant, UserId(user)).await? {
        None => Err(ApiError::NotFound("no such member".to_owned())),
        Some(owner) if owner == "owner" => Err(ApiError::Conflict(
            "the owner stays the owner until they hand the tenant over".to_owned(),
        )),
        Some(role) => Ok(role),
    }
}

/// Gives a member another role; it holds from their next request (within seconds on other
/// servers).
#[utoipa::path(patch, path = "/api/members/{user_id}", tag = "members",
    params(("user_id" = Uuid, Path, description = "The member")),
    request_body = RoleIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MemberOut),
        (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the owner's role", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_member_role(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<RoleIn>,
) -> Result<Json<MemberOut>, ApiError> {
    let role = grantable(&caller, &input.role)?;
    let before = not_the_owner(&state, caller.tenant_id, user_id).await?;
    state
        .db
        .set_member_role(caller.tenant_id, UserId(user_id), role.name())
        .await?;
    state.live_sessions.forget_all();
    state.live_keys.forget_all();
    record(
        &state,
        &caller,
        "member.role",
        Some(user_id.to_string()),
        json!({ "from": before, "role": role.name() }),
    )
    .await;
    member(&state, caller.tenant_id, user_id).await.map(Json)
}

async fn member(state: &AppState, tenant: TenantId, user: Uuid) -> Result<MemberOut, ApiError> {
    state
        .db
        .list_members(tenant)
        .await?
        .into_iter()
        .find(|m| m.user_id == user)
        .map(MemberOut::from)
        .ok_or_else(|| ApiError::NotFound("no such member".to_owned()))
}

/// Removes a member: their sessions end and their API keys stop.
#[utoipa::path(delete, path = "/api/members/{user_id}", tag = "members",
    params(("user_id" = Uuid, Path, description = "The member")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "removed"),
        (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the owner", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(user_id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let role = not_the_owner(&state, caller.tenant_id, user_id).await?;
    state
        .db
        .remove_member(caller.tenant_id, UserId(user_id))
        .await?;
    state.live_sessions.forget_all();
    state.live_keys.forget_all();
    record(
        &state,
        &caller,
        "member.remove",
        Some(user_id.to_string()),
        json!({ "role": role }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Hands the tenant to another member; the owner becomes an admin.
#[utoipa::path(post, path = "/api/members/{user_id}/ownership", tag = "members",
    params(("user_id" = Uuid, Path, description = "The member who becomes the owner")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Members),
        (status = 404, description = "no such member", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn transfer_ownership(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(user_id): ApiPath<Uuid>,
) -> Result<Json<Members>, ApiError> {
    caller.person()?;
    if !state
        .db
        .transfer_ownership(caller.tenant_id, caller.user_id, UserId(user_id))
        .await?
    {
        return Err(ApiError::NotFound(
            "no such member (other than you)".to_owned(),
        ));
    }
    state.live_sessions.forget_all();
    state.live_keys.forget_all();
    record(
        &state,
        &caller,
        "tenant.transfer",
        Some(user_id.to_string()),
        json!({}),
    )
    .await;
    list_members(State(state), caller).await
}
