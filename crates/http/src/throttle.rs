//! Sign-in throttling, in process: failed sign-ins for an account or from an address earn a
//! growing wait (the first few are free, then 2 s, 4 s, 8 s… up to 15 minutes: a temporary
//! lock), and a success clears both; registrations are limited per address. A refused
//! attempt answers 429 with `Retry-After` before any password is hashed.
//!
//! Limits hold per process: several `xeno serve` instances each count their own (the
//! Redis-backed, shared limiter is follow-up work).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::ApiError;

/// Failures without any wait.
const FREE_FAILURES: u32 = 5;
/// The longest wait: past it an account or address is tried again.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Registrations per address in [`REGISTRATION_WINDOW`].
const REGISTRATIONS: u32 = 5;
const REGISTRATION_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Entries kept before old ones are swept.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: u32,
    /// When the count started (registrations) or last grew (failures).
    since: Instant,
}

#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Entry>>,
    registrations: Mutex<HashMap<IpAddr, Entry>>,
}

/// How long `failures` failures make the next attempt wait.
fn wait_after(failures: u32) -> Duration {
    match failures.checked_sub(FREE_FAILURES) {
        None | Some(0) => Duration::ZERO,
        Some(extra) => Duration::from_secs(1u64 << extra.min(20)).min(MAX_WAIT),
    }
}

fn refused(wait: Duration) -> ApiError {
    // Rounded up: a client that waits as long as told is let in.
    let secs = u64::try_from(wait.as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
    ApiError::RateLimited {
        retry_after_secs: secs.max(1),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Throttle {
    /// Refuses a sign-in while any of its keys (account, address) must still wait.
    pub fn check(&self, keys: &[String]) -> Result<(), ApiError> {
        let failures = lock(&self.failures);
        let now = Instant::now();
        let wait = keys
            .iter()
            .filter_map(|key| failures.get(key))
            .map(|e| (e.since + wait_after(e.count)).saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            Ok(())
        } else {
            Err(refused(wait))
        }
    }

    pub fn failed(&self, keys: &[String]) {
        let mut failures = lock(&self.failures);
        let now = Instant::now();
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, e| now.duration_since(e.since) < MAX_WAIT * 4);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert(Entry {
                count: 0,
                since: now,
            });
            entry.count = entry.count.saturating_add(1);
            entry.since = now;
        }
    }

    pub fn succeeded(&self, keys: &[String]) {
        let mut failures = lock(&self.failures);
        for key in keys {
            failures.remove(key);
        }
    }

    /// Counts a registration from `address`, refusing it past the limit.
    pub fn register(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(address) = address else {
            return Ok(());
        };
        let mut registrations = lock(&self.registrations);
        let now = Instant::now();
        if registrations.len() > SWEEP_ABOVE {
            registrations.retain(|_, e| now.duration_since(e.since) < REGISTRATION_WINDOW);
        }
        let entry = registrations.entry(address).or_insert(Entry {
            count: 0,
            since: now,
        });
        if now.duration_since(entry.since) >= REGISTRATION_WINDOW {
            *entry = Entry {
                count: 0,
                since: now,
            };
        }
        if entry.count >= REGISTRATIONS {
            return Err(refused(
                (entry.since + REGISTRATION_WINDOW).saturating_duration_since(now),
            ));
        }
        entry.count += 1;
        Ok(())
    }
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

    #[test]
    fn a_success_clears_the_account() {
        let throttle = Throttle::default();
        let keys = ["account:a@b.example".to_owned()];
        for _ in 0..=FREE_FAILURES {
            throttle.failed(&keys);
        }
        assert!(throttle.check(&keys).is_err());
        throttle.succeeded(&keys);
        assert!(throttle.check(&keys).is_ok());
    }
}
