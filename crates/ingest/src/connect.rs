//! Connected stores: Shopify settings, access tokens (refreshed ahead of expiry by one
//! process at a time), and the webhook subscriptions Xeno keeps at each shop.

use std::time::Duration;

use chrono::{DateTime, Utc};
use xeno_domain::ids::{StoreId, TenantId};
use xeno_shopify::admin::AdminClient;
use xeno_shopify::oauth::{self, AppCredentials, TokenGrant};
use xeno_shopify::{shop_base_url, ShopifyError};
use xeno_storage::stores::{mark_needs_reauth, save_refreshed_tokens, SealedSecrets};
use xeno_storage::{Db, StorageError};

use crate::secrets::{Cipher, SecretError};

/// The webhook topics Xeno subscribes to, in the Admin API's enum spelling. The privacy
/// topics are declared in the app's configuration instead (Shopify does not allow them here).
pub const TOPICS: [&str; 22] = [
    "CUSTOMERS_CREATE",
    "CUSTOMERS_UPDATE",
    "CUSTOMERS_DELETE",
    "CUSTOMERS_ENABLE",
    "CUSTOMERS_DISABLE",
    "PRODUCTS_CREATE",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_PAID",
    "ORDERS_CANCELLED",
    "ORDERS_FULFILLED",
    "ORDERS_PARTIALLY_FULFILLED",
    "ORDERS_DELETE",
    "REFUNDS_CREATE",
    "CHECKOUTS_CREATE",
    "CHECKOUTS_UPDATE",
    "CHECKOUTS_DELETE",
    "CARTS_CREATE",
    "CARTS_UPDATE",
    "APP_UNINSTALLED",
];

/// Refresh an expiring token when it has less than this left.
const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);

/// How Xeno talks to Shopify.
#[derive(Debug, Clone)]
pub struct ShopifySettings {
    /// The app's credentials; `None` when only custom-app tokens are used.
    pub app: Option<AppCredentials>,
    /// The app's previous secret, still accepted on webhooks during a rotation.
    pub previous_secret: Option<String>,
    pub shop_url_template: String,
    pub api_version: String,
    pub scopes: Vec<String>,
    /// Where Shopify reaches Xeno, without a trailing slash.
    pub public_url: String,
    /// Ask for expiring offline tokens (required of public apps from 2027-01-01).
    pub expiring_tokens: bool,
    /// The most a sync deletes of a store's records of one kind, in percent, before it stops
    /// and asks for confirmation (Shopify's export missing records is likelier than a
    /// merchant deleting a fifth of a catalogue at once).
    pub max_delete_percent: u64,
    /// Deliveries made longer ago than this (X-Shopify-Triggered-At) are refused: Shopify
    /// retries a delivery for 4 hours, so an older one is a replay.
    pub webhook_max_age: std::time::Duration,
    /// Days a routine check against Shopify Analytics covers, ending yesterday.
    pub reconcile_days: i64,
    /// The monthly rate a refit's lifetime values discount future spend at.
    pub clv_monthly_discount: f64,
}

impl ShopifySettings {
    pub fn base_url(&self, shop: &str) -> String {
        shop_base_url(&self.shop_url_template, shop)
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/api/webhooks/shopify", self.public_url)
    }

    pub fn callback_url(&self) -> String {
        format!("{}/api/shopify/callback", self.public_url)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Shopify(#[from] ShopifyError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("the store needs to be authorised again: {0}")]
    NeedsReauth(String),
    #[error("the store has no access token (disconnected or uninstalled)")]
    NoToken,
    /// A sync would delete more than its share: nothing was deleted.
    #[error("{DELETIONS_HELD}: the sync would delete {gone} of {stored} {resource} records ({percent} %), more than the {limit} % a sync deletes without confirmation; nothing was deleted. If Shopify really no longer has them, sync again confirming the deletions (POST /api/sync/{{store_id}}?mode=full&confirm_deletions=true)")]
    TooManyDeletions {
        resource: &'static str,
        gone: usize,
        stored: u64,
        percent: u64,
        limit: u64,
    },
}

/// How the error of a sync that held back deletions begins, for clients to offer to confirm.
pub const DELETIONS_HELD: &str = "deletions held for confirmation";

/// Seals a fresh grant for storage.
pub fn seal_grant(
    cipher: &Cipher,
    grant: &TokenGrant,
    webhook_secret: Option<&str>,
) -> SealedSecrets {
    let now = Utc::now();
    let after = |secs: Option<u64>| {
        secs.and_then(|s| chrono::Duration::try_seconds(i64::try_from(s).ok()?))
            .map(|d| now + d)
    };
    SealedSecrets {
        access_token: Some(cipher.seal(&grant.access_token)),
        refresh_token: grant.refresh_token.as_deref().map(|t| cipher.seal(t)),
        webhook_secret: webhook_secret.map(|s| cipher.seal(s)),
        key_id: Some(cipher.key_id().to_owned()),
        access_token_expires_at: after(grant.expires_in),
        refresh_token_expires_at: after(grant.refresh_token_expires_in),
    }
}

fn needs_refresh(expires_at: Option<DateTime<Utc>>) -> bool {
    expires_at.is_some_and(|at| {
        at - Utc::now() < chrono::Duration::from_std(REFRESH_AHEAD).unwrap_or_default()
    })
}

fn open_access(cipher: &Cipher, secrets: &SealedSecrets) -> Result<String, ConnectError> {
    let (Some(key_id), Some(token)) = (&secrets.key_id, &secrets.access_token) else {
        return Err(ConnectError::NoToken);
    };
    Ok(cipher.open(key_id, token)?)
}

/// A live access token for the store, refreshing it first when it is about to expire.
/// Concurrent callers serialise on the store's row: one refreshes, the rest use its result.
pub async fn access_token(
    db: &Db,
    cipher: &Cipher,
    settings: &ShopifySettings,
    http: &reqwest::Client,
    tenant: TenantId,
    store: StoreId,
    shop: &str,
) -> Result<String, ConnectError> {
    let secrets = db
        .store_secrets(tenant, store)
        .await?
        .ok_or(ConnectError::NoToken)?;
    if !needs_refresh(secrets.access_token_expires_at) {
        return open_access(cipher, &secrets);
    }
    let (mut tx, secrets) = db.lock_store_secrets(tenant, store).await?;
    let secrets = secrets.ok_or(ConnectError::NoToken)?;
    if !needs_refresh(secrets.access_token_expires_at) {
        // Another process refreshed while we waited for the lock.
        tx.commit().await.map_err(StorageError::from)?;
        return open_access(cipher, &secrets);
    }
    let (Some(key_id), Some(sealed_refresh), Some(app)) =
        (&secrets.key_id, &secrets.refresh_token, &settings.app)
    else {
        tx.commit().await.map_err(StorageError::from)?;
        return Err(ConnectError::NoToken);
    };
    let refresh_token = cipher.open(key_id, sealed_refresh)?;
    let base = settings.base_url(shop);
    // A lost answer is retried at once with the same refresh token, as Shopify advises.
    let mut result = oauth::refresh(http, &base, app, &refresh_token).await;
    if matches!(result, Err(ShopifyError::Network(_))) {
        result = oauth::refresh(http, &base, app, &refresh_token).await;
    }
    match result {
        Ok(grant) => {
            let sealed = SealedSecrets {
                webhook_secret: secrets.webhook_secret.clone(),
                ..seal_grant(cipher, &grant, None)
            };
            save_refreshed_tokens(&mut tx, tenant, store, &sealed).await?;
            tx.commit().await.map_err(StorageError::from)?;
            tracing::info!(%tenant, %store, "access token refreshed");
            Ok(grant.access_token)
        }
        Err(ShopifyError::Refused(reason)) => {
            let why = format!("Shopify refused the token refresh: {reason}");
            mark_needs_reauth(&mut tx, tenant, store, &why).await?;
            tx.commit().await.map_err(StorageError::from)?;
            Err(ConnectError::NeedsReauth(why))
        }
        Err(err) => Err(err.into()),
    }
}

/// Subscribes the shop to every topic Xeno uses, at Xeno's webhook URL.
pub async fn subscribe_all(
    admin: &AdminClient,
    settings: &ShopifySettings,
) -> Result<usize, ShopifyError> {
    let url = settings.webhook_url();
    let existing = admin.subscriptions().await?;
    let mut created = 0;
    for topic in TOPICS {
        let present = existing
            .iter()
            .any(|s| s.topic == topic && s.callback_url.as_deref() == Some(url.as_str()));
        if !present {
            admin.subscribe(topic, &url).await?;
            created += 1;
        }
    }
    Ok(created)
}

/// Deletes Xeno's subscriptions at the shop (when a store is disconnected).
pub async fn unsubscribe_all(
    admin: &AdminClient,
    settings: &ShopifySettings,
) -> Result<(), ShopifyError> {
    let url = settings.webhook_url();
    for subscription in admin.subscriptions().await? {
        if subscription.callback_url.as_deref() == Some(url.as_str()) {
            admin.delete_subscription(&subscription.id).await?;
        }
    }
    Ok(())
}
