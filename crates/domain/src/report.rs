//! The arithmetic every report shares: which bucket a day falls in, changes against an
//! earlier period, rates, and month numbers for cohorts.

use chrono::{Datelike, Duration, Months, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// How a series groups its days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Day,
    /// ISO weeks, from Monday.
    Week,
    Month,
}

/// The first day of the bucket `day` falls in, never before the range's first day.
pub fn bucket_start(day: NaiveDate, from: NaiveDate, bucket: Bucket) -> NaiveDate {
    let start = match bucket {
        Bucket::Day => day,
        Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Bucket::Month => day.with_day(1).unwrap_or(day),
    };
    start.max(from)
}

/// (now − before) / |before|, to four places; None when before is zero (no honest change).
pub fn relative_change(now: Decimal, before: Decimal) -> Option<f64> {
    if before.is_zero() {
        return None;
    }
    ((now - before) / before.abs()).round_dp(4).to_f64()
}

/// part / whole to four places; None when whole is zero.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round4(part as f64 / whole as f64))
}

pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// What a range is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// The equally long period just before.
    PreviousPeriod,
    /// The same calendar days a year earlier (29 February becomes the 28th).
    PreviousYear,
}

/// The first and last day of the period `from..=to` is compared with.
pub fn compared_period(from: NaiveDate, to: NaiveDate, with: Comparison) -> (NaiveDate, NaiveDate) {
    match with {
        Comparison::PreviousPeriod => {
            let days = (to - from).num_days() + 1;
            (from - Duration::days(days), from - Duration::days(1))
        }
        Comparison::PreviousYear => {
            let year_before =
                |day: NaiveDate| day.checked_sub_months(Months::new(12)).unwrap_or(day);
            (year_before(from), year_before(to))
        }
    }
}

/// Months counted from year 0, so that two months' difference is a subtraction.
pub fn month_index(day: NaiveDate) -> i32 {
    day.year() * 12 + day.month0() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn ranges_compare_with_the_period_before_or_the_year_before() {
        let (from, to) = (date("2026-03-01"), date("2026-03-31"));
        assert_eq!(
            compared_period(from, to, Comparison::PreviousPeriod),
            (date("2026-01-29"), date("2026-02-28"))
        );
        assert_eq!(
            compared_period(from, to, Comparison::PreviousYear),
            (date("2025-03-01"), date("2025-03-31"))
        );
        // A leap day compares with the 28th of a year without one.
        assert_eq!(
            compared_period(
                date("2028-02-01"),
                date("2028-02-29"),
                Comparison::PreviousYear
            ),
            (date("2027-02-01"), date("2027-02-28"))
        );
    }

    #[test]
    fn buckets_start_on_mondays_and_firsts_but_never_before_the_range() {
        let from = date("2026-03-04");
        assert_eq!(
            bucket_start(date("2026-03-12"), from, Bucket::Week),
            date("2026-03-09")
        );
        assert_eq!(bucket_start(date("2026-03-05"), from, Bucket::Week), from);
        assert_eq!(
            bucket_start(date("2026-04-30"), from, Bucket::Month),
            date("2026-04-01")
        );
        assert_eq!(bucket_start(date("2026-03-30"), from, Bucket::Month), from);
        assert_eq!(
            bucket_start(date("2026-03-30"), from, Bucket::Day),
            date("2026-03-30")
        );
    }

    #[test]
    fn changes_are_relative_and_absent_against_zero() {
        assert_eq!(
            relative_change(Decimal::from(150), Decimal::from(100)),
            Some(0.5)
        );
        assert_eq!(
            relative_change(Decimal::from(50), Decimal::from(100)),
            Some(-0.5)
        );
        assert_eq!(relative_change(Decimal::from(5), Decimal::ZERO), None);
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(1, 0), None);
    }

    #[test]
    fn month_indexes_subtract_across_years() {
        assert_eq!(
            month_index(date("2027-01-15")) - month_index(date("2026-11-30")),
            2
        );
    }
}
