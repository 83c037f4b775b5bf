//! Reading one variable: numbers, rates, secrets, keys and database URLs, each refused with
//! a line naming the variable.

use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sqlx::postgres::PgConnectOptions;

use super::{invalid, ConfigError, DEFAULT_BIND};

pub(super) fn parse_key(name: &str, text: &str) -> Result<[u8; 32], ConfigError> {
    BASE64
        .decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| invalid(name, "must be 32 bytes in base64 (openssl rand -base64 32)"))
}

/// Shopify's quarterly versions: `2026-01`, `2026-04`, `2026-07`, `2026-10`.
pub(super) fn is_api_version(version: &str) -> bool {
    version.len() == 7
        && version[..4].chars().all(|c| c.is_ascii_digit())
        && matches!(&version[4..], "-01" | "-04" | "-07" | "-10")
}

pub(super) fn parse_pg(name: &str, url: &str) -> Result<PgConnectOptions, ConfigError> {
    // sqlx reads any scheme as PostgreSQL; a mysql:// URL is a mistake worth naming.
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    if !matches!(scheme, "postgres" | "postgresql") {
        return Err(invalid(
            name,
            "must be a postgres:// URL (Xeno runs on PostgreSQL)",
        ));
    }
    PgConnectOptions::from_str(url)
        .map_err(|_| invalid(name, "is not a postgres:// URL"))
        // The service names itself in pg_stat_activity.
        .map(|options| options.application_name("xeno"))
}

pub(super) fn secret(
    lookup: &impl Fn(&str) -> Option<String>,
    production: bool,
    name: &str,
    development_default: &str,
) -> Result<String, ConfigError> {
    match lookup(name) {
        Some(value) if production && value == development_default => Err(invalid(
            name,
            "is the development default; set a real secret when XENO_ENV=production",
        )),
        Some(value) => Ok(value),
        None if production => Err(invalid(name, "is required when XENO_ENV=production")),
        None => Ok(development_default.to_owned()),
    }
}

/// The listen address: `XENO_BIND`, or every interface on `PORT` where a platform (Railway,
/// Heroku, Cloud Run) says which port to take, or the local default.
pub fn bind_text(lookup: &impl Fn(&str) -> Option<String>) -> String {
    lookup("XENO_BIND")
        .or_else(|| lookup("PORT").map(|port| format!("0.0.0.0:{}", port.trim())))
        .unwrap_or_else(|| DEFAULT_BIND.to_owned())
}

/// A count of at least one.
pub(super) fn count(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: usize,
) -> Result<usize, ConfigError> {
    usize::try_from(whole_number(lookup, name, default as u64)?)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| invalid(name, "must be a whole number from 1"))
}

/// A rate a second (0 turns the limit off), with a burst of `burst_seconds` of it.
pub(super) fn rate(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u32,
    burst_seconds: u32,
) -> Result<Option<xeno_http::throttle::Quota>, ConfigError> {
    let per_second = u32::try_from(whole_number(lookup, name, u64::from(default))?)
        .ok()
        .filter(|n| *n <= 1_000_000)
        .ok_or_else(|| invalid(name, "must be a rate a second from 0 (off) to 1000000"))?;
    Ok(xeno_http::throttle::Quota::per_second(
        per_second,
        burst_seconds,
    ))
}

/// A whole number from the environment (seconds, milliseconds or a count, as its name says).
pub(super) fn whole_number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
) -> Result<u64, ConfigError> {
    lookup(name).map_or(Ok(default), |text| {
        text.parse()
            .map_err(|_| invalid(name, format!("{text:?} is not a whole number")))
    })
}
