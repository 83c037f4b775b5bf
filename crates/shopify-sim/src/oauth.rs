//! OAuth: the authorization code grant, offline tokens, expiring tokens and their refresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::hmac::oauth_signature;
use crate::state::{lock, token, AccessToken, Code, RefreshGrant, Sim};

const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);
const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// Scopes Shopify knows; anything else is refused at authorize.
const KNOWN_SCOPES: &[&str] = &[
    "read_customers",
    "write_customers",
    "read_orders",
    "write_orders",
    "read_all_orders",
    "read_products",
    "write_products",
    "read_checkouts",
    "write_checkouts",
    "read_inventory",
    "read_fulfillments",
    "read_discounts",
    "read_shipping",
    "read_analytics",
    "read_reports",
];

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct AuthorizeQuery {
    client_id: Option<String>,
    scope: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
}

/// `GET /{shop}/admin/oauth/authorize`: approves at once and redirects back with a code.
pub async fn authorize(
    State(sim): State<Arc<Sim>>,
    Path(shop): Path<String>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let Some(entry) = sim.shop(&shop) else {
        return oauth_error(StatusCode::NOT_FOUND, "shop_not_found", "no such shop");
    };
    if query.client_id.as_deref() != Some(sim.options.api_key.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unknown client_id",
        );
    }
    let scopes = query.scope.unwrap_or_default();
    if let Some(bad) = scopes
        .split(',')
        .map(str::trim)
        .find(|s| !KNOWN_SCOPES.contains(s))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("unknown scope {bad:?}"),
        );
    }
    let Some(redirect) = query
        .redirect_uri
        .as_deref()
        .and_then(|uri| url::Url::parse(uri).ok())
        .filter(|uri| matches!(uri.scheme(), "http" | "https"))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri must be an http(s) URL",
        );
    };
    let code = token("");
    lock(&entry.grant).codes.insert(
        code.clone(),
        Code {
            scopes,
            expires: Instant::now() + sim.scaled(CODE_LIFETIME),
        },
    );
    let store = shop.strip_suffix(".myshopify.com").unwrap_or(&shop);
    let mut params = vec![
        ("code".to_owned(), code),
        (
            "host".to_owned(),
            BASE64.encode(format!("admin.shopify.com/store/{store}")),
        ),
        ("shop".to_owned(), shop.clone()),
        (
            "timestamp".to_owned(),
            chrono::Utc::now().timestamp().to_string(),
        ),
    ];
    if let Some(state) = query.state {
        params.push(("state".to_owned(), state));
    }
    let hmac = oauth_signature(&sim.options.api_secret, &params);
    let mut target = redirect;
    {
        let mut pairs = target.query_pairs_mut();
        for (name, value) in &params {
            pairs.append_pair(name, value);
        }
        pairs.append_pair("hmac", &hmac);
    }
    // Shopify answers 302 Found.
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
    refresh_token: Option<String>,
    expiring: Option<serde_json::Value>,
    subject_token: Option<String>,
    subject_token_type: Option<String>,
}

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const OFFLINE_TOKEN_TYPE: &str = "urn:shopify:params:oauth:token-type:offline-access-token";

/// `POST /{shop}/admin/oauth/access_token`: code exchange and refresh, JSON or form body.
pub async fn access_token(
    State(sim): State<Arc<Sim>>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let request: Option<TokenRequest> = if is_json {
        serde_json::from_slice(&body).ok()
    } else {
        serde_urlencoded_parse(&body)
    };
    let Some(request) = request else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "malformed body");
    };
    let Some(entry) = sim.shop(&shop) else {
        return oauth_error(StatusCode::NOT_FOUND, "shop_not_found", "no such shop");
    };
    if request.client_id.as_deref() != Some(sim.options.api_key.as_str())
        || request.client_secret.as_deref() != Some(sim.options.api_secret.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "wrong client_id or client_secret",
        );
    }
    let expiring = matches!(
        request.expiring.as_ref(),
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(1)
    ) || matches!(request.expiring.as_ref(), Some(serde_json::Value::String(s)) if s == "1" || s == "true")
        || matches!(
            request.expiring.as_ref(),
            Some(serde_json::Value::Bool(true))
        );
    let now = Instant::now();
    let mut grant = lock(&entry.grant);

    let scopes = match request.grant_type.as_deref() {
        None | Some("authorization_code") => {
            let Some(code) = request.code.as_deref() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code is required",
                );
            };
            // A code works once: removing it makes any reuse fail.
            match grant.codes.remove(code) {
                Some(code) if code.expires > now => code.scopes,
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "The authorization code was not found or was already used",
                    )
                }
            }
        }
        // Migrating a non-expiring offline token to an expiring one; the old token is retired.
        Some(TOKEN_EXCHANGE) => {
            let subject = request.subject_token.unwrap_or_default();
            let valid = request.subject_token_type.as_deref() == Some(OFFLINE_TOKEN_TYPE)
                && grant
                    .tokens
                    .get(&subject)
                    .is_some_and(|t| t.expires.is_none());
            if !valid || !expiring {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_subject_token",
                    "subject_token must be a live non-expiring offline token, with expiring=1",
                );
            }
            let scopes = grant
                .tokens
                .remove(&subject)
                .map(|t| t.scopes)
                .unwrap_or_default();
            return issue_expiring(&sim, &mut grant, scopes, now, false);
        }
        Some("refresh_token") => {
            let presented = request.refresh_token.unwrap_or_default();
            let Some(refresh) = grant.refresh.as_mut() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "no refreshable token for this shop",
                );
            };
            let is_current = presented == refresh.current;
            let is_retry =
                !refresh.current_used && refresh.previous.as_deref() == Some(presented.as_str());
            if refresh.expires <= now || !(is_current || is_retry) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is invalid or expired",
                );
            }
            if is_current {
                refresh.current_used = true;
            }
            let scopes = refresh.scopes.clone();
            // Rotation retires every older refresh token.
            return issue_expiring(&sim, &mut grant, scopes, now, true);
        }
        Some(other) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("unsupported grant_type {other:?}"),
            )
        }
    };
    grant.installed = true;
    if expiring {
        return issue_expiring(&sim, &mut grant, scopes, now, false);
    }
    let access = token("shpat_");
    grant.tokens.insert(
        access.clone(),
        AccessToken {
            scopes: scopes.clone(),
            expires: None,
        },
    );
    Json(json!({ "access_token": access, "scope": scopes })).into_response()
}

fn issue_expiring(
    sim: &Sim,
    grant: &mut crate::state::Grant,
    scopes: String,
    now: Instant,
    rotating: bool,
) -> Response {
    let access = token("shpat_");
    let access_life = sim.scaled(ACCESS_TOKEN_LIFETIME);
    let refresh_life = sim.scaled(REFRESH_TOKEN_LIFETIME);
    grant.tokens.insert(
        access.clone(),
        AccessToken {
            scopes: scopes.clone(),
            expires: Some(now + access_life),
        },
    );
    let refresh = token("shprt_");
    let previous = if rotating {
        grant.refresh.as_ref().map(|r| r.current.clone())
    } else {
        None
    };
    grant.refresh = Some(RefreshGrant {
        current: refresh.clone(),
        current_used: false,
        previous,
        expires: now + refresh_life,
        scopes: scopes.clone(),
    });
    Json(json!({
        "access_token": access,
        "scope": scopes,
        "expires_in": access_life.as_secs().max(1),
        "refresh_token": refresh,
        "refresh_token_expires_in": refresh_life.as_secs().max(1),
    }))
    .into_response()
}

fn serde_urlencoded_parse(body: &[u8]) -> Option<TokenRequest> {
    let mut request = TokenRequest::default();
    for (name, value) in url::form_urlencoded::parse(body) {
        let value = value.into_owned();
        match name.as_ref() {
            "client_id" => request.client_id = Some(value),
            "client_secret" => request.client_secret = Some(value),
            "code" => request.code = Some(value),
            "grant_type" => request.grant_type = Some(value),
            "refresh_token" => request.refresh_token = Some(value),
            "subject_token" => request.subject_token = Some(value),
            "subject_token_type" => request.subject_token_type = Some(value),
            "expiring" => request.expiring = Some(serde_json::Value::String(value)),
            _ => {}
        }
    }
    Some(request)
}

/// Checks `X-Shopify-Access-Token` for `shop`; the granted scopes when valid.
pub fn authenticate(sim: &Sim, shop: &str, headers: &HeaderMap) -> Option<String> {
    let presented = headers.get("x-shopify-access-token")?.to_str().ok()?;
    let entry = sim.shop(shop)?;
    let grant = lock(&entry.grant);
    if !grant.installed {
        return None;
    }
    let token = grant.tokens.get(presented)?;
    match token.expires {
        Some(expires) if expires <= Instant::now() => None,
        _ => Some(token.scopes.clone()),
    }
}
