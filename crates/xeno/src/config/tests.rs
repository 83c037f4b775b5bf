//! The configuration's defaults and the errors it gives for bad values.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| vars.get(name).cloned())
}

#[test]
fn defaults_work_for_development() {
    let config = config(&[]).unwrap();
    assert_eq!(config.bind.to_string(), DEFAULT_BIND);
    assert_eq!(config.database.runtime.get_username(), "xeno_app");
    assert_eq!(config.database.owner.get_username(), DEFAULT_OWNER_ROLE);
    assert!(config.database.admin.is_some());
    assert_eq!(config.public_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(config.shop_url_template, DEFAULT_SHOP_URL_TEMPLATE);
}

#[test]
fn production_names_the_missing_or_default_secret() {
    let err = config(&[("XENO_ENV", "production")])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("JWT_SECRET:"), "{err}");
    let err = config(&[("XENO_ENV", "production"), ("JWT_SECRET", DEV_JWT_SECRET)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("development default"), "{err}");
    let strong = "s".repeat(40);
    let err = config(&[("XENO_ENV", "production"), ("JWT_SECRET", &strong)])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("XENO_ENCRYPTION_KEY:"), "{err}");
    let key = BASE64.encode([7u8; 32]);
    let err = config(&[
        ("XENO_ENV", "production"),
        ("JWT_SECRET", &strong),
        ("XENO_ENCRYPTION_KEY", &key),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("SHOPIFY_API_KEY:"), "{err}");
    let ok = config(&[
        ("XENO_ENV", "production"),
        ("JWT_SECRET", &strong),
        ("XENO_ENCRYPTION_KEY", &key),
        ("SHOPIFY_API_KEY", "key"),
        ("SHOPIFY_API_SECRET", "secret"),
    ])
    .unwrap();
    assert!(ok.database.admin.is_none());
    assert_eq!(ok.encryption_key, [7u8; 32]);
}

#[test]
fn invalid_values_are_one_line_naming_the_variable() {
    for (name, value) in [
        ("XENO_BIND", "localhost"),
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "mysql://xeno@127.0.0.1:3306/xeno"),
        ("DATABASE_OWNER_URL", "redis://127.0.0.1/xeno"),
        ("XENO_ENCRYPTION_KEY", "c2hvcnQ="),
        ("SHOPIFY_SHOP_URL_TEMPLATE", "https://example.com"),
        ("XENO_LOG_FORMAT", "xml"),
        ("XENO_SHUTDOWN_TIMEOUT", "soon"),
        ("XENO_PUBLIC_URL", "ftp://x"),
        ("XENO_WEBHOOK_RETENTION_DAYS", "a month"),
        ("XENO_DB_POOL_SIZE", "2"),
        ("XENO_RECONCILE_DAYS", "0"),
        ("XENO_CLV_MONTHLY_DISCOUNT_PERCENT", "12"),
        ("SENTRY_DSN", "not a dsn"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("XENO_CLV_MONTHLY_DISCOUNT_PERCENT", "one"),
        ("XENO_CORS_ORIGINS", "bi.example.com"),
        ("XENO_CORS_ORIGINS", "https://bi.example.com/reports"),
    ] {
        let err = config(&[(name, value)]).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{name}:")), "{name}: {err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn applied_webhook_events_are_kept_thirty_days_unless_set() {
    let days = |config: Config| config.webhook_retention.map(|d| d.as_secs() / 86_400);
    assert_eq!(days(config(&[]).unwrap()), Some(30));
    assert_eq!(
        days(config(&[("XENO_WEBHOOK_RETENTION_DAYS", "7")]).unwrap()),
        Some(7)
    );
    assert_eq!(
        days(config(&[("XENO_WEBHOOK_RETENTION_DAYS", "0")]).unwrap()),
        None
    );
}

#[test]
fn owner_and_runtime_roles_must_differ() {
    let err = config(&[
        ("DATABASE_URL", "postgres://same@localhost/xeno"),
        ("DATABASE_OWNER_URL", "postgres://same@localhost/xeno"),
    ])
    .unwrap_err();
    assert!(err.to_string().starts_with("DATABASE_OWNER_URL:"));
}
