//! Recording what callers do in the tenant's audit log.

use std::net::IpAddr;

use serde_json::Value;
use uuid::Uuid;
use xeno_domain::ids::TenantId;
use xeno_storage::audit::AuditEntry;

use crate::auth::AuthUser;
use crate::state::AppState;

/// Who acted: a person, an API key (with the person it acts for), or nobody known (failed
/// sign-ins), and from where.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actor {
    pub user: Option<Uuid>,
    pub key: Option<Uuid>,
    pub address: Option<IpAddr>,
}

impl From<&AuthUser> for Actor {
    fn from(caller: &AuthUser) -> Self {
        Self {
            user: Some(caller.user_id.0),
            key: caller.key.then_some(caller.session_id),
            address: caller.address,
        }
    }
}

/// Records `action` on `subject` by `caller` in the caller's tenant.
pub async fn record(
    state: &AppState,
    caller: &AuthUser,
    action: &str,
    subject: Option<String>,
    detail: Value,
) {
    record_for(
        state,
        caller.tenant_id,
        caller.into(),
        action,
        subject,
        detail,
    )
    .await;
}

/// Records `action` by `actor` in `tenant`. The action has happened: a failure to record it
/// is logged, never turned into a failed request.
pub async fn record_for(
    state: &AppState,
    tenant: TenantId,
    actor: Actor,
    action: &str,
    subject: Option<String>,
    detail: Value,
) {
    let entry = AuditEntry {
        actor_user: actor.user,
        actor_key: actor.key,
        action,
        subject,
        detail,
        address: actor.address.map(|ip| ip.to_string()),
    };
    if let Err(err) = state.db.record_audit(tenant, &entry).await {
        tracing::error!(%err, %tenant, action, "cannot record an audit entry");
    }
}
