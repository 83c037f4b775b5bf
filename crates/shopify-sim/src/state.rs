//! The simulator's state: shops, the app's grants on each, fault knobs.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::shop::Shop;

/// How the simulator behaves, fixed at start.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The app's client id.
    pub api_key: String,
    /// The app's client secret: signs OAuth redirects and webhooks.
    pub api_secret: String,
    /// Divides every platform duration (token lifetimes, webhook retry schedule), so tests
    /// can watch a 1-hour token expire in a second.
    pub time_scale: f64,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            api_key: "sim-api-key".to_owned(),
            api_secret: "sim-api-secret".to_owned(),
            time_scale: 1.0,
        }
    }
}

/// Fault knobs, set through `PUT /_sim/faults`. Rates are probabilities from 0 to 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Deliver a webhook twice.
    pub duplicate_rate: f64,
    /// Shuffle deliveries within windows of this many.
    pub reorder_window: usize,
    /// Never deliver a webhook (reconciliation must find the change).
    pub drop_rate: f64,
    /// Delay each delivery by this many milliseconds.
    pub delivery_delay_ms: u64,
    /// Answer Admin API calls with a 5xx.
    pub admin_error_rate: f64,
    /// Shops whose Admin API is down: every call answers 503.
    pub failing_shops: Vec<String>,
    /// Delay Admin API answers by this many milliseconds.
    pub admin_delay_ms: u64,
    /// Keep each bulk export running at least this many milliseconds.
    pub bulk_delay_ms: u64,
    /// Refuse bulk exports as Shopify refuses them to access tokens they are not open to.
    pub bulk_unavailable: bool,
    /// The cost bucket: `maximumAvailable` and `restoreRate` (points per second).
    pub bucket_size: f64,
    pub restore_rate: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            duplicate_rate: 0.0,
            reorder_window: 0,
            drop_rate: 0.0,
            delivery_delay_ms: 0,
            admin_error_rate: 0.0,
            failing_shops: Vec::new(),
            admin_delay_ms: 0,
            bulk_delay_ms: 0,
            bulk_unavailable: false,
            // Shopify's Standard plan: 2000-point bucket restoring 100 points per second.
            bucket_size: 2000.0,
            restore_rate: 100.0,
        }
    }
}

/// An authorization code, valid once and for a few minutes.
pub struct Code {
    pub scopes: String,
    pub expires: Instant,
}

pub struct AccessToken {
    pub scopes: String,
    /// `None` for a non-expiring offline token.
    pub expires: Option<Instant>,
}

/// The one refreshable grant per shop: the live refresh token, and the one it replaced,
/// which still works until the live one is first used (a lost refresh response is retried
/// with the old token).
pub struct RefreshGrant {
    pub current: String,
    pub current_used: bool,
    pub previous: Option<String>,
    pub expires: Instant,
    pub scopes: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub id: i64,
    pub topic: String,
    pub callback_url: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Shopify's cost bucket for one app on one shop.
pub struct Bucket {
    available: f64,
    updated: Instant,
}

impl Bucket {
    fn new(size: f64) -> Self {
        Self {
            available: size,
            updated: Instant::now(),
        }
    }

    /// Points available now, after restoring since the last call.
    pub fn level(&mut self, faults: &Faults) -> f64 {
        let now = Instant::now();
        let restored = now.duration_since(self.updated).as_secs_f64() * faults.restore_rate;
        self.available = (self.available + restored).min(faults.bucket_size);
        self.updated = now;
        self.available
    }

    /// Takes `cost` points if available.
    pub fn take(&mut self, cost: f64, faults: &Faults) -> bool {
        if self.level(faults) >= cost {
            self.available -= cost;
            true
        } else {
            false
        }
    }

    pub fn refund(&mut self, points: f64, faults: &Faults) {
        self.level(faults);
        self.available = (self.available + points).min(faults.bucket_size);
    }
}

pub struct BulkOperation {
    pub id: i64,
    pub status: &'static str,
    pub query: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub object_count: u64,
    pub root_object_count: u64,
    pub error_code: Option<&'static str>,
    pub result: Option<bytes::Bytes>,
}

/// The app's standing on one shop.
pub struct Grant {
    pub installed: bool,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, AccessToken>,
    pub refresh: Option<RefreshGrant>,
    pub subscriptions: BTreeMap<i64, Subscription>,
    pub bucket: Bucket,
    pub bulk: Vec<BulkOperation>,
}

/// One shop: its records (read by many requests at once) and the app's grant.
pub struct ShopEntry {
    pub data: Arc<tokio::sync::RwLock<Shop>>,
    pub grant: Mutex<Grant>,
    /// The shop's bulk files are built one at a time, each on every core, in the order they
    /// were asked for: an export waits in `CREATED` until those before it are built. Told
    /// whenever one is.
    pub bulk_built: tokio::sync::Notify,
}

/// Counts webhook deliveries.
#[derive(Default)]
pub struct DeliveryStats {
    attempted: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

impl DeliveryStats {
    pub fn attempted(&self) -> u64 {
        self.attempted.load(Ordering::Relaxed)
    }
    pub fn record_attempt(&self, ok: bool) {
        self.attempted.fetch_add(1, Ordering::Relaxed);
        if ok {
            self.succeeded.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub fn record_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "attempted": self.attempted(),
            "succeeded": self.succeeded.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
            "dropped": self.dropped.load(Ordering::Relaxed),
        })
    }
}

pub struct Sim {
    pub options: SimOptions,
    pub base_url: String,
    pub shops: RwLock<HashMap<String, Arc<ShopEntry>>>,
    pub faults: RwLock<Faults>,
    pub http: reqwest::Client,
    pub deliveries: DeliveryStats,
    next_id: AtomicU64,
}

/// Locks a mutex, carrying on if a panicking holder poisoned it (the data is still usable).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sim {
    pub fn new(options: SimOptions, base_url: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // Shopify's delivery limits: 1 s to connect, 5 s in all.
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .build()?;
        Ok(Self {
            options,
            base_url,
            shops: RwLock::new(HashMap::new()),
            faults: RwLock::new(Faults::default()),
            http,
            deliveries: DeliveryStats::default(),
            next_id: AtomicU64::new(1),
        })
    }

    pub fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn shop(&self, domain: &str) -> Option<Arc<ShopEntry>> {
        self.shops
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(domain)
            .cloned()
    }

    pub fn insert_shop(&self, shop: Shop) -> bool {
        let faults = self.faults();
        let mut shops = self
            .shops
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shops.contains_key(&shop.domain) {
            return false;
        }
        shops.insert(
            shop.domain.clone(),
            Arc::new(ShopEntry {
                data: Arc::new(tokio::sync::RwLock::new(shop)),
                grant: Mutex::new(Grant {
                    installed: false,
                    codes: HashMap::new(),
                    tokens: HashMap::new(),
                    refresh: None,
                    subscriptions: BTreeMap::new(),
                    bucket: Bucket::new(faults.bucket_size),
                    bulk: Vec::new(),
                }),
                bulk_built: tokio::sync::Notify::new(),
            }),
        );
        true
    }

    /// A fresh id for simulator-made objects (subscriptions, bulk operations).
    pub fn next_id(&self) -> i64 {
        (1_i64 << 53) + self.next_id.fetch_add(1, Ordering::Relaxed) as i64
    }

    /// A platform duration shortened by the time scale.
    pub fn scaled(&self, duration: Duration) -> Duration {
        duration.div_f64(self.options.time_scale.max(0.001))
    }

    pub fn roll(&self, probability: f64) -> bool {
        probability > 0.0 && rand::thread_rng().gen_bool(probability.clamp(0.0, 1.0))
    }
}

/// A random token with Shopify's prefix.
pub fn token(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::thread_rng().gen::<u128>())
}
