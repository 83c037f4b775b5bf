//! API keys: created (shown once), listed, revoked — by a signed-in person, never by a key.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use xeno_storage::api_keys::{ApiKeyRow, NewApiKey};

use xeno_domain::account::Role;

use crate::api_keys::mint;
use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewKeyIn {
    /// What the key is for ("Looker", "nightly export"), 1–100 characters.
    name: String,
    /// `viewer` (figures and lists, customers' personal data masked), `analyst` (every figure,
    /// list and export, changes nothing; the default) or `admin` (also stores, syncs and
    /// replays); never above its creator's role.
    #[serde(default)]
    role: Option<String>,
    /// Days until the key stops working (1–3650); none: until revoked.
    #[serde(default)]
    expires_in_days: Option<u32>,
    /// Limits the key to these stores (each request must name one); none: every store.
    #[serde(default)]
    store_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    id: Uuid,
    name: String,
    /// The key's visible end, to tell keys apart (`xeno_…3f9a2c1b`).
    prefix: String,
    role: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    last_used_ip: Option<String>,
    revoked_at: Option<DateTime<Utc>>,
    /// The stores the key is limited to; null: every store.
    store_ids: Option<Vec<Uuid>>,
}

impl From<ApiKeyRow> for ApiKeyOut {
    fn from(k: ApiKeyRow) -> Self {
        Self {
            id: k.key_id,
            name: k.name,
            prefix: k.prefix,
            role: k.role,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            last_used_ip: k.last_used_ip,
            revoked_at: k.revoked_at,
            store_ids: k.store_ids,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    key: ApiKeyOut,
    /// The key itself: send it as `Authorization: Bearer <key>`. Shown this once; only its
    /// hash is kept.
    secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    data: Vec<ApiKeyOut>,
}

/// Create an API key for programs (BI tools, scripts) to call the API without a password.
#[utoipa::path(post, path = "/api/keys", tag = "auth",
    request_body = NewKeyIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedKey),
        (status = 403, description = "an API key cannot create keys", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<NewKeyIn>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    caller.person()?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "give the key a name of 1 to 100 characters",
        ));
    }
    let role = match input.role.as_deref() {
        None => Role::Analyst,
        Some(role) => Role::parse(role)
            .filter(|role| *role != Role::Owner)
            .ok_or_else(|| ApiError::invalid("role", "must be viewer, analyst or admin"))?,
    };
    if role > caller.role {
        return Err(ApiError::invalid(
            "role",
            format!(
                "a key cannot do more than its creator ({})",
                caller.role.name()
            ),
        ));
    }
    let expires_at = match input.expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Some(Utc::now() + chrono::Duration::days(i64::from(days))),
        Some(_) => {
            return Err(ApiError::invalid(
                "expires_in_days",
                "must be from 1 to 3650",
            ))
        }
    };
    if let Some(stores) = &input.store_ids {
        if stores.is_empty() {
            return Err(ApiError::invalid(
                "store_ids",
                "name at least one store, or leave it out for every store",
            ));
        }
        for store in stores {
            if state
                .db
                .get_store(caller.tenant_id, xeno_domain::ids::StoreId(*store))
                .await?
                .is_none()
            {
                return Err(ApiError::invalid(
                    "store_ids",
                    format!("{store} is not one of your stores"),
                ));
            }
        }
    }
    let key_id = Uuid::now_v7();
    let minted = mint(caller.tenant_id, key_id);
    let row = state
        .db
        .create_api_key(
            caller.tenant_id,
            &NewApiKey {
                key_id,
                name,
                prefix: &minted.prefix,
                secret_hash: &minted.hash,
                role: role.name(),
                created_by: caller.user_id,
                expires_at,
                store_ids: input.store_ids.as_deref(),
            },
        )
        .await?;
    crate::audit::record(
        &state,
        &caller,
        "key.create",
        Some(key_id.to_string()),
        serde_json::json!({ "name": name, "role": role.name() }),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: row.into(),
            secret: minted.token,
        }),
    ))
}

/// The tenant's API keys (never their secrets), revoked ones included.
#[utoipa::path(get, path = "/api/keys", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = KeyList),
        (status = 403, description = "an API key cannot list keys", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<KeyList>, ApiError> {
    caller.person()?;
    let rows = state.db.list_api_keys(caller.tenant_id).await?;
    Ok(Json(KeyList {
        data: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Revoke an API key: it stops working at once.
#[utoipa::path(delete, path = "/api/keys/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "key id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "revoked"),
        (status = 403, description = "an API key cannot revoke keys", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    caller.person()?;
    if !state.db.revoke_api_key(caller.tenant_id, id).await? {
        return Err(ApiError::NotFound("no such live key".to_owned()));
    }
    state.live_keys.forget(id);
    crate::audit::record(
        &state,
        &caller,
        "key.revoke",
        Some(id.to_string()),
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
