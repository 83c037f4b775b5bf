//! Connected stores: custom-app tokens, the store list, a store's health, disconnecting.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_ingest::connect::{self, seal_grant};
use xeno_shopify::admin::AdminClient;
use xeno_shopify::oauth::TokenGrant;
use xeno_shopify::{valid_shop_domain, ShopifyError};
use xeno_storage::stores::{NewStore, StoreRow};

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreOut {
    id: Uuid,
    shop_domain: String,
    /// Shopify's numeric shop id, as a string (it exceeds JavaScript's safe integers).
    shopify_shop_id: Option<String>,
    name: Option<String>,
    currency: Option<String>,
    iana_timezone: Option<String>,
    /// `active`, `needs_reauth`, `uninstalled` or `disconnected`.
    status: String,
    /// Why the store is not active, when it is not.
    status_reason: Option<String>,
    connection_kind: String,
    scopes: Vec<String>,
    token_expires_at: Option<DateTime<Utc>>,
    installed_at: Option<DateTime<Utc>>,
    uninstalled_at: Option<DateTime<Utc>>,
    last_webhook_at: Option<DateTime<Utc>>,
    counts: StoreCounts,
    webhooks: WebhookHealth,
}

/// How the store's webhooks are doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookHealth {
    /// Received in the last 24 hours.
    last_day: i64,
    /// Failed to apply and waiting for another attempt.
    retrying: i64,
    /// Given up on: see the event log and replay them.
    dead: i64,
    /// Applied events in the event log that changed nothing, by why.
    unchanged: UnchangedCounts,
    /// Applied events whose payload lacked a date the record needs (Shopify's test
    /// notifications send `null`): their records are dated when the webhook was received.
    dated_on_receipt: i64,
}

/// Applied events that changed nothing, by why (the event log's `outcome`).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct UnchangedCounts {
    /// The same version was already stored (the same change delivered again).
    duplicate: i64,
    /// A newer version of the record was already stored.
    stale: i64,
    /// The record had been deleted in Shopify.
    deleted: i64,
    /// The customer had been erased on request.
    redacted: i64,
    /// A topic Xeno does not use.
    ignored: i64,
    /// The store no longer takes data.
    store_inactive: i64,
}

impl From<&std::collections::BTreeMap<String, i64>> for UnchangedCounts {
    fn from(counts: &std::collections::BTreeMap<String, i64>) -> Self {
        let count = |code: &str| counts.get(code).copied().unwrap_or(0);
        Self {
            duplicate: count("duplicate"),
            stale: count("stale"),
            deleted: count("deleted"),
            redacted: count("redacted"),
            ignored: count("ignored"),
            store_inactive: count("store_inactive"),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreCounts {
    customers: i64,
    orders: i64,
    products: i64,
}

impl From<StoreRow> for StoreOut {
    fn from(row: StoreRow) -> Self {
        Self {
            id: row.store_id,
            shop_domain: row.shop_domain,
            shopify_shop_id: row.shopify_shop_id.map(|id| id.to_string()),
            name: row.name,
            currency: row.currency,
            iana_timezone: row.iana_timezone,
            status: row.status,
            status_reason: row.status_reason,
            connection_kind: row.connection_kind,
            scopes: row.scopes,
            token_expires_at: row.access_token_expires_at,
            installed_at: row.installed_at,
            uninstalled_at: row.uninstalled_at,
            last_webhook_at: row.last_webhook_at,
            counts: StoreCounts {
                customers: row.customers,
                orders: row.orders,
                products: row.products,
            },
            webhooks: WebhookHealth {
                last_day: row.webhooks_last_day,
                retrying: row.webhooks_retrying,
                dead: row.webhooks_dead,
                unchanged: UnchangedCounts::from(&row.webhooks_unchanged.0),
                dated_on_receipt: row.webhooks_dated_on_receipt,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreList {
    data: Vec<StoreOut>,
}

pub(crate) fn shopify_error(err: ShopifyError) -> ApiError {
    match err {
        ShopifyError::Network(_) | ShopifyError::Status { .. } | ShopifyError::Throttled => {
            ApiError::Unavailable {
                detail: format!("Shopify could not be reached: {err}"),
                context: None,
            }
        }
        other => ApiError::BadRequest(other.to_string()),
    }
}

/// Start connecting a store through OAuth: answers with (or redirects to) Shopify's
/// authorize page. The `state` is single-use, bound to the caller's tenant, and expires.
/// Deletes a store's webhook subscriptions at Shopify. Best effort: a revoked token or an
/// unreachable shop must not keep the store connected (or the account undeleted).
pub(crate) async fn unsubscribe_at_shopify(
    state: &AppState,
    tenant: TenantId,
    store: StoreId,
    shop: &str,
) {
    match connect::access_token(
        &state.db,
        &state.cipher,
        &state.shopify,
        &state.http,
        tenant,
        store,
        shop,
    )
    .await
    {
        Ok(token) => {
            let admin = AdminClient::new(
                state.http.clone(),
                &state.shopify.base_url(shop),
                &state.shopify.api_version,
                &token,
            );
            if let Err(err) = connect::unsubscribe_all(&admin, &state.shopify).await {
                tracing::warn!(%store, error = %err, "could not delete webhook subscriptions at Shopify");
            }
        }
        Err(err) => tracing::warn!(%store, error = %err, "no usable token to unsubscribe"),
    }
}

/// Reads the shop, saves the store with its sealed secrets, and subscribes its webhooks.
pub(crate) async fn save_store(
    state: &AppState,
    tenant: TenantId,
    shop: &str,
    grant: &TokenGrant,
    kind: &'static str,
    webhook_secret: Option<&str>,
) -> Result<StoreId, ApiError> {
    let admin = AdminClient::new(
        state.http.clone(),
        &state.shopify.base_url(shop),
        &state.shopify.api_version,
        &grant.access_token,
    );
    let info = admin.shop().await.map_err(|err| match err {
        ShopifyError::Unauthorized { .. } | ShopifyError::Refused(_) => ApiError::invalid(
            "access_token",
            "Shopify refused this access token for this shop",
        ),
        other => shopify_error(other),
    })?;
    let store = state
        .db
        .connect_store(
            tenant,
            &NewStore {
                shop_domain: shop.to_owned(),
                connection_kind: kind,
                scopes: grant
                    .scope
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                secrets: seal_grant(&state.cipher, grant, webhook_secret),
                shopify_shop_id: info.numeric_id(),
                name: info.name.clone(),
                currency: info.currency_code.clone(),
                iana_timezone: info.iana_timezone.clone(),
                api_version: state.shopify.api_version.clone(),
            },
        )
        .await?;
    if let Err(err) = connect::subscribe_all(&admin, &state.shopify).await {
        // The store is connected; reconciliation repairs missing subscriptions.
        tracing::warn!(%tenant, %store, error = %err, "webhook subscription failed");
        state
            .db
            .set_store_status(
                tenant,
                store,
                "active",
                Some(&format!("webhook subscription failed: {err}")),
            )
            .await?;
    }
    tracing::info!(%tenant, %store, shop, kind, "store connected");
    // The initial backfill runs in the background; its progress is at /api/sync/status.
    let backfill = state.backfill();
    let (shop, currency) = (shop.to_owned(), info.currency_code.clone());
    tokio::spawn(async move {
        if let Err(err) = backfill.run(tenant, store, &shop, &currency).await {
            tracing::warn!(%tenant, %store, error = %err, "initial backfill failed");
        }
    });
    Ok(store)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CustomStoreIn {
    /// The shop's `name.myshopify.com` domain.
    shop_domain: String,
    /// The custom app's Admin API access token (`shpat_…`).
    access_token: String,
    /// The custom app's API secret, which signs its webhooks.
    webhook_secret: Option<String>,
}

/// Connect a store with a custom app's Admin API token; the token is checked against the
/// shop before anything is saved.
#[utoipa::path(post, path = "/api/stores", tag = "stores",
    request_body = CustomStoreIn,
    security(("bearer" = [])),
    responses(
        (status = 201, body = StoreOut),
        (status = 409, description = "the shop belongs to another account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad domain, or Shopify refused the token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_store(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<CustomStoreIn>,
) -> Result<(StatusCode, Json<StoreOut>), ApiError> {
    let shop = input.shop_domain.trim().to_ascii_lowercase();
    let mut errors = xeno_domain::validation::FieldErrors::default();
    if !valid_shop_domain(&shop) {
        errors.add(
            "shop_domain",
            "must be the shop's name.myshopify.com domain",
        );
    }
    if input.access_token.trim().is_empty() {
        errors.add("access_token", "is required");
    }
    errors.finish().map_err(ApiError::InvalidFields)?;
    let grant = TokenGrant {
        access_token: input.access_token.trim().to_owned(),
        scope: String::new(),
        expires_in: None,
        refresh_token: None,
        refresh_token_expires_in: None,
    };
    let store = save_store(
        &state,
        caller.tenant_id,
        &shop,
        &grant,
        "custom_app",
        input.webhook_secret.as_deref(),
    )
    .await?;
    let row = state
        .db
        .get_store(caller.tenant_id, store)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("store vanished after connecting")))?;
    crate::audit::record(
        &state,
        &caller,
        "store.connect",
        Some(store.0.to_string()),
        serde_json::json!({ "shop": shop, "kind": "custom_app" }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// The caller's stores.
#[utoipa::path(get, path = "/api/stores", tag = "stores",
    security(("bearer" = [])),
    responses((status = 200, body = StoreList)))]
pub async fn list_stores(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<StoreList>, ApiError> {
    let rows = state.db.list_stores(caller.tenant_id).await?;
    Ok(Json(StoreList {
        data: rows.into_iter().map(StoreOut::from).collect(),
    }))
}

/// One store: status, scopes, time zone, currency, last webhook, counts.
#[utoipa::path(get, path = "/api/stores/{id}", tag = "stores",
    params(("id" = Uuid, Path, description = "store id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = StoreOut),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_store(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<StoreOut>, ApiError> {
    state
        .db
        .get_store(caller.tenant_id, StoreId(id))
        .await?
        .map(|row| Json(row.into()))
        .ok_or_else(|| ApiError::NotFound("no such store".to_owned()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Also delete the store's customers, products, orders, checkouts and carts.
    #[serde(default)]
    purge: bool,
}

/// Disconnect a store: its webhook subscriptions are deleted at Shopify, it takes no more
/// data, and its data is kept unless `purge=true`.
#[utoipa::path(delete, path = "/api/stores/{id}", tag = "stores",
    params(("id" = Uuid, Path, description = "store id"), DeleteQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "disconnected"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_store(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    let store = StoreId(id);
    let row = state
        .db
        .get_store(caller.tenant_id, store)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such store".to_owned()))?;
    unsubscribe_at_shopify(&state, caller.tenant_id, store, &row.shop_domain).await;
    state
        .db
        .disconnect_store(caller.tenant_id, store, query.purge)
        .await?;
    let action = if query.purge {
        "store.delete"
    } else {
        "store.disconnect"
    };
    crate::audit::record(
        &state,
        &caller,
        action,
        Some(id.to_string()),
        serde_json::json!({ "shop": row.shop_domain }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
