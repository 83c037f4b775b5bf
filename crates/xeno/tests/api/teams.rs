//! Teams: members invited by one-time links, each role allowed exactly its routes (read from
//! the OpenAPI document), viewers shown no personal data, keys never above their creator,
//! ownership handed over, and an audit log of it all.

use crate::support::shop::{connect, get, wait_for_sync, Connected};
use crate::support::{expect_problem, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

pub(crate) const PASSWORD: &str = "correct horse 9 team";

/// Sends `method path` with `token` and a JSON body when given.
pub(crate) async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Invites `email` as `role` and answers the invitation's token.
pub(crate) async fn invite(app: &TestApp, token: &str, email: &str, role: &str) -> String {
    let answer = call(
        app,
        Method::POST,
        "/api/members/invitations",
        token,
        Some(json!({ "email": email, "role": role })),
    )
    .await;
    assert_eq!(answer.status(), 201, "invite {email}");
    let created: Value = answer.json().await.unwrap();
    let link = created["link"].as_str().unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(link.ends_with(&format!("/accept?token={token}")), "{link}");
    token
}

pub(crate) async fn accept(app: &TestApp, invitation: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/accept",
        &json!({ "token": invitation, "password": PASSWORD }),
    )
    .await
}

/// A connected shop and a member of each role: (owner, admin, analyst, viewer) tokens.
pub(crate) async fn team() -> (Connected, [String; 4]) {
    let c = connect(json!({ "customers": 40, "orders": 90 }), &[], 1.0).await;
    wait_for_sync(&c.app, &c.token, &c.store_id).await;
    let mut tokens = [c.token.clone(), String::new(), String::new(), String::new()];
    for (i, role) in ["admin", "analyst", "viewer"].into_iter().enumerate() {
        let invitation = invite(&c.app, &c.token, &format!("{role}@acme.example"), role).await;
        let joined = accept(&c.app, &invitation).await;
        assert_eq!(joined.status(), 201, "{role} joins");
        let joined: Value = joined.json().await.unwrap();
        tokens[i + 1] = joined["token"].as_str().unwrap().to_owned();
        let me = get(&c.app, &tokens[i + 1], "/api/auth/me").await;
        assert_eq!(me["user"]["role"], role);
        assert_eq!(me["user"]["email"], format!("{role}@acme.example"));
    }
    (c, tokens)
}

const ROLES: [&str; 4] = ["owner", "admin", "analyst", "viewer"];

fn rank(role: &str) -> usize {
    3 - ROLES.iter().position(|r| *r == role).unwrap()
}

#[tokio::test]
async fn every_route_refuses_the_roles_below_its_minimum_and_lets_the_others_read() {
    let (c, tokens) = team().await;
    let app = &c.app;
    let spec = get(app, &tokens[0], "/api/openapi.json").await;
    let (mut refused, mut read) = (0, 0);
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation["security"].is_null() {
                continue;
            }
            let minimum = operation["x-minimum-role"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} declares no minimum role"));
            let concrete = path
                .replace("{store_id}", &c.store_id)
                .replace("{id}", &c.store_id)
                .replace("{segment}", "likely_to_return")
                .replace("{user_id}", "00000000-0000-0000-0000-000000000000")
                .replace("{customer_id}", "1")
                .replace("{order_id}", "1")
                .replace("{product_id}", "1");
            let url = format!("{concrete}?store_id={}&segment=champions", c.store_id);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for (role, token) in ROLES.iter().zip(&tokens) {
                let below = rank(role) < rank(minimum);
                // Reads run for whoever may; changes only where refused (they would act).
                if !below && method != Method::GET {
                    continue;
                }
                let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
                let answer = call(app, method.clone(), &url, token, body).await;
                let what = format!("{method} {path} as {role} (minimum {minimum})");
                if below {
                    let problem = expect_problem(answer, 403, "forbidden").await;
                    assert!(
                        problem["detail"].as_str().unwrap().contains(minimum),
                        "{what}: {problem}"
                    );
                    refused += 1;
                } else {
                    assert_ne!(answer.status(), 403, "{what}");
                    assert!(!answer.status().is_server_error(), "{what}");
                    read += 1;
                }
            }
        }
    }
    assert!(
        refused >= 30 && read >= 60,
        "{refused} refusals, {read} reads"
    );
}

#[tokio::test]
async fn an_invitation_works_once_until_it_expires_or_is_revoked() {
    let c = connect(json!({ "orders": 5 }), &[], 1.0).await;
    let (app, owner) = (&c.app, c.token.as_str());
    let first = invite(app, owner, "ana@acme.example", "analyst").await;
    assert_eq!(accept(app, &first).await.status(), 201);
    // Used: the same link again, and the same email by another link.
    expect_problem(accept(app, &first).await, 409, "conflict").await;
    let again = invite(app, owner, "ana@acme.example", "viewer").await;
    let taken = expect_problem(accept(app, &again).await, 409, "conflict").await;
    assert!(taken["detail"].as_str().unwrap().contains("sign in"));
    // Revoked: listed while pending, gone once revoked.
    let revoked = invite(app, owner, "rev@acme.example", "viewer").await;
    let pending = get(app, owner, "/api/members/invitations").await;
    let id = pending["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "rev@acme.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = call(
        app,
        Method::DELETE,
        &format!("/api/members/invitations/{id}"),
        owner,
        None,
    )
    .await;
    assert_eq!(gone.status(), 204);
    expect_problem(accept(app, &revoked).await, 410, "gone").await;
    // Expired.
    let late = invite(app, owner, "late@acme.example", "viewer").await;
    let mut db = app.connect_as("postgres").await;
    sqlx::query("UPDATE invitations SET expires_at = now() - interval '1 second' WHERE email = 'late@acme.example'")
        .execute(&mut db)
        .await
        .unwrap();
    expect_problem(accept(app, &late).await, 410, "gone").await;
    // Mistyped, forged or another tenant's: no such invitation.
    let mut forged = late.clone();
    forged.pop();
    forged.push('x');
    expect_problem(accept(app, &forged).await, 404, "not_found").await;
    expect_problem(accept(app, "xinv_nonsense").await, 404, "not_found").await;
    let other = app.register("Other", "boss@other.example").await["tenant_id"]
        .as_str()
        .unwrap()
        .replace('-', "");
    let swapped = format!("xinv_{other}_{}", &late["xinv_".len() + 33..]);
    expect_problem(accept(app, &swapped).await, 404, "not_found").await;
    // A role above one's own cannot be given, nor the owner's.
    let bad = call(
        app,
        Method::POST,
        "/api/members/invitations",
        owner,
        Some(json!({ "email": "x@acme.example", "role": "owner" })),
    )
    .await;
    expect_problem(bad, 422, "invalid_fields").await;
    // A weak password is refused, naming the field, and leaves the invitation usable.
    let weak = invite(app, owner, "weak@acme.example", "viewer").await;
    let answer = app
        .post_json(
            "/api/auth/accept",
            &json!({ "token": weak, "password": "password" }),
        )
        .await;
    expect_problem(answer, 422, "invalid_fields").await;
    assert_eq!(accept(app, &weak).await.status(), 201);
}

#[tokio::test]
async fn a_viewer_sees_every_figure_and_no_personal_data() {
    let (c, [owner, _, analyst, viewer]) = team().await;
    let app = &c.app;
    let mine = get(app, &owner, "/api/customers?limit=20").await;
    let theirs = get(app, &viewer, "/api/customers?limit=20").await;
    let (mine, theirs) = (
        mine["data"].as_array().unwrap(),
        theirs["data"].as_array().unwrap(),
    );
    assert_eq!(mine.len(), theirs.len());
    let mut masked = 0;
    for (m, t) in mine.iter().zip(theirs) {
        assert_eq!(m["id"], t["id"]);
        assert_eq!(m["orders_count"], t["orders_count"]);
        assert_eq!(m["total_spent"], t["total_spent"]);
        if let Some(email) = m["email"].as_str() {
            let shown = t["email"].as_str().unwrap();
            assert_eq!(shown, format!("{}•••", email.chars().next().unwrap()));
            assert!(!theirs.iter().any(|c| c.to_string().contains(email)));
            masked += 1;
        }
    }
    assert!(masked > 0, "customers with emails");
    let path = "/api/metrics/dashboard?from=2025-01-01&to=2026-12-31";
    let (figures, shown) = (get(app, &owner, path).await, get(app, &viewer, path).await);
    assert_eq!(figures["totals"], shown["totals"]);
    for (m, t) in figures["top_customers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(shown["top_customers"].as_array().unwrap())
    {
        assert_eq!(m["spent"], t["spent"]);
        if let Some(name) = m["name"].as_str() {
            assert_ne!(t["name"], name);
        }
    }
    // Their own account is theirs to see; exports are for analysts.
    assert_eq!(
        get(app, &viewer, "/api/auth/me").await["user"]["email"],
        "viewer@acme.example"
    );
    let export = format!(
        "/api/metrics/segments/export?segment=champions&store_id={}",
        c.store_id
    );
    expect_problem(
        call(app, Method::GET, &export, &viewer, None).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        call(app, Method::GET, &export, &analyst, None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn roles_change_at_once_keys_never_exceed_their_creator_and_ownership_moves() {
    let (c, [owner, admin, analyst, _]) = team().await;
    let app = &c.app;
    let members = get(app, &owner, "/api/members").await;
    let id_of = |email: &str| {
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
    assert_eq!(members["data"][0]["role"], "owner");
    let (admin_id, analyst_id) = (id_of("admin@acme.example"), id_of("analyst@acme.example"));
    // The admin's key works as an admin's until the admin is made an analyst.
    let key: Value = call(
        app,
        Method::POST,
        "/api/keys",
        &admin,
        Some(json!({ "name": "ops", "role": "admin" })),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = key["secret"].as_str().unwrap().to_owned();
    let sync = format!("/api/sync/{}", c.store_id);
    assert_eq!(
        call(app, Method::POST, &sync, &secret, None).await.status(),
        202
    );
    wait_for_sync(app, &owner, &c.store_id).await;
    let demoted = call(
        app,
        Method::PATCH,
        &format!("/api/members/{admin_id}"),
        &owner,
        Some(json!({ "role": "analyst" })),
    )
    .await;
    assert_eq!(demoted.status(), 200);
    expect_problem(
        call(app, Method::POST, &sync, &secret, None).await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        call(app, Method::POST, &sync, &admin, None).await,
        403,
        "forbidden",
    )
    .await;
    // An analyst manages no one; the owner's role moves only by handing over.
    let meddle = call(
        app,
        Method::DELETE,
        &format!("/api/members/{analyst_id}"),
        &analyst,
        None,
    )
    .await;
    expect_problem(meddle, 403, "forbidden").await;
    let owner_id = id_of("owner@acme.example");
    let back = call(
        app,
        Method::PATCH,
        &format!("/api/members/{owner_id}"),
        &owner,
        Some(json!({ "role": "viewer" })),
    )
    .await;
    expect_problem(back, 409, "conflict").await;
    // Handing over: the admin (made one again) becomes the owner, the owner an admin.
    call(
        app,
        Method::PATCH,
        &format!("/api/members/{admin_id}"),
        &owner,
        Some(json!({ "role": "admin" })),
    )
    .await;
    let handed = call(
        app,
        Method::POST,
        &format!("/api/members/{admin_id}/ownership"),
        &owner,
        None,
    )
    .await;
    assert_eq!(handed.status(), 200);
    assert_eq!(
        get(app, &admin, "/api/auth/me").await["user"]["role"],
        "owner"
    );
    assert_eq!(
        get(app, &owner, "/api/auth/me").await["user"]["role"],
        "admin"
    );
    expect_problem(
        call(
            app,
            Method::POST,
            &format!("/api/members/{owner_id}/ownership"),
            &owner,
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // The owner cannot leave without handing over; a member can, and is signed out.
    expect_problem(
        call(app, Method::POST, "/api/auth/leave", &admin, None).await,
        409,
        "conflict",
    )
    .await;
    let leaver_invite = invite(app, &admin, "leaver@acme.example", "viewer").await;
    let leaver: Value = accept(app, &leaver_invite).await.json().await.unwrap();
    let leaver = leaver["token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(app, Method::POST, "/api/auth/leave", &leaver, None)
            .await
            .status(),
        204
    );
    assert_eq!(
        call(app, Method::GET, "/api/auth/me", &leaver, None)
            .await
            .status(),
        401
    );
    let left = get(app, &admin, "/api/members").await;
    assert!(!left.to_string().contains("leaver@acme.example"));
    // Removing a member ends their sessions.
    let removed = call(
        app,
        Method::DELETE,
        &format!("/api/members/{analyst_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(removed.status(), 204);
    assert_eq!(
        call(app, Method::GET, "/api/orders", &analyst, None)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn the_audit_log_records_who_did_what_and_the_service_cannot_rewrite_it() {
    let (c, [owner, admin, analyst, viewer]) = team().await;
    let app = &c.app;
    let key: Value = call(
        app,
        Method::POST,
        "/api/keys",
        &admin,
        Some(json!({ "name": "bi" })),
    )
    .await
    .json()
    .await
    .unwrap();
    let key_id = key["id"].as_str().unwrap().to_owned();
    call(
        app,
        Method::DELETE,
        &format!("/api/keys/{key_id}"),
        &admin,
        None,
    )
    .await;
    call(
        app,
        Method::POST,
        &format!("/api/sync/{}", c.store_id),
        &admin,
        None,
    )
    .await;
    wait_for_sync(app, &owner, &c.store_id).await;
    let export = format!(
        "/api/metrics/segments/export?segment=champions&store_id={}",
        c.store_id
    );
    assert_eq!(
        call(app, Method::GET, &export, &analyst, None)
            .await
            .status(),
        200
    );
    expect_problem(
        call(app, Method::GET, "/api/audit", &viewer, None).await,
        403,
        "forbidden",
    )
    .await;

    let log = get(app, &admin, "/api/audit?limit=250").await;
    let entries = log["data"].as_array().unwrap();
    let find = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("{action} in {log}"))
    };
    assert_eq!(find("store.connect")["actor_email"], "owner@acme.example");
    assert_eq!(find("member.invite")["detail"]["role"], "viewer");
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["action"] == "member.join")
            .count(),
        3
    );
    assert_eq!(find("key.create")["subject"], key_id.as_str());
    assert_eq!(find("key.revoke")["actor_email"], "admin@acme.example");
    assert_eq!(find("sync.start")["subject"], c.store_id.as_str());
    assert_eq!(
        find("segment.export")["actor_email"],
        "analyst@acme.example"
    );
    assert!(find("sync.start")["address"]
        .as_str()
        .is_some_and(|a| a.contains("127.0.0.1")));
    // Newest first, and paged.
    let at: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]));
    let first = get(app, &admin, "/api/audit?limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = get(app, &admin, &format!("/api/audit?limit=2&cursor={cursor}")).await;
    assert_eq!(second["data"][0]["id"], entries[2]["id"]);
    // The service's own role may add entries, never change or remove them.
    let mut service = app.connect_as("xeno_app").await;
    for statement in [
        "UPDATE audit_events SET action = 'nothing'",
        "DELETE FROM audit_events",
    ] {
        let err = sqlx::query(statement)
            .execute(&mut service)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("permission denied"),
            "{statement}: {err}"
        );
    }
}

#[tokio::test]
async fn a_run_of_failed_sign_ins_reaches_the_audit_log_once() {
    let c = connect(json!({ "orders": 2 }), &[], 1.0).await;
    let app = &c.app;
    for _ in 0..7 {
        let answer = app
            .post_json(
                "/api/auth/login",
                &json!({ "email": "owner@acme.example", "password": "not the password 1" }),
            )
            .await;
        assert!(matches!(answer.status().as_u16(), 401 | 429));
    }
    let log = get(app, &c.token, "/api/audit?limit=250").await;
    let failures: Vec<&Value> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "auth.failures")
        .collect();
    assert_eq!(failures.len(), 1, "{log}");
    assert_eq!(failures[0]["detail"]["email"], "owner@acme.example");
    assert!(failures[0]["detail"]["failures"].as_u64().unwrap() >= 5);
}

/// A local SMTP server that keeps what it is sent.
async fn smtp_sink() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sent, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sent = sent.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ready\r\n").await.unwrap();
                let mut message = String::new();
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            sent.send(std::mem::take(&mut message)).unwrap();
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            message.push_str(&line);
                            message.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split(' ').next().unwrap_or_default().to_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                    if verb == "QUIT" {
                        break;
                    }
                }
            });
        }
    });
    (port, received)
}

#[tokio::test]
async fn with_an_smtp_server_the_invitation_is_mailed_too() {
    let (port, mut received) = smtp_sink().await;
    let url = format!("smtp://127.0.0.1:{port}");
    let c = connect(
        json!({ "orders": 2 }),
        &[
            ("XENO_SMTP_URL", url.as_str()),
            ("XENO_MAIL_FROM", "Xeno <team@xeno.example>"),
        ],
        1.0,
    )
    .await;
    let answer = call(
        &c.app,
        Method::POST,
        "/api/members/invitations",
        &c.token,
        Some(json!({ "email": "mailed@acme.example", "role": "analyst" })),
    )
    .await;
    assert_eq!(answer.status(), 201);
    let created: Value = answer.json().await.unwrap();
    assert_eq!(created["mailed"], true);
    let mail = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
        .await
        .unwrap()
        .unwrap();
    let unfolded = mail.replace("=\n", "");
    assert!(mail.contains("To: mailed@acme.example"), "{mail}");
    assert!(mail.contains("From: Xeno <team@xeno.example>"), "{mail}");
    assert!(mail.contains("Subject: Join Acme on Xeno"), "{mail}");
    assert!(
        unfolded.contains(created["token"].as_str().unwrap()),
        "{mail}"
    );
    // The mailed link works.
    assert_eq!(
        accept(&c.app, created["token"].as_str().unwrap())
            .await
            .status(),
        201
    );
}

/// Every new input refuses what it cannot take with a clear 4xx naming what is wrong.
#[tokio::test]
async fn bad_input_to_the_new_routes_is_a_clear_4xx() {
    let (c, [owner, admin, _, _]) = team().await;
    let app = &c.app;
    let store = &c.store_id;
    let cases: Vec<(Method, String, Option<Value>, u16, &str)> = vec![
        (Method::POST, "/api/members/invitations".into(), Some(json!({ "email": "nope", "role": "viewer" })), 422, "invalid_fields"),
        (Method::POST, "/api/members/invitations".into(), Some(json!({ "email": "a@b.example", "role": "viewer", "expires_in_days": 99 })), 422, "invalid_fields"),
        (Method::PATCH, "/api/members/00000000-0000-0000-0000-000000000000".into(), Some(json!({ "role": "superuser" })), 422, "invalid_fields"),
        (Method::PATCH, "/api/members/not-a-uuid".into(), Some(json!({ "role": "viewer" })), 400, "bad_request"),
        (Method::POST, "/api/keys".into(), Some(json!({ "name": "k", "role": "owner" })), 422, "invalid_fields"),
        (Method::GET, "/api/audit?cursor=forged".into(), None, 400, "bad_request"),
        (Method::GET, "/api/audit?limit=0".into(), None, 400, "bad_request"),
        (Method::GET, "/api/metrics/products?by=sideways".into(), None, 400, "bad_request"),
        (Method::GET, "/api/metrics/dashboard?compare=decade".into(), None, 400, "bad_request"),
        (Method::GET, format!("/api/customers?sort=luck&store_id={store}"), None, 400, "bad_request"),
        (Method::GET, format!("/api/predictions/segments/customers?store_id={store}&segment=likely_to_return&cursor=forged"), None, 400, "bad_request"),
        (Method::POST, "/api/tenant/deletion".into(), Some(json!({})), 422, "invalid_fields"),
        (Method::POST, "/api/auth/email".into(), Some(json!({ "new_email": "x@y.example" })), 422, "invalid_fields"),
        (Method::DELETE, "/api/auth/sessions/not-a-uuid".into(), None, 400, "bad_request"),
    ];
    for (method, path, body, status, code) in cases {
        let token = if path.starts_with("/api/tenant") {
            &owner
        } else {
            &admin
        };
        let answer = call(app, method.clone(), &path, token, body).await;
        let problem = expect_problem(answer, status, code).await;
        assert!(problem["detail"].is_string(), "{method} {path}: {problem}");
    }
    let accepted = app
        .post_json("/api/auth/accept", &json!({ "password": PASSWORD }))
        .await;
    expect_problem(accepted, 422, "invalid_fields").await;
}
