use axum::extract::FromRef;
use xeno_storage::Db;

use crate::auth::TokenKeys;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    /// Optional: without it, rate limits and the cache live in-process.
    pub redis: Option<redis::Client>,
    pub tokens: TokenKeys,
}

impl FromRef<AppState> for TokenKeys {
    fn from_ref(state: &AppState) -> Self {
        state.tokens.clone()
    }
}
