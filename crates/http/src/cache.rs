//! Computed insights, cached under keys that carry the tenant's data version: every write
//! bumps the version, so a later read asks for a new key and a hit is never stale. Old
//! entries simply expire.
//!
//! Redis when configured (shared by every instance); in-process otherwise. The cache is an
//! optimisation only: when Redis fails, answers are computed as if it missed (the link's
//! breaker keeps an outage from costing each request a timeout).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use prometheus::{register_int_counter_vec, IntCounterVec};

use crate::redis_link::{RedisLink, Unavailable};

/// How long Redis keeps an answer: versions move on, so old keys only need to expire.
const TTL_SECONDS: u64 = 3600;
/// Entries kept in-process before the map starts over.
const LOCAL_ENTRIES: usize = 2048;

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
    redis: Option<RedisLink>,
    local: Arc<Mutex<HashMap<String, Arc<[u8]>>>>,
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

fn count_unavailable(why: Unavailable) {
    let outcome = match why {
        Unavailable::Failed => "error",
        Unavailable::Paused => "skipped",
    };
    LOOKUPS.with_label_values(&[outcome]).inc();
}

impl AnswerCache {
    pub fn new(redis: Option<RedisLink>) -> Self {
        Self {
            redis,
            local: Arc::default(),
        }
    }

    pub async fn get(&self, key: &str) -> Option<Arc<[u8]>> {
        let found = match &self.redis {
            None => self.local.lock().ok()?.get(key).cloned(),
            Some(redis) => {
                let got = redis
                    .run("insights cache", |mut conn| async move {
                        redis::cmd("GET")
                            .arg(key)
                            .query_async::<Option<Vec<u8>>>(&mut conn)
                            .await
                    })
                    .await;
                match got {
                    Ok(value) => value.map(Arc::from),
                    Err(why) => {
                        count_unavailable(why);
                        return None;
                    }
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
            Some(redis) => {
                let set = redis
                    .run("insights cache", |mut conn| async move {
                        redis::cmd("SET")
                            .arg(key)
                            .arg(value)
                            .arg("EX")
                            .arg(TTL_SECONDS)
                            .query_async::<()>(&mut conn)
                            .await
                    })
                    .await;
                if let Err(why) = set {
                    count_unavailable(why);
                }
            }
        }
    }
}
