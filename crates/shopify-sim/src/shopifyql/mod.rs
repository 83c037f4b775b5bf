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
//! - shipping charges = shipping charged − shipping refunded (a cancellation takes back the
//!   rest); taxes = taxes charged − taxes refunded (likewise);
//! - net sales = gross − discounts − returns; total sales = net + shipping + taxes;
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
    TotalSales,
}

impl Metric {
    const ALL: [Metric; 8] = [
        Metric::Orders,
        Metric::GrossSales,
        Metric::Discounts,
        Metric::Returns,
        Metric::NetSales,
        Metric::ShippingCharges,
        Metric::Taxes,
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
            Metric::TotalSales => net + self.shipping + self.taxes,
        }
    }
}

type Events = BTreeMap<(NaiveDate, Option<i64>), Figures>;

/// The sales events of one order, by Shopify's definitions.
fn order_events(shop: &Shop, order: &Order, events: &mut Events) {
    let local = |at: &crate::model::Timestamp| at.with_timezone(&shop.timezone).date_naive();
    let placed = local(&order.processed_at);
    let shipping: Decimal = order.shipping_lines.iter().map(|l| l.price).sum();
    let sale = events.entry((placed, None)).or_default();
    sale.orders.insert(order.id);
    sale.shipping += shipping;
    for line in order.line_items.iter().filter(|l| !l.gift_card) {
        let figures = events.entry((placed, line.product_id)).or_default();
        figures.orders.insert(order.id);
        figures.gross += line.price * Decimal::from(line.quantity);
        figures.discounts += line.discount();
        figures.taxes += line.tax_lines.iter().map(|t| t.price).sum::<Decimal>();
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
    }
    let shipping_back: Decimal = order.refunds.iter().map(|r| r.shipping()).sum();
    let figures = events.entry((day, None)).or_default();
    figures.shipping -= (shipping - shipping_back).max(Decimal::ZERO);
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
mod tests {
    use super::*;
    use crate::model::*;
    use crate::shop::ShopSpec;

    fn money(text: &str) -> Decimal {
        text.parse().unwrap_or_default()
    }

    fn at(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text).unwrap_or_default()
    }

    fn line(id: i64, price: &str, quantity: i32, discount: &str, tax: &str) -> LineItem {
        let allocations = if money(discount).is_zero() {
            Vec::new()
        } else {
            vec![DiscountAllocation {
                amount: money(discount),
                amount_set: MoneySet::new(money(discount), "USD"),
                discount_application_index: 0,
            }]
        };
        LineItem {
            id,
            admin_graphql_api_id: gid("LineItem", id),
            product_id: Some(id * 10),
            variant_id: None,
            title: format!("Item {id}"),
            variant_title: None,
            sku: None,
            vendor: None,
            quantity,
            current_quantity: quantity,
            price: money(price),
            price_set: MoneySet::new(money(price), "USD"),
            total_discount: Decimal::ZERO,
            discount_allocations: allocations,
            gift_card: false,
            taxable: true,
            tax_lines: vec![TaxLine {
                title: "Tax".to_owned(),
                price: money(tax),
                rate: Decimal::ZERO,
            }],
        }
    }

    fn refund(id: i64, on: &str, lines: Vec<RefundLineItem>, shipping: &str) -> Refund {
        Refund {
            id,
            admin_graphql_api_id: gid("Refund", id),
            order_id: 0,
            note: None,
            created_at: at(on),
            processed_at: at(on),
            refund_line_items: lines,
            refund_shipping_lines: if money(shipping).is_zero() {
                Vec::new()
            } else {
                vec![RefundShippingLine {
                    id,
                    shipping_line_id: 0,
                    subtotal_amount_set: MoneySet::new(money(shipping), "USD"),
                    tax_amount_set: MoneySet::new(Decimal::ZERO, "USD"),
                }]
            },
            transactions: Vec::new(),
            order_adjustments: Vec::new(),
        }
    }

    /// The cases Xeno's parity test sends as webhooks, built here in the simulator's own
    /// model: a code discount, a gift card, a shipping-only refund, a line refund, and an
    /// order cancelled without a refund.
    fn fixture_shop() -> Shop {
        let spec: ShopSpec = serde_json::from_value(json!({
            "domain": "fixture.myshopify.com", "orders": 1, "customers": 0, "products": 1,
            "timezone": "America/New_York", "history_end": "2026-10-01T00:00:00Z"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut shop = Shop::generate(&spec).unwrap_or_else(|e| panic!("{e}"));
        let template = shop
            .orders
            .values()
            .next()
            .cloned()
            .unwrap_or_else(|| panic!("an order"));
        shop.orders.clear();
        let order = |id: i64, placed: &str, lines: Vec<LineItem>, shipping: &str| {
            let mut order = template.clone();
            order.id = id;
            order.test = false;
            order.processed_at = at(placed);
            order.cancelled_at = None;
            order.line_items = lines;
            order.refunds = Vec::new();
            order.shipping_lines = vec![ShippingLine {
                id: id + 7,
                title: "Standard".to_owned(),
                price: money(shipping),
                code: "STD".to_owned(),
            }];
            order
        };
        let mut gift = line(12, "25.00", 1, "0", "0");
        gift.gift_card = true;
        gift.tax_lines.clear();
        let a = order(
            1,
            "2026-11-03T10:00:00-05:00",
            vec![line(11, "50.00", 2, "10.00", "7.20"), gift],
            "10.00",
        );
        let mut b = order(
            2,
            "2026-11-04T12:00:00-05:00",
            vec![line(21, "80.00", 1, "0", "6.40")],
            "5.00",
        );
        b.refunds = vec![
            refund(31, "2026-11-06T09:00:00-05:00", Vec::new(), "5.00"),
            refund(
                32,
                "2026-11-07T09:00:00-05:00",
                vec![RefundLineItem {
                    id: 1,
                    line_item_id: 21,
                    quantity: 1,
                    subtotal: money("80.00"),
                    total_tax: money("6.40"),
                }],
                "0",
            ),
        ];
        let mut c = order(
            3,
            "2026-11-05T15:00:00-05:00",
            vec![line(41, "40.00", 1, "4.00", "2.88")],
            "0",
        );
        c.cancelled_at = Some(at("2026-11-08T11:00:00-05:00"));
        let mut test = order(
            4,
            "2026-11-05T15:00:00-05:00",
            vec![line(51, "999.00", 1, "0", "0")],
            "0",
        );
        test.test = true;
        for o in [a, b, c, test] {
            shop.orders.insert(o.id, o);
        }
        shop
    }

    #[test]
    fn daily_sales_equal_a_hand_computation() {
        let shop = fixture_shop();
        let query = parse(
            "FROM sales SHOW orders, gross_sales, discounts, returns, net_sales, shipping_charges, taxes, total_sales TIMESERIES day SINCE 2026-11-03 UNTIL 2026-11-09",
            day("2026-11-29"),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let (columns, rows) = run(&shop, &query);
        assert_eq!(columns[0].name, "day");
        assert_eq!(columns[1].data_type, "INTEGER");
        assert_eq!(columns[2].data_type, "MONEY");
        let expected = [
            // orders, gross, discounts, returns, net, shipping, taxes, total
            (
                "2026-11-03",
                1,
                [
                    "100.00", "10.00", "0.00", "90.00", "10.00", "7.20", "107.20",
                ],
            ),
            (
                "2026-11-04",
                1,
                ["80.00", "0.00", "0.00", "80.00", "5.00", "6.40", "91.40"],
            ),
            (
                "2026-11-05",
                1,
                ["40.00", "4.00", "0.00", "36.00", "0.00", "2.88", "38.88"],
            ),
            (
                "2026-11-06",
                0,
                ["0.00", "0.00", "0.00", "0.00", "-5.00", "0.00", "-5.00"],
            ),
            (
                "2026-11-07",
                0,
                ["0.00", "0.00", "80.00", "-80.00", "0.00", "-6.40", "-86.40"],
            ),
            (
                "2026-11-08",
                0,
                ["0.00", "0.00", "36.00", "-36.00", "0.00", "-2.88", "-38.88"],
            ),
            (
                "2026-11-09",
                0,
                ["0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"],
            ),
        ];
        assert_eq!(rows.len(), expected.len());
        let names = [
            "gross_sales",
            "discounts",
            "returns",
            "net_sales",
            "shipping_charges",
            "taxes",
            "total_sales",
        ];
        for (row, (date, orders, money)) in rows.iter().zip(expected) {
            assert_eq!(row["day"], date);
            assert_eq!(row["orders"], orders, "{date}");
            for (name, value) in names.iter().zip(money) {
                assert_eq!(row[*name], value, "{date} {name}");
            }
        }
        let totals = parse(
            "FROM sales SHOW total_sales SINCE 2026-11-01 UNTIL 2026-11-30",
            day("2026-11-29"),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            run(&shop, &totals).1,
            vec![json!({ "total_sales": "107.20" })]
        );
    }

    #[test]
    fn by_product_sales_are_net_of_allocated_discounts() {
        let shop = fixture_shop();
        let query = parse(
            "FROM sales SHOW net_sales GROUP BY product_id SINCE 2026-11-03 UNTIL 2026-11-03",
            day("2026-11-29"),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let (_, rows) = run(&shop, &query);
        // The shipping row has no product; the mugs are 100.00 − 10.00.
        assert_eq!(
            rows,
            vec![
                json!({ "product_id": null, "net_sales": "0.00" }),
                json!({ "product_id": "110", "net_sales": "90.00" }),
            ]
        );
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn parses_the_queries_xeno_sends() {
        let query = parse(
            "FROM sales SHOW orders, gross_sales, net_sales TIMESERIES day SINCE 2026-10-01 UNTIL 2026-10-31",
            day("2026-11-29"),
        );
        assert_eq!(
            query,
            Ok(SalesQuery {
                metrics: vec![Metric::Orders, Metric::GrossSales, Metric::NetSales],
                grain: Some(Grain::Day),
                by_product: false,
                since: day("2026-10-01"),
                until: day("2026-10-31"),
            })
        );
        let relative = parse(
            "from SALES show total_sales since -7d until yesterday",
            day("2026-11-29"),
        );
        assert_eq!(
            relative.map(|q| (q.since, q.until)),
            Ok((day("2026-11-22"), day("2026-11-28")))
        );
    }

    #[test]
    fn mistakes_are_parse_errors() {
        let today = day("2026-11-29");
        assert!(parse("FROM orders SHOW total_sales", today).is_err());
        assert_eq!(
            parse("FROM sales SHOW total_sales, profit", today),
            Err(vec![
                "Column `profit` does not exist in table `sales`".to_owned()
            ])
        );
        assert!(parse(
            "FROM sales SHOW total_sales SINCE 2026-11-02 UNTIL 2026-11-01",
            today
        )
        .is_err());
        assert!(parse("FROM sales SHOW total_sales TIMESERIES hour", today).is_err());
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-11-29 is a Sunday.
        assert_eq!(Grain::Week.start(day("2026-11-29")), day("2026-11-23"));
        assert_eq!(Grain::Month.start(day("2026-11-29")), day("2026-11-01"));
        assert_eq!(Grain::Month.next(day("2026-12-01")), day("2027-01-01"));
    }
}
