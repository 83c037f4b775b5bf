//! Currencies, MoneyV2 and MoneyBag.

use super::*;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CurrencyCode")]
#[allow(clippy::upper_case_acronyms)]
pub enum CurrencyCode {
    USD,
    EUR,
    GBP,
    CAD,
    AUD,
    INR,
    CHF,
    SEK,
    NZD,
    MXN,
    BRL,
    SGD,
    DKK,
    NOK,
    PLN,
    ZAR,
    JPY,
    KRW,
    VND,
    CLP,
    ISK,
}

impl CurrencyCode {
    pub(crate) fn from_code(code: &str) -> Self {
        use CurrencyCode::*;
        match code {
            "EUR" => EUR,
            "GBP" => GBP,
            "CAD" => CAD,
            "AUD" => AUD,
            "INR" => INR,
            "CHF" => CHF,
            "SEK" => SEK,
            "NZD" => NZD,
            "MXN" => MXN,
            "BRL" => BRL,
            "SGD" => SGD,
            "DKK" => DKK,
            "NOK" => NOK,
            "PLN" => PLN,
            "ZAR" => ZAR,
            "JPY" => JPY,
            "KRW" => KRW,
            "VND" => VND,
            "CLP" => CLP,
            "ISK" => ISK,
            _ => USD,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "MoneyV2")]
pub struct MoneyV2 {
    pub(crate) amount: Decimal,
    pub(crate) currency_code: CurrencyCode,
}

#[derive(SimpleObject)]
#[graphql(name = "MoneyBag")]
pub struct MoneyBag {
    pub(crate) shop_money: MoneyV2,
    pub(crate) presentment_money: MoneyV2,
}

pub(crate) fn money_bag(amount: rust_decimal::Decimal, currency: &str) -> MoneyBag {
    let money = || MoneyV2 {
        amount: Decimal(amount),
        currency_code: CurrencyCode::from_code(currency),
    };
    MoneyBag {
        shop_money: money(),
        presentment_money: money(),
    }
}
