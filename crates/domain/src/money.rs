//! Money rules that do not depend on where amounts are stored.

use rust_decimal::{Decimal, RoundingStrategy};

/// Digits after the decimal point in an ISO 4217 currency's minor unit.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// `amount / count` rounded to the currency's minor unit (half away from zero); zero when
/// there is nothing to divide by.
pub fn average(amount: Decimal, count: i64, currency: &str) -> Decimal {
    if count == 0 {
        return Decimal::ZERO;
    }
    (amount / Decimal::from(count)).round_dp_with_strategy(
        minor_digits(currency),
        RoundingStrategy::MidpointAwayFromZero,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_round_to_the_minor_unit() {
        assert_eq!(
            average(Decimal::new(1000, 2), 3, "USD"),
            Decimal::new(333, 2)
        );
        assert_eq!(
            average(Decimal::new(1000, 0), 3, "JPY"),
            Decimal::new(333, 0)
        );
        assert_eq!(average(Decimal::new(5, 3), 1, "KWD"), Decimal::new(5, 3));
        assert_eq!(average(Decimal::new(1, 2), 2, "EUR"), Decimal::new(1, 2));
        assert_eq!(average(Decimal::ONE, 0, "EUR"), Decimal::ZERO);
    }
}
