//! One simulated shop: its records, generated deterministically, and the activity that
//! changes them.

mod checkouts;
mod customers;
mod orders;
mod products;
mod refunds;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;

use crate::model::*;

use self::customers::*;
use self::orders::*;

/// What `POST /_sim/shops` asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopSpec {
    pub domain: String,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default = "default_customers")]
    pub customers: usize,
    #[serde(default = "default_products")]
    pub products: usize,
    #[serde(default = "default_orders")]
    pub orders: usize,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// How many days of history end at `history_end`.
    #[serde(default = "default_days")]
    pub days: u32,
    /// The end of the generated history; defaults to the start of today (UTC), so the same
    /// spec gives the same data all day.
    pub history_end: Option<DateTime<Utc>>,
    #[serde(default = "default_plan")]
    pub plan: String,
    pub name: Option<String>,
}

pub(crate) fn default_seed() -> u64 {
    1
}
pub(crate) fn default_customers() -> usize {
    200
}
pub(crate) fn default_products() -> usize {
    30
}
pub(crate) fn default_orders() -> usize {
    1000
}
pub(crate) fn default_currency() -> String {
    "USD".to_owned()
}
pub(crate) fn default_timezone() -> String {
    "America/New_York".to_owned()
}
pub(crate) fn default_days() -> u32 {
    365
}
pub(crate) fn default_plan() -> String {
    "Basic".to_owned()
}

/// Currencies the simulator knows, with their minor-unit digits.
pub fn currency_digits(code: &str) -> Option<u32> {
    match code {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" => Some(0),
        "USD" | "EUR" | "GBP" | "CAD" | "AUD" | "INR" | "CHF" | "SEK" | "NZD" | "MXN" | "BRL"
        | "SGD" | "DKK" | "NOK" | "PLN" | "ZAR" => Some(2),
        _ => None,
    }
}

/// A webhook-worthy change: the topic and the REST payload.
#[derive(Debug, Clone)]
pub struct Change {
    pub topic: &'static str,
    pub payload: serde_json::Value,
}

pub struct Shop {
    pub id: i64,
    pub domain: String,
    pub name: String,
    pub currency: String,
    pub digits: u32,
    pub timezone: Tz,
    pub plan: String,
    pub customers: BTreeMap<i64, Customer>,
    pub products: BTreeMap<i64, Product>,
    pub orders: BTreeMap<i64, Order>,
    pub checkouts: BTreeMap<i64, Checkout>,
    pub carts: BTreeMap<String, Cart>,
    pub deletions: Vec<Deletion>,
    pub(crate) next_id: i64,
    pub(crate) next_order_number: i64,
    pub(crate) rng: ChaCha8Rng,
}

impl Shop {
    /// Generates a shop's history. The same spec gives the same records, byte for byte.
    pub fn generate(spec: &ShopSpec) -> Result<Self, String> {
        let digits = currency_digits(&spec.currency)
            .ok_or_else(|| format!("unknown currency {:?}", spec.currency))?;
        let timezone: Tz = spec
            .timezone
            .parse()
            .map_err(|_| format!("unknown IANA time zone {:?}", spec.timezone))?;
        let end = spec
            .history_end
            .unwrap_or_else(|| Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc());
        let start = end - Duration::days(i64::from(spec.days.max(1)));
        // Ids above 2^53, distinct per domain, so clients that round them break visibly.
        let domain_hash = spec.domain.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let id_base = (1_i64 << 53) + (domain_hash % 100_000) as i64 * 10_000_000_000;
        let mut shop = Self {
            id: id_base / 10_000_000_000,
            domain: spec.domain.clone(),
            name: spec
                .name
                .clone()
                .unwrap_or_else(|| title_from_domain(&spec.domain)),
            currency: spec.currency.clone(),
            digits,
            timezone,
            plan: spec.plan.clone(),
            customers: BTreeMap::new(),
            products: BTreeMap::new(),
            orders: BTreeMap::new(),
            checkouts: BTreeMap::new(),
            carts: BTreeMap::new(),
            deletions: Vec::new(),
            next_id: id_base + 1,
            next_order_number: 1001,
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
        };
        let span = (end - start).num_seconds().max(1);

        for _ in 0..spec.products.max(1) {
            let at = start + Duration::seconds(shop.rng.gen_range(0..span / 10 + 1));
            shop.new_product(at);
        }
        for _ in 0..spec.customers {
            let at = start + Duration::seconds(shop.rng.gen_range(0..span));
            shop.new_customer(at);
        }
        let customer_ids: Vec<i64> = shop.customers.keys().copied().collect();
        // Orders in time order, so order numbers rise with time as in a real shop.
        let mut times: Vec<i64> = (0..spec.orders)
            .map(|_| shop.rng.gen_range(0..span))
            .collect();
        times.sort_unstable();
        for offset in times {
            let at = start + Duration::seconds(offset);
            // A few customers buy a lot; roughly 15 % of customers never order; 10 % are guests.
            let customer = if customer_ids.is_empty() || shop.rng.gen_bool(0.1) {
                None
            } else {
                let active = (customer_ids.len() * 85 / 100).max(1);
                let skewed = (shop.rng.gen::<f64>().powi(2) * active as f64) as usize;
                customer_ids.get(skewed).copied()
            };
            let customer = customer.filter(|id| shop.customers[id].created_at <= at.fixed_offset());
            let order_id = shop.new_order(at, customer);
            shop.age_order(order_id, at, end);
        }
        // Abandoned checkouts: about one for every two orders.
        for _ in 0..spec.orders / 2 {
            let at = start + Duration::seconds(shop.rng.gen_range(0..span));
            let customer = if customer_ids.is_empty() || shop.rng.gen_bool(0.5) {
                None
            } else {
                customer_ids.choose(&mut shop.rng).copied()
            };
            shop.new_checkout(at, customer, None);
        }
        Ok(shop)
    }

    pub(crate) fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    pub(crate) fn rng_bool(&mut self, probability: f64) -> bool {
        self.rng.gen_bool(probability)
    }

    pub(crate) fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// `at` in the shop's offset, to the second, as Shopify's REST payloads give it.
    pub fn local(&self, at: DateTime<Utc>) -> Timestamp {
        self.timezone
            .from_utc_datetime(&at.trunc_subsecs(0).naive_utc())
            .fixed_offset()
    }

    pub(crate) fn round(&self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(self.digits, RoundingStrategy::MidpointNearestEven)
    }

    /// A price between `low` and `high` major units, in this currency's precision.
    pub(crate) fn price(&mut self, low: i64, high: i64) -> Decimal {
        let scale = if self.digits == 0 { 150 } else { 1 };
        let minor = self.rng.gen_range(low * 100..=high * 100) * scale;
        let value = Decimal::new(minor, 2);
        if self.digits == 0 {
            value.round_dp(0)
        } else {
            // Prices end in .99 or .00 as shops like them.
            let cents = if self.rng.gen_bool(0.7) { 99 } else { 0 };
            value.trunc() + Decimal::new(cents, 2)
        }
    }
}

/// A record's next `updated_at`: `now`, never before the last one. REST timestamps have
/// whole seconds, so two versions made within one second share one, as they do at Shopify;
/// their deliveries' X-Shopify-Triggered-At tells them apart.
pub fn later(previous: Timestamp, now: Timestamp) -> Timestamp {
    now.max(previous)
}

pub(crate) fn round_to(amount: Decimal, digits: u32) -> Decimal {
    amount.round_dp_with_strategy(digits, RoundingStrategy::MidpointNearestEven)
}

pub(crate) fn title_from_domain(domain: &str) -> String {
    let stem = domain.split('.').next().unwrap_or(domain);
    stem.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn ascii(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'ü' => 'u',
            'í' => 'i',
            'á' => 'a',
            'é' => 'e',
            other => other,
        })
        .collect()
}
