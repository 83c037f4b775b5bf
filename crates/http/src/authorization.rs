//! Who may call what: every route's minimum role, in one table, enforced for every caller
//! (person or API key) by the authentication extractor and published in the OpenAPI
//! document (`x-minimum-role`).
//!
//! The rule: reading needs a viewer (who sees customers' personal data masked), changing
//! anything an admin; the exceptions are listed.

use axum::http::Method;
use xeno_domain::account::Role;

/// Routes whose minimum role is not the rule's: (method, path template, role).
const EXCEPTIONS: &[(&str, &str, Role)] = &[
    // Anyone signed in may sign out, change their own password, end their own sign-ins,
    // open another of their accounts and leave.
    ("POST", "/api/auth/switch", Role::Viewer),
    ("POST", "/api/auth/logout", Role::Viewer),
    ("POST", "/api/auth/password", Role::Viewer),
    ("POST", "/api/auth/email", Role::Viewer),
    ("DELETE", "/api/auth/sessions/{id}", Role::Viewer),
    ("POST", "/api/auth/leave", Role::Viewer),
    // Exports carry personal data: analysts and up.
    ("GET", "/api/metrics/segments/export", Role::Analyst),
    // A dry run lists which customers a tag would reach: analysts and up.
    (
        "GET",
        "/api/stores/{store_id}/segment-tags/{segment}/plan",
        Role::Analyst,
    ),
    // Connecting a store starts from a redirect.
    ("GET", "/api/shopify/install", Role::Admin),
    // Keys, invitations and the audit log are an admin's.
    ("GET", "/api/keys", Role::Admin),
    ("GET", "/api/members/invitations", Role::Admin),
    ("GET", "/api/audit", Role::Admin),
    // Handing the tenant over, and deleting it, are the owner's alone.
    ("POST", "/api/members/{user_id}/ownership", Role::Owner),
    ("POST", "/api/tenant/deletion", Role::Owner),
    ("GET", "/api/tenant/export", Role::Owner),
];

/// The least role that may call `method` on the route `path` (its template, as routed).
pub fn minimum_role(method: &Method, path: &str) -> Role {
    EXCEPTIONS
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == path)
        .map(|(_, _, role)| *role)
        .unwrap_or(if matches!(*method, Method::GET | Method::HEAD) {
            Role::Viewer
        } else {
            Role::Admin
        })
}

/// Why a caller with `role` may not call a route that needs `needed`.
pub fn refusal(needed: Role, role: Role) -> String {
    format!(
        "this needs the {} role or above; this caller is {} {}",
        needed.name(),
        if role == Role::Admin || role == Role::Analyst || role == Role::Owner {
            "an"
        } else {
            "a"
        },
        role.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_a_viewer_changes_an_admin_and_exceptions_say_otherwise() {
        assert_eq!(minimum_role(&Method::GET, "/api/orders"), Role::Viewer);
        assert_eq!(
            minimum_role(&Method::POST, "/api/sync/{store_id}"),
            Role::Admin
        );
        assert_eq!(
            minimum_role(&Method::DELETE, "/api/stores/{id}"),
            Role::Admin
        );
        assert_eq!(
            minimum_role(&Method::GET, "/api/metrics/segments/export"),
            Role::Analyst
        );
        assert_eq!(
            minimum_role(&Method::POST, "/api/auth/logout"),
            Role::Viewer
        );
        assert_eq!(
            refusal(Role::Admin, Role::Analyst),
            "this needs the admin role or above; this caller is an analyst"
        );
    }
}
