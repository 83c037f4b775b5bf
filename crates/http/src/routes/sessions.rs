//! The caller's own sign-ins: listed, and ended one by one (a lost laptop); leaving the
//! account.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInOut {
    /// The sign-in (it survives refreshes).
    id: Uuid,
    signed_in_at: DateTime<Utc>,
    last_refreshed_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// The sign-in this request was made with.
    current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignIns {
    data: Vec<SignInOut>,
}

/// The caller's live sign-ins, latest first.
#[utoipa::path(get, path = "/api/auth/sessions", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = SignIns)))]
pub async fn list_sign_ins(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<SignIns>, ApiError> {
    caller.person()?;
    let current = state
        .db
        .find_session(caller.tenant_id, caller.session_id)
        .await?
        .map(|s| s.family_id);
    let sign_ins = state
        .db
        .live_sign_ins(caller.tenant_id, caller.user_id)
        .await?;
    Ok(Json(SignIns {
        data: sign_ins
            .into_iter()
            .map(|s| SignInOut {
                current: Some(s.family_id) == current,
                id: s.family_id,
                signed_in_at: s.signed_in_at,
                last_refreshed_at: s.last_refreshed_at,
                expires_at: s.expires_at,
            })
            .collect(),
    }))
}

/// Ends one of the caller's sign-ins: its tokens stop at once.
#[utoipa::path(delete, path = "/api/auth/sessions/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "The sign-in")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "ended"),
        (status = 404, description = "no such live sign-in of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end_sign_in(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    caller.person()?;
    let ended = state
        .db
        .end_sign_in(caller.tenant_id, caller.user_id, id)
        .await?;
    if ended.is_empty() {
        return Err(ApiError::NotFound(
            "no such live sign-in of yours".to_owned(),
        ));
    }
    state.live_sessions.forget(&ended);
    Ok(StatusCode::NO_CONTENT)
}

/// Leaves the account: the caller's membership, sessions and keys end. The owner hands the
/// account over first.
#[utoipa::path(post, path = "/api/auth/leave", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "left"),
        (status = 409, description = "the owner", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn leave_tenant(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<StatusCode, ApiError> {
    caller.person()?;
    if caller.role == xeno_domain::account::Role::Owner {
        return Err(ApiError::Conflict(
            "the owner hands the account over before leaving (or deletes it)".to_owned(),
        ));
    }
    crate::audit::record(
        &state,
        &caller,
        "member.leave",
        Some(caller.user_id.0.to_string()),
        json!({}),
    )
    .await;
    state
        .db
        .remove_member(caller.tenant_id, caller.user_id)
        .await?;
    state.live_sessions.forget_all();
    state.live_keys.forget_all();
    Ok(StatusCode::NO_CONTENT)
}
