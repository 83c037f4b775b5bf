//! One simulated shop: its records, generated deterministically, and the activity that
//! changes them.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;

use crate::model::*;

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

fn default_seed() -> u64 {
    1
}
fn default_customers() -> usize {
    200
}
fn default_products() -> usize {
    30
}
fn default_orders() -> usize {
    1000
}
fn default_currency() -> String {
    "USD".to_owned()
}
fn default_timezone() -> String {
    "America/New_York".to_owned()
}
fn default_days() -> u32 {
    365
}
fn default_plan() -> String {
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
    next_id: i64,
    next_order_number: i64,
    rng: ChaCha8Rng,
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Alan", "Linus", "Maya", "Noor", "Kenji", "Sofia", "Omar", "Lena", "Ravi",
    "Chloe", "Mateo", "Yuki", "Amara", "Jonas", "Priya", "Elena", "Tariq", "Hana",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Okafor", "Tanaka", "García", "Müller", "Silva", "Khan",
    "Novak", "Rossi", "Kim", "Dubois", "Andersen", "Haddad", "Moreau",
];
const PRODUCT_NOUNS: &[&str] = &[
    "Mug",
    "T-Shirt",
    "Hoodie",
    "Notebook",
    "Backpack",
    "Candle",
    "Poster",
    "Cap",
    "Socks",
    "Tote",
    "Water Bottle",
    "Sticker Pack",
    "Scarf",
    "Lamp",
    "Plant Pot",
];
const ADJECTIVES: &[&str] = &[
    "Classic", "Organic", "Vintage", "Minimal", "Cosy", "Bold", "Everyday", "Limited", "Linen",
    "Recycled",
];
const SIZES: &[&str] = &["S", "M", "L", "XL"];
const CITIES: &[(&str, &str, &str)] = &[
    ("New York", "United States", "US"),
    ("Toronto", "Canada", "CA"),
    ("London", "United Kingdom", "GB"),
    ("Berlin", "Germany", "DE"),
    ("Tokyo", "Japan", "JP"),
    ("Sydney", "Australia", "AU"),
    ("Mumbai", "India", "IN"),
];

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

    fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// `at` in the shop's offset, to the second, as Shopify's REST payloads give it.
    pub fn local(&self, at: DateTime<Utc>) -> Timestamp {
        self.timezone
            .from_utc_datetime(&at.trunc_subsecs(0).naive_utc())
            .fixed_offset()
    }

    fn round(&self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(self.digits, RoundingStrategy::MidpointNearestEven)
    }

    /// A price between `low` and `high` major units, in this currency's precision.
    fn price(&mut self, low: i64, high: i64) -> Decimal {
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

    pub fn new_customer(&mut self, at: DateTime<Utc>) -> i64 {
        let id = self.next_id();
        let first = *FIRST_NAMES.choose(&mut self.rng).unwrap_or(&"Sam");
        let last = *LAST_NAMES.choose(&mut self.rng).unwrap_or(&"Lee");
        let (city, country, code) = *CITIES.choose(&mut self.rng).unwrap_or(&CITIES[0]);
        let address = Address {
            address1: format!("{} Market Street", self.rng.gen_range(1..999)),
            city: city.to_owned(),
            province: None,
            country: country.to_owned(),
            country_code: code.to_owned(),
            zip: format!("{:05}", self.rng.gen_range(10000..99999)),
        };
        let consented = self.rng.gen_bool(0.4);
        let ts = self.local(at);
        let customer = Customer {
            id,
            admin_graphql_api_id: gid("Customer", id),
            email: Some(format!(
                "{}.{}.{}@example.com",
                first.to_lowercase(),
                ascii(last).to_lowercase(),
                id % 1_000_000
            )),
            phone: self
                .rng
                .gen_bool(0.5)
                .then(|| format!("+1555{:07}", self.rng.gen_range(0..10_000_000))),
            first_name: Some(first.to_owned()),
            last_name: Some(last.to_owned()),
            state: if self.rng.gen_bool(0.6) {
                "enabled"
            } else {
                "disabled"
            }
            .to_owned(),
            verified_email: true,
            tags: if consented {
                "newsletter".to_owned()
            } else {
                String::new()
            },
            currency: self.currency.clone(),
            created_at: ts,
            updated_at: ts,
            default_address: Some(address.clone()),
            addresses: vec![address],
            email_marketing_consent: Some(MarketingConsent {
                state: if consented {
                    "subscribed"
                } else {
                    "not_subscribed"
                }
                .to_owned(),
                opt_in_level: Some("single_opt_in".to_owned()),
                consent_updated_at: consented.then_some(ts),
            }),
        };
        self.customers.insert(id, customer);
        id
    }

    pub fn new_product(&mut self, at: DateTime<Utc>) -> i64 {
        let id = self.next_id();
        let noun = *PRODUCT_NOUNS.choose(&mut self.rng).unwrap_or(&"Mug");
        let adjective = *ADJECTIVES.choose(&mut self.rng).unwrap_or(&"Classic");
        let title = format!("{adjective} {noun}");
        let ts = self.local(at);
        let sized = self.rng.gen_bool(0.5);
        let sizes: Vec<&str> = if sized {
            SIZES.to_vec()
        } else {
            vec!["Default Title"]
        };
        let base = self.price(5, 120);
        let mut variants = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let vid = self.next_id();
            variants.push(Variant {
                id: vid,
                admin_graphql_api_id: gid("ProductVariant", vid),
                product_id: id,
                title: (*size).to_owned(),
                sku: format!("{}-{}-{}", &noun[..2].to_uppercase(), id % 100_000, i + 1),
                price: base,
                compare_at_price: self
                    .rng
                    .gen_bool(0.2)
                    .then(|| base * Decimal::new(12, 1))
                    .map(|p| self.round(p)),
                position: i as i32 + 1,
                inventory_quantity: self.rng.gen_range(0..500),
                option1: Some((*size).to_owned()),
                created_at: ts,
                updated_at: ts,
            });
        }
        let status = match self.rng.gen_range(0..20) {
            0 => "draft",
            1 => "archived",
            _ => "active",
        };
        let product = Product {
            id,
            admin_graphql_api_id: gid("Product", id),
            handle: format!(
                "{}-{}",
                title.to_lowercase().replace(' ', "-"),
                id % 100_000
            ),
            title,
            vendor: self.name.clone(),
            product_type: noun.to_owned(),
            status: status.to_owned(),
            tags: String::new(),
            created_at: ts,
            updated_at: ts,
            published_at: (status == "active").then_some(ts),
            options: vec![ProductOption {
                id: id + 1_000_000_000,
                product_id: id,
                name: if sized { "Size" } else { "Title" }.to_owned(),
                position: 1,
                values: sizes.iter().map(|s| (*s).to_owned()).collect(),
            }],
            variants,
            images: Vec::new(),
        };
        self.products.insert(id, product);
        id
    }

    fn pick_variants(&mut self) -> Vec<(Variant, String, i32)> {
        let product_ids: Vec<i64> = self
            .products
            .values()
            .filter(|p| p.status == "active")
            .map(|p| p.id)
            .collect();
        let product_ids = if product_ids.is_empty() {
            self.products.keys().copied().collect()
        } else {
            product_ids
        };
        let lines = self.rng.gen_range(1..=4);
        let mut picked = Vec::new();
        for _ in 0..lines {
            let Some(&pid) = product_ids.choose(&mut self.rng) else {
                break;
            };
            let product = &self.products[&pid];
            let Some(variant) = product.variants.choose(&mut self.rng).cloned() else {
                continue;
            };
            if picked
                .iter()
                .any(|(v, _, _): &(Variant, String, i32)| v.id == variant.id)
            {
                continue;
            }
            let title = product.title.clone();
            let qty = if self.rng.gen_bool(0.8) {
                1
            } else {
                self.rng.gen_range(2..=5)
            };
            picked.push((variant, title, qty));
        }
        picked
    }

    pub fn new_order(&mut self, at: DateTime<Utc>, customer_id: Option<i64>) -> i64 {
        let id = self.next_id();
        let ts = self.local(at);
        let customer = customer_id
            .and_then(|c| self.customers.get(&c))
            .map(CustomerRef::from);
        let code_rate = if self.rng.gen_bool(0.25) {
            Some(Decimal::new(self.rng.gen_range(1..=3) * 5, 2))
        } else {
            None
        };
        let automatic = self.rng.gen_bool(0.1);
        let gift_card = self.rng.gen_bool(0.04);
        let mut line_items = Vec::new();
        for (variant, title, quantity) in self.pick_variants() {
            let line_id = self.next_id();
            line_items.push(LineItem {
                id: line_id,
                admin_graphql_api_id: gid("LineItem", line_id),
                product_id: Some(variant.product_id),
                variant_id: Some(variant.id),
                title,
                variant_title: Some(variant.title.clone()),
                sku: Some(variant.sku.clone()),
                vendor: Some(self.name.clone()),
                quantity,
                current_quantity: quantity,
                price: variant.price,
                price_set: MoneySet::new(variant.price, &self.currency),
                total_discount: Decimal::ZERO,
                discount_allocations: Vec::new(),
                gift_card: false,
                taxable: true,
                tax_lines: Vec::new(),
            });
        }
        if gift_card {
            let line_id = self.next_id();
            let face_value = if self.rng.gen_bool(0.5) { 25 } else { 50 };
            let price = self.round(Decimal::from(face_value));
            line_items.push(LineItem {
                id: line_id,
                admin_graphql_api_id: gid("LineItem", line_id),
                product_id: None,
                variant_id: None,
                title: "Gift Card".to_owned(),
                variant_title: Some(price.to_string()),
                sku: None,
                vendor: Some(self.name.clone()),
                quantity: 1,
                current_quantity: 1,
                price,
                price_set: MoneySet::new(price, &self.currency),
                total_discount: Decimal::ZERO,
                discount_allocations: Vec::new(),
                gift_card: true,
                taxable: false,
                tax_lines: Vec::new(),
            });
        }
        let discount_applications = self.apply_discounts(&mut line_items, automatic, code_rate);
        let tax_rate = Decimal::new(8, 2);
        for line in line_items.iter_mut().filter(|l| l.taxable) {
            let gross = line.price * Decimal::from(line.quantity);
            let tax = round_to((gross - line.discount()) * tax_rate, self.digits);
            line.tax_lines.push(TaxLine {
                title: "Sales tax".to_owned(),
                price: tax,
                rate: tax_rate,
            });
        }
        let shipping = if self.rng.gen_bool(0.3) {
            Decimal::ZERO
        } else {
            self.price(3, 15)
        };
        let shipping_id = self.next_id();
        let number = self.next_order_number;
        self.next_order_number += 1;
        let test = self.rng.gen_bool(0.02);
        let financial_status = match self.rng.gen_range(0..20) {
            0 => "pending",
            1 => "authorized",
            _ => "paid",
        };
        let address = self
            .customers
            .get(&customer_id.unwrap_or_default())
            .and_then(|c| c.default_address.clone());
        let email = customer
            .as_ref()
            .and_then(|c| c.email.clone())
            .or_else(|| Some(format!("guest{}@example.net", id % 1_000_000)));
        let zero = MoneySet::new(Decimal::ZERO, &self.currency);
        let mut order = Order {
            id,
            admin_graphql_api_id: gid("Order", id),
            name: format!("#{number}"),
            order_number: number,
            email,
            created_at: ts,
            updated_at: ts,
            processed_at: ts,
            cancelled_at: None,
            cancel_reason: None,
            closed_at: None,
            currency: self.currency.clone(),
            presentment_currency: self.currency.clone(),
            total_price: Decimal::ZERO,
            subtotal_price: Decimal::ZERO,
            total_tax: Decimal::ZERO,
            total_discounts: Decimal::ZERO,
            total_line_items_price: Decimal::ZERO,
            current_total_price: Decimal::ZERO,
            current_subtotal_price: Decimal::ZERO,
            current_total_tax: Decimal::ZERO,
            current_total_discounts: Decimal::ZERO,
            total_price_set: zero.clone(),
            subtotal_price_set: zero.clone(),
            total_tax_set: zero.clone(),
            total_discounts_set: zero.clone(),
            total_shipping_price_set: zero.clone(),
            current_total_price_set: zero,
            financial_status: financial_status.to_owned(),
            fulfillment_status: None,
            test,
            source_name: "web".to_owned(),
            tags: String::new(),
            customer,
            line_items,
            refunds: Vec::new(),
            shipping_lines: vec![ShippingLine {
                id: shipping_id,
                title: "Standard".to_owned(),
                price: shipping,
                code: "STANDARD".to_owned(),
            }],
            discount_codes: Vec::new(),
            discount_applications,
            billing_address: address.clone(),
            shipping_address: address,
        };
        for (index, application) in order.discount_applications.iter().enumerate() {
            let Some(code) = &application.code else {
                continue;
            };
            let amount: Decimal = order
                .line_items
                .iter()
                .flat_map(|l| &l.discount_allocations)
                .filter(|a| a.discount_application_index == index)
                .map(|a| a.amount)
                .sum();
            order.discount_codes.push(DiscountCode {
                code: code.clone(),
                amount,
                kind: "percentage".to_owned(),
            });
        }
        recompute(&mut order);
        let checkout_at = at - Duration::minutes(self.rng.gen_range(2..60));
        self.orders.insert(id, order);
        let customer_for_checkout = customer_id;
        self.new_checkout(checkout_at, customer_for_checkout, Some(id));
        id
    }

    /// Discounts the lines as Shopify records them: an automatic discount on one line is
    /// line-level (in `total_discount` and an allocation); a code discount is order-level,
    /// spread across the lines as allocations only. Gift cards are never discounted.
    fn apply_discounts(
        &mut self,
        lines: &mut [LineItem],
        automatic: bool,
        code_rate: Option<Decimal>,
    ) -> Vec<DiscountApplication> {
        let mut applications = Vec::new();
        let currency = self.currency.clone();
        let digits = self.digits;
        let allocate = |line: &mut LineItem, amount: Decimal, index: usize| {
            line.discount_allocations.push(DiscountAllocation {
                amount,
                amount_set: MoneySet::new(amount, &currency),
                discount_application_index: index,
            });
        };
        if automatic {
            if let Some(line) = lines.iter_mut().find(|l| !l.gift_card) {
                let index = applications.len();
                applications.push(DiscountApplication {
                    kind: "automatic".to_owned(),
                    code: None,
                    title: "Bundle deal".to_owned(),
                    value: Decimal::from(10),
                    value_type: "percentage".to_owned(),
                    allocation_method: "each".to_owned(),
                    target_selection: "entitled".to_owned(),
                    target_type: "line_item".to_owned(),
                });
                let amount = round_to(
                    line.price * Decimal::from(line.quantity) * Decimal::new(10, 2),
                    digits,
                );
                line.total_discount += amount;
                allocate(line, amount, index);
            }
        }
        if let Some(rate) = code_rate {
            let index = applications.len();
            let percent = rate * Decimal::from(100);
            applications.push(DiscountApplication {
                kind: "discount_code".to_owned(),
                code: Some(format!("SAVE{}", percent.normalize())),
                title: format!("SAVE{}", percent.normalize()),
                value: percent.normalize(),
                value_type: "percentage".to_owned(),
                allocation_method: "across".to_owned(),
                target_selection: "all".to_owned(),
                target_type: "line_item".to_owned(),
            });
            for line in lines.iter_mut().filter(|l| !l.gift_card) {
                let remaining = line.price * Decimal::from(line.quantity) - line.discount();
                let amount = round_to(remaining * rate, digits);
                if amount > Decimal::ZERO {
                    allocate(line, amount, index);
                }
            }
        }
        applications
    }

    /// Ages a freshly generated order up to `end`: fulfilment, refunds, cancellations.
    fn age_order(&mut self, order_id: i64, at: DateTime<Utc>, end: DateTime<Utc>) {
        let roll = self.rng.gen_range(0..100);
        let some_time_after = |rng: &mut ChaCha8Rng| {
            let room = (end - at).num_seconds().max(2);
            at + Duration::seconds(rng.gen_range(1..room.min(30 * 86_400)))
        };
        let unpaid = self
            .orders
            .get(&order_id)
            .is_some_and(|o| matches!(o.financial_status.as_str(), "pending" | "authorized"));
        // Orders never paid are cancelled far more often than paid ones.
        if roll < 4 || (unpaid && roll < 25) {
            let when = some_time_after(&mut self.rng);
            self.cancel_order(order_id, when);
        } else if roll < 12 {
            let when = some_time_after(&mut self.rng);
            let full = self.rng.gen_bool(0.3);
            self.refund_order(order_id, when, full);
        } else if roll < 14 {
            let when = some_time_after(&mut self.rng);
            self.refund_shipping(order_id, when);
        } else if roll < 90 {
            let when = some_time_after(&mut self.rng);
            let ts = self.local(when);
            if let Some(order) = self.orders.get_mut(&order_id) {
                if order.financial_status == "paid" {
                    order.fulfillment_status = Some("fulfilled".to_owned());
                    order.closed_at = Some(ts);
                    order.updated_at = later(order.updated_at, ts);
                }
            }
        }
    }

    /// Refunds part of an order (one unit of one line) or all of what remains, shipping
    /// included. Gift cards are not refunded here.
    pub fn refund_order(&mut self, order_id: i64, at: DateTime<Utc>, full: bool) -> Option<Refund> {
        let order = self.orders.get(&order_id)?;
        if !refundable(order) {
            return None;
        }
        let candidates: Vec<&LineItem> = order
            .line_items
            .iter()
            .filter(|l| l.current_quantity > 0 && !l.gift_card)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let chosen: Vec<(i64, i32)> = if full {
            candidates
                .iter()
                .map(|l| (l.id, l.current_quantity))
                .collect()
        } else {
            let index = self.rng.gen_range(0..candidates.len());
            vec![(candidates[index].id, 1)]
        };
        let refund_id = self.next_id();
        let mut refund_lines = Vec::new();
        for (line_id, quantity) in chosen {
            let rli_id = self.next_id();
            let digits = self.digits;
            let order = self.orders.get_mut(&order_id)?;
            let Some(line) = order.line_items.iter_mut().find(|l| l.id == line_id) else {
                continue;
            };
            let per_unit_discount = line.discount() / Decimal::from(line.quantity);
            let subtotal = round_to(
                (line.price - per_unit_discount) * Decimal::from(quantity),
                digits,
            );
            let line_tax: Decimal = line.tax_lines.iter().map(|t| t.price).sum();
            let tax = round_to(
                line_tax * Decimal::from(quantity) / Decimal::from(line.quantity),
                digits,
            );
            line.current_quantity -= quantity;
            refund_lines.push(RefundLineItem {
                id: rli_id,
                line_item_id: line_id,
                quantity,
                subtotal,
                total_tax: tax,
            });
        }
        let shipping = if full {
            self.shipping_refund(order_id, refund_id)
        } else {
            (Vec::new(), Vec::new())
        };
        self.record_refund(order_id, refund_id, at, refund_lines, shipping)
    }

    /// Refunds what remains of an order's shipping and nothing else, as a merchant does
    /// when a parcel arrives late.
    pub fn refund_shipping(&mut self, order_id: i64, at: DateTime<Utc>) -> Option<Refund> {
        if !refundable(self.orders.get(&order_id)?) {
            return None;
        }
        let refund_id = self.next_id();
        let shipping = self.shipping_refund(order_id, refund_id);
        if shipping.0.is_empty() {
            return None;
        }
        self.record_refund(order_id, refund_id, at, Vec::new(), shipping)
    }

    /// The shipping lines and adjustment that give back an order's unrefunded shipping.
    fn shipping_refund(
        &mut self,
        order_id: i64,
        refund_id: i64,
    ) -> (Vec<RefundShippingLine>, Vec<OrderAdjustment>) {
        let Some(order) = self.orders.get(&order_id) else {
            return (Vec::new(), Vec::new());
        };
        let charged: Decimal = order.shipping_lines.iter().map(|l| l.price).sum();
        let refunded: Decimal = order.refunds.iter().map(Refund::shipping).sum();
        let remaining = charged - refunded;
        let Some(shipping_line_id) = order.shipping_lines.first().map(|l| l.id) else {
            return (Vec::new(), Vec::new());
        };
        if remaining <= Decimal::ZERO {
            return (Vec::new(), Vec::new());
        }
        let currency = order.currency.clone();
        let line_id = self.next_id();
        let adjustment_id = self.next_id();
        (
            vec![RefundShippingLine {
                id: line_id,
                shipping_line_id,
                subtotal_amount_set: MoneySet::new(remaining, &currency),
                tax_amount_set: MoneySet::new(Decimal::ZERO, &currency),
            }],
            vec![OrderAdjustment {
                id: adjustment_id,
                order_id,
                refund_id,
                kind: "shipping_refund".to_owned(),
                reason: "Shipping refund".to_owned(),
                amount: -remaining,
                tax_amount: Decimal::ZERO,
            }],
        )
    }

    fn record_refund(
        &mut self,
        order_id: i64,
        refund_id: i64,
        at: DateTime<Utc>,
        refund_lines: Vec<RefundLineItem>,
        (refund_shipping_lines, order_adjustments): (Vec<RefundShippingLine>, Vec<OrderAdjustment>),
    ) -> Option<Refund> {
        let ts = self.local(at);
        let transaction_id = self.next_id();
        let order = self.orders.get_mut(&order_id)?;
        let shipping: Decimal = refund_shipping_lines
            .iter()
            .map(|l| l.subtotal_amount_set.shop_money.amount + l.tax_amount_set.shop_money.amount)
            .sum();
        let amount: Decimal = refund_lines
            .iter()
            .map(|r| r.subtotal + r.total_tax)
            .sum::<Decimal>()
            + shipping;
        let refund = Refund {
            id: refund_id,
            admin_graphql_api_id: gid("Refund", refund_id),
            order_id,
            note: None,
            created_at: ts,
            processed_at: ts,
            refund_line_items: refund_lines,
            refund_shipping_lines,
            transactions: vec![Transaction {
                id: transaction_id,
                kind: "refund".to_owned(),
                amount,
                currency: order.currency.clone(),
                status: "success".to_owned(),
                gateway: "bogus".to_owned(),
            }],
            order_adjustments,
        };
        order.refunds.push(refund.clone());
        order.updated_at = later(order.updated_at, ts);
        recompute(order);
        Some(refund)
    }

    /// Cancels an order. A paid order is refunded in full as it is cancelled, or, half the
    /// time, keeps its payment (the merchant chose not to refund); an order not yet paid
    /// has its payment voided. Either way nothing of it stays a sale in Shopify's reports.
    pub fn cancel_order(&mut self, order_id: i64, at: DateTime<Utc>) -> Option<Option<Refund>> {
        let order = self.orders.get(&order_id)?;
        if order.cancelled_at.is_some() {
            return None;
        }
        let paid = matches!(
            order.financial_status.as_str(),
            "paid" | "partially_refunded"
        );
        let refund = if paid && self.rng.gen_bool(0.5) {
            self.refund_order(order_id, at, true)
        } else {
            None
        };
        let ts = self.local(at);
        let order = self.orders.get_mut(&order_id)?;
        order.cancelled_at = Some(ts);
        order.cancel_reason = Some("customer".to_owned());
        order.closed_at = Some(ts);
        order.updated_at = later(order.updated_at, ts);
        for line in &mut order.line_items {
            line.current_quantity = 0;
        }
        if !paid {
            order.financial_status = "voided".to_owned();
        }
        recompute(order);
        Some(refund)
    }

    pub fn new_checkout(
        &mut self,
        at: DateTime<Utc>,
        customer_id: Option<i64>,
        order_id: Option<i64>,
    ) -> i64 {
        let id = self.next_id();
        let ts = self.local(at);
        let token = format!("{:032x}", self.rng.gen::<u128>());
        let cart_token = format!("{:032x}", self.rng.gen::<u128>());
        let lines: Vec<CheckoutLineItem> = match order_id.and_then(|o| self.orders.get(&o)) {
            Some(order) => order
                .line_items
                .iter()
                .map(|l| CheckoutLineItem {
                    key: format!("{:x}", l.id),
                    product_id: l.product_id,
                    variant_id: l.variant_id,
                    title: l.title.clone(),
                    variant_title: l.variant_title.clone(),
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    price: l.price,
                })
                .collect(),
            None => self
                .pick_variants()
                .into_iter()
                .map(|(v, title, quantity)| CheckoutLineItem {
                    key: format!("{:x}", v.id),
                    product_id: Some(v.product_id),
                    variant_id: Some(v.id),
                    title,
                    variant_title: Some(v.title.clone()),
                    sku: Some(v.sku.clone()),
                    quantity,
                    price: v.price,
                })
                .collect(),
        };
        let subtotal: Decimal = lines
            .iter()
            .map(|l| l.price * Decimal::from(l.quantity))
            .sum();
        let tax = self.round(subtotal * Decimal::new(8, 2));
        let completed = order_id
            .and_then(|o| self.orders.get(&o))
            .map(|o| o.processed_at);
        let customer = customer_id
            .and_then(|c| self.customers.get(&c))
            .map(CustomerRef::from);
        let cart_lines = lines
            .iter()
            .enumerate()
            .map(|(i, l)| CartLineItem {
                id: id + i as i64,
                product_id: l.product_id.unwrap_or_default(),
                variant_id: l.variant_id.unwrap_or_default(),
                title: l.title.clone(),
                quantity: l.quantity,
                price: l.price,
                line_price: l.price * Decimal::from(l.quantity),
                sku: l.sku.clone().unwrap_or_default(),
            })
            .collect();
        self.carts.insert(
            cart_token.clone(),
            Cart {
                id: cart_token.clone(),
                token: cart_token.clone(),
                line_items: cart_lines,
                created_at: ts,
                updated_at: ts,
            },
        );
        let checkout = Checkout {
            id,
            admin_graphql_api_id: gid("AbandonedCheckout", id),
            abandoned_checkout_url: format!("https://{}/checkouts/{token}/recover", self.domain),
            token,
            cart_token,
            email: customer.as_ref().and_then(|c| c.email.clone()),
            created_at: ts,
            // Completing a checkout updates it.
            updated_at: completed.unwrap_or(ts),
            completed_at: completed,
            currency: self.currency.clone(),
            presentment_currency: self.currency.clone(),
            subtotal_price: subtotal,
            total_tax: tax,
            total_discounts: Decimal::ZERO,
            total_price: subtotal + tax,
            line_items: lines,
            customer,
            order_id,
        };
        self.checkouts.insert(id, checkout);
        id
    }
}

/// A record's next `updated_at`: `now`, never before the last one. REST timestamps have
/// whole seconds, so two versions made within one second share one, as they do at Shopify;
/// their deliveries' X-Shopify-Triggered-At tells them apart.
pub fn later(previous: Timestamp, now: Timestamp) -> Timestamp {
    now.max(previous)
}

/// Whether an order has money to give back: paid, and not cancelled.
fn refundable(order: &Order) -> bool {
    order.cancelled_at.is_none()
        && matches!(
            order.financial_status.as_str(),
            "paid" | "partially_refunded"
        )
}

fn round_to(amount: Decimal, digits: u32) -> Decimal {
    amount.round_dp_with_strategy(digits, RoundingStrategy::MidpointNearestEven)
}

/// Derives an order's totals from its lines, shipping and refunds, as Shopify reports them.
pub fn recompute(order: &mut Order) {
    let currency = order.currency.clone();
    let line_total: Decimal = order
        .line_items
        .iter()
        .map(|l| l.price * Decimal::from(l.quantity))
        .sum();
    let discounts: Decimal = order.line_items.iter().map(LineItem::discount).sum();
    let tax: Decimal = order
        .line_items
        .iter()
        .flat_map(|l| l.tax_lines.iter().map(|t| t.price))
        .sum();
    let shipping: Decimal = order.shipping_lines.iter().map(|s| s.price).sum();
    order.total_line_items_price = line_total;
    order.total_discounts = discounts;
    order.subtotal_price = line_total - discounts;
    order.total_tax = tax;
    order.total_price = order.subtotal_price + tax + shipping;

    let refunded_subtotal: Decimal = order
        .refunds
        .iter()
        .flat_map(|r| r.refund_line_items.iter().map(|l| l.subtotal))
        .sum();
    let refunded_tax: Decimal = order
        .refunds
        .iter()
        .flat_map(|r| r.refund_line_items.iter().map(|l| l.total_tax))
        .sum();
    let refunded_tax = refunded_tax
        + order
            .refunds
            .iter()
            .map(Refund::shipping_tax)
            .sum::<Decimal>();
    let refunded: Decimal = order.refunds.iter().map(Refund::amount).sum();
    order.current_subtotal_price = order.subtotal_price - refunded_subtotal;
    order.current_total_tax = tax - refunded_tax;
    order.current_total_price = order.total_price - refunded;
    order.current_total_discounts = order
        .line_items
        .iter()
        .map(|l| {
            if l.quantity == 0 {
                Decimal::ZERO
            } else {
                l.discount() * Decimal::from(l.current_quantity) / Decimal::from(l.quantity)
            }
        })
        .sum::<Decimal>()
        .round_dp(2);
    if !order.refunds.is_empty() {
        let all_refunded = order.current_total_price <= Decimal::ZERO;
        order.financial_status = if all_refunded {
            "refunded"
        } else {
            "partially_refunded"
        }
        .to_owned();
    }
    order.total_price_set = MoneySet::new(order.total_price, &currency);
    order.subtotal_price_set = MoneySet::new(order.subtotal_price, &currency);
    order.total_tax_set = MoneySet::new(order.total_tax, &currency);
    order.total_discounts_set = MoneySet::new(order.total_discounts, &currency);
    order.total_shipping_price_set = MoneySet::new(shipping, &currency);
    order.current_total_price_set = MoneySet::new(order.current_total_price, &currency);
}

fn title_from_domain(domain: &str) -> String {
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

fn ascii(name: &str) -> String {
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
