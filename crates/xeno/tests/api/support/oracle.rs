//! Report oracles: every figure the insights API gives, computed here independently from the
//! simulator's ground truth.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

pub struct Shop {
    pub domain: String,
    pub store_id: String,
    pub tz: Tz,
    pub currency: String,
    pub truth: Value,
}

pub fn d(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        other => panic!("not a decimal: {other}"),
    }
}

/// A Shopify id as the API gives it: a string, since it may exceed 2^53.
pub fn api_id(v: &Value) -> i64 {
    v.as_str().unwrap().parse().unwrap()
}

pub fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

pub fn local_day(v: &Value, tz: Tz) -> NaiveDate {
    instant(v).with_timezone(&tz).date_naive()
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The later of `last` and tomorrow (UTC): a range ending there holds today's live changes
/// in every store's zone (up to UTC+14), whatever the day the tests run.
pub fn through_today(last: &str) -> NaiveDate {
    date(last).max((chrono::Utc::now() + chrono::Duration::days(1)).date_naive())
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sums {
    pub orders: i64,
    pub units: i64,
    pub gross: Decimal,
    pub discounts: Decimal,
    pub returns: Decimal,
    pub shipping: Decimal,
    pub taxes: Decimal,
    pub duties: Decimal,
    pub fees: Decimal,
}

impl Sums {
    pub fn add(&mut self, other: &Sums) {
        self.orders += other.orders;
        self.units += other.units;
        self.gross += other.gross;
        self.discounts += other.discounts;
        self.returns += other.returns;
        self.shipping += other.shipping;
        self.taxes += other.taxes;
        self.duties += other.duties;
        self.fees += other.fees;
    }
    pub fn net(&self) -> Decimal {
        self.gross - self.discounts - self.returns
    }
    /// Tips are not sales: they are in an order's total and in none of these.
    pub fn total(&self) -> Decimal {
        self.net() + self.shipping + self.taxes + self.duties + self.fees
    }
}

pub fn counted(order: &Value) -> bool {
    !order["test"].as_bool().unwrap()
}

/// A line's whole discount as Shopify's reports count it: its allocations (order-level code
/// discounts included).
pub fn line_discount(line: &Value) -> Decimal {
    line["discount_allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| d(&a["amount"]))
        .sum()
}

/// A refund's shipping given back and the tax on it, from its shipping refund adjustments.
pub fn refunded_shipping(refund: &Value) -> (Decimal, Decimal) {
    refund["order_adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "shipping_refund")
        .fold((Decimal::ZERO, Decimal::ZERO), |(s, t), a| {
            (s - d(&a["amount"]), t - d(&a["tax_amount"]))
        })
}

/// Sales by (store-local day, currency), from the records themselves, by Shopify's
/// definitions: gift cards are not sales; discounts include allocated code discounts; a
/// refund lowers returns, shipping, taxes and duties on its day; a cancellation reverses on
/// its day whatever refunds left of the order (fees included: refunds never return them).
pub fn expected_days(shops: &[&Shop]) -> BTreeMap<(NaiveDate, String), Sums> {
    let mut days: BTreeMap<(NaiveDate, String), Sums> = BTreeMap::new();
    for shop in shops {
        for order in shop.truth["orders"].as_array().unwrap() {
            if !counted(order) {
                continue;
            }
            let day = local_day(&order["processed_at"], shop.tz);
            let sums = days.entry((day, shop.currency.clone())).or_default();
            let sold: Vec<&Value> = order["line_items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| !l["gift_card"].as_bool().unwrap())
                .collect();
            let gross: Decimal = sold
                .iter()
                .map(|l| d(&l["price"]) * Decimal::from(l["quantity"].as_i64().unwrap()))
                .sum();
            let discounts: Decimal = sold.iter().map(|l| line_discount(l)).sum();
            // Charged for shipping: each line's price less its shipping discounts.
            let shipping: Decimal = order["shipping_lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    let off: Decimal = l["discount_allocations"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| d(&a["amount"]))
                        .sum();
                    d(&l["price"]) - off
                })
                .sum();
            sums.orders += 1;
            sums.gross += gross;
            sums.discounts += discounts;
            sums.shipping += shipping;
            sums.taxes += d(&order["total_tax"]);
            // Duties are on the lines; a fee, where there is one, on the order.
            let duties: Decimal = order["line_items"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|l| l["duties"].as_array().unwrap())
                .map(|duty| d(&duty["price_set"]["shop_money"]["amount"]))
                .sum();
            let fees = match &order["original_total_additional_fees_set"] {
                Value::Null => Decimal::ZERO,
                set => d(&set["shop_money"]["amount"]),
            };
            sums.duties += duties;
            sums.fees += fees;
            sums.units += order["line_items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["quantity"].as_i64().unwrap())
                .sum::<i64>();
            let (mut goods_back, mut shipping_back, mut tax_back, mut duties_back) =
                (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
            for refund in order["refunds"].as_array().unwrap() {
                let day = local_day(&refund["created_at"], shop.tz);
                let sums = days.entry((day, shop.currency.clone())).or_default();
                for line in refund["refund_line_items"].as_array().unwrap() {
                    sums.returns += d(&line["subtotal"]);
                    sums.taxes -= d(&line["total_tax"]);
                    goods_back += d(&line["subtotal"]);
                    tax_back += d(&line["total_tax"]);
                }
                for duty in refund["duties"].as_array().unwrap() {
                    let amount = d(&duty["amount_set"]["shop_money"]["amount"]);
                    sums.duties -= amount;
                    duties_back += amount;
                }
                let (shipping, tax) = refunded_shipping(refund);
                sums.shipping -= shipping;
                sums.taxes -= tax;
                shipping_back += shipping;
                tax_back += tax;
            }
            if !order["cancelled_at"].is_null() {
                let day = local_day(&order["cancelled_at"], shop.tz);
                let sums = days.entry((day, shop.currency.clone())).or_default();
                sums.returns += (gross - discounts - goods_back).max(Decimal::ZERO);
                sums.shipping -= (shipping - shipping_back).max(Decimal::ZERO);
                sums.taxes -= (d(&order["total_tax"]) - tax_back).max(Decimal::ZERO);
                sums.duties -= (duties - duties_back).max(Decimal::ZERO);
                sums.fees -= fees;
            }
        }
    }
    days
}

pub fn in_range(day: NaiveDate, from: NaiveDate, to: NaiveDate) -> bool {
    from <= day && day <= to
}

pub fn totals_of(
    days: &BTreeMap<(NaiveDate, String), Sums>,
    from: NaiveDate,
    to: NaiveDate,
) -> BTreeMap<String, Sums> {
    let mut totals: BTreeMap<String, Sums> = BTreeMap::new();
    for ((day, currency), sums) in days {
        if in_range(*day, from, to) {
            totals.entry(currency.clone()).or_default().add(sums);
        }
    }
    totals
}

pub fn average(amount: Decimal, count: i64, digits: u32) -> Decimal {
    if count == 0 {
        return Decimal::ZERO;
    }
    (amount / Decimal::from(count))
        .round_dp_with_strategy(digits, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// A checkout funnel in one currency.
#[derive(Debug, Default, PartialEq)]
pub struct Funnel {
    pub started: i64,
    pub completed: i64,
    pub abandoned: i64,
    pub recovered: i64,
    pub abandoned_value: Decimal,
    pub completed_value: Decimal,
    pub recovered_value: Decimal,
}

/// (currency, store, customer)
pub type SpendKey = (String, String, i64);
/// (orders, spent, last order)
pub type Spend = (i64, Decimal, DateTime<Utc>);
/// (currency, product, orders, units, revenue)
pub type ProductFigures = (String, Option<i64>, i64, i64, Decimal);

/// Customers, buyers and top spenders, from the records.
pub struct People {
    pub customers: i64,
    pub accounts_created: i64,
    pub buyers: i64,
    pub returning: i64,
    pub repeat: i64,
    pub spend: BTreeMap<SpendKey, Spend>,
}

pub fn expected_people(shops: &[&Shop], from: NaiveDate, to: NaiveDate) -> People {
    let mut people = People {
        customers: 0,
        accounts_created: 0,
        buyers: 0,
        returning: 0,
        repeat: 0,
        spend: BTreeMap::new(),
    };
    for shop in shops {
        for customer in shop.truth["customers"].as_array().unwrap() {
            let day = local_day(&customer["created_at"], shop.tz);
            if day <= to {
                people.customers += 1;
            }
            if in_range(day, from, to) {
                people.accounts_created += 1;
            }
        }
        // customer → (orders in range, ordered before the range)
        let mut buyers: BTreeMap<i64, (i64, bool)> = BTreeMap::new();
        for order in shop.truth["orders"].as_array().unwrap() {
            let Some(customer) = order["customer"]["id"].as_i64() else {
                continue;
            };
            if !counted(order) {
                continue;
            }
            let day = local_day(&order["processed_at"], shop.tz);
            let entry = buyers.entry(customer).or_insert((0, false));
            if day < from {
                entry.1 = true;
            } else if day <= to {
                entry.0 += 1;
                let spend = people
                    .spend
                    .entry((shop.currency.clone(), shop.store_id.clone(), customer))
                    .or_insert((0, Decimal::ZERO, instant(&order["processed_at"])));
                spend.0 += 1;
                spend.1 += d(&order["current_total_price"]);
                spend.2 = spend.2.max(instant(&order["processed_at"]));
            }
        }
        for (orders, before) in buyers.values() {
            if *orders > 0 {
                people.buyers += 1;
                people.returning += i64::from(*before);
                people.repeat += i64::from(*before || *orders > 1);
            }
        }
    }
    people
}

pub fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
    }
}

/// The id of the only order before `month` of a customer who orders again in that month.
pub fn first_order_of_a_returning_buyer(truth: &Value, tz: Tz, month: NaiveDate) -> i64 {
    let mut by_customer: BTreeMap<i64, Vec<(NaiveDate, i64)>> = BTreeMap::new();
    for order in truth["orders"].as_array().unwrap() {
        if let (true, Some(customer)) = (counted(order), order["customer"]["id"].as_i64()) {
            let day = local_day(&order["processed_at"], tz);
            by_customer
                .entry(customer)
                .or_default()
                .push((day, order["id"].as_i64().unwrap()));
        }
    }
    let next = month + Duration::days(31);
    by_customer
        .values()
        .find_map(|orders| {
            let before: Vec<_> = orders.iter().filter(|(day, _)| *day < month).collect();
            let during = orders.iter().any(|(day, _)| *day >= month && *day < next);
            (before.len() == 1 && during).then(|| before[0].1)
        })
        .expect("a buyer with one order before the month and one in it")
}

/// The id of a counted order whose buyer has no other counted order (none of `besides`).
pub fn only_order_of_a_buyer(truth: &Value, besides: &[i64]) -> i64 {
    let mut by_customer: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for order in truth["orders"].as_array().unwrap() {
        if let (true, Some(customer)) = (counted(order), order["customer"]["id"].as_i64()) {
            by_customer
                .entry(customer)
                .or_default()
                .push(order["id"].as_i64().unwrap());
        }
    }
    by_customer
        .values()
        .find_map(|orders| match orders[..] {
            [only] if !besides.contains(&only) => Some(only),
            _ => None,
        })
        .expect("a buyer with a single order")
}

pub fn expected_products(
    shops: &[&Shop],
    from: NaiveDate,
    to: NaiveDate,
    sort: &str,
    limit: usize,
) -> Vec<ProductFigures> {
    expected_sellers(shops, from, to, sort, limit, false)
        .into_iter()
        .map(|(currency, product, _, orders, units, revenue)| {
            (currency, product, orders, units, revenue)
        })
        .collect()
}

/// (currency, product, variant, orders, units, revenue)
pub type VariantFigures = (String, Option<i64>, Option<i64>, i64, i64, Decimal);

/// Best sellers per currency, by product or (`by_variant`) by variant: net of every
/// discount, less returns dated in the range (refunded lines, and what a cancellation took
/// back of each line beyond its refunds).
pub fn expected_sellers(
    shops: &[&Shop],
    from: NaiveDate,
    to: NaiveDate,
    sort: &str,
    limit: usize,
    by_variant: bool,
) -> Vec<VariantFigures> {
    // (currency, store, product, variant) → (orders, units, revenue)
    type Key = (String, String, Option<i64>, Option<i64>);
    let mut sold: BTreeMap<Key, (BTreeSet<i64>, i64, Decimal)> = BTreeMap::new();
    for shop in shops {
        let key = |line: &Value| -> Key {
            (
                shop.currency.clone(),
                shop.store_id.clone(),
                line["product_id"].as_i64(),
                if by_variant {
                    line["variant_id"].as_i64()
                } else {
                    None
                },
            )
        };
        for order in shop.truth["orders"].as_array().unwrap() {
            if !counted(order) {
                continue;
            }
            let lines = order["line_items"].as_array().unwrap();
            let sold_line = |line_id: i64| {
                lines
                    .iter()
                    .find(|l| l["id"].as_i64() == Some(line_id) && l["gift_card"] == false)
            };
            let mut refunded: BTreeMap<i64, Decimal> = BTreeMap::new();
            for refund in order["refunds"].as_array().unwrap() {
                let day = local_day(&refund["created_at"], shop.tz);
                for line in refund["refund_line_items"].as_array().unwrap() {
                    let id = line["line_item_id"].as_i64().unwrap();
                    *refunded.entry(id).or_default() += d(&line["subtotal"]);
                    if let (true, Some(sold_line)) = (in_range(day, from, to), sold_line(id)) {
                        sold.entry(key(sold_line)).or_default().2 -= d(&line["subtotal"]);
                    }
                }
            }
            if !order["cancelled_at"].is_null()
                && in_range(local_day(&order["cancelled_at"], shop.tz), from, to)
            {
                for line in lines.iter().filter(|l| l["gift_card"] == false) {
                    let id = line["id"].as_i64().unwrap();
                    let net = d(&line["price"]) * Decimal::from(line["quantity"].as_i64().unwrap())
                        - line_discount(line);
                    let back =
                        (net - refunded.get(&id).copied().unwrap_or_default()).max(Decimal::ZERO);
                    sold.entry(key(line)).or_default().2 -= back;
                }
            }
            if !in_range(local_day(&order["processed_at"], shop.tz), from, to) {
                continue;
            }
            for line in lines.iter().filter(|l| l["gift_card"] == false) {
                let entry = sold.entry(key(line)).or_default();
                let quantity = line["quantity"].as_i64().unwrap();
                entry.0.insert(order["id"].as_i64().unwrap());
                entry.1 += quantity;
                entry.2 += d(&line["price"]) * Decimal::from(quantity) - line_discount(line);
            }
        }
    }
    // Ranked within each currency; ties by store, then product and variant (unknown last).
    let nulls_last = |a: Option<i64>, b: Option<i64>| match (a, b) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    };
    // currency → (store, product, variant, orders, units, revenue)
    let mut by_currency: BTreeMap<String, Vec<VariantFigures>> = BTreeMap::new();
    for ((currency, store, product, variant), (orders, units, revenue)) in sold {
        by_currency.entry(currency).or_default().push((
            store,
            product,
            variant,
            orders.len() as i64,
            units,
            revenue,
        ));
    }
    let mut out = Vec::new();
    for (currency, mut list) in by_currency {
        list.sort_by(|a, b| {
            let primary = if sort == "units" {
                b.4.cmp(&a.4).then(b.5.cmp(&a.5))
            } else {
                b.5.cmp(&a.5).then(b.4.cmp(&a.4))
            };
            primary
                .then(a.0.cmp(&b.0))
                .then(nulls_last(a.1, b.1))
                .then(nulls_last(a.2, b.2))
        });
        for (_, product, variant, orders, units, revenue) in list.into_iter().take(limit) {
            out.push((currency.clone(), product, variant, orders, units, revenue));
        }
    }
    out
}

/// Buyers up to the end of `to`: (currency, store, customer) → (orders, spent, last order).
pub fn buyers_until(shops: &[&Shop], to: NaiveDate) -> BTreeMap<SpendKey, Spend> {
    let mut buyers: BTreeMap<SpendKey, Spend> = BTreeMap::new();
    for shop in shops {
        for order in shop.truth["orders"].as_array().unwrap() {
            let Some(customer) = order["customer"]["id"].as_i64() else {
                continue;
            };
            if !counted(order) || local_day(&order["processed_at"], shop.tz) > to {
                continue;
            }
            let at = instant(&order["processed_at"]);
            let entry = buyers
                .entry((shop.currency.clone(), shop.store_id.clone(), customer))
                .or_insert((0, Decimal::ZERO, at));
            entry.0 += 1;
            entry.1 += d(&order["current_total_price"]);
            entry.2 = entry.2.max(at);
        }
    }
    buyers
}

/// Orders two buyers (customer id, what they bought).
pub type Ranking = dyn Fn(&(i64, Spend), &(i64, Spend)) -> std::cmp::Ordering;

/// PostgreSQL's ntile(5) for the row at `index` (0-based) of `n`.
pub fn quintile(index: usize, n: usize) -> i32 {
    let (size, extra) = (n / 5, n % 5);
    let bucket = if index < extra * (size + 1) {
        index / (size + 1)
    } else {
        extra + (index - extra * (size + 1)) / size
    };
    bucket as i32 + 1
}

/// (currency, spent, segment)
pub type Member = (String, Decimal, &'static str);

/// Segment per (store, customer), scored within each store.
pub fn expected_segments(shops: &[&Shop], to: NaiveDate) -> BTreeMap<(String, i64), Member> {
    let buyers = buyers_until(shops, to);
    let mut out = BTreeMap::new();
    for shop in shops {
        let mine: Vec<(i64, Spend)> = buyers
            .iter()
            .filter(|((_, store, _), _)| *store == shop.store_id)
            .map(|((_, _, customer), spend)| (*customer, *spend))
            .collect();
        let n = mine.len();
        let score = |key: &Ranking| {
            let mut sorted = mine.clone();
            sorted.sort_by(|a, b| key(a, b).then(a.0.cmp(&b.0)));
            sorted
                .iter()
                .enumerate()
                .map(|(i, (customer, _))| (*customer, quintile(i, n)))
                .collect::<BTreeMap<i64, i32>>()
        };
        let recency = score(&|a, b| a.1 .2.cmp(&b.1 .2));
        let frequency = score(&|a, b| a.1 .0.cmp(&b.1 .0));
        for (customer, spend) in &mine {
            let (r, f) = (recency[customer], frequency[customer]);
            let segment = match (r, f) {
                (4.., 4..) => "champions",
                (3.., 3..) => "loyal",
                (4.., _) => "promising",
                (3, _) => "needs_attention",
                (_, 3..) => "at_risk",
                (2, _) => "hibernating",
                _ => "lost",
            };
            out.insert(
                (shop.store_id.clone(), *customer),
                (shop.currency.clone(), spend.1, segment),
            );
        }
    }
    out
}
