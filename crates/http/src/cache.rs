//! Computed insights, cached under keys that carry the tenant's data version: every write
//! bumps the version, so a later read asks for a new key and a hit is never stale. Old
//! entries simply expire.
//!
//! Redis when configured (shared by every instance); in-process otherwise. The cache is an
//! optimisation only: when Redis fails, answers are computed as if it missed, and Redis is
//! left alone for a few seconds (a breaker) so an outage costs no request a timeout.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use prometheus::{register_int_counter_vec, IntCounterVec};
use redis::aio::ConnectionManager;

/// How long Redis keeps an answer: versions move on, so old keys only need to expire.
const TTL_SECONDS: u64 = 3600;
/// Entries kept in-process before the map starts over.
const LOCAL_ENTRIES: usize = 2048;
/// A cache that answers slower than this is skipped.
const REDIS_TIMEOUT: Duration = Duration::from_millis(100);
/// After a failure, how long lookups skip Redis before trying it again.
const REDIS_PAUSE: Duration = Duration::from_secs(5);

static LOOKUPS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "xeno_insights_cache_total",
        "Insights cache lookups by outcome: hit, miss, error, skipped (Redis paused after an error)",
        &["outcome"]
    )
    .expect("xeno_insights_cache_total registers")
});

#[derive(Clone)]
pub struct AnswerCache {
    redis: Option<redis::Client>,
    connection: Arc<tokio::sync::Mutex<Option<ConnectionManager>>>,
    local: Arc<Mutex<HashMap<String, Arc<[u8]>>>>,
    /// Until when Redis is left alone after failing.
    paused_until: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

impl AnswerCache {
    pub fn new(redis: Option<redis::Client>) -> Self {
        Self {
            redis,
            connection: Arc::default(),
            local: Arc::default(),
            paused_until: Arc::default(),
        }
    }

    pub async fn get(&self, key: &str) -> Option<Arc<[u8]>> {
        let found = match &self.redis {
            None => self.local.lock().ok()?.get(key).cloned(),
            Some(_) => {
                let mut conn = self.connection().await?;
                let got = tokio::time::timeout(
                    REDIS_TIMEOUT,
                    redis::cmd("GET")
                        .arg(key)
                        .query_async::<Option<Vec<u8>>>(&mut conn),
                )
                .await;
                match got {
                    Ok(Ok(value)) => value.map(Arc::from),
                    Ok(Err(err)) => return self.failed(&err.to_string()),
                    Err(_) => return self.failed("timed out"),
                }
            }
        };
        let outcome = if found.is_some() { "hit" } else { "miss" };
        LOOKUPS.with_label_values(&[outcome]).inc();
        found
    }

    pub async fn put(&self, key: &str, value: &[u8]) {
        match &self.redis {
            None => {
                if let Ok(mut local) = self.local.lock() {
                    if local.len() >= LOCAL_ENTRIES {
                        local.clear();
                    }
                    local.insert(key.to_owned(), Arc::from(value));
                }
            }
            Some(_) => {
                let Some(mut conn) = self.connection().await else {
                    return;
                };
                let mut command = redis::cmd("SET");
                command.arg(key).arg(value).arg("EX").arg(TTL_SECONDS);
                let set = command.query_async::<()>(&mut conn);
                match tokio::time::timeout(REDIS_TIMEOUT, set).await {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => {
                        self.failed::<()>(&err.to_string());
                    }
                    Err(_) => {
                        self.failed::<()>("timed out");
                    }
                }
            }
        }
    }

    /// The shared connection, made on first use (it reconnects by itself afterwards); none
    /// while the breaker pauses Redis.
    async fn connection(&self) -> Option<ConnectionManager> {
        let client = self.redis.as_ref()?;
        if self.paused() {
            LOOKUPS.with_label_values(&["skipped"]).inc();
            return None;
        }
        let mut slot = self.connection.lock().await;
        if slot.is_none() {
            match tokio::time::timeout(REDIS_TIMEOUT, ConnectionManager::new(client.clone())).await
            {
                Ok(Ok(conn)) => *slot = Some(conn),
                Ok(Err(err)) => return self.failed(&err.to_string()),
                Err(_) => return self.failed("timed out connecting"),
            }
        }
        slot.clone()
    }

    fn paused(&self) -> bool {
        let Ok(mut until) = self.paused_until.lock() else {
            return false;
        };
        match *until {
            Some(at) if Instant::now() < at => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    fn failed<T>(&self, why: &str) -> Option<T> {
        LOOKUPS.with_label_values(&["error"]).inc();
        if let Ok(mut until) = self.paused_until.lock() {
            *until = Some(Instant::now() + REDIS_PAUSE);
        }
        tracing::warn!(error = why, pause = ?REDIS_PAUSE, "insights cache unavailable; computing instead");
        None
    }
}
