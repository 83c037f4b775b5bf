//! A tenant's members: their roles, invitations to join (one-time links, no email needed),
//! handing the tenant over, and the audit log of what everyone did.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::account::{check_password, normalize_email, Role};
use xeno_domain::ids::{TenantId, UserId};
use xeno_storage::members::{Acceptance, Invitation, Joiner, Member, NewInvitation};

use crate::audit::record;
use crate::auth::{hash_password, verify_password, AuthUser};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::accounts::{start_session, TokenOut};
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
fn grantable(caller: &AuthUser, role: &str) -> Result<Role, ApiError> {
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

#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitationIn {
    email: String,
    /// `admin`, `analyst` or `viewer`; never above the inviter's.
    role: String,
    /// Days the link works (1–30, default 7).
    #[serde(default)]
    expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationOut {
    id: Uuid,
    email: String,
    role: String,
    invited_by: Uuid,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<Invitation> for InvitationOut {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.invitation_id,
            email: i.email,
            role: i.role,
            invited_by: i.created_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    invitation: InvitationOut,
    /// The one-time link to hand to the person invited (shown once; only its hash is kept).
    link: String,
    /// The token in the link, for clients that accept through the API.
    token: String,
    /// Whether the link was also mailed to the person invited (`XENO_SMTP_URL`).
    mailed: bool,
}

const INVITATION_PREFIX: &str = "xinv_";

/// Invites someone: answers a one-time link to hand over (Xeno sends no email).
#[utoipa::path(post, path = "/api/members/invitations", tag = "members",
    request_body = InvitationIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedInvitation),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn invite_member(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<InvitationIn>,
) -> Result<(StatusCode, Json<CreatedInvitation>), ApiError> {
    let email = normalize_email(&input.email).map_err(|why| ApiError::invalid("email", why))?;
    let role = grantable(&caller, &input.role)?;
    let days = match input.expires_in_days {
        None => 7,
        Some(days @ 1..=30) => days,
        Some(_) => return Err(ApiError::invalid("expires_in_days", "must be from 1 to 30")),
    };
    let invitation_id = Uuid::now_v7();
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let token = format!(
        "{INVITATION_PREFIX}{}_{}_{secret}",
        caller.tenant_id.0.simple(),
        invitation_id.simple()
    );
    let expires_at = Utc::now() + chrono::Duration::days(i64::from(days));
    state
        .db
        .create_invitation(
            caller.tenant_id,
            &NewInvitation {
                invitation_id,
                email: &email,
                role: role.name(),
                token_hash: &Sha256::digest(secret.as_bytes()),
                created_by: caller.user_id,
                expires_at,
            },
        )
        .await?;
    record(
        &state,
        &caller,
        "member.invite",
        Some(invitation_id.to_string()),
        json!({ "email": email, "role": role.name() }),
    )
    .await;
    let link = format!("{}/accept?token={token}", state.shopify.public_url);
    let mailed = match &state.mailer {
        None => false,
        Some(mailer) => {
            let tenant = state
                .db
                .get_user(caller.tenant_id, caller.user_id)
                .await?
                .map(|me| me.tenant_name)
                .unwrap_or_default();
            let body = format!(
                "You are invited to join {tenant} on Xeno as {role}.\n\nOpen this link to choose a password: {link}\n\nIt works once, until {expires}.\n",
                role = role.name(),
                expires = expires_at.format("%Y-%m-%d %H:%M UTC"),
            );
            match mailer
                .send(&email, &format!("Join {tenant} on Xeno"), body)
                .await
            {
                Ok(()) => true,
                Err(err) => {
                    tracing::warn!(%err, "cannot mail an invitation; the link is answered");
                    false
                }
            }
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitation {
            invitation: InvitationOut {
                id: invitation_id,
                email,
                role: role.name().to_owned(),
                invited_by: caller.user_id.0,
                created_at: Utc::now(),
                expires_at,
            },
            link,
            token,
            mailed,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Invitations {
    data: Vec<InvitationOut>,
}

/// Invitations not yet accepted, revoked or expired.
#[utoipa::path(get, path = "/api/members/invitations", tag = "members",
    security(("bearer" = [])),
    responses((status = 200, body = Invitations)))]
pub async fn list_invitations(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<Invitations>, ApiError> {
    let pending = state.db.pending_invitations(caller.tenant_id).await?;
    Ok(Json(Invitations {
        data: pending.into_iter().map(InvitationOut::from).collect(),
    }))
}

/// Revokes a pending invitation: its link stops working.
#[utoipa::path(delete, path = "/api/members/invitations/{id}", tag = "members",
    params(("id" = Uuid, Path, description = "The invitation")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "revoked"),
        (status = 404, description = "no such pending invitation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if !state.db.revoke_invitation(caller.tenant_id, id).await? {
        return Err(ApiError::NotFound("no such pending invitation".to_owned()));
    }
    record(
        &state,
        &caller,
        "member.invitation_revoke",
        Some(id.to_string()),
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptIn {
    /// The token of the invitation's link.
    token: String,
    /// A new member's chosen password, or the password of the invited email's existing Xeno
    /// account.
    password: String,
}

/// Accepts an invitation: adds the invited email as a member with the invited role, and signs
/// them in there. Someone new chooses a password; someone who already uses Xeno with that
/// email (in another account) gives theirs, and switches between their accounts from then on.
/// A link works once, until it expires or is revoked.
#[utoipa::path(post, path = "/api/auth/accept", tag = "auth",
    request_body = AcceptIn,
    responses(
        (status = 201, body = TokenOut),
        (status = 404, description = "no such invitation (or a mistyped link)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "the invited email has a Xeno account and this is not its password", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already used, or the person is a member already", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "expired or revoked", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<AcceptIn>,
) -> Result<(StatusCode, Json<TokenOut>), ApiError> {
    const UNKNOWN: &str = "no such invitation: check the link";
    let (tenant, invitation, secret) = input
        .token
        .strip_prefix(INVITATION_PREFIX)
        .and_then(|rest| {
            let mut parts = rest.splitn(3, '_');
            let tenant = Uuid::try_parse(parts.next()?).ok()?;
            let invitation = Uuid::try_parse(parts.next()?).ok()?;
            Some((TenantId(tenant), invitation, parts.next()?.to_owned()))
        })
        .ok_or_else(|| ApiError::NotFound(UNKNOWN.to_owned()))?;
    let hash = Sha256::digest(secret.as_bytes());
    let matches =
        |stored: &[u8]| bool::from(subtle::ConstantTimeEq::ct_eq(stored, hash.as_slice()));
    let email = state
        .db
        .invited_email(tenant, invitation, matches)
        .await?
        .ok_or_else(|| ApiError::NotFound(UNKNOWN.to_owned()))?;
    // Someone who has the email already (a member of another account) proves it with their
    // password; someone new chooses one.
    let new_hash;
    let joiner = match state.db.find_login(&email).await? {
        Some(person) => {
            let keys = vec![format!("account:{email}")];
            state.throttle.check(&keys).await?;
            if !verify_password(input.password, Some(person.password_hash)).await? {
                state.throttle.failed(&keys).await;
                return Err(ApiError::Unauthenticated(
                    "this email has a Xeno account: give its password to join",
                ));
            }
            state.throttle.succeeded(&keys).await;
            Joiner::Existing(UserId(person.user_id))
        }
        None => {
            check_password(&input.password, &[email.as_str()])
                .map_err(|why| ApiError::invalid("password", why))?;
            new_hash = hash_password(input.password).await?;
            Joiner::New {
                user_id: UserId::new(),
                password_hash: &new_hash,
            }
        }
    };
    let user_id = joiner.user_id();
    let outcome = state
        .db
        .accept_invitation(tenant, invitation, matches, &joiner)
        .await?;
    let (role, email) =
        match outcome {
            Acceptance::Joined { role, email } => (role, email),
            Acceptance::Unknown => return Err(ApiError::NotFound(UNKNOWN.to_owned())),
            Acceptance::AlreadyUsed => {
                return Err(ApiError::Conflict(
                    "this invitation has been used already".to_owned(),
                ))
            }
            Acceptance::EmailTaken => return Err(ApiError::Conflict(
                "an account with this email was created just now: accept again with its password"
                    .to_owned(),
            )),
            Acceptance::AlreadyMember => {
                return Err(ApiError::Conflict(
                    "you are a member of this account already: sign in".to_owned(),
                ))
            }
            Acceptance::Expired => {
                return Err(ApiError::Gone(
                    "this invitation has expired: ask for a new one",
                ))
            }
            Acceptance::Revoked => return Err(ApiError::Gone("this invitation was revoked")),
        };
    let joined = crate::audit::Actor {
        user: Some(user_id.0),
        ..Default::default()
    };
    crate::audit::record_for(
        &state,
        tenant,
        joined,
        "member.join",
        Some(invitation.to_string()),
        json!({ "email": email, "role": role }),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(start_session(&state, tenant, user_id, None).await?),
    ))
}

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
