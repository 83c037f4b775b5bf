//! The OpenAPI document and a browsable page for it.
//!
//! The page renders the spec itself with a few lines of script: hosted UIs load from a CDN,
//! which fails offline and behind strict firewalls.

use std::sync::Arc;

use axum::http::{header, Method};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::{OpenApi, PathItem, ResponseBuilder};

use crate::state::AppState;

/// Adds the documentation routes themselves to the document, and the answers any API route
/// may give whatever it does: 503 when admission control sheds it, 429 past the tenant's
/// quota for routes that need a token.
pub fn describe(doc: &mut OpenApi) {
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    for (path, item) in &mut doc.paths.paths {
        if !path.starts_with("/api/") {
            continue;
        }
        for (method, operation) in [
            (Method::GET, &mut item.get),
            (Method::POST, &mut item.post),
            (Method::PUT, &mut item.put),
            (Method::DELETE, &mut item.delete),
            (Method::PATCH, &mut item.patch),
        ]
        .into_iter()
        .filter_map(|(method, operation)| operation.as_mut().map(|o| (method, o)))
        {
            // Who may call it: the same table the server enforces.
            if operation.security.is_some() {
                let role = crate::authorization::minimum_role(&method, path).name();
                operation
                    .extensions
                    .get_or_insert_with(Default::default)
                    .merge(ExtensionsBuilder::new().add("x-minimum-role", role).build());
                let description = operation.description.get_or_insert_with(String::new);
                if !description.is_empty() {
                    description.push_str("\n\n");
                }
                description.push_str(&format!("Minimum role: `{role}`."));
            }
            // Every route a token opens, an API key opens too, except what only a person
            // does (keys, signing out, the password).
            let person_only = path.starts_with("/api/keys")
                || path.starts_with("/api/auth/sessions")
                || [
                    "/api/auth/logout",
                    "/api/auth/password",
                    "/api/auth/email",
                    "/api/auth/leave",
                    "/api/tenant/deletion",
                    "/api/tenant/export",
                ]
                .contains(&path.as_str())
                || path.ends_with("/ownership");
            if let (Some(security), false) = (operation.security.as_mut(), person_only) {
                security.push(utoipa::openapi::security::SecurityRequirement::new(
                    "api_key",
                    Vec::<String>::new(),
                ));
            }
            let responses = &mut operation.responses.responses;
            if operation.security.is_some() {
                responses.entry("429".to_owned()).or_insert_with(|| {
                    problem("over the tenant's request quota; see Retry-After and RateLimit-*")
                        .into()
                });
            }
            responses.entry("503".to_owned()).or_insert_with(|| {
                problem("too busy (`overloaded`) or a dependency is down; see Retry-After").into()
            });
        }
    }

    for (path, operation_id, summary, content_type) in [
        (
            "/api/openapi.json",
            "get_openapi_document",
            "This OpenAPI 3.1 document",
            "application/json",
        ),
        (
            "/api/docs",
            "get_api_docs",
            "A browsable page for this document",
            "text/html",
        ),
    ] {
        let response = ResponseBuilder::new()
            .description(summary)
            .content(content_type, Default::default())
            .build();
        let operation = OperationBuilder::new()
            .summary(Some(summary))
            .operation_id(Some(operation_id))
            .tag("operations")
            .response("200", response)
            .build();
        doc.paths
            .paths
            .insert(path.to_owned(), PathItem::new(HttpMethod::Get, operation));
    }
}

pub fn router(doc: OpenApi) -> Router<AppState> {
    let spec = Arc::new(doc);
    Router::new()
        .route(
            "/api/openapi.json",
            get(move || {
                let spec = Arc::clone(&spec);
                async move { Json(spec.as_ref().clone()) }
            }),
        )
        .route(
            "/api/docs",
            get(|| async {
                ([(header::CACHE_CONTROL, "no-cache")], Html(DOCS_PAGE)).into_response()
            }),
        )
        .route(
            "/api/docs.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    DOCS_SCRIPT,
                )
                    .into_response()
            }),
        )
}

const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Xeno API</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 960px; padding: 1rem 1.5rem; color: #1f2933; }
h1 { margin-bottom: 0; } .intro { color: #52606d; }
section { border: 1px solid #e4e7eb; border-radius: 6px; margin: .75rem 0; }
summary { cursor: pointer; padding: .6rem .8rem; display: flex; gap: .75rem; align-items: baseline; }
.method { font: 600 12px monospace; text-transform: uppercase; padding: 2px 6px; border-radius: 4px; background: #e4e7eb; min-width: 3.5rem; text-align: center; }
.get { background: #d9f2e6; } .post { background: #dbeafe; } .delete { background: #fde2e1; } .put, .patch { background: #fef3c7; }
code, pre { font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #f5f7fa; padding: .6rem; overflow: auto; margin: .4rem .8rem .8rem; }
.body { padding: 0 .8rem .6rem; } h3 { font-size: 14px; margin: .6rem 0 .2rem; }
</style>
</head>
<body>
<h1>Xeno API</h1>
<p class="intro">Loading <a href="/api/openapi.json">/api/openapi.json</a>…</p>
<main id="ops"></main>
<script src="/api/docs.js"></script>
</body>
</html>
"#;

/// The page's script, served apart so the page needs no inline script (CSP).
const DOCS_SCRIPT: &str = r#"const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const resolve = (spec, s) => s && s.$ref ? spec.components.schemas[s.$ref.split('/').pop()] : s;
fetch('/api/openapi.json').then(r => r.json()).then(spec => {
  document.querySelector('.intro').innerHTML = esc(spec.info.description) +
    ' Version ' + esc(spec.info.version) + '. Raw document: <a href="/api/openapi.json">/api/openapi.json</a>.';
  const ops = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (typeof op !== 'object' || !op.responses) continue;
      ops.push({ path, method, op });
    }
  }
  ops.sort((a, b) => a.path.localeCompare(b.path));
  document.getElementById('ops').innerHTML = ops.map(({ path, method, op }) => {
    const params = (op.parameters || []).map(p => `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', required' : ''}) ${esc(p.description)}</li>`).join('');
    const body = op.requestBody ? JSON.stringify(resolve(spec, op.requestBody.content['application/json']?.schema), null, 2) : '';
    const responses = Object.entries(op.responses).map(([code, r]) => `<li><code>${esc(code)}</code> ${esc(r.description)}</li>`).join('');
    return `<section><details><summary><span class="method ${esc(method)}">${esc(method)}</span><code>${esc(path)}</code><span>${esc(op.summary || op.description || '')}</span></summary><div class="body">
      ${op.security ? '<p>Requires <code>Authorization: Bearer &lt;token&gt;</code>.</p>' : ''}
      ${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ''}
      ${body ? `<h3>Request body</h3><pre>${esc(body)}</pre>` : ''}
      <h3>Responses</h3><ul>${responses}</ul></div></details></section>`;
  }).join('');
}).catch(e => { document.querySelector('.intro').textContent = 'Could not load the spec: ' + e; });
"#;
