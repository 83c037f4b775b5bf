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
    // An error event (Sentry's default level, so not spelled out), with its cause and where
    // it was logged. (Breadcrumbs are kept per thread's hub: which ones ride along depends
    // on where the runtime ran the request, so they are not checked.)
    assert!(event.contains("\"type\":\"event\""), "{event}");
    assert!(!event.contains("\"level\":"), "{event}");
    assert!(event.contains("crates/http/src/error.rs"), "{event}");
    assert!(
        event.contains("audit_events"),
        "the cause is reported: {event}"
    );
    assert!(event.contains("\"environment\":\"development\""), "{event}");
}

/// Every span the stand-in collector received, from the OTLP JSON bodies.
fn spans(bodies: &[serde_json::Value]) -> Vec<serde_json::Value> {
    bodies
        .iter()
        .flat_map(|b| b["resourceSpans"].as_array().cloned().unwrap_or_default())
        .flat_map(|r| r["scopeSpans"].as_array().cloned().unwrap_or_default())
        .flat_map(|s| s["spans"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// A span attribute's value, as text.
fn attribute(span: &serde_json::Value, key: &str) -> Option<String> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| {
            let value = &a["value"];
            value["stringValue"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value["intValue"].to_string().trim_matches('"').to_owned())
        })
}

// Several threads: the exporter flushes, blocking, when telemetry is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_and_a_sync_are_traced_end_to_end() {
    use crate::support::shop::{connect, send_order, start_sync, truth, wait_for_sync};
    // The OTLP collector stand-in: each JSON body posted to /v1/traces, recorded.
    let (sent, mut received) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let collector = axum::Router::new()
        .route(
            "/v1/traces",
            post(
                |State(sent): State<UnboundedSender<Vec<u8>>>, body: Bytes| async move {
                    let _ = sent.send(body.to_vec());
                    "{}"
                },
            ),
        )
        .with_state(sent);
    tokio::spawn(async move { axum::serve(listener, collector).await.unwrap() });
    let endpoint = format!("http://127.0.0.1:{port}");
    let c = connect(
        serde_json::json!({ "customers": 3, "orders": 4 }),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
        1.0,
    )
    .await;
    let telemetry = xeno::telemetry::init(&c.app.config);
    let shop = truth(&c.sim, &c.shop).await;
    let template = crate::support::shop::order_template(&shop);
    send_order(
        &c.app,
        &c.shop,
        &template,
        5_000_000_000_001,
        "2026-11-01T12:00:00Z",
    )
    .await;
    crate::support::webhooks::drain(&c.app).await;
    start_sync(&c.app, &c.token, &c.store_id).await;
    wait_for_sync(&c.app, &c.token, &c.store_id).await;
    tokio::task::spawn_blocking(move || drop(telemetry))
        .await
        .unwrap();
    let mut bodies = Vec::new();
    while let Ok(Some(body)) =
        tokio::time::timeout(std::time::Duration::from_secs(2), received.recv()).await
    {
        bodies.push(serde_json::from_slice::<serde_json::Value>(&body).unwrap());
    }
    let spans = spans(&bodies);
    let named = |name: &str| -> Vec<&serde_json::Value> {
        spans.iter().filter(|s| s["name"] == name).collect()
    };

    // The request, and the acceptance under it, with the tenant, store and shop.
    let accept = *named("webhook.accept")
        .iter()
        .find(|s| attribute(s, "shop").as_deref() == Some(c.shop.as_str()))
        .unwrap_or_else(|| panic!("an accept span: {:?}", named("webhook.accept")));
    assert_eq!(
        attribute(accept, "store").as_deref(),
        Some(c.store_id.as_str())
    );
    assert_eq!(attribute(accept, "topic").as_deref(), Some("orders/create"));
    let request = named("request")
        .into_iter()
        .find(|s| s["spanId"] == accept["parentSpanId"])
        .expect("the accept span's parent is the request");
    assert_eq!(request["traceId"], accept["traceId"]);
    assert_eq!(
        attribute(request, "route").as_deref(),
        Some("/api/webhooks/shopify")
    );

    // The batch that applied it links back to it; its upsert is its child.
    let apply = *named("webhook.apply")
        .iter()
        .find(|s| {
            s["links"].as_array().is_some_and(|links| {
                links
                    .iter()
                    .any(|l| l["traceId"] == accept["traceId"] && l["spanId"] == accept["spanId"])
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "an apply span linked to the request: {:?}",
                named("webhook.apply")
            )
        });
    let tenant = attribute(apply, "tenant").expect("the apply span names its tenant");
    assert_eq!(attribute(accept, "tenant"), Some(tenant));
    let upsert = named("upsert")
        .into_iter()
        .find(|s| s["parentSpanId"] == apply["spanId"])
        .expect("the upsert runs under the apply span");
    assert_eq!(attribute(upsert, "orders").as_deref(), Some("1"));
    assert_eq!(
        attribute(upsert, "store").as_deref(),
        Some(c.store_id.as_str())
    );

    // A sync run, with its tenant and store, and the Admin API calls it made beneath it.
    let run = named("sync.run")
        .into_iter()
        .find(|s| attribute(s, "store").as_deref() == Some(c.store_id.as_str()))
        .unwrap_or_else(|| panic!("a sync span: {:?}", named("sync.run")));
    assert_eq!(attribute(run, "tenant"), attribute(apply, "tenant"));
    let descends_from_run = |span: &serde_json::Value| {
        let mut parent = span["parentSpanId"].clone();
        for _ in 0..20 {
            if parent == run["spanId"] {
                return true;
            }
            match spans.iter().find(|s| s["spanId"] == parent) {
                Some(next) => parent = next["parentSpanId"].clone(),
                None => return false,
            }
        }
        false
    };
    let calls: Vec<String> = named("shopify.admin")
        .into_iter()
        .filter(|s| descends_from_run(s))
        .filter_map(|s| attribute(s, "operation"))
        .collect();
    assert!(
        !calls.is_empty(),
        "Admin calls under the sync: {:?}",
        named("shopify.admin")
    );
    assert!(
        calls
            .iter()
            .all(|c| c.starts_with("query") || c.starts_with("mutation")),
        "{calls:?}"
    );
}
