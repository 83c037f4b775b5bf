//! Sign-in sessions and their rotating refresh tokens (hashes only).

use chrono::{DateTime, Utc};
use uuid::Uuid;
use xeno_domain::ids::{TenantId, UserId};

use crate::{Db, StorageError};

/// A session to store: its id, family and the hash of its refresh token.
#[derive(Debug)]
pub struct NewSession {
    pub tenant: TenantId,
    pub user: UserId,
    pub session_id: Uuid,
    pub family_id: Uuid,
    pub refresh_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// A session as a refresh finds it.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredSession {
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub refresh_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Db {
    pub async fn create_session(&self, session: &NewSession) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(session.tenant).await?;
        sqlx::query(
            "INSERT INTO sessions (tenant_id, session_id, user_id, family_id, refresh_hash, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.tenant.0)
        .bind(session.session_id)
        .bind(session.user.0)
        .bind(session.family_id)
        .bind(&session.refresh_hash)
        .bind(session.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn find_session(
        &self,
        tenant: TenantId,
        session_id: Uuid,
    ) -> Result<Option<StoredSession>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let found = sqlx::query_as(
            "SELECT user_id, family_id, refresh_hash, expires_at, rotated_at, revoked_at
             FROM sessions WHERE tenant_id = $1 AND session_id = $2",
        )
        .bind(tenant.0)
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(found)
    }

    /// The role of a session's user while its access tokens still count: it exists (its user
    /// too: deleting a user deletes their sessions), is not revoked and has not expired.
    /// `None` when they no longer count.
    pub async fn live_session_role(
        &self,
        tenant: TenantId,
        session_id: Uuid,
    ) -> Result<Option<String>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let role: Option<String> = sqlx::query_scalar(
            "SELECT u.role FROM sessions s
             JOIN users u ON u.tenant_id = s.tenant_id AND u.user_id = s.user_id
             WHERE s.tenant_id = $1 AND s.session_id = $2
                 AND s.revoked_at IS NULL AND s.expires_at > now()",
        )
        .bind(tenant.0)
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(role)
    }

    /// Marks a session's refresh token used, if it was not already: false when another
    /// refresh got there first (then the token is being replayed).
    pub async fn rotate_session(
        &self,
        tenant: TenantId,
        session_id: Uuid,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rotated = sqlx::query(
            "UPDATE sessions SET rotated_at = now()
             WHERE tenant_id = $1 AND session_id = $2 AND rotated_at IS NULL AND revoked_at IS NULL",
        )
        .bind(tenant.0)
        .bind(session_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(rotated == 1)
    }

    /// Revokes every session of a family (one sign-in and its refreshes); answers the ids.
    pub async fn revoke_family(
        &self,
        tenant: TenantId,
        family_id: Uuid,
    ) -> Result<Vec<Uuid>, StorageError> {
        self.revoke(tenant, "family_id = $2", family_id).await
    }

    /// Revokes every session of a person, in every tenant they belong to (a password or email
    /// change); answers the ids.
    pub async fn revoke_user_sessions(&self, user: UserId) -> Result<Vec<Uuid>, StorageError> {
        let tenants = self.tenants_of(user).await?;
        let mut ended = Vec::new();
        for tenant in tenants {
            ended.extend(
                self.revoke(TenantId(tenant), "user_id = $2", user.0)
                    .await?,
            );
        }
        Ok(ended)
    }

    async fn revoke(
        &self,
        tenant: TenantId,
        which: &'static str,
        id: Uuid,
    ) -> Result<Vec<Uuid>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let ids = sqlx::query_scalar(&format!(
            "UPDATE sessions SET revoked_at = now()
             WHERE tenant_id = $1 AND {which} AND revoked_at IS NULL RETURNING session_id"
        ))
        .bind(tenant.0)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids)
    }
}

/// One sign-in of a user (a family of sessions: the first and its refreshes), while live.
#[derive(Debug, sqlx::FromRow)]
pub struct SignIn {
    pub family_id: Uuid,
    pub signed_in_at: DateTime<Utc>,
    pub last_refreshed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Db {
    /// A user's live sign-ins, latest first.
    pub async fn live_sign_ins(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<SignIn>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let sign_ins = sqlx::query_as(
            "SELECT family_id, min(created_at) AS signed_in_at, max(created_at) AS last_refreshed_at,
                    max(expires_at) AS expires_at
             FROM sessions WHERE tenant_id = $1 AND user_id = $2
             GROUP BY family_id
             HAVING bool_or(revoked_at IS NULL AND expires_at > now())
             ORDER BY max(created_at) DESC",
        )
        .bind(tenant.0)
        .bind(user.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(sign_ins)
    }

    /// Ends one of a user's sign-ins; answers the sessions ended (none: not theirs, or over).
    pub async fn end_sign_in(
        &self,
        tenant: TenantId,
        user: UserId,
        family_id: Uuid,
    ) -> Result<Vec<Uuid>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let ids = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = now()
             WHERE tenant_id = $1 AND user_id = $2 AND family_id = $3 AND revoked_at IS NULL
             RETURNING session_id",
        )
        .bind(tenant.0)
        .bind(user.0)
        .bind(family_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids)
    }
}
