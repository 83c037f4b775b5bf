//! Connecting a store by OAuth: the install link (with the scopes Xeno needs, and
//! `write_customers` only when a segment syncs to a Shopify tag) and the verified callback.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use chrono::Utc;
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xeno_domain::ids::TenantId;
use xeno_shopify::oauth::{self};
use xeno_shopify::signature::verify_oauth_query;
use xeno_shopify::valid_shop_domain;

use crate::auth::{AuthUser, InstallState};
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;

use crate::routes::stores::{save_store, shopify_error};

/// How long an install may take from Xeno to Shopify and back.
const INSTALL_WINDOW_SECS: i64 = 10 * 60;
/// The most clock skew tolerated on the callback's timestamp.
const CALLBACK_SKEW_SECS: i64 = 5 * 60;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstallQuery {
    /// The shop's `name.myshopify.com` domain.
    shop: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstallOut {
    /// Send the merchant's browser here to approve the app.
    authorize_url: String,
}

/// Start connecting a store through OAuth: answers with (or redirects to) Shopify's
/// authorize page. The `state` is single-use, bound to the caller's tenant, and expires.
#[utoipa::path(get, path = "/api/shopify/install", tag = "stores",
    params(InstallQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "with `Accept: application/json`", body = InstallOut),
        (status = 302, description = "to the shop's authorize page"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_install(
    State(state): State<AppState>,
    caller: AuthUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<InstallQuery>,
) -> Result<Response, ApiError> {
    let app = state.shopify.app.as_ref().ok_or_else(|| {
        ApiError::Conflict(
            "OAuth is not configured: set SHOPIFY_API_KEY and SHOPIFY_API_SECRET".to_owned(),
        )
    })?;
    let shop = query.shop.trim().to_ascii_lowercase();
    if !valid_shop_domain(&shop) {
        return Err(ApiError::invalid(
            "shop",
            "must be the shop's name.myshopify.com domain",
        ));
    }
    let url = authorize_url(&state, &caller, app, &shop).await?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    Ok(if wants_json {
        Json(InstallOut { authorize_url: url }).into_response()
    } else {
        Redirect::to(&url).into_response()
    })
}

/// The shop's authorize page for this caller: a nonce saved, the state signed, and the scopes
/// Xeno reads, with `write_customers` when a segment of the shop's store is switched on for
/// Shopify tags (asked for only then).
pub(crate) async fn authorize_url(
    state: &AppState,
    caller: &AuthUser,
    app: &xeno_shopify::oauth::AppCredentials,
    shop: &str,
) -> Result<String, ApiError> {
    let mut scopes = state.shopify.scopes.clone();
    if state
        .db
        .wants_customer_writes(caller.tenant_id, shop)
        .await?
    {
        scopes.push(xeno_ingest::segment_tags::WRITE_CUSTOMERS.to_owned());
    }
    let nonce = hex_nonce();
    let expires_at = Utc::now() + chrono::Duration::seconds(INSTALL_WINDOW_SECS);
    state
        .db
        .save_oauth_nonce(caller.tenant_id, caller.user_id.0, &nonce, shop, expires_at)
        .await?;
    let signed = state.install_states.issue(&InstallState {
        tid: caller.tenant_id.0,
        sub: caller.user_id.0,
        shop: shop.to_owned(),
        nonce,
        exp: expires_at.timestamp(),
    })?;
    let url = oauth::authorize_url(
        &state.shopify.base_url(shop),
        &app.api_key,
        &scopes,
        &state.shopify.callback_url(),
        &signed,
    );
    Ok(url)
}

fn hex_nonce() -> String {
    format!("{:032x}", rand::thread_rng().gen::<u128>())
}

/// Shopify's redirect back after the merchant approved: verified (hmac, state, timestamp,
/// shop), the code exchanged, the store saved and subscribed, the browser sent to the
/// dashboard. Anything wrong stores nothing.
#[utoipa::path(get, path = "/api/shopify/callback", tag = "stores",
    responses(
        (status = 302, description = "to the dashboard's page for the store"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "bad hmac or state", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the shop belongs to another account", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn finish_install(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let app = state
        .shopify
        .app
        .as_ref()
        .ok_or_else(|| ApiError::Conflict("OAuth is not configured".to_owned()))?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if !verify_oauth_query(&app.api_secret, &params) {
        return Err(ApiError::Unauthenticated(
            "the callback's hmac does not verify",
        ));
    }
    let shop = param("shop").unwrap_or_default().to_owned();
    if !valid_shop_domain(&shop) {
        return Err(ApiError::BadRequest(
            "shop is not a myshopify.com domain".to_owned(),
        ));
    }
    let timestamp: i64 = param("timestamp").and_then(|t| t.parse().ok()).unwrap_or(0);
    if (Utc::now().timestamp() - timestamp).abs() > CALLBACK_SKEW_SECS {
        return Err(ApiError::BadRequest(
            "the callback is stale (timestamp too old)".to_owned(),
        ));
    }
    let install = param("state")
        .and_then(|s| state.install_states.verify(s))
        .ok_or(ApiError::Unauthenticated(
            "the install state is invalid or expired",
        ))?;
    if install.shop != shop {
        return Err(ApiError::BadRequest(
            "the install was started for another shop".to_owned(),
        ));
    }
    let tenant = TenantId(install.tid);
    if !state
        .db
        .take_oauth_nonce(tenant, &install.nonce, &shop)
        .await?
    {
        return Err(ApiError::Unauthenticated(
            "the install state was already used or has expired",
        ));
    }
    // Refuse before a token is minted for a shop another account holds.
    if let Some(owner) = state.db.route_shop(&shop).await? {
        if owner.tenant_id != tenant {
            return Err(ApiError::Conflict(
                "this shop is connected to another account".to_owned(),
            ));
        }
    }
    let code = param("code").ok_or_else(|| ApiError::BadRequest("code is missing".to_owned()))?;
    let base = state.shopify.base_url(&shop);
    let grant = oauth::exchange_code(&state.http, &base, app, code, state.shopify.expiring_tokens)
        .await
        .map_err(shopify_error)?;
    let store = save_store(&state, tenant, &shop, &grant, "oauth", None).await?;
    // The person who started the install connected it.
    let installer = crate::audit::Actor {
        user: Some(install.sub),
        ..Default::default()
    };
    crate::audit::record_for(
        &state,
        tenant,
        installer,
        "store.connect",
        Some(store.0.to_string()),
        serde_json::json!({ "shop": shop, "kind": "oauth" }),
    )
    .await;
    let target = format!(
        "{}/stores/{}?connected=1",
        state.shopify.public_url, store.0
    );
    Ok(Redirect::to(&target).into_response())
}
