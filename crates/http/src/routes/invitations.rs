//! Invitations to join a tenant: one-time links (mailed too when SMTP is configured),
//! listed, revoked, and accepted by someone new or by a person who already uses Xeno.

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
use utoipa::ToSchema;
use uuid::Uuid;
use xeno_domain::account::{check_password, normalize_email};
use xeno_domain::ids::{TenantId, UserId};
use xeno_storage::members::{Acceptance, Invitation, Joiner, NewInvitation};

use crate::audit::record;
use crate::auth::{hash_password, verify_password, AuthUser};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::accounts::{start_session, TokenOut};
use crate::routes::members::grantable;
use crate::state::AppState;

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
