//! Per-shop circuit breakers: calls to a shop that keep failing (network errors, 429s,
//! 5xx) stop for a cool-down, then calls probe whether the shop has recovered. One shop's
//! outage then costs seconds, not a sync slot held through every retry, and other shops
//! keep syncing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use failsafe::backoff::{self, Exponential};
use failsafe::failure_policy::{self, ConsecutiveFailures};
use failsafe::{Instrument, StateMachine};

/// One shop's breaker (clones share its state).
pub type Breaker = StateMachine<ConsecutiveFailures<Exponential>, Transitions>;

/// When a breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failed attempts in a row that open it.
    pub failures: u32,
    /// The first cool-down (at least a second); each failed probe doubles it, up to ten
    /// times over.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failures: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// Reports a breaker's changes: the shop and `open`, `half_open` or `closed`.
pub type Report = fn(&str, &'static str);

/// Hands each change of one shop's breaker to the report.
#[derive(Debug)]
pub struct Transitions {
    shop: String,
    report: Report,
    /// A breaker is made closed: that first "change" is not news.
    made: AtomicBool,
}

impl Instrument for Transitions {
    fn on_call_rejected(&self) {}

    fn on_open(&self) {
        (self.report)(&self.shop, "open");
    }

    fn on_half_open(&self) {
        (self.report)(&self.shop, "half_open");
    }

    fn on_closed(&self) {
        if self.made.swap(true, Ordering::Relaxed) {
            (self.report)(&self.shop, "closed");
        }
    }
}

/// Every shop's breaker, made on first use.
#[derive(Clone)]
pub struct Breakers {
    settings: BreakerSettings,
    report: Report,
    shops: Arc<Mutex<HashMap<String, Breaker>>>,
}

impl std::fmt::Debug for Breakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breakers")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Breakers {
    pub fn new(settings: BreakerSettings, report: Report) -> Self {
        Self {
            settings,
            report,
            shops: Arc::default(),
        }
    }

    pub fn for_shop(&self, shop: &str) -> Breaker {
        // The map holds plain handles, consistent after any panic.
        let mut shops = self.shops.lock().unwrap_or_else(|e| e.into_inner());
        shops
            .entry(shop.to_owned())
            .or_insert_with(|| {
                let first = self.settings.cool_down.max(Duration::from_secs(1));
                let policy = failure_policy::consecutive_failures(
                    self.settings.failures.max(1),
                    backoff::exponential(first, first * 10),
                );
                StateMachine::new(
                    policy,
                    Transitions {
                        shop: shop.to_owned(),
                        report: self.report,
                        made: AtomicBool::new(false),
                    },
                )
            })
            .clone()
    }
}
