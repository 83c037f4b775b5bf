//! Tenants and their users.

use chrono::{DateTime, Utc};
use xeno_domain::ids::{TenantId, UserId};

use crate::error::is_unique_violation;
use crate::{Db, StorageError};

/// What sign-in needs to check a password.
#[derive(Debug, sqlx::FromRow)]
pub struct Login {
    pub tenant_id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    pub password_hash: String,
}

/// A user as the API shows them.
#[derive(Debug, sqlx::FromRow)]
pub struct User {
    pub user_id: uuid::Uuid,
    pub email: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub tenant_id: uuid::Uuid,
    pub tenant_name: String,
}

/// A new tenant with its owner, ready to store. The email is already normalised.
#[derive(Debug)]
pub struct NewTenant<'a> {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub tenant_name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
}

impl Db {
    /// Creates the tenant and its owner in one transaction.
    /// A taken email is [`StorageError::Conflict`]`("email")`.
    pub async fn create_tenant(&self, new: &NewTenant<'_>) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(new.tenant_id).await?;
        sqlx::query("INSERT INTO tenants (tenant_id, name) VALUES ($1, $2)")
            .bind(new.tenant_id.0)
            .bind(new.tenant_name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO users (tenant_id, user_id, email, password_hash, role) \
             VALUES ($1, $2, $3, $4, 'owner')",
        )
        .bind(new.tenant_id.0)
        .bind(new.user_id.0)
        .bind(new.email)
        .bind(new.password_hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO user_emails (email, tenant_id, user_id) VALUES ($1, $2, $3)")
            .bind(new.email)
            .bind(new.tenant_id.0)
            .bind(new.user_id.0)
            .execute(&mut *tx)
            .await
            .map_err(|err| {
                if is_unique_violation(&err, "user_emails_pkey") {
                    StorageError::Conflict("email")
                } else {
                    err.into()
                }
            })?;
        tx.commit().await?;
        Ok(())
    }

    /// The credentials behind a normalised email, if an account has it.
    pub async fn find_login(&self, email: &str) -> Result<Option<Login>, StorageError> {
        let directory: Option<(uuid::Uuid,)> =
            sqlx::query_as("SELECT tenant_id FROM user_emails WHERE email = $1")
                .bind(email)
                .fetch_optional(self.pool())
                .await?;
        let Some((tenant_id,)) = directory else {
            return Ok(None);
        };
        let mut tx = self.tenant_tx(TenantId(tenant_id)).await?;
        let login = sqlx::query_as(
            "SELECT tenant_id, user_id, password_hash FROM users \
             WHERE tenant_id = $1 AND email = $2",
        )
        .bind(tenant_id)
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(login)
    }

    /// A user of `tenant`, with the tenant's name.
    pub async fn get_user(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<User>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let found = sqlx::query_as(
            "SELECT u.user_id, u.email, u.role, u.created_at, t.tenant_id, t.name AS tenant_name \
             FROM users u JOIN tenants t ON t.tenant_id = u.tenant_id \
             WHERE u.tenant_id = $1 AND u.user_id = $2",
        )
        .bind(tenant.0)
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(found)
    }
}

/// What deleting a tenant took with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub stores: i64,
    pub members: i64,
}

impl Db {
    /// Deletes a tenant and every row of it, in one transaction, leaving only a record that
    /// it happened (`tenant_deletions`). The shop and email directories forget it too.
    pub async fn delete_tenant(&self, tenant: TenantId) -> Result<Deleted, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let (stores, members): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM stores WHERE tenant_id = $1), \
                    (SELECT count(*) FROM users WHERE tenant_id = $1)",
        )
        .bind(tenant.0)
        .fetch_one(&mut *tx)
        .await?;
        let domains: Vec<String> =
            sqlx::query_scalar("SELECT shop_domain FROM shop_domains WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("SELECT xeno_delete_tenant($1)")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO tenant_deletions (former_tenant_id, stores, members) VALUES ($1, $2, $3)",
        )
        .bind(tenant.0)
        .bind(i32::try_from(stores).unwrap_or(i32::MAX))
        .bind(i32::try_from(members).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        for domain in &domains {
            self.cache_route(domain, None);
        }
        Ok(Deleted { stores, members })
    }
}

impl Db {
    /// Moves a user to another (normalised) email, in the directory too. A taken email is
    /// [`StorageError::Conflict`]`("email")`.
    pub async fn change_email(
        &self,
        tenant: TenantId,
        user: UserId,
        email: &str,
    ) -> Result<(), StorageError> {
        let taken = |err: sqlx::Error| {
            if is_unique_violation(&err, "user_emails_pkey")
                || is_unique_violation(&err, "users_tenant_id_email_key")
            {
                StorageError::Conflict("email")
            } else {
                err.into()
            }
        };
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query("UPDATE users SET email = $3 WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.0)
            .bind(user.0)
            .bind(email)
            .execute(&mut *tx)
            .await
            .map_err(taken)?;
        sqlx::query("UPDATE user_emails SET email = $3 WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.0)
            .bind(user.0)
            .bind(email)
            .execute(&mut *tx)
            .await
            .map_err(taken)?;
        tx.commit().await?;
        Ok(())
    }
}
