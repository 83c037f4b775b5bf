//! The authorization code grant: the install URL, the code exchange, token refresh.

use serde::Deserialize;
use serde_json::json;

use crate::ShopifyError;

/// The app's credentials from the Partner dashboard.
#[derive(Clone)]
pub struct AppCredentials {
    pub api_key: String,
    pub api_secret: String,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

/// Where to send the merchant to approve the app (offline access: no `grant_options[]`).
pub fn authorize_url(
    base: &str,
    api_key: &str,
    scopes: &[String],
    redirect_uri: &str,
    state: &str,
) -> String {
    let mut url = format!("{base}/admin/oauth/authorize?");
    url.push_str(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", api_key)
            .append_pair("scope", &scopes.join(","))
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .finish(),
    );
    url
}

/// An access token and, for expiring tokens, its refresh token and lifetimes.
#[derive(Deserialize)]
pub struct TokenGrant {
    pub access_token: String,
    pub scope: String,
    /// Seconds; absent for non-expiring offline tokens.
    pub expires_in: Option<u64>,
    pub refresh_token: Option<String>,
    pub refresh_token_expires_in: Option<u64>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

async fn token_request(
    http: &reqwest::Client,
    base: &str,
    body: serde_json::Value,
) -> Result<TokenGrant, ShopifyError> {
    let response = http
        .post(format!("{base}/admin/oauth/access_token"))
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if status.is_success() {
        return serde_json::from_str(&text).map_err(|err| ShopifyError::Decode(err.to_string()));
    }
    // Shopify answers a bad code or refresh token with 400/401 and an OAuth error body.
    let reason = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v["error_description"]
                .as_str()
                .or(v["error"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or(text);
    match status.as_u16() {
        400 | 401 | 403 => Err(ShopifyError::Refused(reason)),
        code => Err(ShopifyError::Status {
            status: code,
            body: reason,
        }),
    }
}

/// Exchanges an authorization code for an offline token; `expiring` asks for an expiring one.
pub async fn exchange_code(
    http: &reqwest::Client,
    base: &str,
    app: &AppCredentials,
    code: &str,
    expiring: bool,
) -> Result<TokenGrant, ShopifyError> {
    let mut body =
        json!({ "client_id": app.api_key, "client_secret": app.api_secret, "code": code });
    if expiring {
        body["expiring"] = json!(1);
    }
    token_request(http, base, body).await
}

/// Trades a refresh token for a new token pair (the refresh token rotates).
pub async fn refresh(
    http: &reqwest::Client,
    base: &str,
    app: &AppCredentials,
    refresh_token: &str,
) -> Result<TokenGrant, ShopifyError> {
    token_request(
        http,
        base,
        json!({
            "client_id": app.api_key,
            "client_secret": app.api_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }),
    )
    .await
}
