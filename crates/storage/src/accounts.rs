//! Tenants and their users.

use chrono::{DateTime, Utc};
use xeno_domain::ids::{TenantId, UserId};

use crate::error::is_unique_violation;
use crate::{Db, StorageError};

/// A person as sign-in finds them: their password hash and the tenants they belong to, the
/// first joined first.
#[derive(Debug)]
pub struct Login {
    pub user_id: uuid::Uuid,
    pub password_hash: String,
    pub tenants: Vec<uuid::Uuid>,
}

/// One tenant a person belongs to, with their role there.
#[derive(Debug, sqlx::FromRow)]
pub struct Membership {
    pub tenant_id: uuid::Uuid,
    pub tenant_name: String,
    pub role: String,
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
        sqlx::query("INSERT INTO people (user_id, email, password_hash) VALUES ($1, $2, $3)")
            .bind(new.user_id.0)
            .bind(new.email)
            .bind(new.password_hash)
            .execute(&mut *tx)
            .await
            .map_err(email_taken)?;
        sqlx::query("INSERT INTO tenants (tenant_id, name) VALUES ($1, $2)")
            .bind(new.tenant_id.0)
            .bind(new.tenant_name)
            .execute(&mut *tx)
            .await?;
        add_member(&mut tx, new.tenant_id, new.user_id, "owner").await?;
        tx.commit().await?;
        Ok(())
    }

    /// The person with a normalised email, if there is one.
    pub async fn find_login(&self, email: &str) -> Result<Option<Login>, StorageError> {
        let person: Option<(uuid::Uuid, String)> =
            sqlx::query_as("SELECT user_id, password_hash FROM people WHERE email = $1")
                .bind(email)
                .fetch_optional(self.pool())
                .await?;
        let Some((user_id, password_hash)) = person else {
            return Ok(None);
        };
        let tenants = self.tenants_of(UserId(user_id)).await?;
        Ok(Some(Login {
            user_id,
            password_hash,
            tenants,
        }))
    }

    /// The ids of the tenants a person belongs to, the first joined first.
    pub(crate) async fn tenants_of(&self, user: UserId) -> Result<Vec<uuid::Uuid>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT tenant_id FROM memberships WHERE user_id = $1 ORDER BY joined_at, tenant_id",
        )
        .bind(user.0)
        .fetch_all(self.pool())
        .await?)
    }

    /// Every tenant a person belongs to, the first joined first.
    pub async fn memberships(&self, user: UserId) -> Result<Vec<Membership>, StorageError> {
        let tenants = self.tenants_of(user).await?;
        let mut found = Vec::with_capacity(tenants.len());
        // Each tenant's rows are behind its own row-level security.
        for tenant in tenants {
            let mut tx = self.read_tx(TenantId(tenant)).await?;
            let membership: Option<Membership> = sqlx::query_as(
                "SELECT t.tenant_id, t.name AS tenant_name, u.role \
                 FROM users u JOIN tenants t ON t.tenant_id = u.tenant_id \
                 WHERE u.tenant_id = $1 AND u.user_id = $2",
            )
            .bind(tenant)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            found.extend(membership);
        }
        Ok(found)
    }

    /// A user of `tenant`, with the tenant's name.
    pub async fn get_user(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<User>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let found = sqlx::query_as(
            "SELECT u.user_id, p.email, u.role, u.created_at, t.tenant_id, t.name AS tenant_name \
             FROM users u JOIN tenants t ON t.tenant_id = u.tenant_id \
             JOIN people p ON p.user_id = u.user_id \
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
        let people: Vec<uuid::Uuid> =
            sqlx::query_scalar("SELECT user_id FROM users WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("SELECT xeno_delete_tenant($1)")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await?;
        forget_people_without_tenants(&mut tx, &people).await?;
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
    /// Moves a person to another (normalised) email, the one they sign in with everywhere.
    /// A taken email is [`StorageError::Conflict`]`("email")`.
    pub async fn change_email(&self, user: UserId, email: &str) -> Result<(), StorageError> {
        sqlx::query("UPDATE people SET email = $2 WHERE user_id = $1")
            .bind(user.0)
            .bind(email)
            .execute(self.pool())
            .await
            .map_err(email_taken)?;
        Ok(())
    }

    /// Replaces a person's password hash.
    pub async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
    ) -> Result<(), StorageError> {
        sqlx::query("UPDATE people SET password_hash = $2 WHERE user_id = $1")
            .bind(user.0)
            .bind(password_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A person's password hash, for checking their current password.
    pub async fn password_hash(&self, user: UserId) -> Result<Option<String>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM people WHERE user_id = $1")
                .bind(user.0)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}

fn email_taken(err: sqlx::Error) -> StorageError {
    if is_unique_violation(&err, "people_email_key") {
        StorageError::Conflict("email")
    } else {
        err.into()
    }
}

/// Makes a person a member of the transaction's tenant, in the directory too.
pub(crate) async fn add_member(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant: TenantId,
    user: UserId,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO users (tenant_id, user_id, role) VALUES ($1, $2, $3)")
        .bind(tenant.0)
        .bind(user.0)
        .bind(role)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO memberships (user_id, tenant_id) VALUES ($1, $2)")
        .bind(user.0)
        .bind(tenant.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Of `people`, deletes those who belong to no tenant any more: nobody keeps an account
/// with nothing in it.
pub(crate) async fn forget_people_without_tenants(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    people: &[uuid::Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM people p WHERE p.user_id = ANY($1) \
         AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = p.user_id)",
    )
    .bind(people)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
