//! API keys: stored hashed, listed without their secrets, revoked for good.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use xeno_domain::ids::{TenantId, UserId};

use crate::{Db, StorageError};

/// A key as stored (never its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub key_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub secret_hash: Vec<u8>,
    pub role: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The stores the key is limited to; `None`: every store of the tenant.
    pub store_ids: Option<Vec<Uuid>>,
    /// The creator's role now (read when a key is checked): a key never does more than the
    /// person it acts for.
    #[sqlx(default)]
    pub creator_role: Option<String>,
}

/// What a new key is.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub key_id: Uuid,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a [u8],
    pub role: &'a str,
    pub created_by: UserId,
    pub expires_at: Option<DateTime<Utc>>,
    pub store_ids: Option<&'a [Uuid]>,
}

const COLUMNS: &str =
    "key_id, name, prefix, secret_hash, role, created_by, created_at, expires_at, \
     last_used_at, last_used_ip, revoked_at, store_ids";

impl Db {
    pub async fn create_api_key(
        &self,
        tenant: TenantId,
        key: &NewApiKey<'_>,
    ) -> Result<ApiKeyRow, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row = sqlx::query_as(&format!(
            "INSERT INTO api_keys (tenant_id, key_id, name, prefix, secret_hash, role, created_by, expires_at, store_ids) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
        ))
        .bind(tenant.0)
        .bind(key.key_id)
        .bind(key.name)
        .bind(key.prefix)
        .bind(key.secret_hash)
        .bind(key.role)
        .bind(key.created_by.0)
        .bind(key.expires_at)
        .bind(key.store_ids)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The tenant's keys, newest first (revoked ones too: the record stays).
    pub async fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyRow>, StorageError> {
        let mut tx = self.read_tx(tenant).await?;
        let rows = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, key_id"
        ))
        .bind(tenant.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn find_api_key(
        &self,
        tenant: TenantId,
        key_id: Uuid,
    ) -> Result<Option<ApiKeyRow>, StorageError> {
        let mut tx = self.read_tx(tenant).await?;
        let row = sqlx::query_as(&format!(
            "SELECT {COLUMNS}, (SELECT u.role FROM users u WHERE u.tenant_id = k.tenant_id \
                 AND u.user_id = k.created_by) AS creator_role \
             FROM api_keys k WHERE tenant_id = $1 AND key_id = $2"
        ))
        .bind(tenant.0)
        .bind(key_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Revokes a key; false when the tenant has no such live key.
    pub async fn revoke_api_key(
        &self,
        tenant: TenantId,
        key_id: Uuid,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND key_id = $2 AND revoked_at IS NULL",
        )
        .bind(tenant.0)
        .bind(key_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done > 0)
    }

    /// Notes a key's use (callers do so at most once a minute per key).
    pub async fn touch_api_key(
        &self,
        tenant: TenantId,
        key_id: Uuid,
        address: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "UPDATE api_keys SET last_used_at = now(), last_used_ip = $3 WHERE tenant_id = $1 AND key_id = $2",
        )
        .bind(tenant.0)
        .bind(key_id)
        .bind(address)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
