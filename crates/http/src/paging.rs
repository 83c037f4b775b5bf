//! Paging for every list the API answers: one limit rule and one opaque cursor codec.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;

/// Rows per page when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 50;
/// The most rows one page holds, for every list (Shopify's own page maximum).
pub const MAX_LIMIT: u32 = 250;

/// The page size asked for, checked against the one rule every list follows.
pub fn page_limit(asked: Option<u32>) -> Result<u32, ApiError> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest(format!(
            "`limit` must be between 1 and {MAX_LIMIT}, not {limit}"
        )))
    }
}

/// Where a page stopped, as an opaque string for the next request.
pub fn encode_cursor<C: Serialize>(cursor: &C) -> String {
    BASE64.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

/// A cursor this API gave out, or a 400 for anything else.
pub fn decode_cursor<C: DeserializeOwned>(text: &str) -> Result<C, ApiError> {
    BASE64
        .decode(text.as_bytes())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::BadRequest("`cursor` is not one this API gave out".to_owned()))
}
