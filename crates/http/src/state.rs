//! What every handler can reach: the pool, the acceptor, the cache, keys and settings.

use std::sync::Arc;

use axum::extract::FromRef;
use xeno_ingest::acceptor::Acceptor;
use xeno_ingest::connect::ShopifySettings;
use xeno_ingest::secrets::Cipher;
use xeno_storage::Db;

use crate::auth::{StateKeys, TokenKeys};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    /// Writes accepted webhooks in group commits.
    pub acceptor: Acceptor,
    /// Optional: without it, rate limits and the cache live in-process.
    pub redis: Option<redis::Client>,
    /// Computed insights, keyed by the tenant's data version.
    pub cache: crate::cache::AnswerCache,
    pub tokens: TokenKeys,
    /// Signs OAuth install `state` values.
    pub install_states: StateKeys,
    /// Seals store secrets at rest.
    pub cipher: Cipher,
    pub shopify: Arc<ShopifySettings>,
    /// Outbound HTTP to Shopify.
    pub http: reqwest::Client,
    /// How often a backfill asks whether Shopify's export has finished.
    pub bulk_poll: std::time::Duration,
    /// The built dashboard.
    pub web_dir: std::path::PathBuf,
    /// Each shop's circuit breaker for syncs this process runs.
    pub breakers: xeno_shopify::breaker::Breakers,
    /// Origins allowed to call the API from a browser (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// Whether this listener serves `/metrics` (not when it has an address of its own).
    pub metrics_here: bool,
    /// The bearer token `/metrics` asks for, when one is configured.
    pub metrics_token: Option<String>,
    /// Rate limits (per tenant, shop and address) and sign-in throttling.
    pub throttle: Arc<crate::throttle::Throttle>,
    /// How many requests run at once, per budget and tenant.
    pub admission: Arc<crate::admission::Admission>,
    /// Raised when the process begins to stop: syncs stop at their next batch.
    pub stopping: xeno_ingest::backfill::Stopping,
    /// API keys recently checked live.
    pub live_keys: Arc<crate::api_keys::LiveKeys>,
    /// Sessions recently checked live.
    pub live_sessions: Arc<crate::auth::LiveSessions>,
    /// Sends invitations by mail, when an SMTP server is configured.
    pub mailer: Option<crate::mail::Mailer>,
}

impl AppState {
    pub fn backfill(&self) -> xeno_ingest::backfill::Backfill {
        xeno_ingest::backfill::Backfill {
            db: self.db.clone(),
            cipher: self.cipher.clone(),
            settings: Arc::clone(&self.shopify),
            http: self.http.clone(),
            poll: self.bulk_poll,
            breakers: self.breakers.clone(),
            deletions_confirmed: false,
            stopping: self.stopping.clone(),
        }
    }
}

impl FromRef<AppState> for TokenKeys {
    fn from_ref(state: &AppState) -> Self {
        state.tokens.clone()
    }
}
