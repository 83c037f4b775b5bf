//! The cost ledger every Admin API client of a sync run shares: Shopify's cost bucket as the
//! last answer reported it (so calls wait before they would be throttled), and what the calls
//! cost, waited and retried.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// What a client's calls cost and waited for, as a sync run reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallCounts {
    /// Calls answered (retries not counted).
    pub calls: u64,
    /// Cost points Shopify charged.
    pub cost: f64,
    /// Waits for the cost bucket to refill, whether paced ahead or after a `THROTTLED`.
    pub throttle_waits: u64,
    pub throttle_wait: Duration,
    /// `THROTTLED` answers received (pacing keeps them rare; each was waited out).
    pub throttled: u64,
    /// Attempts repeated after a network failure, a 429 or a 5xx.
    pub retries: u64,
}

/// A shop's cost bucket as its last answer described it, and what staying inside it cost.
/// Clients that share a ledger (every client of one sync run) pace together.
#[derive(Debug, Default)]
pub struct CallLedger {
    state: Mutex<LedgerState>,
}

#[derive(Debug, Default)]
struct LedgerState {
    counts: CallCounts,
    bucket: Option<Bucket>,
    /// What each document asked for last time: the estimate for its next call.
    costs: HashMap<&'static str, f64>,
}

impl LedgerState {
    /// What an answer's `cost` extension says: the document's requested cost (returned, and
    /// kept as the estimate for its next call) and the bucket as it stands.
    fn observe(&mut self, document: &'static str, cost: &Value) -> f64 {
        let requested = cost["requestedQueryCost"].as_f64().unwrap_or(0.0);
        self.costs.insert(document, requested);
        let status = &cost["throttleStatus"];
        if let (Some(available), Some(restore)) = (
            status["currentlyAvailable"].as_f64(),
            status["restoreRate"].as_f64().filter(|r| *r > 0.0),
        ) {
            self.bucket = Some(Bucket {
                available,
                maximum: status["maximumAvailable"].as_f64().unwrap_or(f64::INFINITY),
                restore,
                at: Instant::now(),
            });
        }
        requested
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    available: f64,
    maximum: f64,
    restore: f64,
    at: Instant,
}

impl CallLedger {
    pub fn counts(&self) -> CallCounts {
        self.lock().counts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LedgerState> {
        // The state is plain numbers, consistent after any panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long to wait before the next call so the bucket can pay for it. The call's
    /// points are spent from the estimate at once (it may go below zero: a debt the wait
    /// pays off), so concurrent callers queue behind each other.
    pub(crate) fn wait_before_call(&self, document: &'static str) -> Option<Duration> {
        let mut state = self.lock();
        // A document not seen yet goes unpaced (a THROTTLED answer is still waited out).
        let cost = *state.costs.get(document)?;
        let bucket = state.bucket.as_mut()?;
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        let available = (bucket.available + bucket.restore * elapsed).min(bucket.maximum);
        let after = available - cost.min(bucket.maximum);
        bucket.available = after;
        bucket.at = now;
        if after >= 0.0 {
            return None;
        }
        let wait = Duration::from_secs_f64((-after / bucket.restore).min(60.0));
        state.counts.throttle_waits += 1;
        state.counts.throttle_wait += wait;
        Some(wait)
    }

    /// Records an answer's cost and the bucket it reports.
    pub(crate) fn answered(&self, document: &'static str, extensions: Option<&Value>) {
        let mut state = self.lock();
        state.counts.calls += 1;
        if let Some(cost) = extensions.map(|e| &e["cost"]) {
            let requested = state.observe(document, cost);
            state.counts.cost += cost["actualQueryCost"].as_f64().unwrap_or(requested);
        }
    }

    /// Records a `THROTTLED` answer: the bucket it reports, so the pacing before the retry
    /// waits exactly as long as the bucket needs to pay for the document.
    pub(crate) fn throttled(&self, document: &'static str, extensions: Option<&Value>) {
        let mut state = self.lock();
        state.counts.throttled += 1;
        if let Some(cost) = extensions.map(|e| &e["cost"]) {
            state.observe(document, cost);
        }
    }

    pub(crate) fn retried(&self) {
        self.lock().counts.retries += 1;
    }
}
