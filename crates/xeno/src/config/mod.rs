//! Configuration from the environment, checked once at start.
//!
//! Every variable has a default that works on a developer machine; production mode
//! (`XENO_ENV=production`) refuses development secrets and names the one at fault.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use url::Url;
use xeno_storage::setup::DbRoles;

pub use self::read::bind_text;
use self::read::{count, is_api_version, parse_key, parse_pg, rate, secret, whole_number};

mod read;

pub const DEFAULT_DATABASE_URL: &str = "postgres://xeno_app@127.0.0.1:5432/xeno";
pub const DEFAULT_OWNER_ROLE: &str = "xeno_owner";
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_SHOP_URL_TEMPLATE: &str = "https://{shop}";
/// What Xeno reads; `read_all_orders` lifts the 60-day limit on order history, and
/// `read_reports` lets Xeno check its figures against Shopify Analytics (ShopifyQL).
pub const DEFAULT_SCOPES: &str =
    "read_customers,read_orders,read_all_orders,read_products,read_checkouts,read_reports";
const DEV_JWT_SECRET: &str = "xeno-development-jwt-secret-do-not-use-in-production";
/// 32 zero-ish bytes, base64: fine for a laptop, refused in production.
const DEV_ENCRYPTION_KEY: &str = "eGVuby1kZXZlbG9wbWVudC1rZXktMzItYnl0ZXMhISE=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything the service reads from its environment.
#[derive(Clone)]
pub struct Config {
    pub environment: Environment,
    pub database: DbRoles,
    pub database_url: String,
    /// A streaming replica of the same database for report and list reads
    /// (`DATABASE_READ_URL`, connected as the runtime role).
    pub database_read: Option<sqlx::postgres::PgConnectOptions>,
    pub redis_url: Option<String>,
    pub bind: SocketAddr,
    pub public_url: Url,
    pub jwt_secret: String,
    pub token_ttl: Duration,
    /// How long a session's refresh tokens last.
    pub session_ttl: Duration,
    pub encryption_key: [u8; 32],
    pub previous_encryption_key: Option<[u8; 32]>,
    pub shopify_api_key: Option<String>,
    pub shopify_api_secret: Option<String>,
    pub shopify_previous_secret: Option<String>,
    pub shopify_scopes: Vec<String>,
    pub shopify_api_version: String,
    pub shopify_expiring_tokens: bool,
    pub shop_url_template: String,
    pub log_format: LogFormat,
    /// Where errors are reported (`SENTRY_DSN`), when set.
    pub sentry_dsn: Option<sentry::types::Dsn>,
    /// Where traces go over OTLP/HTTP (`OTEL_EXPORTER_OTLP_ENDPOINT`), when set.
    pub otlp_endpoint: Option<Url>,
    pub shutdown_timeout: Duration,
    /// The most time a client has to send a request's head.
    pub header_timeout: Duration,
    /// HTTP connections open at once.
    pub max_connections: usize,
    /// The first retry delay of a failed webhook event (doubling after).
    pub worker_backoff: Duration,
    pub worker_max_attempts: i32,
    /// How often a backfill polls Shopify's bulk export.
    pub bulk_poll: Duration,
    /// The most a sync deletes of a store's records of one kind (percent) unconfirmed.
    pub sync_max_delete_percent: u64,
    /// Days a routine check against Shopify Analytics covers.
    pub reconcile_days: i64,
    /// The monthly rate predicted lifetime value discounts future spend at (0.01 is 1 %).
    pub clv_monthly_discount: f64,
    /// Webhook deliveries made longer ago than this are refused as replays.
    pub webhook_max_age_hours: u64,
    /// When a shop's Admin API calls pause after failing, and for how long.
    pub shopify_breaker: xeno_shopify::breaker::BreakerSettings,
    /// The built dashboard (`web/dist`), served at `/`.
    pub web_dir: std::path::PathBuf,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`: its figures span
    /// every tenant.
    pub metrics_token: Option<String>,
    /// Origins (`https://bi.example.com`) whose pages may call the API from a browser; none
    /// by default (the dashboard is same-origin).
    pub cors_origins: Vec<String>,
    /// A listen address of its own for `/metrics`, off the public port.
    pub metrics_bind: Option<SocketAddr>,
    /// How often each store is synced in full; None turns scheduled syncs off.
    pub sync_every: Option<Duration>,
    /// How long applied webhook events stay in the event log; `None` keeps them forever.
    pub webhook_retention: Option<Duration>,
    /// How long audit entries are kept (`XENO_AUDIT_RETENTION_DAYS`, 365); `None`: forever.
    pub audit_retention: Option<Duration>,
    /// Where invitations are mailed from (`XENO_SMTP_URL`); none: links are handed over.
    pub smtp_url: Option<String>,
    /// The sender of that mail (`XENO_MAIL_FROM`).
    pub mail_from: String,
    /// PostgreSQL connections per process (the API, the acceptor and the worker share them).
    pub db_pool_size: u32,
    /// Rate limits per tenant, shop and address.
    pub quotas: xeno_http::throttle::Quotas,
    /// Requests run at once (admission control).
    pub admission: xeno_http::admission::AdmissionSettings,
}

// Secrets stay out of debug output (and so out of logs).
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("environment", &self.environment)
            .field("bind", &self.bind)
            .field("public_url", &self.public_url.as_str())
            .field("redis", &self.redis_url.is_some())
            .field("shop_url_template", &self.shop_url_template)
            .finish_non_exhaustive()
    }
}

/// A configuration problem, phrased as one line for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

fn invalid(name: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{name}: {why}"))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let environment = match lookup("XENO_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(invalid(
                    "XENO_ENV",
                    format!("{other:?} is not development or production"),
                ))
            }
        };
        let production = environment == Environment::Production;

        let database_url =
            lookup("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let runtime = parse_pg("DATABASE_URL", &database_url)?;
        if runtime.get_database().is_none() {
            return Err(invalid("DATABASE_URL", "must name a database, e.g. …/xeno"));
        }
        let sentry_dsn = lookup("SENTRY_DSN")
            .filter(|dsn| !dsn.trim().is_empty())
            .map(|dsn| {
                dsn.trim()
                    .parse::<sentry::types::Dsn>()
                    .map_err(|err| invalid("SENTRY_DSN", format!("not a Sentry DSN ({err})")))
            })
            .transpose()?;
        let otlp_endpoint = lookup("OTEL_EXPORTER_OTLP_ENDPOINT")
            .filter(|url| !url.trim().is_empty())
            .map(|url| {
                Url::parse(url.trim())
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        invalid(
                            "OTEL_EXPORTER_OTLP_ENDPOINT",
                            format!("{url:?} is not an http(s) URL"),
                        )
                    })
            })
            .transpose()?;
        let database_read = lookup("DATABASE_READ_URL")
            .map(|url| parse_pg("DATABASE_READ_URL", &url))
            .transpose()?;
        let owner = match lookup("DATABASE_OWNER_URL") {
            Some(url) => parse_pg("DATABASE_OWNER_URL", &url)?,
            None => runtime.clone().username(DEFAULT_OWNER_ROLE),
        };
        let admin = match lookup("DATABASE_ADMIN_URL") {
            Some(url) if url == "none" => None,
            Some(url) => Some(parse_pg("DATABASE_ADMIN_URL", &url)?),
            // Production databases and roles are created by their operator.
            None if production => None,
            None => Some(parse_pg("DATABASE_ADMIN_URL", DEFAULT_ADMIN_URL)?),
        };
        if runtime.get_username() == owner.get_username() {
            return Err(invalid(
                "DATABASE_OWNER_URL",
                "the owner role must differ from the service's role in DATABASE_URL \
                 (row-level security does not bind a table's owner)",
            ));
        }

        let bind_text = bind_text(&lookup);
        let bind = SocketAddr::from_str(&bind_text).map_err(|_| {
            invalid(
                "XENO_BIND",
                format!("{bind_text:?} is not host:port, e.g. {DEFAULT_BIND}"),
            )
        })?;

        let public_text = lookup("XENO_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}"));
        let public_url = Url::parse(&public_text)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .ok_or_else(|| {
                invalid(
                    "XENO_PUBLIC_URL",
                    format!("{public_text:?} is not an http(s) URL"),
                )
            })?;

        let jwt_secret = secret(&lookup, production, "JWT_SECRET", DEV_JWT_SECRET)?;
        if jwt_secret.len() < 32 {
            return Err(invalid("JWT_SECRET", "must be at least 32 characters"));
        }
        let key_text = secret(
            &lookup,
            production,
            "XENO_ENCRYPTION_KEY",
            DEV_ENCRYPTION_KEY,
        )?;
        let encryption_key = parse_key("XENO_ENCRYPTION_KEY", &key_text)?;
        let previous_encryption_key = lookup("XENO_ENCRYPTION_KEY_PREVIOUS")
            .map(|text| parse_key("XENO_ENCRYPTION_KEY_PREVIOUS", &text))
            .transpose()?;

        let shopify_api_key = lookup("SHOPIFY_API_KEY");
        let shopify_api_secret = lookup("SHOPIFY_API_SECRET");
        if production {
            for (name, value) in [
                ("SHOPIFY_API_KEY", &shopify_api_key),
                ("SHOPIFY_API_SECRET", &shopify_api_secret),
            ] {
                if value.is_none() {
                    return Err(invalid(name, "is required when XENO_ENV=production"));
                }
            }
        }
        let shopify_scopes: Vec<String> = lookup("SHOPIFY_SCOPES")
            .unwrap_or_else(|| DEFAULT_SCOPES.to_owned())
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let shopify_api_version = lookup("SHOPIFY_API_VERSION")
            .unwrap_or_else(|| xeno_shopify::DEFAULT_API_VERSION.to_owned());
        if !is_api_version(&shopify_api_version) {
            return Err(invalid(
                "SHOPIFY_API_VERSION",
                format!("{shopify_api_version:?} is not a version like 2026-10"),
            ));
        }
        let shopify_expiring_tokens = match lookup("SHOPIFY_EXPIRING_TOKENS").as_deref() {
            None | Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                return Err(invalid(
                    "SHOPIFY_EXPIRING_TOKENS",
                    format!("{other:?} is not true or false"),
                ))
            }
        };
        let shop_url_template = lookup("SHOPIFY_SHOP_URL_TEMPLATE")
            .unwrap_or_else(|| DEFAULT_SHOP_URL_TEMPLATE.to_owned());
        if !shop_url_template.contains("{shop}")
            || Url::parse(&shop_url_template.replace("{shop}", "example.myshopify.com")).is_err()
        {
            return Err(invalid(
                "SHOPIFY_SHOP_URL_TEMPLATE",
                format!("{shop_url_template:?} must be a URL containing {{shop}}"),
            ));
        }

        let log_format = match lookup("XENO_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(invalid(
                    "XENO_LOG_FORMAT",
                    format!("{other:?} is not text or json"),
                ))
            }
        };
        let shutdown_timeout =
            Duration::from_secs(whole_number(&lookup, "XENO_SHUTDOWN_TIMEOUT", 30)?);
        let token_ttl = Duration::from_secs(whole_number(&lookup, "XENO_TOKEN_TTL", 900)?);
        let header_timeout = match whole_number(&lookup, "XENO_HEADER_TIMEOUT", 10)? {
            0 => return Err(invalid("XENO_HEADER_TIMEOUT", "must be at least 1 second")),
            seconds => Duration::from_secs(seconds),
        };
        let max_connections = count(&lookup, "XENO_MAX_CONNECTIONS", 4096)?;
        let session_ttl = Duration::from_secs(
            whole_number(&lookup, "XENO_SESSION_DAYS", 30)?.saturating_mul(86_400),
        );
        if session_ttl < token_ttl {
            return Err(invalid(
                "XENO_SESSION_DAYS",
                "a session must outlast its access tokens (XENO_TOKEN_TTL)",
            ));
        }
        let worker_backoff =
            Duration::from_millis(whole_number(&lookup, "XENO_WORKER_BACKOFF_MS", 5000)?);
        let bulk_poll = Duration::from_millis(whole_number(&lookup, "XENO_BULK_POLL_MS", 2000)?);
        let sync_max_delete_percent = whole_number(&lookup, "XENO_SYNC_MAX_DELETE_PERCENT", 20)?;
        let webhook_max_age_hours = whole_number(&lookup, "XENO_WEBHOOK_MAX_AGE_HOURS", 24)?;
        let reconcile_days = whole_number(
            &lookup,
            "XENO_RECONCILE_DAYS",
            xeno_ingest::reconcile::TRAILING_DAYS as u64,
        )?;
        let reconcile_days = i64::try_from(reconcile_days)
            .ok()
            .filter(|days| (1..=366).contains(days))
            .ok_or_else(|| invalid("XENO_RECONCILE_DAYS", "must be from 1 to 366 days"))?;
        let clv_monthly_discount = match lookup("XENO_CLV_MONTHLY_DISCOUNT_PERCENT") {
            None => xeno_ingest::predictions::MONTHLY_DISCOUNT,
            Some(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|percent| (0.0..=10.0).contains(percent))
                .map(|percent| percent / 100.0)
                .ok_or_else(|| {
                    invalid(
                        "XENO_CLV_MONTHLY_DISCOUNT_PERCENT",
                        format!("{text:?} is not a percentage from 0 to 10"),
                    )
                })?,
        };
        if !(5..=24 * 365).contains(&webhook_max_age_hours) {
            return Err(invalid(
                "XENO_WEBHOOK_MAX_AGE_HOURS",
                "must be from 5 (Shopify retries for 4 hours) to 8760",
            ));
        }
        if sync_max_delete_percent > 100 {
            return Err(invalid(
                "XENO_SYNC_MAX_DELETE_PERCENT",
                "must be a percentage from 0 to 100",
            ));
        }
        let shopify_breaker = xeno_shopify::breaker::BreakerSettings {
            failures: u32::try_from(whole_number(&lookup, "XENO_SHOPIFY_BREAKER_FAILURES", 5)?)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    invalid(
                        "XENO_SHOPIFY_BREAKER_FAILURES",
                        "must be a whole number from 1",
                    )
                })?,
            cool_down: match whole_number(&lookup, "XENO_SHOPIFY_BREAKER_COOLDOWN", 30)? {
                0 => {
                    return Err(invalid(
                        "XENO_SHOPIFY_BREAKER_COOLDOWN",
                        "must be at least 1 second",
                    ))
                }
                seconds => Duration::from_secs(seconds),
            },
        };
        let sync_every = match whole_number(&lookup, "XENO_SYNC_INTERVAL", 900)? {
            0 => None,
            seconds => Some(Duration::from_secs(seconds)),
        };
        let webhook_retention = match whole_number(&lookup, "XENO_WEBHOOK_RETENTION_DAYS", 30)? {
            0 => None,
            days => Some(Duration::from_secs(days.saturating_mul(86_400))),
        };
        let mail_from = lookup("XENO_MAIL_FROM").unwrap_or_else(|| {
            format!(
                "Xeno <no-reply@{}>",
                public_url.host_str().unwrap_or("localhost")
            )
        });
        let audit_retention = match whole_number(&lookup, "XENO_AUDIT_RETENTION_DAYS", 365)? {
            0 => None,
            days => Some(Duration::from_secs(days.saturating_mul(86_400))),
        };
        let worker_max_attempts =
            i32::try_from(whole_number(&lookup, "XENO_WORKER_MAX_ATTEMPTS", 8)?)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    invalid("XENO_WORKER_MAX_ATTEMPTS", "must be a whole number from 1")
                })?;

        let cors_origins = lookup("XENO_CORS_ORIGINS")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|origin| {
                        Url::parse(origin)
                            .ok()
                            .filter(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/")
                            .map(|_| origin.trim_end_matches('/').to_owned())
                            .ok_or_else(|| {
                                invalid(
                                    "XENO_CORS_ORIGINS",
                                    format!(
                                        "{origin:?} is not an origin like https://bi.example.com"
                                    ),
                                )
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let defaults = xeno_http::throttle::Quotas::default();
        let quotas = xeno_http::throttle::Quotas {
            // A tenant may burst ten seconds' worth, a shop a minute's (Shopify's bursts).
            tenant: rate(&lookup, "XENO_TENANT_RATE", 100, 10)?,
            shop_webhooks: rate(&lookup, "XENO_SHOP_WEBHOOK_RATE", 1000, 60)?,
            registration: defaults.registration,
        };
        let db_pool_size = u32::try_from(whole_number(&lookup, "XENO_DB_POOL_SIZE", 30)?)
            .ok()
            .filter(|n| (4..=1000).contains(n))
            .ok_or_else(|| invalid("XENO_DB_POOL_SIZE", "must be a whole number from 4 to 1000"))?;
        // Twice the pool: cached answers need no connection, and a request that does waits
        // for one rather than being shed.
        let api_in_flight = count(&lookup, "XENO_MAX_IN_FLIGHT", db_pool_size as usize * 2)?;
        let admission = xeno_http::admission::AdmissionSettings {
            api: api_in_flight,
            // A tenth: one tenant at full tilt saturates two cores with a handful of queries,
            // so a larger share only lengthens everyone's wait (BENCHMARKS.md, admission).
            per_tenant: count(
                &lookup,
                "XENO_TENANT_IN_FLIGHT",
                (api_in_flight / 10).max(2),
            )?,
            intake: count(&lookup, "XENO_INTAKE_IN_FLIGHT", 1024)?,
            queue_wait: Duration::from_millis(whole_number(&lookup, "XENO_QUEUE_WAIT_MS", 2000)?),
        };

        Ok(Self {
            environment,
            database: DbRoles {
                runtime,
                owner,
                admin,
            },
            database_url,
            database_read,
            redis_url: lookup("REDIS_URL"),
            bind,
            public_url,
            jwt_secret,
            token_ttl,
            session_ttl,
            header_timeout,
            max_connections,
            encryption_key,
            previous_encryption_key,
            shopify_api_key,
            shopify_api_secret,
            shopify_previous_secret: lookup("SHOPIFY_API_SECRET_PREVIOUS"),
            shopify_scopes,
            shopify_api_version,
            shopify_expiring_tokens,
            shop_url_template,
            log_format,
            sentry_dsn,
            otlp_endpoint,
            shutdown_timeout,
            worker_backoff,
            worker_max_attempts,
            bulk_poll,
            sync_max_delete_percent,
            webhook_max_age_hours,
            shopify_breaker,
            sync_every,
            db_pool_size,
            quotas,
            admission,
            reconcile_days,
            clv_monthly_discount,
            webhook_retention,
            audit_retention,
            smtp_url: lookup("XENO_SMTP_URL"),
            mail_from,
            metrics_token: lookup("XENO_METRICS_TOKEN").filter(|t| !t.is_empty()),
            cors_origins,
            metrics_bind: lookup("XENO_METRICS_BIND")
                .map(|text| {
                    text.parse().map_err(|_| {
                        invalid(
                            "XENO_METRICS_BIND",
                            format!("{text:?} is not an address like 127.0.0.1:9090"),
                        )
                    })
                })
                .transpose()?,
            web_dir: lookup("XENO_WEB_DIR")
                .unwrap_or_else(|| "web/dist".to_owned())
                .into(),
        })
    }
}

#[cfg(test)]
mod tests;
