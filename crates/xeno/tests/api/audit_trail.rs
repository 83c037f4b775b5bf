//! The audit trail of each action, one by one: each leaves exactly one entry naming who did
//! it, to what, with what detail and from where, in the order they happened.

use crate::support::shop::{get, send_webhook};
use crate::teams::{call, invite, team, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

/// The entries newer than the newest in `before`, oldest first.
async fn entries_since(app: &crate::support::TestApp, token: &str, before: &str) -> Vec<Value> {
    let log = get(app, token, "/api/audit?limit=250").await;
    let mut newer: Vec<Value> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .take_while(|e| e["id"] != before)
        .cloned()
        .collect();
    newer.reverse();
    newer
}

async fn newest(app: &crate::support::TestApp, token: &str) -> String {
    get(app, token, "/api/audit?limit=1").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs `act`, then checks it left exactly one entry: `action` by `email` on `subject`,
/// whose detail holds `detail`'s fields.
async fn one_entry(
    app: &crate::support::TestApp,
    reader: &str,
    act: impl std::future::Future<Output = u16>,
    (action, email, subject, detail): (&str, &str, Option<&str>, Value),
) {
    let before = newest(app, reader).await;
    let status = act.await;
    assert!((200..300).contains(&status), "{action}: answered {status}");
    let new = entries_since(app, reader, &before).await;
    assert_eq!(new.len(), 1, "{action} leaves one entry: {new:?}");
    let entry = &new[0];
    assert_eq!(entry["action"], action, "{entry}");
    assert_eq!(entry["actor_email"], email, "{entry}");
    assert_eq!(entry["subject"].as_str(), subject, "{entry}");
    for (field, value) in detail.as_object().unwrap() {
        assert_eq!(&entry["detail"][field], value, "{action}.{field}: {entry}");
    }
    assert!(
        entry["address"]
            .as_str()
            .is_some_and(|a| a.contains("127.0.0.1")),
        "{entry}"
    );
}

async fn status(response: reqwest::Response) -> u16 {
    response.status().as_u16()
}

#[tokio::test]
async fn each_action_leaves_one_entry_naming_who_what_and_where() {
    let (c, [owner, admin, analyst, viewer]) = team().await;
    let app = &c.app;
    let members = get(app, &owner, "/api/members").await;
    let id_of = |email: &str| -> String {
        members["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == email)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (admin_id, analyst_id, viewer_id) = (
        id_of("admin@acme.example"),
        id_of("analyst@acme.example"),
        id_of("viewer@acme.example"),
    );

    // A webhook event, replayed.
    let customer = json!({ "id": 424242, "email": "late@example.com", "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z" });
    send_webhook(
        app,
        &c.shop,
        "customers/update",
        &customer,
        "audit-replay-1",
    )
    .await;
    let events = get(app, &admin, "/api/webhooks/events?limit=50").await;
    let event = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["webhook_id"] == "audit-replay-1")
        .unwrap_or_else(|| panic!("the event is listed: {events}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/webhooks/events/{event}/replay");
    one_entry(
        app,
        &admin,
        async { status(call(app, Method::POST, &path, &admin, None).await).await },
        (
            "event.replay",
            "admin@acme.example",
            Some(event.as_str()),
            json!({ "topic": "customers/update" }),
        ),
    )
    .await;

    // A role changed, from what to what.
    let path = format!("/api/members/{analyst_id}");
    let body = json!({ "role": "viewer" });
    one_entry(
        app,
        &admin,
        async { status(call(app, Method::PATCH, &path, &admin, Some(body)).await).await },
        (
            "member.role",
            "admin@acme.example",
            Some(analyst_id.as_str()),
            json!({ "from": "analyst", "role": "viewer" }),
        ),
    )
    .await;

    // An invitation revoked.
    let _ = invite(app, &admin, "later@acme.example", "viewer").await;
    let pending = get(app, &admin, "/api/members/invitations").await;
    let invitation = pending["data"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/members/invitations/{invitation}");
    one_entry(
        app,
        &admin,
        async { status(call(app, Method::DELETE, &path, &admin, None).await).await },
        (
            "member.invitation_revoke",
            "admin@acme.example",
            Some(invitation.as_str()),
            json!({}),
        ),
    )
    .await;

    // A member removed, with the role they had.
    let path = format!("/api/members/{viewer_id}");
    one_entry(
        app,
        &admin,
        async { status(call(app, Method::DELETE, &path, &admin, None).await).await },
        (
            "member.remove",
            "admin@acme.example",
            Some(viewer_id.as_str()),
            json!({ "role": "viewer" }),
        ),
    )
    .await;
    assert_eq!(
        call(app, Method::GET, "/api/orders", &viewer, None)
            .await
            .status(),
        401
    );

    // A password changed (by the member themself).
    let body = json!({ "current_password": PASSWORD, "new_password": "a fresher secret 31" });
    one_entry(
        app,
        &admin,
        async {
            status(
                call(
                    app,
                    Method::POST,
                    "/api/auth/password",
                    &analyst,
                    Some(body),
                )
                .await,
            )
            .await
        },
        (
            "member.password",
            "analyst@acme.example",
            Some(analyst_id.as_str()),
            json!({}),
        ),
    )
    .await;

    // The whole tenant exported by its owner.
    one_entry(
        app,
        &admin,
        async { status(call(app, Method::GET, "/api/tenant/export", &owner, None).await).await },
        ("tenant.export", "owner@acme.example", None, json!({})),
    )
    .await;

    // Ownership handed over.
    let path = format!("/api/members/{admin_id}/ownership");
    one_entry(
        app,
        &admin,
        async { status(call(app, Method::POST, &path, &owner, None).await).await },
        (
            "tenant.transfer",
            "owner@acme.example",
            Some(admin_id.as_str()),
            json!({}),
        ),
    )
    .await;

    // The former owner (an admin now) leaves.
    let owner_id = id_of("owner@acme.example");
    one_entry(
        app,
        &admin,
        async { status(call(app, Method::POST, "/api/auth/leave", &owner, None).await).await },
        (
            "member.leave",
            "owner@acme.example",
            Some(owner_id.as_str()),
            json!({}),
        ),
    )
    .await;

    // A store disconnected, its data kept.
    let path = format!("/api/stores/{}", c.store_id);
    one_entry(
        app,
        &admin,
        async { status(call(app, Method::DELETE, &path, &admin, None).await).await },
        (
            "store.disconnect",
            "admin@acme.example",
            Some(c.store_id.as_str()),
            json!({ "shop": c.shop }),
        ),
    )
    .await;
}
