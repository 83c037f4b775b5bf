//! Recording what callers do in the tenant's audit log.

use serde_json::Value;
use xeno_storage::audit::AuditEntry;

use crate::auth::AuthUser;
use crate::state::AppState;

/// Records `action` on `subject` by `caller`. The action has happened: a failure to record
/// it is logged, never turned into a failed request.
pub async fn record(
    state: &AppState,
    caller: &AuthUser,
    action: &str,
    subject: Option<String>,
    detail: Value,
) {
    let entry = AuditEntry {
        actor_user: Some(caller.user_id.0),
        actor_key: caller.key.then_some(caller.session_id),
        action,
        subject,
        detail,
        address: caller.address.map(|ip| ip.to_string()),
    };
    if let Err(err) = state.db.record_audit(caller.tenant_id, &entry).await {
        tracing::error!(%err, tenant = %caller.tenant_id, action, "cannot record an audit entry");
    }
}
