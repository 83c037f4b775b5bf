//! Sessions: refresh tokens that rotate, sign-out, password changes, deleted users.

use serde_json::{json, Value};

use crate::support::{expect_problem, token_claims, TestApp};

async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/refresh",
        &json!({ "refresh_token": refresh_token }),
    )
    .await
}

async fn status_of(app: &TestApp, token: &str) -> u16 {
    app.get_authed("/api/auth/me", token)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn sessions_rotate_their_refresh_tokens_and_end_on_sign_out_reuse_and_password_change() {
    let app = TestApp::spawn().await;
    let first = app.register("Sessions", "sessions@example.com").await;
    let (token, refresh_token) = (
        first["token"].as_str().unwrap().to_owned(),
        first["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(status_of(&app, &token).await, 200);
    assert!(first["refresh_expires_in"].as_u64().unwrap() > first["expires_in"].as_u64().unwrap());

    // A refresh answers new tokens of a new session in the same sign-in; both work.
    let second: Value = refresh(&app, &refresh_token).await.json().await.unwrap();
    let token2 = second["token"].as_str().unwrap().to_owned();
    assert_ne!(token_claims(&token2)["sid"], token_claims(&token)["sid"]);
    assert_eq!(status_of(&app, &token2).await, 200);
    assert_eq!(
        status_of(&app, &token).await,
        200,
        "rotation is not revocation"
    );

    // The spent refresh token again: refused, and the whole sign-in ends with it.
    let replay = refresh(&app, &refresh_token).await;
    let body = expect_problem(replay, 401, "unauthenticated").await;
    assert!(
        body["detail"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    assert_eq!(status_of(&app, &token).await, 401);
    assert_eq!(status_of(&app, &token2).await, 401);
    let next = second["refresh_token"].as_str().unwrap();
    expect_problem(refresh(&app, next).await, 401, "unauthenticated").await;

    // Forged and malformed refresh tokens are plain 401s.
    let login = |password: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                "/api/auth/login",
                &json!({ "email": "sessions@example.com", "password": password }),
            )
            .await
        }
    };
    let signed_in: Value = login("correct horse 9").await.json().await.unwrap();
    let live_refresh = signed_in["refresh_token"].as_str().unwrap().to_owned();
    let forged = format!(
        "{}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        live_refresh.rsplit_once('.').unwrap().0
    );
    for bad in ["", "nonsense", "a.b.c", forged.as_str()] {
        expect_problem(refresh(&app, bad).await, 401, "unauthenticated").await;
    }
    // A body without the field is a clear 422 naming it, not a 401 or a 500.
    let missing = expect_problem(
        app.post_json("/api/auth/refresh", &json!({})).await,
        422,
        "invalid_fields",
    )
    .await;
    assert!(missing.to_string().contains("refresh_token"), "{missing}");

    // Signing out ends the session's tokens at once, and its refresh token.
    let token3 = signed_in["token"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&app, &token3).await, 200);
    let out = app
        .client
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&token3)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(status_of(&app, &token3).await, 401);
    expect_problem(refresh(&app, &live_refresh).await, 401, "unauthenticated").await;

    // A password change ends every session of the user and starts a new one.
    let a: Value = login("correct horse 9").await.json().await.unwrap();
    let b: Value = login("correct horse 9").await.json().await.unwrap();
    let (token_a, token_b) = (a["token"].as_str().unwrap(), b["token"].as_str().unwrap());
    let change = |current: &'static str, new: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/auth/password"))
                .bearer_auth(token_a)
                .json(&json!({ "current_password": current, "new_password": new }))
                .send()
                .await
                .unwrap()
        }
    };
    expect_problem(
        change("wrong password 1", "another long secret 77").await,
        401,
        "unauthenticated",
    )
    .await;
    let empty = app
        .client
        .post(app.url("/api/auth/password"))
        .bearer_auth(token_a)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(empty, 422, "invalid_fields").await;
    let weak = expect_problem(
        change("correct horse 9", "password1234").await,
        422,
        "invalid_fields",
    )
    .await;
    assert_eq!(weak["errors"][0]["field"], "new_password");
    let changed = change("correct horse 9", "tangerine submarine 42 ok").await;
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(status_of(&app, token_a).await, 401);
    assert_eq!(status_of(&app, token_b).await, 401);
    assert_eq!(
        status_of(&app, changed["token"].as_str().unwrap()).await,
        200
    );
    assert_eq!(login("correct horse 9").await.status(), 401);
    assert_eq!(login("tangerine submarine 42 ok").await.status(), 200);
}

#[tokio::test]
async fn a_deleted_users_tokens_stop_working() {
    let app = TestApp::spawn().await;
    let registered = app.register("Gone", "gone@example.com").await;
    let token = registered["token"].as_str().unwrap();
    let mut conn = app.connect_as("xeno_owner").await;
    sqlx::query("DELETE FROM users WHERE user_id = $1")
        .bind(
            registered["user_id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .unwrap(),
        )
        .execute(&mut conn)
        .await
        .unwrap();
    let orders = app.get_authed("/api/orders", token).await;
    expect_problem(orders, 401, "unauthenticated").await;
    let export = app
        .get_authed("/api/metrics/segments/export?segment=champions", token)
        .await;
    expect_problem(export, 401, "unauthenticated").await;
}

/// A person sees their sign-ins (one per browser, surviving refreshes) and ends one: that
/// browser's tokens stop, the others go on; a sign-in of someone else's is not found.
#[tokio::test]
async fn a_person_lists_their_sign_ins_and_ends_one() {
    let app = TestApp::spawn().await;
    let laptop = app.register("Mine", "mine@example.com").await;
    let laptop_token = laptop["token"].as_str().unwrap().to_owned();
    let phone: Value = app
        .post_json(
            "/api/auth/login",
            &json!({ "email": "mine@example.com", "password": "correct horse 9" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let phone_token = phone["token"].as_str().unwrap().to_owned();
    // The laptop refreshes: still one sign-in.
    let refreshed: Value = refresh(&app, laptop["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let laptop_token2 = refreshed["token"].as_str().unwrap().to_owned();
    let listed: Value = app
        .get_authed("/api/auth/sessions", &laptop_token2)
        .await
        .json()
        .await
        .unwrap();
    let sign_ins = listed["data"].as_array().unwrap();
    assert_eq!(sign_ins.len(), 2, "{listed}");
    let current: Vec<&Value> = sign_ins.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let other = sign_ins.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Ending the phone's sign-in stops its token, not the laptop's.
    let ended = app
        .client
        .delete(app.url(&format!("/api/auth/sessions/{other}")))
        .bearer_auth(&laptop_token2)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    assert_eq!(status_of(&app, &phone_token).await, 401);
    assert_eq!(status_of(&app, &laptop_token2).await, 200);
    assert_eq!(
        status_of(&app, &laptop_token).await,
        200,
        "the laptop's earlier token"
    );
    // Someone else's sign-in is not found, and nothing ends.
    let stranger = app.register("Theirs", "theirs@example.com").await;
    let theirs = stranger["token"].as_str().unwrap().to_owned();
    let attempt = app
        .client
        .delete(app.url(&format!(
            "/api/auth/sessions/{}",
            current[0]["id"].as_str().unwrap()
        )))
        .bearer_auth(&theirs)
        .send()
        .await
        .unwrap();
    expect_problem(attempt, 404, "not_found").await;
    assert_eq!(status_of(&app, &laptop_token2).await, 200);
}

/// A person moves to another email: they sign in with it from then on (not the old one),
/// every other session ends, and a taken email is refused.
#[tokio::test]
async fn a_person_changes_their_email_and_signs_in_with_it() {
    let app = TestApp::spawn().await;
    let first = app.register("Moving", "old@example.com").await;
    let token = first["token"].as_str().unwrap().to_owned();
    app.register("Taken", "taken@example.com").await;
    let change = |body: Value| {
        let request = app
            .client
            .post(app.url("/api/auth/email"))
            .bearer_auth(&token)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    expect_problem(
        change(json!({ "new_email": "new@example.com", "current_password": "wrong one 1" })).await,
        401,
        "unauthenticated",
    )
    .await;
    expect_problem(
        change(json!({ "new_email": "taken@example.com", "current_password": "correct horse 9" }))
            .await,
        409,
        "conflict",
    )
    .await;
    expect_problem(
        change(json!({ "new_email": "not an email", "current_password": "correct horse 9" })).await,
        422,
        "invalid_fields",
    )
    .await;
    let moved =
        change(json!({ "new_email": "New@Example.com", "current_password": "correct horse 9" }))
            .await;
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(status_of(&app, &token).await, 401, "the old session ended");
    let fresh = moved["token"].as_str().unwrap();
    let me: Value = app
        .get_authed("/api/auth/me", fresh)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["email"], "new@example.com");
    for (email, status) in [("new@example.com", 200), ("old@example.com", 401)] {
        let answer = app
            .post_json(
                "/api/auth/login",
                &json!({ "email": email, "password": "correct horse 9" }),
            )
            .await;
        assert_eq!(answer.status(), status, "{email}");
    }
}
