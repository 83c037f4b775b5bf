//! Logs (text or JSON lines); traces over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set (each request, the acceptance of a webhook, the batch that applies it, linked back to
//! that request, and its upserts, with tenant and store); and errors to Sentry when
//! `SENTRY_DSN` is set: every `tracing` error becomes a Sentry event, warnings and
//! information its breadcrumbs, and a panic an event too. Neither is needed to run.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, Environment, LogFormat};

/// Keep it for the life of the process: dropping it sends the spans and reports not yet
/// sent (blocking: drop it outside the async runtime's workers).
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
    _sentry: Option<sentry::ClientInitGuard>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(traces) = self.traces.take() {
            let _ = traces.shutdown();
        }
    }
}

/// Spans batched to `endpoint`'s `/v1/traces` as OTLP JSON, named `xeno`.
fn trace_provider(endpoint: &url::Url) -> Option<SdkTracerProvider> {
    let url = format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'));
    match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(url)
        .build()
    {
        Ok(exporter) => Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder()
                        .with_service_name("xeno")
                        .build(),
                )
                .build(),
        ),
        Err(err) => {
            eprintln!("xeno: traces are off: {err}");
            None
        }
    }
}

/// Installs the process's logging and error reporting (once; later calls change nothing).
pub fn init(config: &Config) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let logs = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
    };
    let sentry = config.sentry_dsn.as_ref().map(|dsn| {
        sentry::init(sentry::ClientOptions {
            dsn: Some(dsn.clone()),
            release: sentry::release_name!(),
            environment: Some(
                match config.environment {
                    Environment::Production => "production",
                    Environment::Development => "development",
                }
                .into(),
            ),
            ..Default::default()
        })
    });
    let reports = sentry
        .as_ref()
        .map(|_| sentry::integrations::tracing::layer());
    let traces_provider = config.otlp_endpoint.as_ref().and_then(trace_provider);
    let traces = traces_provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("xeno")));
    // A second call (tests that start several services in one process) keeps the first.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(traces)
        .with(reports)
        .try_init();
    Telemetry {
        traces: traces_provider,
        _sentry: sentry,
    }
}
