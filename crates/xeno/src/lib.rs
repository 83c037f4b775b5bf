//! The `xeno` service: configuration, start-up and shutdown around the library crates.

pub mod config;
pub mod demo;
pub mod server;
pub mod telemetry;

use std::future::Future;

use anyhow::Context;
use std::sync::Arc;
use tokio::net::TcpListener;

use xeno_http::auth::{StateKeys, TokenKeys};
use xeno_http::redis_link::RedisLink;
use xeno_http::throttle::Throttle;
use xeno_http::AppState;
use xeno_ingest::acceptor::Acceptor;
use xeno_ingest::backfill::Backfill;
use xeno_ingest::connect::ShopifySettings;
use xeno_ingest::secrets::Cipher;
use xeno_shopify::oauth::AppCredentials;
use xeno_storage::Db;

use crate::config::Config;

/// Webhook acceptance: concurrent group-commit writers, and the most events per commit.
const ACCEPT_WRITERS: usize = 2;
const ACCEPT_BATCH: usize = 256;

/// Creates roles and the database when missing, then applies pending migrations.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    xeno_storage::setup::prepare(&config.database).await?;
    Ok(())
}

/// What one process builds once and hands to the API and the worker alike: one connection
/// pool, one outbound HTTP client, one circuit breaker per shop (so "sync now" and a
/// scheduled sync of the same shop trip the same breaker). Cheap to clone; nothing connects
/// until first use, so `/readyz` can report an outage instead of the process dying.
pub fn services(config: &Config) -> anyhow::Result<Backfill> {
    Ok(Backfill {
        db: db(config),
        cipher: Cipher::new(
            &config.encryption_key,
            config.previous_encryption_key.as_ref(),
        ),
        settings: Arc::new(shopify_settings(config)),
        http: http_client()?,
        poll: config.bulk_poll,
        breakers: xeno_shopify::breaker::Breakers::new(
            config.shopify_breaker,
            xeno_ingest::metrics::breaker_changed,
        ),
        deletions_confirmed: false,
        stopping: xeno_ingest::backfill::Stopping::default(),
    })
}

/// Builds the API's state on the process's shared `services` (inside the runtime: it starts
/// the acceptor's writers).
pub fn app_state(config: &Config, services: &Backfill) -> anyhow::Result<AppState> {
    let redis = config
        .redis_url
        .as_deref()
        .map(redis::Client::open)
        .transpose()
        .context("REDIS_URL is not a redis:// URL")?;
    // One link (and so one breaker) for everything this process asks of Redis.
    let link = redis.clone().map(RedisLink::new);
    // Limits are per deployment, and a deployment is its database.
    let namespace = config
        .database
        .runtime
        .get_database()
        .unwrap_or("xeno")
        .to_owned();
    let db = services.db.clone();
    Ok(AppState {
        acceptor: Acceptor::start(db.clone(), ACCEPT_WRITERS, ACCEPT_BATCH),
        db,
        cache: xeno_http::AnswerCache::new(link.clone()),
        throttle: Arc::new(Throttle::new(link, &namespace, config.quotas)),
        redis,
        tokens: TokenKeys::new(
            config.jwt_secret.as_bytes(),
            config.token_ttl,
            config.session_ttl,
        ),
        install_states: StateKeys::new(config.jwt_secret.as_bytes()),
        cipher: services.cipher.clone(),
        shopify: Arc::clone(&services.settings),
        http: services.http.clone(),
        bulk_poll: services.poll,
        web_dir: config.web_dir.clone(),
        breakers: services.breakers.clone(),
        metrics_token: config.metrics_token.clone(),
        metrics_here: config.metrics_bind.is_none(),
        cors_origins: config.cors_origins.clone(),
        live_sessions: Arc::default(),
        live_keys: Arc::default(),
        stopping: services.stopping.clone(),
        admission: Arc::new(xeno_http::admission::Admission::new(config.admission)),
        mailer: config
            .smtp_url
            .as_deref()
            .map(|url| xeno_http::mail::Mailer::new(url, &config.mail_from))
            .transpose()
            .map_err(anyhow::Error::msg)?,
    })
}

/// A connection pool of the configured size (one per process: see [`services`]).
pub fn db(config: &Config) -> Db {
    let db = Db::connect_lazy(config.database.runtime.clone(), config.db_pool_size);
    match &config.database_read {
        Some(replica) => db.with_replica(replica.clone(), config.db_pool_size),
        None => db,
    }
}

pub fn shopify_settings(config: &Config) -> ShopifySettings {
    ShopifySettings {
        app: config
            .shopify_api_key
            .clone()
            .zip(config.shopify_api_secret.clone())
            .map(|(api_key, api_secret)| AppCredentials {
                api_key,
                api_secret,
            }),
        previous_secret: config.shopify_previous_secret.clone(),
        shop_url_template: config.shop_url_template.clone(),
        api_version: config.shopify_api_version.clone(),
        scopes: config.shopify_scopes.clone(),
        max_delete_percent: config.sync_max_delete_percent,
        webhook_max_age: std::time::Duration::from_secs(config.webhook_max_age_hours * 3600),
        reconcile_days: config.reconcile_days,
        clv_monthly_discount: config.clv_monthly_discount,
        public_url: config.public_url.as_str().trim_end_matches('/').to_owned(),
        expiring_tokens: config.shopify_expiring_tokens,
    }
}

/// Serves the HTTP API on `listener` until `shutdown` completes, then lets in-flight requests
/// finish for up to the configured deadline.
pub async fn serve(
    config: &Config,
    services: &Backfill,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = app_state(config, services)?;
    let limits = server::Limits {
        header_timeout: config.header_timeout,
        max_connections: config.max_connections,
        drain: config.shutdown_timeout,
    };
    let (stopped_tx, stopped_rx) = tokio::sync::watch::channel(false);
    if let Some(bind) = config.metrics_bind {
        let metrics = TcpListener::bind(bind)
            .await
            .map_err(|err| anyhow::anyhow!("cannot listen on {bind} (XENO_METRICS_BIND): {err}"))?;
        let router = xeno_http::metrics_router(state.clone());
        let mut stopped = stopped_rx;
        tokio::spawn(server::serve(metrics, router, limits, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
        tracing::info!(%bind, "metrics are served on their own address");
    }
    let stopping = services.stopping.clone();
    server::serve(listener, xeno_http::router(state), limits, async move {
        shutdown.await;
        // Syncs this process started ("sync now", a new store's backfill) stop at their
        // next batch while requests drain.
        stopping.stop();
        let _ = stopped_tx.send(true);
    })
    .await;
    Ok(())
}

/// Applies webhook events until `shutdown` turns true, prunes the event log, and takes part
/// in scheduling store syncs (one worker leads).
pub async fn run_worker(
    config: &Config,
    services: &Backfill,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let db = services.db.clone();
    // Running syncs stop at their next batch once the process begins to stop.
    let stopping = services.stopping.clone();
    let mut signalled = shutdown.clone();
    tokio::spawn(async move {
        let _ = signalled.wait_for(|stop| *stop).await;
        stopping.stop();
    });
    let retention = xeno_ingest::retention::Retention {
        webhook_events: config.webhook_retention,
        audit: config.audit_retention,
    };
    tokio::spawn(xeno_ingest::retention::run(
        db.clone(),
        retention,
        shutdown.clone(),
    ));
    if let Some(every) = config.sync_every {
        let stop = shutdown.clone();
        tokio::spawn(xeno_ingest::scheduler::run(services.clone(), every, stop));
    }
    xeno_ingest::worker::run(db, worker_config(config), shutdown).await;
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .context("cannot build the HTTP client")
}

pub fn worker_config(config: &Config) -> xeno_ingest::worker::WorkerConfig {
    xeno_ingest::worker::WorkerConfig {
        base_backoff: config.worker_backoff,
        max_attempts: config.worker_max_attempts,
        ..xeno_ingest::worker::WorkerConfig::default()
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
