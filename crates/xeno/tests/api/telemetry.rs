//! Errors reach Sentry when `SENTRY_DSN` is set: a local endpoint speaking Sentry's envelope
//! protocol records what the service sends when a request fails unexpectedly.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use tokio::sync::mpsc::UnboundedSender;

use crate::support::{expect_problem, TestApp};

// Several threads: flushing to Sentry on drop blocks one while the stand-in answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unexpected_failure_reaches_sentry() {
    // The Sentry stand-in: each envelope posted for the project, recorded.
    let (sent, mut received) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sentry = axum::Router::new()
        .route(
            "/api/{project}/envelope/",
            post(
                |State(sent): State<UnboundedSender<Vec<u8>>>, body: Bytes| async move {
                    let _ = sent.send(body.to_vec());
                    "{}"
                },
            ),
        )
        .with_state(sent);
    tokio::spawn(async move { axum::serve(listener, sentry).await.unwrap() });
    let dsn = format!("http://public@127.0.0.1:{port}/42");
    let app = TestApp::spawn_with(&[("SENTRY_DSN", dsn.as_str())]).await;
    let telemetry = xeno::telemetry::init(&app.config);
    let token = app.register("Acme", "owner@acme.example").await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Something the service cannot expect: the audit log's table is gone.
    let mut owner = app.connect_as("xeno_owner").await;
    sqlx::query("ALTER TABLE audit_events RENAME TO audit_events_gone")
        .execute(&mut owner)
        .await
        .unwrap();
    let failed = app.get_authed("/api/audit", &token).await;
    let problem = expect_problem(failed, 500, "internal").await;
    // The answer names no table; the report carries the cause.
    assert!(!problem.to_string().contains("audit_events"), "{problem}");
    drop(telemetry);

    let mut envelopes = Vec::new();
    while let Ok(Some(envelope)) =
        tokio::time::timeout(std::time::Duration::from_secs(5), received.recv()).await
    {
        let text = String::from_utf8_lossy(&envelope).into_owned();
        let done = text.contains("internal error");
        envelopes.push(text);
        if done {
            break;
        }
    }
    let event = envelopes
        .iter()
        .find(|e| e.contains("internal error"))
        .unwrap_or_else(|| panic!("no error event reached Sentry: {envelopes:?}"));
    // An error event (Sentry's default level, so not spelled out), with its cause, where
    // it was logged, and what led to it.
    assert!(event.contains("\"type\":\"event\""), "{event}");
    assert!(!event.contains("\"level\":"), "{event}");
    assert!(event.contains("crates/http/src/error.rs"), "{event}");
    assert!(event.contains("breadcrumbs"), "{event}");
    assert!(
        event.contains("audit_events"),
        "the cause is reported: {event}"
    );
    assert!(event.contains("\"environment\":\"development\""), "{event}");
}
