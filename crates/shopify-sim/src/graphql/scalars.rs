//! Shopify's scalars: DateTime, UnsignedInt64, URL.

use super::*;

/// Shopify's `DateTime`: ISO 8601 in UTC.
pub struct DateTime(pub model::Timestamp);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(&s)
                .map(DateTime)
                .map_err(|_| InputValueError::custom("invalid DateTime")),
            other => Err(InputValueError::expected_type(other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(
            self.0
                .with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        )
    }
}

macro_rules! decimal_scalar {
    ($rust:ident, $name:literal) => {
        /// A decimal amount sent as a string, as Shopify does.
        pub struct $rust(pub rust_decimal::Decimal);

        #[Scalar(name = $name)]
        impl ScalarType for $rust {
            fn parse(value: Value) -> InputValueResult<Self> {
                match value {
                    Value::String(s) => s
                        .parse()
                        .map($rust)
                        .map_err(|_| InputValueError::custom("invalid decimal")),
                    other => Err(InputValueError::expected_type(other)),
                }
            }
            fn to_value(&self) -> Value {
                Value::String(self.0.to_string())
            }
        }
    };
}
decimal_scalar!(Decimal, "Decimal");
decimal_scalar!(Money, "Money");

/// Shopify's `UnsignedInt64`, sent as a string (it exceeds JavaScript's safe integers).
pub struct UnsignedInt64(pub u64);

#[Scalar(name = "UnsignedInt64")]
impl ScalarType for UnsignedInt64 {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => s
                .parse()
                .map(UnsignedInt64)
                .map_err(|_| InputValueError::custom("invalid UnsignedInt64")),
            other => Err(InputValueError::expected_type(other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// Shopify's `URL` scalar.
#[derive(Clone)]
pub struct Url(pub String);

#[Scalar(name = "URL")]
impl ScalarType for Url {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) if url::Url::parse(&s).is_ok() => Ok(Url(s)),
            Value::String(_) => Err(InputValueError::custom("invalid URL")),
            other => Err(InputValueError::expected_type(other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

pub(crate) fn legacy(id: i64) -> UnsignedInt64 {
    UnsignedInt64(id.unsigned_abs())
}
