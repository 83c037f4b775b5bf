//! Connected Shopify stores, their (encrypted) credentials and the shop-domain directory.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};

use crate::error::is_unique_violation;
use crate::{Db, StorageError};

/// Ciphertexts of a store's secrets and the key that sealed them.
#[derive(Clone, Default)]
pub struct SealedSecrets {
    pub access_token: Option<Vec<u8>>,
    pub refresh_token: Option<Vec<u8>>,
    pub webhook_secret: Option<Vec<u8>>,
    pub key_id: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SealedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecrets")
            .field("key_id", &self.key_id)
            .field("access_token_expires_at", &self.access_token_expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct SecretsRow {
    access_token: Option<Vec<u8>>,
    refresh_token: Option<Vec<u8>>,
    webhook_secret: Option<Vec<u8>>,
    token_key_id: Option<String>,
    access_token_expires_at: Option<DateTime<Utc>>,
    refresh_token_expires_at: Option<DateTime<Utc>>,
}

impl SecretsRow {
    fn into_secrets(self) -> SealedSecrets {
        SealedSecrets {
            access_token: self.access_token,
            refresh_token: self.refresh_token,
            webhook_secret: self.webhook_secret,
            key_id: self.token_key_id,
            access_token_expires_at: self.access_token_expires_at,
            refresh_token_expires_at: self.refresh_token_expires_at,
        }
    }
}

/// Stores a refreshed token pair inside the refresh's locked transaction.
pub async fn save_refreshed_tokens(
    tx: &mut crate::TenantTx,
    tenant: TenantId,
    store: StoreId,
    secrets: &SealedSecrets,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE stores SET access_token = $3, refresh_token = $4, token_key_id = $5, \
             access_token_expires_at = $6, refresh_token_expires_at = $7, updated_at = now() \
         WHERE tenant_id = $1 AND store_id = $2",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(&secrets.access_token)
    .bind(&secrets.refresh_token)
    .bind(&secrets.key_id)
    .bind(secrets.access_token_expires_at)
    .bind(secrets.refresh_token_expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks a store as needing the merchant to authorise Xeno again, inside a transaction.
pub async fn mark_needs_reauth(
    tx: &mut crate::TenantTx,
    tenant: TenantId,
    store: StoreId,
    reason: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE stores SET status = 'needs_reauth', status_reason = $3, updated_at = now() \
         WHERE tenant_id = $1 AND store_id = $2",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A store being connected (or reconnected).
#[derive(Debug, Clone)]
pub struct NewStore {
    pub shop_domain: String,
    pub connection_kind: &'static str,
    pub scopes: Vec<String>,
    pub secrets: SealedSecrets,
    pub shopify_shop_id: Option<i64>,
    pub name: String,
    pub currency: String,
    pub iana_timezone: String,
    pub api_version: String,
}

/// A store as the API shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoreRow {
    pub store_id: Uuid,
    pub shop_domain: String,
    pub shopify_shop_id: Option<i64>,
    pub name: Option<String>,
    pub currency: Option<String>,
    pub iana_timezone: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub connection_kind: String,
    pub scopes: Vec<String>,
    pub api_version: Option<String>,
    pub installed_at: Option<DateTime<Utc>>,
    pub uninstalled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub last_webhook_at: Option<DateTime<Utc>>,
    pub customers: i64,
    pub orders: i64,
    pub products: i64,
    /// Webhooks received in the last 24 hours, failed and waiting for a retry, dead-lettered.
    pub webhooks_last_day: i64,
    pub webhooks_retrying: i64,
    pub webhooks_dead: i64,
    /// Applied events in the log that changed nothing, by why (an `Unchanged` code).
    pub webhooks_unchanged: sqlx::types::Json<std::collections::BTreeMap<String, i64>>,
    /// Applied events whose payload lacked a date, so their record is dated on receipt.
    pub webhooks_dated_on_receipt: i64,
}

/// Where a webhook for a shop domain goes.
#[derive(Debug, Clone)]
pub struct StoreRoute {
    pub tenant_id: TenantId,
    pub store_id: StoreId,
    /// Disconnected stores take no webhooks.
    pub accepting: bool,
    /// A custom app's own webhook secret (sealed), and the key that sealed it.
    pub webhook_secret: Option<(String, Vec<u8>)>,
}

const STORE_COLUMNS: &str = "s.store_id, s.shop_domain, s.shopify_shop_id, s.name, \
    s.currency::text AS currency, s.iana_timezone, s.status, s.status_reason, s.connection_kind, \
    s.scopes, s.api_version, s.installed_at, s.uninstalled_at, s.created_at, s.access_token_expires_at, \
    (SELECT max(e.received_at) FROM webhook_events e WHERE e.tenant_id = s.tenant_id AND e.store_id = s.store_id) AS last_webhook_at, \
    (SELECT count(*) FROM customers c WHERE c.tenant_id = s.tenant_id AND c.store_id = s.store_id) AS customers, \
    (SELECT count(*) FROM orders o WHERE o.tenant_id = s.tenant_id AND o.store_id = s.store_id) AS orders, \
    (SELECT count(*) FROM products p WHERE p.tenant_id = s.tenant_id AND p.store_id = s.store_id) AS products, \
    (SELECT count(*) FROM webhook_events e WHERE e.tenant_id = s.tenant_id AND e.store_id = s.store_id \
        AND e.received_at > now() - interval '24 hours') AS webhooks_last_day, \
    (SELECT count(*) FROM webhook_events e WHERE e.tenant_id = s.tenant_id AND e.store_id = s.store_id \
        AND e.status = 'failed') AS webhooks_retrying, \
    (SELECT count(*) FROM webhook_events e WHERE e.tenant_id = s.tenant_id AND e.store_id = s.store_id \
        AND e.status = 'dead') AS webhooks_dead, \
    (SELECT COALESCE(jsonb_object_agg(u.outcome, u.n), '{}') FROM (SELECT e.outcome, count(*) AS n \
        FROM webhook_events e WHERE e.tenant_id = s.tenant_id AND e.store_id = s.store_id \
        AND e.outcome IS NOT NULL GROUP BY e.outcome) u) AS webhooks_unchanged, \
    (SELECT count(*) FROM webhook_events e WHERE e.tenant_id = s.tenant_id AND e.store_id = s.store_id \
        AND e.dated_on_receipt) AS webhooks_dated_on_receipt";

impl Db {
    /// Connects a shop to `tenant`, or reconnects it (reinstall after uninstall reactivates
    /// the same store). A shop connected to another tenant is [`StorageError::Conflict`].
    pub async fn connect_store(
        &self,
        tenant: TenantId,
        new: &NewStore,
    ) -> Result<StoreId, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let owner: Option<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT tenant_id, store_id FROM shop_domains WHERE shop_domain = $1 FOR UPDATE",
        )
        .bind(&new.shop_domain)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((owner_tenant, _)) = owner {
            if owner_tenant != tenant.0 {
                return Err(StorageError::Conflict(
                    "a connection for this shop in another account",
                ));
            }
        }
        let existing: Option<(Uuid,)> =
            sqlx::query_as("SELECT store_id FROM stores WHERE tenant_id = $1 AND shop_domain = $2")
                .bind(tenant.0)
                .bind(&new.shop_domain)
                .fetch_optional(&mut *tx)
                .await?;
        let store_id = existing.map_or_else(StoreId::new, |(id,)| StoreId(id));
        sqlx::query(
            "INSERT INTO stores (tenant_id, store_id, shop_domain, shopify_shop_id, name, currency, \
                 iana_timezone, status, status_reason, connection_kind, scopes, access_token, refresh_token, \
                 webhook_secret, token_key_id, access_token_expires_at, refresh_token_expires_at, \
                 installed_at, uninstalled_at, api_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', NULL, $8, $9, $10, $11, $12, $13, $14, $15, now(), NULL, $16) \
             ON CONFLICT (tenant_id, store_id) DO UPDATE SET \
                 shopify_shop_id = EXCLUDED.shopify_shop_id, name = EXCLUDED.name, currency = EXCLUDED.currency, \
                 iana_timezone = EXCLUDED.iana_timezone, status = 'active', status_reason = NULL, \
                 connection_kind = EXCLUDED.connection_kind, scopes = EXCLUDED.scopes, \
                 access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token, \
                 webhook_secret = EXCLUDED.webhook_secret, token_key_id = EXCLUDED.token_key_id, \
                 access_token_expires_at = EXCLUDED.access_token_expires_at, \
                 refresh_token_expires_at = EXCLUDED.refresh_token_expires_at, \
                 installed_at = now(), uninstalled_at = NULL, api_version = EXCLUDED.api_version, updated_at = now()",
        )
        .bind(tenant.0)
        .bind(store_id.0)
        .bind(&new.shop_domain)
        .bind(new.shopify_shop_id)
        .bind(&new.name)
        .bind(&new.currency)
        .bind(&new.iana_timezone)
        .bind(new.connection_kind)
        .bind(&new.scopes)
        .bind(&new.secrets.access_token)
        .bind(&new.secrets.refresh_token)
        .bind(&new.secrets.webhook_secret)
        .bind(&new.secrets.key_id)
        .bind(new.secrets.access_token_expires_at)
        .bind(new.secrets.refresh_token_expires_at)
        .bind(&new.api_version)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO shop_domains (shop_domain, tenant_id, store_id) VALUES ($1, $2, $3) \
             ON CONFLICT (shop_domain) DO NOTHING",
        )
        .bind(&new.shop_domain)
        .bind(tenant.0)
        .bind(store_id.0)
        .execute(&mut *tx)
        .await
        .map_err(|err| {
            if is_unique_violation(&err, "shop_domains_pkey") {
                StorageError::Conflict("a connection for this shop in another account")
            } else {
                err.into()
            }
        })?;
        tx.commit().await?;
        self.cache_route(&new.shop_domain, None);
        Ok(store_id)
    }

    pub async fn list_stores(&self, tenant: TenantId) -> Result<Vec<StoreRow>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query_as(&format!(
            "SELECT {STORE_COLUMNS} FROM stores s WHERE s.tenant_id = $1 ORDER BY s.created_at"
        ))
        .bind(tenant.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn get_store(
        &self,
        tenant: TenantId,
        store: StoreId,
    ) -> Result<Option<StoreRow>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row = sqlx::query_as(&format!(
            "SELECT {STORE_COLUMNS} FROM stores s WHERE s.tenant_id = $1 AND s.store_id = $2"
        ))
        .bind(tenant.0)
        .bind(store.0)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The sealed secrets of a store.
    pub async fn store_secrets(
        &self,
        tenant: TenantId,
        store: StoreId,
    ) -> Result<Option<SealedSecrets>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row: Option<SecretsRow> = sqlx::query_as(
            "SELECT access_token, refresh_token, webhook_secret, token_key_id, access_token_expires_at, \
             refresh_token_expires_at FROM stores WHERE tenant_id = $1 AND store_id = $2",
        )
        .bind(tenant.0)
        .bind(store.0)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(SecretsRow::into_secrets))
    }

    pub async fn lock_store_secrets(
        &self,
        tenant: TenantId,
        store: StoreId,
    ) -> Result<(crate::TenantTx, Option<SealedSecrets>), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row: Option<SecretsRow> = sqlx::query_as(
            "SELECT access_token, refresh_token, webhook_secret, token_key_id, access_token_expires_at, \
             refresh_token_expires_at FROM stores WHERE tenant_id = $1 AND store_id = $2 FOR UPDATE",
        )
        .bind(tenant.0)
        .bind(store.0)
        .fetch_optional(&mut *tx)
        .await?;
        Ok((tx, row.map(SecretsRow::into_secrets)))
    }

    pub async fn set_store_status(
        &self,
        tenant: TenantId,
        store: StoreId,
        status: &str,
        reason: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "UPDATE stores SET status = $3, status_reason = $4, updated_at = now(), \
                 uninstalled_at = CASE WHEN $3 = 'uninstalled' THEN now() ELSE uninstalled_at END \
             WHERE tenant_id = $1 AND store_id = $2",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(status)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disconnects a store: it takes no more webhooks and another account may connect the
    /// shop. With `purge`, its data goes too.
    pub async fn disconnect_store(
        &self,
        tenant: TenantId,
        store: StoreId,
        purge: bool,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let updated = sqlx::query(
            "UPDATE stores SET status = 'disconnected', status_reason = 'disconnected by a user', \
                 access_token = NULL, refresh_token = NULL, webhook_secret = NULL, updated_at = now() \
             WHERE tenant_id = $1 AND store_id = $2",
        )
        .bind(tenant.0)
        .bind(store.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let domains: Vec<String> = sqlx::query_scalar(
            "DELETE FROM shop_domains WHERE tenant_id = $1 AND store_id = $2 RETURNING shop_domain",
        )
        .bind(tenant.0)
        .bind(store.0)
        .fetch_all(&mut *tx)
        .await?;
        for domain in &domains {
            self.cache_route(domain, None);
        }
        if purge && updated > 0 {
            crate::records::redact_shop(&mut tx, tenant, store).await?;
        }
        tx.commit().await?;
        Ok(updated > 0)
    }

    /// Finds the store behind a shop domain (global directory, then the tenant's row),
    /// cached for a few seconds.
    pub async fn route_shop(&self, shop_domain: &str) -> Result<Option<StoreRoute>, StorageError> {
        if let Some(route) = self.cached_route(shop_domain) {
            return Ok(Some(route));
        }
        let route = self.load_route(shop_domain).await?;
        self.cache_route(shop_domain, route.as_ref());
        Ok(route)
    }

    async fn load_route(&self, shop_domain: &str) -> Result<Option<StoreRoute>, StorageError> {
        let directory: Option<(Uuid, Uuid)> =
            sqlx::query_as("SELECT tenant_id, store_id FROM shop_domains WHERE shop_domain = $1")
                .bind(shop_domain)
                .fetch_optional(self.pool())
                .await?;
        let Some((tenant_id, store_id)) = directory else {
            return Ok(None);
        };
        let mut tx = self.tenant_tx(TenantId(tenant_id)).await?;
        let row: Option<(String, Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT status, token_key_id, webhook_secret FROM stores WHERE tenant_id = $1 AND store_id = $2",
        )
        .bind(tenant_id)
        .bind(store_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|(status, key_id, secret)| StoreRoute {
            tenant_id: TenantId(tenant_id),
            store_id: StoreId(store_id),
            // An uninstalled store still takes webhooks: `shop/redact` comes days later.
            accepting: status != "disconnected",
            webhook_secret: key_id.zip(secret),
        }))
    }

    /// Records a single-use OAuth nonce for `tenant`.
    pub async fn save_oauth_nonce(
        &self,
        tenant: TenantId,
        user: Uuid,
        nonce: &str,
        shop_domain: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query("DELETE FROM oauth_nonces WHERE tenant_id = $1 AND expires_at < now()")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO oauth_nonces (tenant_id, nonce, user_id, shop_domain, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.0)
        .bind(nonce)
        .bind(user)
        .bind(shop_domain)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses up a nonce: true only the first time, before it expires, for that shop.
    pub async fn take_oauth_nonce(
        &self,
        tenant: TenantId,
        nonce: &str,
        shop_domain: &str,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let taken: Option<(DateTime<Utc>, String)> = sqlx::query_as(
            "DELETE FROM oauth_nonces WHERE tenant_id = $1 AND nonce = $2 RETURNING expires_at, shop_domain",
        )
        .bind(tenant.0)
        .bind(nonce)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(taken.is_some_and(|(expires_at, shop)| expires_at > Utc::now() && shop == shop_domain))
    }
}
