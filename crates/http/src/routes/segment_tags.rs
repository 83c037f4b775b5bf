//! Predictive segments that reach Shopify as customer tags: switched on per store and
//! segment, shown with what the next run would change (a dry run), applied at the end of the
//! store's syncs (`xeno_ingest::segment_tags`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;
use xeno_domain::ids::StoreId;
use xeno_ingest::segment_tags::WRITE_CUSTOMERS;
use xeno_storage::segment_tags::{SwitchOn, TagPlan, TagSync};
use xeno_storage::stores::StoreRow;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

/// A customer id list in a dry run stops here; the counts are always whole.
const PLAN_IDS: usize = 500;

#[derive(Debug, Serialize, ToSchema)]
pub struct TagSyncOut {
    /// `likely_to_return`, `high_value_at_risk` or `one_and_done`.
    segment: String,
    /// The Shopify customer tag that follows the segment.
    tag: String,
    /// `on`, or `switching_off` (the next sync takes the tag off everyone Xeno tagged).
    status: &'static str,
    /// Customers carrying the tag because Xeno put it there.
    tagged: i64,
    /// What the next run would change now.
    pending_add: usize,
    pending_remove: usize,
    switched_on_at: DateTime<Utc>,
    /// The last run: when it ended, what it changed, and why it stopped short if it did
    /// (the next sync resumes).
    last_run_at: Option<DateTime<Utc>>,
    last_added: i32,
    last_removed: i32,
    last_error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagSyncs {
    store_id: Uuid,
    /// Whether Shopify has granted `write_customers`, which tagging needs.
    write_customers: bool,
    /// When it has not and a segment is switched on: the shop's page that grants it.
    authorize_url: Option<String>,
    data: Vec<TagSyncOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TagSyncIn {
    /// 1–40 characters, no commas (Shopify splits tags on them), e.g. `xeno-likely-to-return`.
    tag: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagPlanOut {
    segment: String,
    tag: String,
    /// Customers (Shopify ids) the next run tags, and those it untags: at most 500 of each
    /// listed; the counts are whole.
    add: Vec<i64>,
    remove: Vec<i64>,
    add_count: usize,
    remove_count: usize,
}

async fn store(state: &AppState, caller: &AuthUser, id: Uuid) -> Result<StoreRow, ApiError> {
    state
        .db
        .get_store(caller.tenant_id, StoreId(id))
        .await?
        .ok_or_else(|| ApiError::NotFound("no such store".to_owned()))
}

fn granted(row: &StoreRow) -> bool {
    row.scopes.iter().any(|s| s == WRITE_CUSTOMERS)
}

async fn plan(
    state: &AppState,
    caller: &AuthUser,
    store: Uuid,
    segment: &str,
) -> Result<TagPlan, ApiError> {
    state
        .db
        .segment_tag_plan(caller.tenant_id, StoreId(store), segment)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "the segment {segment:?} is not switched on for tags"
            ))
        })
}

async fn out(
    state: &AppState,
    caller: &AuthUser,
    store: Uuid,
    sync: TagSync,
) -> Result<TagSyncOut, ApiError> {
    let pending = plan(state, caller, store, &sync.segment).await?;
    Ok(TagSyncOut {
        status: if sync.removing { "switching_off" } else { "on" },
        pending_add: pending.add.len(),
        pending_remove: pending.remove.len(),
        segment: sync.segment,
        tag: sync.tag,
        tagged: sync.tagged,
        switched_on_at: sync.created_at,
        last_run_at: sync.last_run_at,
        last_added: sync.added,
        last_removed: sync.removed,
        last_error: sync.last_error,
    })
}

async fn listing(state: &AppState, caller: &AuthUser, id: Uuid) -> Result<TagSyncs, ApiError> {
    let row = store(state, caller, id).await?;
    let syncs = state
        .db
        .segment_tag_syncs(caller.tenant_id, StoreId(id))
        .await?;
    let wanted = syncs.iter().any(|s| !s.removing);
    let write_customers = granted(&row);
    let authorize_url = match (&state.shopify.app, wanted && !write_customers) {
        (Some(app), true) if row.connection_kind == "oauth" => {
            Some(crate::routes::install::authorize_url(state, caller, app, &row.shop_domain).await?)
        }
        _ => None,
    };
    let mut data = Vec::with_capacity(syncs.len());
    for sync in syncs {
        data.push(out(state, caller, id, sync).await?);
    }
    Ok(TagSyncs {
        store_id: id,
        write_customers,
        authorize_url,
        data,
    })
}

/// A store's segments kept in step with Shopify customer tags.
#[utoipa::path(get, path = "/api/stores/{store_id}/segment-tags", tag = "insights",
    params(("store_id" = Uuid, Path, description = "store id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TagSyncs),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_segment_tags(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(store_id): ApiPath<Uuid>,
) -> Result<Json<TagSyncs>, ApiError> {
    Ok(Json(listing(&state, &caller, store_id).await?))
}

/// Switch a predictive segment on for a Shopify customer tag: from the store's next sync on
/// (`POST /api/sync/{store_id}` to run one now), its customers carry the tag and those who
/// leave it lose it. Tagging needs `write_customers`; until Shopify grants it, the answer's
/// `authorize_url` is the shop's page that does (Xeno asks for it only for this).
#[utoipa::path(put, path = "/api/stores/{store_id}/segment-tags/{segment}", tag = "insights",
    params(
        ("store_id" = Uuid, Path, description = "store id"),
        ("segment" = String, Path, description = "`likely_to_return`, `high_value_at_risk` or `one_and_done`"),
    ),
    request_body = TagSyncIn,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TagSyncs),
        (status = 404, description = "no such store or segment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the segment has another tag, or another segment this one", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn switch_segment_tag_on(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath((store_id, segment)): ApiPath<(Uuid, String)>,
    ApiJson(input): ApiJson<TagSyncIn>,
) -> Result<Json<TagSyncs>, ApiError> {
    let tag = input.tag.trim();
    if tag.is_empty() || tag.chars().count() > 40 || tag.contains(',') {
        return Err(ApiError::invalid("tag", "1–40 characters without commas"));
    }
    store(&state, &caller, store_id).await?;
    let by = (!caller.key).then_some(caller.user_id);
    match state
        .db
        .switch_segment_tag_on(caller.tenant_id, StoreId(store_id), &segment, tag, by)
        .await?
    {
        SwitchOn::On => {}
        SwitchOn::UnknownSegment => {
            return Err(ApiError::NotFound(format!(
                "no predictive segment {segment:?}"
            )))
        }
        SwitchOn::OtherTag(other) => {
            return Err(ApiError::Conflict(format!(
                "{segment} already syncs to the tag {other:?}: switch it off first"
            )))
        }
        SwitchOn::TagTaken => {
            return Err(ApiError::Conflict(format!(
                "another segment of this store syncs to the tag {tag:?}"
            )))
        }
    }
    crate::audit::record(
        &state,
        &caller,
        "segment.tag_on",
        Some(store_id.to_string()),
        json!({ "segment": segment, "tag": tag }),
    )
    .await;
    Ok(Json(listing(&state, &caller, store_id).await?))
}

/// Switch a segment's tag off: the store's next sync takes the tag off every customer Xeno
/// tagged, then forgets the segment's sync.
#[utoipa::path(delete, path = "/api/stores/{store_id}/segment-tags/{segment}", tag = "insights",
    params(
        ("store_id" = Uuid, Path, description = "store id"),
        ("segment" = String, Path, description = "the segment"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "the next sync removes the tag", body = TagSyncs),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn switch_segment_tag_off(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath((store_id, segment)): ApiPath<(Uuid, String)>,
) -> Result<(StatusCode, Json<TagSyncs>), ApiError> {
    store(&state, &caller, store_id).await?;
    if !state
        .db
        .switch_segment_tag_off(caller.tenant_id, StoreId(store_id), &segment)
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "the segment {segment:?} is not switched on for tags"
        )));
    }
    crate::audit::record(
        &state,
        &caller,
        "segment.tag_off",
        Some(store_id.to_string()),
        json!({ "segment": segment }),
    )
    .await;
    Ok((
        StatusCode::ACCEPTED,
        Json(listing(&state, &caller, store_id).await?),
    ))
}

/// The dry run: which customers the next sync would tag and untag for a segment, changing
/// nothing.
#[utoipa::path(get, path = "/api/stores/{store_id}/segment-tags/{segment}/plan", tag = "insights",
    params(
        ("store_id" = Uuid, Path, description = "store id"),
        ("segment" = String, Path, description = "the segment"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TagPlanOut),
        (status = 404, description = "no such store, or the segment is not switched on", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn segment_tag_plan(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath((store_id, segment)): ApiPath<(Uuid, String)>,
) -> Result<Json<TagPlanOut>, ApiError> {
    store(&state, &caller, store_id).await?;
    let mut plan = plan(&state, &caller, store_id, &segment).await?;
    let (add_count, remove_count) = (plan.add.len(), plan.remove.len());
    plan.add.truncate(PLAN_IDS);
    plan.remove.truncate(PLAN_IDS);
    Ok(Json(TagPlanOut {
        segment,
        tag: plan.tag,
        add: plan.add,
        remove: plan.remove,
        add_count,
        remove_count,
    }))
}
