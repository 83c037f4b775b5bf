//! The account itself: deleting it, with every store unsubscribed at Shopify first.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

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
        crate::routes::stores::unsubscribe_at_shopify(
            &state,
            caller.tenant_id,
            xeno_domain::ids::StoreId(store.store_id),
            &store.shop_domain,
        )
        .await;
    }
    let deleted = state.db.delete_tenant(caller.tenant_id).await?;
    state.live_sessions.forget_all();
    state.live_keys.forget_all();
    tracing::info!(tenant = %caller.tenant_id, stores = deleted.stores, members = deleted.members, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Everything of the account, for its owner: a ZIP with one CSV per table (customers,
/// orders and their lines, refunds, products, checkouts, rollups, members without their
/// passwords, the audit log…), credentials left out.
#[utoipa::path(get, path = "/api/tenant/export", tag = "members",
    security(("bearer" = [])),
    responses((status = 200, description = "a ZIP of CSV files", content_type = "application/zip")))]
pub async fn export_tenant(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use std::io::Write;
    caller.person()?;
    use xeno_storage::export::ExportPart;
    // The archive is written to an anonymous temporary file as the tables are read, then
    // streamed: neither the CSV nor the ZIP is ever whole in memory.
    let (parts, mut received) = tokio::sync::mpsc::channel::<ExportPart>(16);
    let writer = tokio::task::spawn_blocking(
        move || -> Result<(std::fs::File, u64), zip::result::ZipError> {
            use std::io::Seek;
            let mut archive = zip::ZipWriter::new(tempfile::tempfile()?);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            while let Some(part) = received.blocking_recv() {
                match part {
                    ExportPart::Table(table) => {
                        archive.start_file(format!("{table}.csv"), options)?
                    }
                    ExportPart::Chunk(csv) => archive.write_all(&csv)?,
                }
            }
            let mut file = archive.finish()?;
            let size = file.stream_position()?;
            file.rewind()?;
            Ok((file, size))
        },
    );
    let read = state.db.export_tenant(caller.tenant_id, parts).await;
    let written = writer.await.map_err(|err| ApiError::Internal(err.into()))?;
    read?;
    let (file, size) = written.map_err(|err| ApiError::Internal(err.into()))?;
    crate::audit::record(
        &state,
        &caller,
        "tenant.export",
        None,
        serde_json::json!({ "bytes": size }),
    )
    .await;
    let name = format!("xeno-export-{}.zip", chrono::Utc::now().format("%Y-%m-%d"));
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/zip".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (axum::http::header::CONTENT_LENGTH, size.to_string()),
        ],
        axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(
            tokio::fs::File::from_std(file),
        )),
    )
        .into_response())
}
