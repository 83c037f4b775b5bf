//! The account itself: deleting it, with every store unsubscribed at Shopify first.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use xeno_ingest::connect;
use xeno_shopify::admin::AdminClient;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeletionIn {
    /// The account's name, typed again: deleting cannot be undone.
    confirm: String,
}

/// Deletes the account: every store is unsubscribed at Shopify (best effort: a shop that
/// cannot be reached keeps its app until uninstalled there), then every row of the account
/// is deleted. Only a record that it happened is kept. Everyone's sessions and keys stop.
#[utoipa::path(post, path = "/api/tenant/deletion", tag = "members",
    request_body = DeletionIn,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "deleted"),
        (status = 422, description = "the name typed is not the account's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_tenant(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(input): ApiJson<DeletionIn>,
) -> Result<StatusCode, ApiError> {
    caller.person()?;
    let me = state
        .db
        .get_user(caller.tenant_id, caller.user_id)
        .await?
        .ok_or(ApiError::Unauthenticated(
            "the session has ended: sign in again",
        ))?;
    if input.confirm.trim() != me.tenant_name {
        return Err(ApiError::invalid(
            "confirm",
            "type the account's name exactly to delete it",
        ));
    }
    for store in state.db.list_stores(caller.tenant_id).await? {
        let token = connect::access_token(
            &state.db,
            &state.cipher,
            &state.shopify,
            &state.http,
            caller.tenant_id,
            xeno_domain::ids::StoreId(store.store_id),
            &store.shop_domain,
        )
        .await;
        match token {
            Ok(token) => {
                let admin = AdminClient::new(
                    state.http.clone(),
                    &state.shopify.base_url(&store.shop_domain),
                    &state.shopify.api_version,
                    &token,
                );
                if let Err(err) = connect::unsubscribe_all(&admin, &state.shopify).await {
                    tracing::warn!(shop = %store.shop_domain, error = %err, "could not unsubscribe before deleting the account");
                }
            }
            Err(err) => {
                tracing::warn!(shop = %store.shop_domain, error = %err, "no usable token to unsubscribe")
            }
        }
    }
    let deleted = state.db.delete_tenant(caller.tenant_id).await?;
    state.live_sessions.forget_all();
    state.live_keys.forget_all();
    tracing::info!(tenant = %caller.tenant_id, stores = deleted.stores, members = deleted.members, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}
