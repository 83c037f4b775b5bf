//! Sign-up, sign-in, sessions (refresh, sign-out, password change) and the caller's identity.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use xeno_domain::account::{normalize_email, Registration};
use xeno_domain::ids::{TenantId, UserId};
use xeno_storage::accounts::NewTenant;

use crate::auth::{hash_password, verify_password, AuthUser};
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::throttle::ClientAddr;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use xeno_domain::account::check_password;
use xeno_domain::validation::FieldError;
use xeno_storage::sessions::NewSession;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterIn {
    /// The retailer's name, shown in the dashboard.
    tenant_name: String,
    email: String,
    /// At least 10 characters, mixing letters with digits or symbols.
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginIn {
    email: String,
    password: String,
    /// Which of the person's accounts to open (see `tenants` in `GET /api/auth/me`); the
    /// first they joined when left out.
    tenant_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SwitchIn {
    /// One of the caller's accounts (`tenants` in `GET /api/auth/me`).
    tenant_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// A bearer token for `Authorization: Bearer …`.
    token: String,
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: u64,
    /// Exchanged once at `POST /api/auth/refresh` for a new token and a new refresh token;
    /// presenting it a second time ends the whole session.
    refresh_token: String,
    /// Seconds until the session ends, however often it is refreshed.
    refresh_expires_in: u64,
    user_id: Uuid,
    tenant_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshIn {
    refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordIn {
    current_password: String,
    /// At least 12 characters and not guessable.
    new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    user: UserOut,
    tenant: TenantOut,
    /// Every account the person belongs to (this one included), the first joined first:
    /// `POST /api/auth/switch` opens another.
    tenants: Vec<MembershipOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipOut {
    id: Uuid,
    name: String,
    /// The person's role in that account.
    role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    id: Uuid,
    email: String,
    role: String,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOut {
    id: Uuid,
    name: String,
}

/// Starts a session (a new family, or the next of `family` after a refresh, keeping its
/// end) and answers its tokens. The refresh token is `tenant.session.secret`; only a hash of
/// the secret is stored.
pub(crate) async fn start_session(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    family: Option<(Uuid, DateTime<Utc>)>,
) -> Result<TokenOut, ApiError> {
    let session_id = Uuid::now_v7();
    let (family_id, expires_at) = family.unwrap_or_else(|| {
        let ttl = chrono::Duration::from_std(state.tokens.refresh_ttl())
            .unwrap_or(chrono::Duration::days(30));
        (session_id, Utc::now() + ttl)
    });
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    state
        .db
        .create_session(&NewSession {
            tenant,
            user,
            session_id,
            family_id,
            refresh_hash: Sha256::digest(secret).to_vec(),
            expires_at,
        })
        .await?;
    Ok(TokenOut {
        token: state.tokens.issue(tenant, user, session_id)?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        refresh_token: format!(
            "{}.{}.{}",
            tenant.0,
            session_id,
            URL_SAFE_NO_PAD.encode(secret)
        ),
        refresh_expires_in: u64::try_from((expires_at - Utc::now()).num_seconds()).unwrap_or(0),
        user_id: user.0,
        tenant_id: tenant.0,
    })
}

/// Create a tenant and its owner; answers with a token for the owner.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth",
    request_body = RegisterIn,
    responses(
        (status = 201, body = TokenOut),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "email already registered", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many registrations from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register_account(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(input): ApiJson<RegisterIn>,
) -> Result<(StatusCode, Json<TokenOut>), ApiError> {
    state.throttle.register(address).await?;
    let registration = Registration::parse(&input.tenant_name, &input.email, &input.password)
        .map_err(ApiError::InvalidFields)?;
    let password_hash = hash_password(registration.password).await?;
    let (tenant_id, user_id) = (TenantId::new(), UserId::new());
    state
        .db
        .create_tenant(&NewTenant {
            tenant_id,
            user_id,
            tenant_name: &registration.tenant_name,
            email: &registration.email,
            password_hash: &password_hash,
        })
        .await?;
    tracing::info!(%tenant_id, %user_id, "tenant registered");
    Ok((
        StatusCode::CREATED,
        Json(start_session(&state, tenant_id, user_id, None).await?),
    ))
}

/// Exchange an email and password for a token.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginIn,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, description = "wrong email or password (never says which)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many failed sign-ins for this account or address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn log_in(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(input): ApiJson<LoginIn>,
) -> Result<Json<TokenOut>, ApiError> {
    const REFUSED: ApiError = ApiError::Unauthenticated("wrong email or password");
    let email = normalize_email(&input.email).ok();
    let account = email
        .clone()
        .unwrap_or_else(|| input.email.trim().to_lowercase());
    let mut keys = vec![format!("account:{account}")];
    keys.extend(address.map(|ip| format!("address:{ip}")));
    // Checked before any hashing: a flood costs no CPU.
    state.throttle.check(&keys).await?;
    let found = match email {
        Some(email) => state.db.find_login(&email).await?,
        None => None,
    };
    let stored_hash = found.as_ref().map(|login| login.password_hash.clone());
    // A tenant the person does not belong to is refused like a wrong password.
    let opened = found.as_ref().and_then(|login| match input.tenant_id {
        Some(wanted) => login.tenants.iter().find(|t| **t == wanted).copied(),
        None => login.tenants.first().copied(),
    });
    let verified = verify_password(input.password, stored_hash).await?;
    let (true, Some(login), Some(tenant)) = (verified, found.as_ref(), opened) else {
        let count = state.throttle.failed(&keys).await;
        // Each account's owner (and admins) hear of a run of failures, once per run.
        if count == crate::throttle::Throttle::FREE_FAILURES {
            let targets: Vec<(Uuid, Uuid)> = found
                .as_ref()
                .map(|login| login.tenants.iter().map(|t| (*t, login.user_id)).collect())
                .unwrap_or_default();
            for (tenant, user) in targets {
                let actor = crate::audit::Actor {
                    address,
                    ..Default::default()
                };
                crate::audit::record_for(
                    &state,
                    TenantId(tenant),
                    actor,
                    "auth.failures",
                    Some(user.to_string()),
                    serde_json::json!({ "email": account, "failures": count }),
                )
                .await;
            }
        }
        return Err(REFUSED);
    };
    state.throttle.succeeded(&keys).await;
    let tokens = start_session(&state, TenantId(tenant), UserId(login.user_id), None).await?;
    Ok(Json(tokens))
}

/// The signed-in user, their tenant, and every account they belong to.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeOut),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_current_user(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<MeOut>, ApiError> {
    let user = state
        .db
        .get_user(caller.tenant_id, caller.user_id)
        .await?
        // A valid token for a user that no longer exists: the session is over.
        .ok_or(ApiError::Unauthenticated("the account no longer exists"))?;
    let tenants = state
        .db
        .memberships(caller.user_id)
        .await?
        .into_iter()
        .map(|m| MembershipOut {
            id: m.tenant_id,
            name: m.tenant_name,
            role: m.role,
        })
        .collect();
    Ok(Json(MeOut {
        tenants,
        user: UserOut {
            id: user.user_id,
            email: user.email,
            role: user.role,
            created_at: user.created_at,
        },
        tenant: TenantOut {
            id: user.tenant_id,
            name: user.tenant_name,
        },
    }))
}

/// Exchange a refresh token for a new token and refresh token (the old one is spent).
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    request_body = RefreshIn,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, description = "not a live refresh token; one presented again ends its whole session", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many failed refreshes from this address or for this session; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh_session(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(input): ApiJson<RefreshIn>,
) -> Result<Json<TokenOut>, ApiError> {
    const REFUSED: ApiError =
        ApiError::Unauthenticated("the refresh token is not valid: sign in again");
    let keys: Vec<String> = address
        .map(|ip| format!("refresh:{ip}"))
        .into_iter()
        .collect();
    state.throttle.check(&keys).await?;
    let mut parts = input.refresh_token.trim().splitn(3, '.');
    let parsed = (|| {
        let tenant = TenantId(parts.next()?.parse().ok()?);
        let session: Uuid = parts.next()?.parse().ok()?;
        let secret = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
        Some((tenant, session, secret))
    })();
    let Some((tenant, session_id, secret)) = parsed else {
        state.throttle.failed(&keys).await;
        return Err(REFUSED);
    };
    // Guesses at one session's secret are slowed wherever they come from.
    let mut keys = keys;
    keys.push(format!("refresh-session:{session_id}"));
    state.throttle.check(&keys).await?;
    let found = state.db.find_session(tenant, session_id).await?;
    let Some(session) = found.filter(|s| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            Sha256::digest(&secret).as_slice(),
            s.refresh_hash.as_slice(),
        ))
    }) else {
        state.throttle.failed(&keys).await;
        return Err(REFUSED);
    };
    if session.revoked_at.is_some() || session.expires_at <= Utc::now() {
        return Err(ApiError::Unauthenticated(
            "the session has ended: sign in again",
        ));
    }
    if session.rotated_at.is_some() || !state.db.rotate_session(tenant, session_id).await? {
        // A spent token again: whoever holds it is not (only) the user. End the sign-in.
        let ended = state.db.revoke_family(tenant, session.family_id).await?;
        state.live_sessions.forget(&ended);
        tracing::warn!(%session_id, family = %session.family_id, "a spent refresh token was presented; its session is revoked");
        return Err(ApiError::Unauthenticated(
            "the refresh token was already used: this sign-in has ended everywhere; sign in again",
        ));
    }
    state.throttle.succeeded(&keys).await;
    let tokens = start_session(
        &state,
        tenant,
        UserId(session.user_id),
        Some((session.family_id, session.expires_at)),
    )
    .await?;
    Ok(Json(tokens))
}

/// End the caller's session: its tokens and refresh tokens stop working at once.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "signed out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn log_out(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<StatusCode, ApiError> {
    caller.person()?;
    if let Some(session) = state
        .db
        .find_session(caller.tenant_id, caller.session_id)
        .await?
    {
        let ended = state
            .db
            .revoke_family(caller.tenant_id, session.family_id)
            .await?;
        state.live_sessions.forget(&ended);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Change the caller's password (in every account they belong to): every session of theirs
/// ends (other browsers, stolen tokens, other accounts), and the answer starts a new one.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordIn,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, description = "the current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the new password is too weak; `errors` says why", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<PasswordIn>,
) -> Result<Json<TokenOut>, ApiError> {
    caller.person()?;
    let keys = vec![format!("password:{}", caller.user_id.0)];
    state.throttle.check(&keys).await?;
    let user = state
        .db
        .get_user(caller.tenant_id, caller.user_id)
        .await?
        .ok_or(ApiError::Unauthenticated("the account no longer exists"))?;
    let stored = state.db.password_hash(caller.user_id).await?;
    if !verify_password(input.current_password, stored).await? {
        state.throttle.failed(&keys).await;
        return Err(ApiError::Unauthenticated("the current password is wrong"));
    }
    state.throttle.succeeded(&keys).await;
    check_password(
        &input.new_password,
        &[user.email.as_str(), user.tenant_name.as_str()],
    )
    .map_err(|message| {
        ApiError::InvalidFields(vec![FieldError {
            field: "new_password".to_owned(),
            message,
        }])
    })?;
    let hash = hash_password(input.new_password).await?;
    state.db.set_password(caller.user_id, &hash).await?;
    let ended = state.db.revoke_user_sessions(caller.user_id).await?;
    state.live_sessions.forget(&ended);
    tracing::info!(user = %caller.user_id.0, sessions = ended.len(), "password changed; sessions ended");
    crate::audit::record(
        &state,
        &caller,
        "member.password",
        Some(caller.user_id.0.to_string()),
        serde_json::json!({ "sessions_ended": ended.len() }),
    )
    .await;
    Ok(Json(
        start_session(&state, caller.tenant_id, caller.user_id, None).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailIn {
    new_email: String,
    current_password: String,
}

/// Change the caller's email (they sign in with it from now on, to every account they belong
/// to): every session of theirs ends, and the answer starts a new one.
#[utoipa::path(post, path = "/api/auth/email", tag = "auth",
    security(("bearer" = [])),
    request_body = EmailIn,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, description = "the current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the email has an account", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_email(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<EmailIn>,
) -> Result<Json<TokenOut>, ApiError> {
    caller.person()?;
    let email =
        normalize_email(&input.new_email).map_err(|why| ApiError::invalid("new_email", why))?;
    let keys = vec![format!("password:{}", caller.user_id.0)];
    state.throttle.check(&keys).await?;
    let stored = state.db.password_hash(caller.user_id).await?;
    if !verify_password(input.current_password, stored).await? {
        state.throttle.failed(&keys).await;
        return Err(ApiError::Unauthenticated("the current password is wrong"));
    }
    state.throttle.succeeded(&keys).await;
    state
        .db
        .change_email(caller.user_id, &email)
        .await
        .map_err(|err| match err {
            xeno_storage::StorageError::Conflict(_) => {
                ApiError::Conflict("an account with this email exists already".to_owned())
            }
            other => other.into(),
        })?;
    let ended = state.db.revoke_user_sessions(caller.user_id).await?;
    state.live_sessions.forget(&ended);
    crate::audit::record(
        &state,
        &caller,
        "member.email",
        Some(caller.user_id.0.to_string()),
        serde_json::json!({ "email": email }),
    )
    .await;
    Ok(Json(
        start_session(&state, caller.tenant_id, caller.user_id, None).await?,
    ))
}

/// Open another of the caller's accounts: a new sign-in there (this one stays as it is).
#[utoipa::path(post, path = "/api/auth/switch", tag = "auth",
    security(("bearer" = [])),
    request_body = SwitchIn,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "the caller does not belong to that account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn switch_tenant(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<SwitchIn>,
) -> Result<Json<TokenOut>, ApiError> {
    caller.person()?;
    let member = state
        .db
        .memberships(caller.user_id)
        .await?
        .iter()
        .any(|m| m.tenant_id == input.tenant_id);
    if !member {
        return Err(ApiError::NotFound(
            "you do not belong to that account".to_owned(),
        ));
    }
    Ok(Json(
        start_session(&state, TenantId(input.tenant_id), caller.user_id, None).await?,
    ))
}
