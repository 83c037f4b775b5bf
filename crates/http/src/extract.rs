//! Extractors that turn bad input into the API's own problem documents.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::ApiError;

/// A JSON body. Not JSON at all is 400; JSON of the wrong shape is 422 naming the field.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as application/json".to_owned(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(rejection.body_text())
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON, telling a syntax error (400) from a shape error (422 on the field's path).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::invalid(&field, strip_position(&inner.to_string()))
        } else {
            ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
        }
    })?;
    // Trailing bytes after the value make the body malformed, not just oddly shaped.
    de.end()
        .map_err(|err| ApiError::BadRequest(format!("the body is not valid JSON: {err}")))?;
    Ok(parsed)
}

/// The days a query may name: Shopify's era, with room; outside it date arithmetic would
/// overflow (chrono's dates reach year -262143).
const FIRST_DAY: (i32, u32, u32) = (1970, 1, 1);
const LAST_DAY: (i32, u32, u32) = (2999, 12, 31);

/// Reads an optional `YYYY-MM-DD` query value within [`FIRST_DAY`]..=[`LAST_DAY`].
pub fn bounded_day<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<chrono::NaiveDate>, D::Error> {
    let Some(day) = Option::<chrono::NaiveDate>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let bound = |(y, m, d): (i32, u32, u32)| chrono::NaiveDate::from_ymd_opt(y, m, d);
    match (bound(FIRST_DAY), bound(LAST_DAY)) {
        (Some(first), Some(last)) if (first..=last).contains(&day) => Ok(Some(day)),
        _ => Err(serde::de::Error::custom(format!(
            "{day} is outside the days Xeno can report on (1970-01-01 to 2999-12-31)"
        ))),
    }
}

/// Query parameters. A missing or malformed one is 400 naming the parameter; so is a value
/// holding a NUL character (PostgreSQL's text cannot).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if let Some((name, _)) = url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(ApiError::BadRequest(format!(
                "query parameter `{}` holds a NUL character",
                name.replace('\0', "")
            )));
        }
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = strip_position(&err.into_inner().to_string());
                if path == "." {
                    ApiError::BadRequest(format!("query: {message}"))
                } else {
                    ApiError::BadRequest(format!("query parameter `{path}`: {message}"))
                }
            })
    }
}

/// Path parameters. A malformed one (a store id that is no UUID) is 400 naming it.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// serde's messages end in " at line 1 column 42", which means nothing to a field error.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct In {
        email: String,
        n: u32,
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_422_with_field() {
        assert!(matches!(
            parse_json::<In>(b"{nope"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<In>(br#"{"email": "a", "n": 1} trailing"#),
            Err(ApiError::BadRequest(_))
        ));
        match parse_json::<In>(br#"{"email": "a", "n": "x"}"#) {
            Err(ApiError::InvalidFields(errors)) => assert_eq!(errors[0].field, "n"),
            other => panic!("unexpected {other:?}"),
        }
        match parse_json::<In>(br#"{"n": 1}"#) {
            Err(ApiError::InvalidFields(errors)) => {
                assert_eq!(errors[0].field, "body");
                assert!(errors[0].message.contains("email"), "{}", errors[0].message);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
