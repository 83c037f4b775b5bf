//! Xeno's HTTP API: routes, authentication, errors and the OpenAPI document.

pub mod admission;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod authorization;
mod cache;
pub mod error;
pub mod extract;
mod headers;
mod limits;
pub mod mail;
mod paging;
mod privacy;
pub mod redis_link;
mod routes;
mod shopify_id;
pub mod state;
pub mod throttle;
mod web;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, Response};
use axum::response::IntoResponse;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::cache::AnswerCache;
use crate::error::ApiError;
pub use crate::routes::webhooks::MAX_WEBHOOK_BYTES;
pub use crate::state::AppState;

/// Request latency by status: the service's headline metric.
static HTTP_REQUESTS: std::sync::LazyLock<prometheus::HistogramVec> =
    std::sync::LazyLock::new(|| {
        prometheus::register_histogram_vec!(
            "xeno_http_request_duration_seconds",
            "HTTP requests by status, with their latency",
            &["status"],
            vec![0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]
        )
        .expect("xeno_http_request_duration_seconds registers")
    });

/// Requests larger than this are refused with 413 before a handler sees them.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Xeno API",
        description = "Shopify store data and insights for retailers. Errors are RFC 9457 \
                       `application/problem+json` documents."
    ),
    modifiers(&BearerAuth),
    // Enums only query parameters use: the routes' bodies register the rest.
    components(schemas(
        routes::lists::Order,
        routes::sync::SyncMode,
        routes::insights::ProductSort,
        routes::insights::ProductsBy,
        routes::insights::Compare,
        routes::insights::SegmentSort,
    )),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "members", description = "Members, roles, invitations and the audit log"),
        (name = "stores", description = "Connecting Shopify stores"),
        (name = "webhooks", description = "Webhook intake, the event log and replay"),
        (name = "sync", description = "Backfill and sync progress"),
        (name = "operations", description = "Health and documentation"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("xeno_… (an API key; analyst keys may only read)")
                    .build(),
            ),
        );
    }
}

/// Every API route with its OpenAPI description, before layers are added.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::accounts::register_account))
        .routes(routes!(routes::accounts::log_in))
        .routes(routes!(routes::accounts::get_current_user))
        .routes(routes!(routes::accounts::refresh_session))
        .routes(routes!(routes::accounts::log_out))
        .routes(routes!(routes::accounts::change_password))
        .routes(routes!(routes::accounts::change_email))
        .routes(routes!(routes::accounts::switch_tenant))
        .routes(routes!(routes::sessions::list_sign_ins))
        .routes(routes!(routes::sessions::end_sign_in))
        .routes(routes!(routes::sessions::leave_tenant))
        .routes(routes!(routes::keys::create_key, routes::keys::list_keys))
        .routes(routes!(routes::keys::revoke_key))
        .routes(routes!(routes::members::list_members))
        .routes(routes!(
            routes::members::change_member_role,
            routes::members::remove_member
        ))
        .routes(routes!(routes::members::transfer_ownership))
        .routes(routes!(
            routes::invitations::invite_member,
            routes::invitations::list_invitations
        ))
        .routes(routes!(routes::invitations::revoke_invitation))
        .routes(routes!(routes::invitations::accept_invitation))
        .routes(routes!(routes::audit::list_audit))
        .routes(routes!(routes::tenant::delete_tenant))
        .routes(routes!(routes::tenant::export_tenant))
        .routes(routes!(routes::health::get_health))
        .routes(routes!(routes::health::get_readiness))
        .routes(routes!(routes::health::get_prometheus_metrics))
        .routes(routes!(routes::install::start_install))
        .routes(routes!(routes::install::finish_install))
        .routes(routes!(
            routes::stores::create_store,
            routes::stores::list_stores
        ))
        .routes(routes!(
            routes::stores::get_store,
            routes::stores::delete_store
        ))
        .routes(routes!(routes::lists::list_customers))
        .routes(routes!(routes::lists::get_customer))
        .routes(routes!(routes::lists::list_orders))
        .routes(routes!(routes::lists::get_order))
        .routes(routes!(routes::lists::list_products))
        .routes(routes!(routes::lists::get_product))
        .routes(routes!(routes::insights::get_dashboard))
        .routes(routes!(routes::insights::get_top_products))
        .routes(routes!(routes::insights::get_checkout_funnel))
        .routes(routes!(routes::insights::get_cohorts))
        .routes(routes!(routes::insights::get_segments))
        .routes(routes!(routes::insights::export_segment))
        .routes(routes!(routes::insights::list_segment_customers))
        .routes(routes!(routes::predictions::get_prediction_summary))
        .routes(routes!(routes::predictions::refit_predictions))
        .routes(routes!(routes::predictions::get_predictive_segments))
        .routes(routes!(routes::segment_tags::list_segment_tags))
        .routes(routes!(
            routes::segment_tags::switch_segment_tag_on,
            routes::segment_tags::switch_segment_tag_off
        ))
        .routes(routes!(routes::segment_tags::segment_tag_plan))
        .routes(routes!(
            routes::predictions::list_predictive_segment_customers
        ))
        .routes(routes!(routes::reconciliation::list_reconciliations))
        .routes(routes!(routes::reconciliation::start_reconciliation))
        .routes(routes!(routes::sync::get_sync_status))
        .routes(routes!(routes::sync::list_sync_runs))
        .routes(routes!(routes::sync::start_sync))
        .routes(routes!(routes::webhooks::list_webhook_events))
        .routes(routes!(routes::webhooks::replay_webhook_event))
        .merge(
            // Shopify's payloads can be larger than other requests.
            OpenApiRouter::new()
                .routes(routes!(routes::webhooks::receive_webhook))
                .layer(DefaultBodyLimit::max(routes::webhooks::MAX_WEBHOOK_BYTES)),
        )
}

/// The OpenAPI document, generated from the route annotations.
pub fn openapi() -> OpenApiDoc {
    let (_, mut doc) = api_routes().split_for_parts();
    routes::docs::describe(&mut doc);
    doc
}

/// `/metrics` alone, for a listener of its own (`XENO_METRICS_BIND`): the scraper's port,
/// kept off the public one.
pub fn metrics_router(mut state: AppState) -> Router {
    state.metrics_here = true;
    Router::new()
        .route(
            "/metrics",
            axum::routing::get(routes::health::get_prometheus_metrics),
        )
        .with_state(state)
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, mut doc) = api_routes().split_for_parts();
    routes::docs::describe(&mut doc);
    let cors = cors(&state.cors_origins);
    let app = api
        .merge(routes::docs::router(doc))
        .fallback(web::dashboard)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(limits::enforce))
        .layer(axum::middleware::from_fn(throttle::rate_limit_headers))
        .layer(axum::middleware::from_fn(privacy::mask_for_viewers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            admission::admit,
        ))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
            },
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            headers::security_headers,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or(request.uri().path(), MatchedPath::as_str);
                    let request_id = request
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), route, request_id)
                })
                .on_response(
                    |response: &Response<_>, latency: Duration, _: &tracing::Span| {
                        HTTP_REQUESTS
                            .with_label_values(&[response.status().as_str()])
                            .observe(latency.as_secs_f64());
                        tracing::info!(
                            status = response.status().as_u16(),
                            latency_ms = latency.as_millis() as u64,
                            "response"
                        );
                    },
                ),
        );
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    app.layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Cross-origin calls from the configured origins only (bearer tokens, no cookies); with
/// none configured there is no CORS at all, and browsers keep other origins out.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{header, HeaderValue, Method};
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if allowed.is_empty() {
        return None;
    }
    let layer = tower_http::cors::CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            header::HeaderName::from_static("ratelimit-limit"),
            header::HeaderName::from_static("ratelimit-remaining"),
            header::HeaderName::from_static("ratelimit-reset"),
        ])
        .max_age(Duration::from_secs(600));
    Some(layer)
}
