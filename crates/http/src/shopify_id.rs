//! Shopify ids go out as strings: they exceed 2^53, past which JavaScript numbers (and so
//! most JSON clients) silently lose digits.

use serde::Serializer;

pub fn string<S: Serializer>(id: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(id)
}

pub fn optional<S: Serializer>(id: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => serializer.collect_str(id),
        None => serializer.serialize_none(),
    }
}
