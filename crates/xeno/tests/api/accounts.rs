//! Accounts: registration, sign-in, tokens and request validation.

use crate::support::{expect_problem, token_claims, TestApp};
use chrono::Utc;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

#[tokio::test]
async fn register_login_me() {
    let app = TestApp::spawn().await;
    let registered = app.register("Acme Goods", "  Owner@Example.COM ").await;
    assert_eq!(registered["token_type"], "Bearer");
    assert!(registered["expires_in"].as_u64().unwrap() > 0);

    let login = app
        .post_json(
            "/api/auth/login",
            &json!({"email": "owner@example.com", "password": "correct horse 9"}),
        )
        .await;
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.unwrap();
    assert_eq!(login["tenant_id"], registered["tenant_id"]);
    assert_eq!(login["user_id"], registered["user_id"]);

    let me = app
        .get_authed("/api/auth/me", login["token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(
        me["user"]["email"], "owner@example.com",
        "email is normalised"
    );
    assert_eq!(me["user"]["role"], "owner");
    assert_eq!(me["user"]["id"], registered["user_id"]);
    assert_eq!(me["tenant"]["name"], "Acme Goods");
    assert_eq!(me["tenant"]["id"], registered["tenant_id"]);
}

#[tokio::test]
async fn duplicate_email_is_409_even_with_other_case() {
    let app = TestApp::spawn().await;
    app.register("First", "dup@example.com").await;
    let again = app
        .post_json(
            "/api/auth/register",
            &json!({"tenant_name": "Second", "email": "DUP@example.com", "password": "another pass 1"}),
        )
        .await;
    expect_problem(again, 409, "conflict").await;
}

#[tokio::test]
async fn login_failures_do_not_reveal_whether_the_email_exists() {
    let app = TestApp::spawn().await;
    app.register("Shop", "known@example.com").await;
    let wrong_password = app
        .post_json(
            "/api/auth/login",
            &json!({"email": "known@example.com", "password": "wrong password 1"}),
        )
        .await;
    let wrong_password = expect_problem(wrong_password, 401, "unauthenticated").await;
    let unknown = app
        .post_json(
            "/api/auth/login",
            &json!({"email": "nobody@example.com", "password": "wrong password 1"}),
        )
        .await;
    let unknown = expect_problem(unknown, 401, "unauthenticated").await;
    assert_eq!(wrong_password, unknown, "the two answers are identical");
}

#[tokio::test]
async fn every_kind_of_bad_token_is_401() {
    let app = TestApp::spawn().await;
    let registered = app.register("Shop", "tokens@example.com").await;
    let (tenant, user) = (
        registered["tenant_id"].clone(),
        registered["user_id"].clone(),
    );
    // The registered token's session: a token must name a live one.
    let session = token_claims(registered["token"].as_str().unwrap())["sid"].clone();
    let now = Utc::now().timestamp();
    let sign = |secret: &str, exp: i64| {
        encode(
            &Header::default(),
            &json!({"sub": user, "tid": tenant, "sid": session, "iat": now - 7200, "exp": exp}),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let valid = sign(&app.config.jwt_secret, now + 600);
    assert_eq!(
        app.get_authed("/api/auth/me", &valid).await.status(),
        200,
        "control"
    );

    let missing = app
        .client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.headers().get("www-authenticate").unwrap(),
        "Bearer",
        "401 names the scheme"
    );
    expect_problem(missing, 401, "unauthenticated").await;

    let not_bearer = app
        .client
        .get(app.url("/api/auth/me"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    expect_problem(not_bearer, 401, "unauthenticated").await;

    let malformed = app.get_authed("/api/auth/me", "not.a.jwt").await;
    let body = expect_problem(malformed, 401, "unauthenticated").await;
    assert!(
        body["detail"].as_str().unwrap().contains("malformed"),
        "{body}"
    );

    let wrong_key = sign("another-secret-that-is-long-enough-0123456789", now + 600);
    let body = expect_problem(
        app.get_authed("/api/auth/me", &wrong_key).await,
        401,
        "unauthenticated",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("signature"),
        "{body}"
    );

    let expired = sign(&app.config.jwt_secret, now - 3600);
    let body = expect_problem(
        app.get_authed("/api/auth/me", &expired).await,
        401,
        "unauthenticated",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn invalid_fields_are_422_with_names() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/api/auth/register",
            &json!({"tenant_name": "", "email": "not-an-email", "password": "short"}),
        )
        .await;
    let body = expect_problem(response, 422, "invalid_fields").await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["email", "password", "tenant_name"]);

    // Long enough, but among the most common passwords: refused, saying why.
    let common = app
        .post_json(
            "/api/auth/register",
            &json!({"tenant_name": "Shop", "email": "a@example.com", "password": "password1234"}),
        )
        .await;
    let body = expect_problem(common, 422, "invalid_fields").await;
    assert_eq!(body["errors"][0]["field"], "password");
    let why = body["errors"][0]["message"].as_str().unwrap();
    assert!(why.contains("too easy to guess"), "{why}");

    let wrong_type = app
        .post_json(
            "/api/auth/register",
            &json!({"tenant_name": "Shop", "email": 5, "password": "abcdefghij1"}),
        )
        .await;
    let body = expect_problem(wrong_type, 422, "invalid_fields").await;
    assert_eq!(body["errors"][0]["field"], "email");
}

#[tokio::test]
async fn malformed_requests_are_problems() {
    let app = TestApp::spawn().await;
    let broken = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    expect_problem(broken, 400, "bad_request").await;

    let not_json = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    expect_problem(not_json, 415, "unsupported_media_type").await;

    let huge = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body(vec![b' '; xeno_http::MAX_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();
    expect_problem(huge, 413, "payload_too_large").await;

    let unknown = app.client.get(app.url("/api/nope")).send().await.unwrap();
    expect_problem(unknown, 404, "not_found").await;

    let wrong_method = app
        .client
        .delete(app.url("/api/auth/login"))
        .send()
        .await
        .unwrap();
    expect_problem(wrong_method, 405, "method_not_allowed").await;
}
