//! A tenant's members and the invitations that add them.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use xeno_domain::ids::{TenantId, UserId};

use crate::error::is_unique_violation;
use crate::{Db, StorageError};

/// A member as the API lists them.
#[derive(Debug, sqlx::FromRow)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// An invitation as the API lists it (never its token).
#[derive(Debug, sqlx::FromRow)]
pub struct Invitation {
    pub invitation_id: Uuid,
    pub email: String,
    pub role: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new invitation, its token already hashed.
#[derive(Debug)]
pub struct NewInvitation<'a> {
    pub invitation_id: Uuid,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a [u8],
    pub created_by: UserId,
    pub expires_at: DateTime<Utc>,
}

/// What became of an attempt to accept an invitation.
#[derive(Debug, PartialEq, Eq)]
pub enum Acceptance {
    /// The member was added with this role.
    Joined {
        role: String,
        email: String,
    },
    /// No such invitation, or the token does not match it.
    Unknown,
    Expired,
    AlreadyUsed,
    Revoked,
    /// The invited email belongs to a person already: they accept as themselves.
    EmailTaken,
    /// The person is a member of this tenant already.
    AlreadyMember,
}

/// Who accepts: someone new (a new person with this id and hashed password), or the person
/// who has the invited email already (who proved it with their password).
#[derive(Debug)]
pub enum Joiner<'a> {
    New {
        user_id: UserId,
        password_hash: &'a str,
    },
    Existing(UserId),
}

impl Joiner<'_> {
    pub fn user_id(&self) -> UserId {
        match self {
            Joiner::New { user_id, .. } | Joiner::Existing(user_id) => *user_id,
        }
    }
}

impl Db {
    /// The tenant's members, owner first, then by when they joined.
    pub async fn list_members(&self, tenant: TenantId) -> Result<Vec<Member>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let members = sqlx::query_as(
            "SELECT u.user_id, p.email, u.role, u.created_at FROM users u \
             JOIN people p ON p.user_id = u.user_id WHERE u.tenant_id = $1 \
             ORDER BY u.role = 'owner' DESC, u.created_at, u.user_id",
        )
        .bind(tenant.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(members)
    }

    /// A member's role; `None` when there is no such member.
    pub async fn member_role(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<String>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let role =
            sqlx::query_scalar("SELECT role FROM users WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant.0)
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(role)
    }

    /// Gives a member another role. False when there is no such member.
    pub async fn set_member_role(
        &self,
        tenant: TenantId,
        user: UserId,
        role: &str,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let changed =
            sqlx::query("UPDATE users SET role = $3 WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant.0)
                .bind(user.0)
                .bind(role)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// Removes a member (their sessions and keys go with them; the person too, if this was
    /// their last tenant). False when there is no such member.
    pub async fn remove_member(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let removed = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        crate::accounts::forget_people_without_tenants(&mut tx, &[user.0]).await?;
        tx.commit().await?;
        Ok(removed == 1)
    }

    pub async fn create_invitation(
        &self,
        tenant: TenantId,
        new: &NewInvitation<'_>,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "INSERT INTO invitations (tenant_id, invitation_id, email, role, token_hash, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant.0)
        .bind(new.invitation_id)
        .bind(new.email)
        .bind(new.role)
        .bind(new.token_hash)
        .bind(new.created_by.0)
        .bind(new.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Invitations not yet accepted, revoked or expired, newest first.
    pub async fn pending_invitations(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<Invitation>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let pending = sqlx::query_as(
            "SELECT invitation_id, email, role, created_by, created_at, expires_at FROM invitations \
             WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now() \
             ORDER BY created_at DESC, invitation_id",
        )
        .bind(tenant.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(pending)
    }

    /// Revokes a pending invitation. False when there is none to revoke.
    pub async fn revoke_invitation(
        &self,
        tenant: TenantId,
        invitation: Uuid,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let revoked = sqlx::query(
            "UPDATE invitations SET revoked_at = now() WHERE tenant_id = $1 AND invitation_id = $2 \
             AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(tenant.0)
        .bind(invitation)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(revoked == 1)
    }

    /// The email an invitation was sent to, if its token hashes to one `matches` accepts
    /// (whatever became of the invitation since).
    pub async fn invited_email(
        &self,
        tenant: TenantId,
        invitation: Uuid,
        matches: impl Fn(&[u8]) -> bool,
    ) -> Result<Option<String>, StorageError> {
        let mut tx = self.read_tx(tenant).await?;
        let found: Option<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT email, token_hash FROM invitations WHERE tenant_id = $1 AND invitation_id = $2",
        )
        .bind(tenant.0)
        .bind(invitation)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(found
            .filter(|(_, hash)| matches(hash))
            .map(|(email, _)| email))
    }

    /// Accepts an invitation whose token hashes to one `matches` accepts, adding the member
    /// in the same transaction (so an invitation is used at most once, even by two at a time).
    pub async fn accept_invitation(
        &self,
        tenant: TenantId,
        invitation: Uuid,
        matches: impl Fn(&[u8]) -> bool,
        joiner: &Joiner<'_>,
    ) -> Result<Acceptance, StorageError> {
        type Row = (String, String, Vec<u8>, bool, bool, bool);
        let mut tx = self.tenant_tx(tenant).await?;
        let found: Option<Row> = sqlx::query_as(
            "SELECT email, role, token_hash, expires_at <= now(), accepted_at IS NOT NULL, \
                 revoked_at IS NOT NULL \
             FROM invitations WHERE tenant_id = $1 AND invitation_id = $2 FOR UPDATE",
        )
        .bind(tenant.0)
        .bind(invitation)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((email, role, hash, expired, used, revoked)) = found else {
            return Ok(Acceptance::Unknown);
        };
        let outcome = match () {
            _ if !matches(&hash) => Acceptance::Unknown,
            _ if used => Acceptance::AlreadyUsed,
            _ if revoked => Acceptance::Revoked,
            _ if expired => Acceptance::Expired,
            _ => Acceptance::Joined { role, email },
        };
        let Acceptance::Joined { role, email } = outcome else {
            return Ok(outcome);
        };
        if let Joiner::New {
            user_id,
            password_hash,
        } = joiner
        {
            let person = sqlx::query(
                "INSERT INTO people (user_id, email, password_hash) VALUES ($1, $2, $3)",
            )
            .bind(user_id.0)
            .bind(&email)
            .bind(password_hash)
            .execute(&mut *tx)
            .await;
            match person {
                // Someone took the email between the check and now: they accept as themselves.
                Err(err) if is_unique_violation(&err, "people_email_key") => {
                    return Ok(Acceptance::EmailTaken)
                }
                other => other?,
            };
        }
        let member = crate::accounts::add_member(&mut tx, tenant, joiner.user_id(), &role).await;
        match member {
            Err(err) if is_unique_violation(&err, "users_pkey") => {
                return Ok(Acceptance::AlreadyMember)
            }
            other => other?,
        };
        sqlx::query(
            "UPDATE invitations SET accepted_at = now() WHERE tenant_id = $1 AND invitation_id = $2",
        )
        .bind(tenant.0)
        .bind(invitation)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Acceptance::Joined { role, email })
    }
}

impl Db {
    /// Hands the tenant to `to` (a member), leaving `from` (the owner) an admin, in one
    /// transaction. False when `to` is not a member.
    pub async fn transfer_ownership(
        &self,
        tenant: TenantId,
        from: UserId,
        to: UserId,
    ) -> Result<bool, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let moved = sqlx::query(
            "UPDATE users SET role = 'owner' WHERE tenant_id = $1 AND user_id = $2 AND user_id <> $3",
        )
        .bind(tenant.0)
        .bind(to.0)
        .bind(from.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE users SET role = 'admin' WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.0)
            .bind(from.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
