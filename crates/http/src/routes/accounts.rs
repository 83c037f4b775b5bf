//! Sign-up, sign-in and the caller's identity.

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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// A bearer token for `Authorization: Bearer …`.
    token: String,
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: u64,
    user_id: Uuid,
    tenant_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    user: UserOut,
    tenant: TenantOut,
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

fn token_out(state: &AppState, tenant: TenantId, user: UserId) -> Result<TokenOut, ApiError> {
    Ok(TokenOut {
        token: state.tokens.issue(tenant, user)?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
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
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register_account(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    ApiJson(input): ApiJson<RegisterIn>,
) -> Result<(StatusCode, Json<TokenOut>), ApiError> {
    state.throttle.register(address)?;
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
        Json(token_out(&state, tenant_id, user_id)?),
    ))
}

/// Exchange an email and password for a token.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginIn,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, description = "wrong email or password (never says which)", body = Problem, content_type = "application/problem+json"),
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
    state.throttle.check(&keys)?;
    let found = match email {
        Some(email) => state.db.find_login(&email).await?,
        None => None,
    };
    let stored_hash = found.as_ref().map(|login| login.password_hash.clone());
    let (true, Some(login)) = (verify_password(input.password, stored_hash).await?, found) else {
        state.throttle.failed(&keys);
        return Err(REFUSED);
    };
    state.throttle.succeeded(&keys);
    Ok(Json(token_out(
        &state,
        TenantId(login.tenant_id),
        UserId(login.user_id),
    )?))
}

/// The signed-in user and their tenant.
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
    Ok(Json(MeOut {
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
