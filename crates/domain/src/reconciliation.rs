//! Reconciliation with Shopify Analytics: Xeno's daily sales beside Shopify's own (its
//! ShopifyQL `sales` schema), day by day and metric by metric. Pure comparison; fetching and
//! storing are the callers'.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::sales::DaySales;

/// The metrics compared, named as ShopifyQL's `sales` schema names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesMetric {
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

impl SalesMetric {
    pub const ALL: [SalesMetric; 10] = [
        SalesMetric::Orders,
        SalesMetric::GrossSales,
        SalesMetric::Discounts,
        SalesMetric::Returns,
        SalesMetric::NetSales,
        SalesMetric::ShippingCharges,
        SalesMetric::Taxes,
        SalesMetric::Duties,
        SalesMetric::AdditionalFees,
        SalesMetric::TotalSales,
    ];

    /// The column name in ShopifyQL.
    pub fn name(self) -> &'static str {
        match self {
            SalesMetric::Orders => "orders",
            SalesMetric::GrossSales => "gross_sales",
            SalesMetric::Discounts => "discounts",
            SalesMetric::Returns => "returns",
            SalesMetric::NetSales => "net_sales",
            SalesMetric::ShippingCharges => "shipping_charges",
            SalesMetric::Taxes => "taxes",
            SalesMetric::Duties => "duties",
            SalesMetric::AdditionalFees => "additional_fees",
            SalesMetric::TotalSales => "total_sales",
        }
    }
}

impl DaySales {
    /// The figure ShopifyQL reports as `metric`.
    pub fn value(&self, metric: SalesMetric) -> Decimal {
        match metric {
            SalesMetric::Orders => Decimal::from(self.orders),
            SalesMetric::GrossSales => self.gross,
            SalesMetric::Discounts => self.discounts,
            SalesMetric::Returns => self.returns,
            SalesMetric::NetSales => self.net(),
            SalesMetric::ShippingCharges => self.shipping,
            SalesMetric::Taxes => self.taxes,
            SalesMetric::Duties => self.duties,
            SalesMetric::AdditionalFees => self.additional_fees,
            SalesMetric::TotalSales => self.total(),
        }
    }
}

/// A day and metric where the two disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub day: NaiveDate,
    pub metric: SalesMetric,
    pub xeno: Decimal,
    pub shopify: Decimal,
}

/// How the days of a window compare.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub days_checked: i64,
    pub days_matched: i64,
    pub mismatches: Vec<Mismatch>,
}

/// Compares every day from `from` to `to`: a day missing on one side counts as zero there.
/// Money is compared at the currency's precision (`digits`), as both sides report it.
pub fn compare(
    from: NaiveDate,
    to: NaiveDate,
    digits: u32,
    xeno: &BTreeMap<NaiveDate, DaySales>,
    shopify: &BTreeMap<NaiveDate, DaySales>,
) -> Comparison {
    let mut comparison = Comparison::default();
    for day in from.iter_days().take_while(|d| *d <= to) {
        let ours = xeno.get(&day).copied().unwrap_or_default();
        let theirs = shopify.get(&day).copied().unwrap_or_default();
        let before = comparison.mismatches.len();
        for metric in SalesMetric::ALL {
            let (a, b) = (
                ours.value(metric).round_dp(digits),
                theirs.value(metric).round_dp(digits),
            );
            if a != b {
                comparison.mismatches.push(Mismatch {
                    day,
                    metric,
                    xeno: a,
                    shopify: b,
                });
            }
        }
        comparison.days_checked += 1;
        if comparison.mismatches.len() == before {
            comparison.days_matched += 1;
        }
    }
    comparison
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn names_each_differing_day_and_metric() {
        let sale = DaySales {
            orders: 2,
            gross: Decimal::new(10_000, 2),
            discounts: Decimal::new(1000, 2),
            returns: Decimal::ZERO,
            shipping: Decimal::new(500, 2),
            taxes: Decimal::new(720, 2),
            ..DaySales::default()
        };
        let xeno = BTreeMap::from([(day("2026-11-01"), sale), (day("2026-11-02"), sale)]);
        let mut theirs = sale;
        theirs.taxes = Decimal::new(800, 2);
        let shopify = BTreeMap::from([(day("2026-11-01"), sale), (day("2026-11-02"), theirs)]);
        let result = compare(day("2026-11-01"), day("2026-11-03"), 2, &xeno, &shopify);
        assert_eq!(result.days_checked, 3);
        assert_eq!(result.days_matched, 2);
        let differing: Vec<_> = result
            .mismatches
            .iter()
            .map(|m| (m.day, m.metric))
            .collect();
        assert_eq!(
            differing,
            [
                (day("2026-11-02"), SalesMetric::Taxes),
                (day("2026-11-02"), SalesMetric::TotalSales)
            ]
        );
        assert_eq!(result.mismatches[0].shopify, Decimal::new(800, 2));
    }
}
