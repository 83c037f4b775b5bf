//! One person in several accounts: invited into a second with the email they already sign in
//! with, they join with their own password, choose an account at sign-in or switch, and one
//! password change ends their sessions everywhere. Leaving or deleting one account leaves the
//! others as they were; a person left with no account is forgotten.

use crate::support::shop::get;
use crate::support::{expect_problem, TestApp};
use crate::teams::{call, invite};
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse 9";

async fn log_in(
    app: &TestApp,
    email: &str,
    password: &str,
    tenant: Option<&str>,
) -> reqwest::Response {
    let mut body = json!({ "email": email, "password": password });
    if let Some(tenant) = tenant {
        body["tenant_id"] = json!(tenant);
    }
    app.post_json("/api/auth/login", &body).await
}

async fn token_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

async fn people_named(app: &TestApp, email: &str) -> i64 {
    let mut db = app.connect_as("postgres").await;
    sqlx::query_scalar("SELECT count(*) FROM people WHERE email = $1")
        .bind(email)
        .fetch_one(&mut db)
        .await
        .unwrap()
}

#[tokio::test]
async fn one_person_belongs_to_two_accounts_and_switches_between_them() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ada@acme.example").await;
    let beta = app.register("Beta", "bo@beta.example").await;
    let third = app.register("Third", "tim@third.example").await;
    let ada = acme["user_id"].as_str().unwrap();
    let (acme_id, beta_id) = (
        acme["tenant_id"].as_str().unwrap(),
        beta["tenant_id"].as_str().unwrap(),
    );
    let beta_owner = beta["token"].as_str().unwrap();

    // Beta invites Ada's email: it has an account, so she joins with her own password.
    let invitation = invite(&app, beta_owner, "Ada@Acme.example", "analyst").await;
    let wrong = app
        .post_json(
            "/api/auth/accept",
            &json!({ "token": invitation, "password": "not her password 42" }),
        )
        .await;
    let body = expect_problem(wrong, 401, "unauthenticated").await;
    assert!(body["detail"].as_str().unwrap().contains("password"));
    let joined = app
        .post_json(
            "/api/auth/accept",
            &json!({ "token": invitation, "password": PASSWORD }),
        )
        .await;
    let joined = token_of(joined, 201).await;
    assert_eq!(joined["user_id"], ada, "the same person, not a new one");
    assert_eq!(joined["tenant_id"], beta_id);
    assert_eq!(people_named(&app, "ada@acme.example").await, 1);

    // Her identity lists both accounts with her role in each, the first joined first.
    let me = get(&app, joined["token"].as_str().unwrap(), "/api/auth/me").await;
    assert_eq!(me["tenant"]["id"], beta_id);
    assert_eq!(me["user"]["role"], "analyst");
    assert_eq!(
        me["tenants"],
        json!([
            { "id": acme_id, "name": "Acme", "role": "owner" },
            { "id": beta_id, "name": "Beta", "role": "analyst" },
        ])
    );
    // Beta's members list her; Acme's still has her as its owner.
    let members = get(&app, beta_owner, "/api/members").await;
    let emails: Vec<&str> = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["bo@beta.example", "ada@acme.example"]);

    // Signing in opens the first account unless she names another of hers; naming one she
    // does not belong to is refused like a wrong password.
    let first = token_of(log_in(&app, "ada@acme.example", PASSWORD, None).await, 200).await;
    assert_eq!(first["tenant_id"], acme_id);
    let second = token_of(
        log_in(&app, "ada@acme.example", PASSWORD, Some(beta_id)).await,
        200,
    )
    .await;
    assert_eq!(second["tenant_id"], beta_id);
    let foreign = log_in(
        &app,
        "ada@acme.example",
        PASSWORD,
        third["tenant_id"].as_str(),
    )
    .await;
    expect_problem(foreign, 401, "unauthenticated").await;

    // Switching from Acme opens Beta, with her role there; another's account is not hers.
    let acme_token = first["token"].as_str().unwrap();
    let switched = call(
        &app,
        Method::POST,
        "/api/auth/switch",
        acme_token,
        Some(json!({ "tenant_id": beta_id })),
    )
    .await;
    let switched = token_of(switched, 200).await;
    let beta_token = switched["token"].as_str().unwrap().to_owned();
    let me = get(&app, &beta_token, "/api/auth/me").await;
    assert_eq!(
        (me["tenant"]["name"].as_str(), me["user"]["role"].as_str()),
        (Some("Beta"), Some("analyst"))
    );
    // An analyst in Beta cannot invite there, whatever she is in Acme.
    let refused = call(
        &app,
        Method::POST,
        "/api/members/invitations",
        &beta_token,
        Some(json!({ "email": "x@beta.example", "role": "viewer" })),
    )
    .await;
    expect_problem(refused, 403, "forbidden").await;
    let not_hers = call(
        &app,
        Method::POST,
        "/api/auth/switch",
        acme_token,
        Some(json!({ "tenant_id": third["tenant_id"] })),
    )
    .await;
    expect_problem(not_hers, 404, "not_found").await;
    let malformed = call(
        &app,
        Method::POST,
        "/api/auth/switch",
        acme_token,
        Some(json!({ "tenant_id": "not an id" })),
    )
    .await;
    expect_problem(malformed, 422, "invalid_fields").await;

    // One password change, made in Acme, ends her sessions in Beta too; the new password
    // opens both.
    let changed = call(
        &app,
        Method::POST,
        "/api/auth/password",
        acme_token,
        Some(json!({ "current_password": PASSWORD, "new_password": "a much newer secret 7" })),
    )
    .await;
    let changed = token_of(changed, 200).await;
    assert_eq!(
        call(&app, Method::GET, "/api/auth/me", &beta_token, None)
            .await
            .status(),
        401
    );
    for tenant in [acme_id, beta_id] {
        let opened = log_in(
            &app,
            "ada@acme.example",
            "a much newer secret 7",
            Some(tenant),
        );
        assert_eq!(token_of(opened.await, 200).await["tenant_id"], tenant);
    }

    // Accepting the same invitation again is refused; so is a second invitation to an
    // account she is in already.
    let again = invite(&app, beta_owner, "ada@acme.example", "viewer").await;
    let twice = app
        .post_json(
            "/api/auth/accept",
            &json!({ "token": again, "password": "a much newer secret 7" }),
        )
        .await;
    expect_problem(twice, 409, "conflict").await;

    // Leaving Beta leaves Acme as it was.
    let beta_token = token_of(
        log_in(
            &app,
            "ada@acme.example",
            "a much newer secret 7",
            Some(beta_id),
        )
        .await,
        200,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let left = call(&app, Method::POST, "/api/auth/leave", &beta_token, None).await;
    assert_eq!(left.status(), 204);
    let me = get(&app, changed["token"].as_str().unwrap(), "/api/auth/me").await;
    assert_eq!(me["tenants"].as_array().unwrap().len(), 1);
    expect_problem(
        log_in(
            &app,
            "ada@acme.example",
            "a much newer secret 7",
            Some(beta_id),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn deleting_an_account_forgets_only_the_people_it_was_the_last_of() {
    let app = TestApp::spawn().await;
    let acme = app.register("Acme", "ada@acme.example").await;
    let beta = app.register("Beta", "bo@beta.example").await;
    let beta_owner = beta["token"].as_str().unwrap();
    let invitation = invite(&app, beta_owner, "ada@acme.example", "admin").await;
    let joined = app
        .post_json(
            "/api/auth/accept",
            &json!({ "token": invitation, "password": PASSWORD }),
        )
        .await;
    assert_eq!(joined.status(), 201);
    // A new person joins Beta only.
    let newcomer = invite(&app, beta_owner, "cy@beta.example", "viewer").await;
    let weak = app
        .post_json(
            "/api/auth/accept",
            &json!({ "token": newcomer, "password": "short" }),
        )
        .await;
    expect_problem(weak, 422, "invalid_fields").await;
    let joined = app
        .post_json(
            "/api/auth/accept",
            &json!({ "token": newcomer, "password": "cy's own passphrase 3" }),
        )
        .await;
    assert_eq!(joined.status(), 201);

    let deleted = call(
        &app,
        Method::POST,
        "/api/tenant/deletion",
        beta_owner,
        Some(json!({ "confirm": "Beta" })),
    )
    .await;
    assert_eq!(deleted.status(), 204);
    // Bo and Cy had only Beta: gone, their emails free. Ada keeps Acme.
    assert_eq!(people_named(&app, "bo@beta.example").await, 0);
    assert_eq!(people_named(&app, "cy@beta.example").await, 0);
    assert_eq!(people_named(&app, "ada@acme.example").await, 1);
    let ada = token_of(log_in(&app, "ada@acme.example", PASSWORD, None).await, 200).await;
    assert_eq!(ada["tenant_id"], acme["tenant_id"]);
    let me = get(&app, ada["token"].as_str().unwrap(), "/api/auth/me").await;
    assert_eq!(
        me["tenants"],
        json!([{ "id": acme["tenant_id"], "name": "Acme", "role": "owner" }])
    );
    expect_problem(
        log_in(&app, "cy@beta.example", "cy's own passphrase 3", None).await,
        401,
        "unauthenticated",
    )
    .await;
}
