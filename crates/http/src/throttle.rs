//! Rate limits and sign-in throttling, shared by every instance through Redis.
//!
//! - **Quotas** (GCRA: a steady rate with a burst): API requests per tenant, webhook
//!   deliveries per shop (generous: Shopify's bursts pass), registrations per address. One
//!   atomic Lua script decides in Redis, on Redis's clock, so the instances agree.
//! - **Sign-in failures** per account and per address earn a growing wait (the first few are
//!   free, then 2 s, 4 s, 8 s… up to 15 minutes: a temporary lock); a success clears them.
//!
//! Without Redis, or while it fails, the same limits hold per process (fail open to local
//! limits: logged by the link, counted in `xeno_rate_limit_fallbacks_total`). A refusal is a
//! 429 with `Retry-After`; quota answers carry `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` too.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use prometheus::{register_int_counter_vec, IntCounterVec};

use crate::error::ApiError;
use crate::redis_link::RedisLink;

/// Failures without any wait.
const FREE_FAILURES: u32 = 5;
/// The longest wait: past it an account or address is tried again.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Keys kept in-process before old ones are swept.
const SWEEP_ABOVE: usize = 10_000;

static REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "xeno_rate_limited_total",
        "Requests refused with 429, by limit (tenant, shop_webhooks, registration, sign_in)",
        &["limit"]
    )
    .expect("xeno_rate_limited_total registers")
});

static FALLBACKS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "xeno_rate_limit_fallbacks_total",
        "Limit decisions made in-process because Redis was unavailable, by limit",
        &["limit"]
    )
    .expect("xeno_rate_limit_fallbacks_total registers")
});

/// A steady rate with a burst: `burst` requests at once, then one per `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub burst: u32,
    pub every: Duration,
}

impl Quota {
    /// `rate` a second with a burst of `burst_seconds` of it; none for a rate of 0 (off).
    pub fn per_second(rate: u32, burst_seconds: u32) -> Option<Self> {
        (rate > 0).then(|| Self {
            burst: rate.saturating_mul(burst_seconds.max(1)),
            every: Duration::from_secs(1) / rate,
        })
    }

    fn governor(self) -> Option<governor::Quota> {
        governor::Quota::with_period(self.every)
            .map(|quota| quota.allow_burst(NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN)))
    }
}

/// What a quota limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// API requests per tenant.
    Tenant,
    /// Webhook deliveries per shop.
    ShopWebhooks,
    /// Registrations per address.
    Registration,
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::ShopWebhooks => "shop_webhooks",
            Self::Registration => "registration",
        }
    }
}

/// The configured quotas; `None` turns a limit off.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub tenant: Option<Quota>,
    pub shop_webhooks: Option<Quota>,
    pub registration: Option<Quota>,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            tenant: Quota::per_second(100, 10),
            shop_webhooks: Quota::per_second(1000, 60),
            // Five at once, then one every two minutes.
            registration: Some(Quota {
                burst: 5,
                every: Duration::from_secs(120),
            }),
        }
    }
}

/// A quota's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: u32,
    pub remaining: u32,
    /// Until the full burst is available again.
    pub reset: Duration,
    /// Set when refused: how long until a request would pass.
    pub retry_after: Option<Duration>,
}

impl Allowance {
    fn refusal(self) -> Option<ApiError> {
        self.retry_after.map(refused)
    }
}

type LocalLimiter = governor::RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One failure count: how many, and when the last was (milliseconds since the epoch, so an
/// entry means the same in Redis and in every instance).
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_ms: i64,
}

/// GCRA on Redis's clock, in microseconds. KEYS[1]: the key; ARGV: microseconds per
/// request, burst. Returns allowed (1/0), remaining, retry-after and reset (microseconds).
const GCRA: &str = r"
local every = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + every
local allowed_at = next_tat - every * burst
if allowed_at > now then
  return {0, 0, allowed_at - now, tat - now}
end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000))
return {1, math.floor((now - allowed_at) / every), 0, next_tat - now}
";

static GCRA_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GCRA));

pub struct Throttle {
    redis: Option<RedisLink>,
    /// Keeps this deployment's keys apart from others sharing the Redis.
    namespace: String,
    quotas: Quotas,
    local: HashMap<Limit, LocalLimiter>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("redis", &self.redis.is_some())
            .field("quotas", &self.quotas)
            .finish_non_exhaustive()
    }
}

/// A 429 telling the client how long to wait.
pub fn refused(wait: Duration) -> ApiError {
    // Rounded up: a client that waits as long as told is let in.
    let secs = u64::try_from(wait.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
    ApiError::RateLimited {
        retry_after_secs: secs.max(1),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// How long `failures` failures make the next attempt wait.
fn wait_after(failures: u32) -> Duration {
    match failures.checked_sub(FREE_FAILURES) {
        None | Some(0) => Duration::ZERO,
        Some(extra) => Duration::from_secs(1u64 << extra.min(20)).min(MAX_WAIT),
    }
}

/// What is left of the wait `entry` earned, at `now_ms`.
fn remaining_wait(entry: Failures, now_ms: i64) -> Duration {
    let waited = Duration::from_millis(u64::try_from(now_ms - entry.last_ms).unwrap_or(0));
    wait_after(entry.count).saturating_sub(waited)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Throttle {
    pub fn new(redis: Option<RedisLink>, namespace: &str, quotas: Quotas) -> Self {
        let local = [
            (Limit::Tenant, quotas.tenant),
            (Limit::ShopWebhooks, quotas.shop_webhooks),
            (Limit::Registration, quotas.registration),
        ]
        .into_iter()
        .filter_map(|(limit, quota)| {
            let quota = quota?.governor()?;
            Some((
                limit,
                governor::RateLimiter::hashmap(quota)
                    .with_middleware::<StateInformationMiddleware>(),
            ))
        })
        .collect();
        Self {
            redis,
            namespace: namespace.to_owned(),
            quotas,
            local,
            failures: Mutex::default(),
        }
    }

    fn quota(&self, limit: Limit) -> Option<Quota> {
        match limit {
            Limit::Tenant => self.quotas.tenant,
            Limit::ShopWebhooks => self.quotas.shop_webhooks,
            Limit::Registration => self.quotas.registration,
        }
    }

    fn key(&self, kind: &str, key: &str) -> String {
        format!("xeno:limit:{}:{kind}:{key}", self.namespace)
    }

    /// Takes one request from `limit`'s quota for `key`; `None` when the limit is off.
    pub async fn take(&self, limit: Limit, key: &str) -> Option<Allowance> {
        let quota = self.quota(limit)?;
        let allowance = match &self.redis {
            Some(redis) => {
                let redis_key = self.key(limit.name(), key);
                let decided = redis
                    .run("rate limits", |mut conn| async move {
                        GCRA_SCRIPT
                            .key(redis_key)
                            .arg(
                                u64::try_from(quota.every.as_micros())
                                    .unwrap_or(u64::MAX)
                                    .max(1),
                            )
                            .arg(quota.burst)
                            .invoke_async::<(i64, i64, i64, i64)>(&mut conn)
                            .await
                    })
                    .await;
                match decided {
                    Ok((allowed, remaining, retry_us, reset_us)) => Allowance {
                        limit: quota.burst,
                        remaining: u32::try_from(remaining).unwrap_or(0),
                        reset: Duration::from_micros(u64::try_from(reset_us).unwrap_or(0)),
                        retry_after: (allowed == 0)
                            .then(|| Duration::from_micros(u64::try_from(retry_us).unwrap_or(0))),
                    },
                    Err(_) => {
                        FALLBACKS.with_label_values(&[limit.name()]).inc();
                        self.take_locally(limit, quota, key)?
                    }
                }
            }
            None => self.take_locally(limit, quota, key)?,
        };
        if allowance.retry_after.is_some() {
            REFUSED.with_label_values(&[limit.name()]).inc();
        }
        Some(allowance)
    }

    fn take_locally(&self, limit: Limit, quota: Quota, key: &str) -> Option<Allowance> {
        let limiter = self.local.get(&limit)?;
        if limiter.len() > SWEEP_ABOVE {
            limiter.retain_recent();
        }
        let key = key.to_owned();
        Some(match limiter.check_key(&key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Allowance {
                    limit: quota.burst,
                    remaining,
                    reset: quota.every * (quota.burst - remaining.min(quota.burst)),
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Allowance {
                    limit: quota.burst,
                    remaining: 0,
                    reset: quota.every * quota.burst,
                    retry_after: Some(wait.max(Duration::from_millis(1))),
                }
            }
        })
    }

    /// Takes a registration from `address`'s quota, refusing it past the limit.
    pub async fn register(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(address) = address else {
            return Ok(());
        };
        match self.take(Limit::Registration, &address.to_string()).await {
            Some(allowance) => allowance.refusal().map_or(Ok(()), Err),
            None => Ok(()),
        }
    }

    /// Refuses a sign-in while any of its keys (account, address) must still wait.
    pub async fn check(&self, keys: &[String]) -> Result<(), ApiError> {
        let now = now_ms();
        let entries = self.failure_counts(keys).await;
        let wait = entries
            .into_iter()
            .map(|entry| remaining_wait(entry, now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            Ok(())
        } else {
            REFUSED.with_label_values(&["sign_in"]).inc();
            Err(refused(wait))
        }
    }

    async fn failure_counts(&self, keys: &[String]) -> Vec<Failures> {
        if let Some(redis) = &self.redis {
            let redis_keys: Vec<String> = keys.iter().map(|k| self.key("failures", k)).collect();
            let read = redis
                .run("sign-in throttling", |mut conn| async move {
                    let mut pipe = redis::pipe();
                    for key in &redis_keys {
                        pipe.cmd("HMGET").arg(key).arg("count").arg("last_ms");
                    }
                    pipe.query_async::<Vec<(Option<u32>, Option<i64>)>>(&mut conn)
                        .await
                })
                .await;
            match read {
                Ok(rows) => {
                    return rows
                        .into_iter()
                        .filter_map(|(count, last_ms)| {
                            Some(Failures {
                                count: count?,
                                last_ms: last_ms?,
                            })
                        })
                        .collect()
                }
                Err(_) => {
                    FALLBACKS.with_label_values(&["sign_in"]).inc();
                }
            }
        }
        let failures = lock(&self.failures);
        keys.iter()
            .filter_map(|key| failures.get(key).copied())
            .collect()
    }

    /// Counts a failed sign-in against each key; answers the first key's count so far.
    pub async fn failed(&self, keys: &[String]) -> u32 {
        let now = now_ms();
        if let Some(redis) = &self.redis {
            let redis_keys: Vec<String> = keys.iter().map(|k| self.key("failures", k)).collect();
            let keep = millis(MAX_WAIT * 4);
            let written = redis
                .run("sign-in throttling", |mut conn| async move {
                    let mut pipe = redis::pipe();
                    pipe.atomic();
                    for key in &redis_keys {
                        pipe.cmd("HINCRBY").arg(key).arg("count").arg(1);
                        pipe.cmd("HSET").arg(key).arg("last_ms").arg(now).ignore();
                        pipe.cmd("PEXPIRE").arg(key).arg(keep).ignore();
                    }
                    pipe.query_async::<Vec<i64>>(&mut conn).await
                })
                .await;
            if let Ok(counts) = written {
                return counts
                    .first()
                    .and_then(|n| u32::try_from(*n).ok())
                    .unwrap_or(0);
            }
            FALLBACKS.with_label_values(&["sign_in"]).inc();
        }
        let mut failures = lock(&self.failures);
        if failures.len() > SWEEP_ABOVE {
            let forget_before = now - i64::try_from(millis(MAX_WAIT * 4)).unwrap_or(i64::MAX);
            failures.retain(|_, e| e.last_ms > forget_before);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert(Failures {
                count: 0,
                last_ms: now,
            });
            entry.count = entry.count.saturating_add(1);
            entry.last_ms = now;
        }
        keys.first()
            .and_then(|key| failures.get(key))
            .map_or(0, |entry| entry.count)
    }

    /// How many failures a key may have before sign-in waits (and the audit log hears).
    pub const FREE_FAILURES: u32 = FREE_FAILURES;

    pub async fn succeeded(&self, keys: &[String]) {
        {
            let mut failures = lock(&self.failures);
            for key in keys {
                failures.remove(key);
            }
        }
        if let Some(redis) = &self.redis {
            let redis_keys: Vec<String> = keys.iter().map(|k| self.key("failures", k)).collect();
            let cleared = redis
                .run("sign-in throttling", |mut conn| async move {
                    redis::cmd("DEL")
                        .arg(&redis_keys)
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
            if cleared.is_err() {
                FALLBACKS.with_label_values(&["sign_in"]).inc();
            }
        }
    }
}

/// Where a request's quota answer is left for [`rate_limit_headers`] to show.
#[derive(Debug, Clone, Default)]
pub struct AllowanceSlot(Arc<OnceLock<Allowance>>);

impl AllowanceSlot {
    /// Records `allowance` on the request in `parts`, if it passes through the middleware.
    pub fn record(parts: &Parts, allowance: Allowance) {
        if let Some(slot) = parts.extensions.get::<Self>() {
            let _ = slot.0.set(allowance);
        }
    }
}

/// Shows the quota answer a request got, as `RateLimit-*` headers on its response.
pub async fn rate_limit_headers(mut request: Request, next: Next) -> Response {
    let slot = AllowanceSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(allowance) = slot.0.get() {
        let headers = response.headers_mut();
        let reset_secs = allowance.reset.as_millis().div_ceil(1000);
        for (name, value) in [
            ("ratelimit-limit", u128::from(allowance.limit)),
            ("ratelimit-remaining", u128::from(allowance.remaining)),
            ("ratelimit-reset", reset_secs),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
    response
}

/// The caller's address, when the server knows it.
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_failures_and_stop_at_the_cap() {
        assert_eq!(wait_after(FREE_FAILURES), Duration::ZERO);
        assert_eq!(wait_after(FREE_FAILURES + 1), Duration::from_secs(2));
        assert_eq!(wait_after(FREE_FAILURES + 3), Duration::from_secs(8));
        assert_eq!(wait_after(FREE_FAILURES + 40), MAX_WAIT);
    }

    #[tokio::test]
    async fn a_success_clears_the_account() {
        let throttle = Throttle::new(None, "test", Quotas::default());
        let keys = ["account:a@b.example".to_owned()];
        for _ in 0..=FREE_FAILURES {
            throttle.failed(&keys).await;
        }
        assert!(throttle.check(&keys).await.is_err());
        throttle.succeeded(&keys).await;
        assert!(throttle.check(&keys).await.is_ok());
    }

    #[tokio::test]
    async fn a_local_quota_allows_its_burst_then_refuses_with_a_wait() {
        let quota = Quota {
            burst: 3,
            every: Duration::from_secs(10),
        };
        let throttle = Throttle::new(
            None,
            "test",
            Quotas {
                tenant: Some(quota),
                shop_webhooks: None,
                registration: None,
            },
        );
        let mut remaining = Vec::new();
        for _ in 0..3 {
            let allowance = throttle.take(Limit::Tenant, "t").await.unwrap();
            assert_eq!(allowance.retry_after, None);
            remaining.push(allowance.remaining);
        }
        assert_eq!(remaining, [2, 1, 0]);
        let refused = throttle.take(Limit::Tenant, "t").await.unwrap();
        let wait = refused.retry_after.unwrap();
        assert!(
            wait > Duration::from_secs(9) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        // Other keys and limits that are off are not touched.
        assert!(throttle
            .take(Limit::Tenant, "u")
            .await
            .unwrap()
            .retry_after
            .is_none());
        assert!(throttle.take(Limit::ShopWebhooks, "t").await.is_none());
    }

    #[test]
    fn a_rate_of_zero_turns_a_quota_off() {
        assert_eq!(Quota::per_second(0, 10), None);
        assert_eq!(
            Quota::per_second(100, 10),
            Some(Quota {
                burst: 1000,
                every: Duration::from_millis(10)
            })
        );
    }
}
