//! The process's one Redis connection, made on first use (it reconnects by itself
//! afterwards), behind a short breaker: after a failure Redis is left alone for a few
//! seconds, so an outage costs no request a timeout. Redis is optional everywhere: callers
//! fall back to in-process state when it is unavailable.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

/// A Redis that answers slower than this is treated as down.
const TIMEOUT: Duration = Duration::from_millis(100);
/// After a failure, how long Redis is left alone before it is tried again.
pub const PAUSE: Duration = Duration::from_secs(5);

/// Why Redis was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Failed just now (and is paused from now on).
    Failed,
    /// Paused after an earlier failure.
    Paused,
}

#[derive(Clone)]
pub struct RedisLink {
    client: redis::Client,
    connection: Arc<tokio::sync::Mutex<Option<ConnectionManager>>>,
    paused_until: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for RedisLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink").finish_non_exhaustive()
    }
}

impl RedisLink {
    pub fn new(client: redis::Client) -> Self {
        Self {
            client,
            connection: Arc::default(),
            paused_until: Arc::default(),
        }
    }

    /// Runs `op` on the shared connection within the timeout; `what` names the caller in
    /// the log line a failure writes.
    pub async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, Unavailable>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.paused() {
            return Err(Unavailable::Paused);
        }
        let conn = self.connection(what).await?;
        match tokio::time::timeout(TIMEOUT, op(conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(self.failed(what, &err.to_string())),
            Err(_) => Err(self.failed(what, "timed out")),
        }
    }

    async fn connection(&self, what: &'static str) -> Result<ConnectionManager, Unavailable> {
        let mut slot = self.connection.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        match tokio::time::timeout(TIMEOUT, ConnectionManager::new(self.client.clone())).await {
            Ok(Ok(conn)) => Ok(slot.insert(conn).clone()),
            Ok(Err(err)) => Err(self.failed(what, &err.to_string())),
            Err(_) => Err(self.failed(what, "timed out connecting")),
        }
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

    fn failed(&self, what: &'static str, why: &str) -> Unavailable {
        if let Ok(mut until) = self.paused_until.lock() {
            *until = Some(Instant::now() + PAUSE);
        }
        tracing::warn!(error = why, pause = ?PAUSE, "Redis unavailable for the {what}; using in-process state");
        Unavailable::Failed
    }
}
