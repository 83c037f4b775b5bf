//! ShopifyQL's `sales` schema, answered from the shop's own records: the simulator's own
//! reading of Shopify's sales definitions, written apart from Xeno's so that reconciling the
//! two is a second opinion.
//!
//! The definitions (Shopify Help Center, "Sales report"; shopify.dev, ShopifyQL `sales`):
//! - test orders are left out; cancelled, pending and unpaid orders are in;
//! - gift card lines are not sales (a liability): left out of gross sales, discounts and
//!   returns;
//! - gross sales = line price × quantity; discounts = the line's allocations (line-level and
//!   order-level discounts alike);
//! - returns = refunded lines' subtotals; a cancellation returns, on its day, whatever of
//!   each line its refunds had not ("zero for that order overall");
//! - shipping charges = shipping charged after shipping discounts − shipping refunded (a
//!   cancellation takes back the
//!   rest); taxes = taxes charged − taxes refunded (likewise);
//! - duties = import duties charged − duties refunded; additional fees = fees charged (a
//!   cancellation takes back what refunds left of either);
//! - tips are not sales: they are in an order's total but in none of these figures;
//! - net sales = gross − discounts − returns; total sales = net + shipping + taxes + duties +
//!   additional fees;
//! - every event on its own day in the shop's time zone; orders dated by `processed_at`.
//!
//! The grammar is the subset Xeno and the tests use:
//! `FROM sales SHOW <metric>, … [GROUP BY product_id] [TIMESERIES day|week|month]
//! [SINCE <date>] [UNTIL <date>]`, keywords in any case, dates as `YYYY-MM-DD`, `today`,
//! `yesterday` or `-Nd`. Anything else is a parse error, as Shopify reports one.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::model::Order;
use crate::shop::Shop;

/// A metric of the `sales` schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Orders,
    GrossSales,
    Discounts,
    Returns,
    NetSales,
    ShippingCharges,
    Taxes,
    Duties,
    AdditionalFees,
    TotalSales,
}

impl Metric {
    const ALL: [Metric; 10] = [
        Metric::Orders,
        Metric::GrossSales,
        Metric::Discounts,
        Metric::Returns,
        Metric::NetSales,
        Metric::ShippingCharges,
        Metric::Taxes,
        Metric::Duties,
        Metric::AdditionalFees,
        Metric::TotalSales,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Orders => "orders",
            Metric::GrossSales => "gross_sales",
            Metric::Discounts => "discounts",
            Metric::Returns => "returns",
            Metric::NetSales => "net_sales",
            Metric::ShippingCharges => "shipping_charges",
            Metric::Taxes => "taxes",
            Metric::Duties => "duties",
            Metric::AdditionalFees => "additional_fees",
            Metric::TotalSales => "total_sales",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Metric::Orders => "Orders",
            Metric::GrossSales => "Gross sales",
            Metric::Discounts => "Discounts",
            Metric::Returns => "Returns",
            Metric::NetSales => "Net sales",
            Metric::ShippingCharges => "Shipping charges",
            Metric::Taxes => "Taxes",
            Metric::Duties => "Duties",
            Metric::AdditionalFees => "Additional fees",
            Metric::TotalSales => "Total sales",
        }
    }

    pub fn is_money(self) -> bool {
        self != Metric::Orders
    }
}

/// The buckets of `TIMESERIES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    pub fn name(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    /// The first day of the bucket holding `day` (weeks start on Monday).
    fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => day,
            Grain::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Grain::Month => day.with_day(1).unwrap_or(day),
        }
    }

    fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => start + Duration::days(1),
            Grain::Week => start + Duration::days(7),
            Grain::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(NaiveDate::MAX),
        }
    }
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesQuery {
    pub metrics: Vec<Metric>,
    pub grain: Option<Grain>,
    pub by_product: bool,
    pub since: NaiveDate,
    pub until: NaiveDate,
}

/// Parses `text`; relative dates count from `today` (the shop's). Errors read as Shopify's
/// `parseErrors` do: one message per problem.
pub fn parse(text: &str, today: NaiveDate) -> Result<SalesQuery, Vec<String>> {
    let spaced = text.replace(',', " , ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut query = SalesQuery {
        metrics: Vec::new(),
        grain: None,
        by_product: false,
        since: today - Duration::days(29),
        until: today,
    };
    let keyword =
        |at: usize, word: &str| words.get(at).is_some_and(|w| w.eq_ignore_ascii_case(word));
    if !keyword(0, "FROM") {
        return Err(vec!["A query must start with FROM".to_owned()]);
    }
    match words.get(1) {
        Some(schema) if schema.eq_ignore_ascii_case("sales") => {}
        Some(schema) => return Err(vec![format!("Table `{schema}` does not exist")]),
        None => return Err(vec!["FROM needs a table name".to_owned()]),
    }
    let mut at = 2;
    if !keyword(at, "SHOW") {
        return Err(vec!["A query needs SHOW after FROM".to_owned()]);
    }
    at += 1;
    let mut errors = Vec::new();
    while let Some(word) = words.get(at) {
        match Metric::ALL
            .iter()
            .find(|m| m.name().eq_ignore_ascii_case(word))
        {
            Some(metric) => query.metrics.push(*metric),
            None => errors.push(format!("Column `{word}` does not exist in table `sales`")),
        }
        at += 1;
        if words.get(at) == Some(&",") {
            at += 1;
        } else {
            break;
        }
    }
    if query.metrics.is_empty() && errors.is_empty() {
        errors.push("SHOW needs at least one column".to_owned());
    }
    while let Some(word) = words.get(at) {
        let upper = word.to_ascii_uppercase();
        match upper.as_str() {
            "GROUP" if keyword(at + 1, "BY") => {
                match words.get(at + 2) {
                    Some(w) if w.eq_ignore_ascii_case("product_id") => query.by_product = true,
                    Some(w) => errors.push(format!("Cannot group by `{w}`")),
                    None => errors.push("GROUP BY needs a dimension".to_owned()),
                }
                at += 3;
            }
            "TIMESERIES" => {
                query.grain = match words.get(at + 1).map(|w| w.to_ascii_lowercase()).as_deref() {
                    Some("day") => Some(Grain::Day),
                    Some("week") => Some(Grain::Week),
                    Some("month") => Some(Grain::Month),
                    other => {
                        errors.push(format!(
                            "TIMESERIES takes day, week or month, not {}",
                            other.unwrap_or("nothing")
                        ));
                        None
                    }
                };
                at += 2;
            }
            "SINCE" | "UNTIL" => {
                match words.get(at + 1).map(|w| date(w, today)) {
                    Some(Some(day)) if upper == "SINCE" => query.since = day,
                    Some(Some(day)) => query.until = day,
                    _ => errors.push(format!("{upper} needs a date, such as 2026-11-01 or -30d")),
                }
                at += 2;
            }
            _ => {
                errors.push(format!("Unexpected `{word}`"));
                at += 1;
            }
        }
    }
    if query.since > query.until {
        errors.push("SINCE is after UNTIL".to_owned());
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(errors)
    }
}

fn date(word: &str, today: NaiveDate) -> Option<NaiveDate> {
    match word.to_ascii_lowercase().as_str() {
        "today" => Some(today),
        "yesterday" => Some(today - Duration::days(1)),
        relative if relative.starts_with('-') && relative.ends_with('d') => relative
            [1..relative.len() - 1]
            .parse::<i64>()
            .ok()
            .map(|days| today - Duration::days(days)),
        absolute => NaiveDate::parse_from_str(absolute, "%Y-%m-%d").ok(),
    }
}

/// One sale or adjustment, on its day, for one product (None: shipping, or no product).
#[derive(Debug, Default, Clone)]
struct Figures {
    orders: BTreeSet<i64>,
    gross: Decimal,
    discounts: Decimal,
    returns: Decimal,
    shipping: Decimal,
    taxes: Decimal,
    duties: Decimal,
    fees: Decimal,
}

impl Figures {
    fn value(&self, metric: Metric) -> Decimal {
        let net = self.gross - self.discounts - self.returns;
        match metric {
            Metric::Orders => Decimal::from(self.orders.len()),
            Metric::GrossSales => self.gross,
            Metric::Discounts => self.discounts,
            Metric::Returns => self.returns,
            Metric::NetSales => net,
            Metric::ShippingCharges => self.shipping,
            Metric::Taxes => self.taxes,
            Metric::Duties => self.duties,
            Metric::AdditionalFees => self.fees,
            Metric::TotalSales => net + self.shipping + self.taxes + self.duties + self.fees,
        }
    }
}

type Events = BTreeMap<(NaiveDate, Option<i64>), Figures>;

/// The sales events of one order, by Shopify's definitions.
fn order_events(shop: &Shop, order: &Order, events: &mut Events) {
    let local = |at: &crate::model::Timestamp| at.with_timezone(&shop.timezone).date_naive();
    let placed = local(&order.processed_at);
    let shipping: Decimal = order
        .shipping_lines
        .iter()
        .map(|l| l.discounted_price)
        .sum();
    let fees = order
        .original_total_additional_fees_set
        .as_ref()
        .map_or(Decimal::ZERO, |f| f.shop_money.amount);
    let sale = events.entry((placed, None)).or_default();
    sale.orders.insert(order.id);
    sale.shipping += shipping;
    sale.fees += fees;
    for line in order.line_items.iter().filter(|l| !l.gift_card) {
        let figures = events.entry((placed, line.product_id)).or_default();
        figures.orders.insert(order.id);
        figures.gross += line.price * Decimal::from(line.quantity);
        figures.discounts += line.discount();
        figures.taxes += line.tax_lines.iter().map(|t| t.price).sum::<Decimal>();
        figures.duties += line.duty();
    }
    let product_of = |line_id: i64| {
        order
            .line_items
            .iter()
            .find(|l| l.id == line_id)
            .map(|l| (l.product_id, l.gift_card))
    };
    for refund in &order.refunds {
        let day = local(&refund.created_at);
        for line in &refund.refund_line_items {
            let Some((product, false)) = product_of(line.line_item_id) else {
                continue;
            };
            let figures = events.entry((day, product)).or_default();
            figures.returns += line.subtotal;
            figures.taxes -= line.total_tax;
        }
        for duty in &refund.duties {
            let product = order
                .line_items
                .iter()
                .find(|l| l.duties.iter().any(|d| d.id == duty.duty_id))
                .and_then(|l| l.product_id);
            events.entry((day, product)).or_default().duties -= duty.amount_set.shop_money.amount;
        }
        let figures = events.entry((day, None)).or_default();
        figures.shipping -= refund.shipping();
        figures.taxes -= refund.shipping_tax();
    }
    let Some(cancelled) = &order.cancelled_at else {
        return;
    };
    let day = local(cancelled);
    let refunded_lines = || order.refunds.iter().flat_map(|r| &r.refund_line_items);
    for line in order.line_items.iter().filter(|l| !l.gift_card) {
        let (goods, tax) = refunded_lines()
            .filter(|r| r.line_item_id == line.id)
            .fold((Decimal::ZERO, Decimal::ZERO), |(g, t), r| {
                (g + r.subtotal, t + r.total_tax)
            });
        let line_net = line.price * Decimal::from(line.quantity) - line.discount();
        let line_tax: Decimal = line.tax_lines.iter().map(|t| t.price).sum();
        let figures = events.entry((day, line.product_id)).or_default();
        figures.returns += (line_net - goods).max(Decimal::ZERO);
        figures.taxes -= (line_tax - tax).max(Decimal::ZERO);
        let duties_back: Decimal = order
            .refunds
            .iter()
            .flat_map(|r| &r.duties)
            .filter(|d| line.duties.iter().any(|x| x.id == d.duty_id))
            .map(|d| d.amount_set.shop_money.amount)
            .sum();
        figures.duties -= (line.duty() - duties_back).max(Decimal::ZERO);
    }
    let shipping_back: Decimal = order.refunds.iter().map(|r| r.shipping()).sum();
    let figures = events.entry((day, None)).or_default();
    figures.shipping -= (shipping - shipping_back).max(Decimal::ZERO);
    figures.fees -= fees;
}

/// Answers a parsed query from the shop's records: columns and rows as `tableData` holds
/// them (rows are objects keyed by column name; money as strings in the shop's precision).
pub fn run(shop: &Shop, query: &SalesQuery) -> (Vec<Column>, Vec<Value>) {
    let mut events = Events::new();
    for order in shop.orders.values().filter(|o| !o.test) {
        order_events(shop, order, &mut events);
    }
    // (bucket, product) → figures, within the range.
    let mut buckets: BTreeMap<(Option<NaiveDate>, Option<Option<i64>>), Figures> = BTreeMap::new();
    if let Some(grain) = query.grain {
        let mut start = grain.start(query.since);
        while start <= query.until {
            if !query.by_product {
                buckets.insert((Some(start), None), Figures::default());
            }
            start = grain.next(start);
        }
    } else if !query.by_product {
        buckets.insert((None, None), Figures::default());
    }
    for ((day, product), figures) in events.range((query.since, None)..) {
        if *day > query.until {
            break;
        }
        let bucket = query.grain.map(|g| g.start(*day));
        let key = (bucket, query.by_product.then_some(*product));
        let into = buckets.entry(key).or_default();
        into.orders.extend(&figures.orders);
        into.gross += figures.gross;
        into.discounts += figures.discounts;
        into.returns += figures.returns;
        into.shipping += figures.shipping;
        into.taxes += figures.taxes;
        into.duties += figures.duties;
        into.fees += figures.fees;
    }
    let mut columns = Vec::new();
    if let Some(grain) = query.grain {
        columns.push(Column {
            name: grain.name(),
            display_name: match grain {
                Grain::Day => "Day",
                Grain::Week => "Week",
                Grain::Month => "Month",
            },
            data_type: match grain {
                Grain::Day => "DAY_TIMESTAMP",
                Grain::Week => "WEEK_TIMESTAMP",
                Grain::Month => "MONTH_TIMESTAMP",
            },
        });
    }
    if query.by_product {
        columns.push(Column {
            name: "product_id",
            display_name: "Product ID",
            data_type: "IDENTITY",
        });
    }
    for metric in &query.metrics {
        columns.push(Column {
            name: metric.name(),
            display_name: metric.display_name(),
            data_type: if metric.is_money() {
                "MONEY"
            } else {
                "INTEGER"
            },
        });
    }
    let rows = buckets
        .into_iter()
        .map(|((bucket, product), figures)| {
            let mut row = Map::new();
            if let (Some(grain), Some(start)) = (query.grain, bucket) {
                row.insert(grain.name().to_owned(), json!(start.to_string()));
            }
            if let Some(product) = product {
                row.insert(
                    "product_id".to_owned(),
                    json!(product.map(|p| p.to_string())),
                );
            }
            for metric in &query.metrics {
                let value = figures.value(*metric);
                let cell = if metric.is_money() {
                    json!(format!(
                        "{:.*}",
                        shop.digits as usize,
                        value.round_dp(shop.digits)
                    ))
                } else {
                    json!(figures.orders.len())
                };
                row.insert(metric.name().to_owned(), cell);
            }
            Value::Object(row)
        })
        .collect();
    (columns, rows)
}

/// A column of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub display_name: &'static str,
    pub data_type: &'static str,
}

#[cfg(test)]
mod tests;
