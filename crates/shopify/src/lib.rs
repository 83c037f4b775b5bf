//! Xeno's Shopify client: OAuth, the Admin GraphQL API, webhook signatures, and the mapping
//! from Shopify's payloads to Xeno's records.

pub mod admin;
pub mod breaker;
pub mod bulk;
mod ledger;
pub mod oauth;
pub mod paged;
pub mod payload;
pub mod signature;

use thiserror::Error;

/// The Admin API version Xeno speaks unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "2026-10";

/// Everything that can go wrong talking to Shopify.
#[derive(Debug, Error)]
pub enum ShopifyError {
    #[error("cannot reach the shop: {0}")]
    Network(#[from] reqwest::Error),
    /// 401/403: the token was revoked or lacks a scope; the merchant must re-authorise.
    #[error("Shopify refused the credentials ({status}): {body}")]
    Unauthorized { status: u16, body: String },
    #[error("Shopify answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("Shopify refused the request: {0}")]
    Refused(String),
    #[error("Shopify's answer was not understood: {0}")]
    Decode(String),
    #[error("Shopify kept throttling the request")]
    Throttled,
    /// The query would cost more than a single query may (`MAX_COST_EXCEEDED`).
    #[error("the query would cost {cost} points; a single query may cost {max}")]
    TooCostly { cost: u64, max: u64 },
    /// Shopify would not run a bulk export (refused, or the export failed): page instead.
    #[error("bulk export unavailable: {0}")]
    BulkUnavailable(String),
    /// The shop's circuit breaker is open: its calls kept failing, so none are made until a
    /// cool-down has passed.
    #[error(
        "calls to this shop are paused after repeated failures; they resume after a cool-down"
    )]
    Paused,
    /// The export's receiver stopped it (the service is shutting down).
    #[error("interrupted: {0}")]
    Interrupted(&'static str),
}

impl ShopifyError {
    /// Worth another attempt after a pause: the network failed, or Shopify answered 429 or
    /// a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network(err) => err.is_timeout() || err.is_connect() || err.is_request(),
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Shop domains as Shopify issues them: `name.myshopify.com`.
pub fn valid_shop_domain(shop: &str) -> bool {
    shop.strip_suffix(".myshopify.com").is_some_and(|name| {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The base URL of a shop: `template` with `{shop}` replaced (`https://{shop}` in production,
/// the simulator's address in development).
pub fn shop_base_url(template: &str, shop: &str) -> String {
    template
        .replace("{shop}", shop)
        .trim_end_matches('/')
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_domains_follow_shopifys_pattern() {
        assert!(valid_shop_domain("acme-store.myshopify.com"));
        assert!(valid_shop_domain("a1.myshopify.com"));
        for bad in [
            "-acme.myshopify.com",
            "acme.myshopify.com.evil.com",
            "acme.example.com",
            "ac_me.myshopify.com",
            ".myshopify.com",
            "acme.myshopify.com/",
        ] {
            assert!(!valid_shop_domain(bad), "{bad}");
        }
    }
}
