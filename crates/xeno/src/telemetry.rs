//! Logs (text or JSON lines), and errors to Sentry when `SENTRY_DSN` is set: every
//! `tracing` error becomes a Sentry event (with the request's span around it), warnings and
//! information its breadcrumbs, and a panic an event too. Neither is needed to run.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, Environment, LogFormat};

/// Keep it for the life of the process: dropping it sends what Sentry has not received yet.
pub struct Telemetry {
    _sentry: Option<sentry::ClientInitGuard>,
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
    // A second call (tests that start several services in one process) keeps the first.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(reports)
        .try_init();
    Telemetry { _sentry: sentry }
}
