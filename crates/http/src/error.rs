//! The API's one error type, rendered once as RFC 9457 `application/problem+json`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use xeno_domain::validation::FieldError;
use xeno_storage::StorageError;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; `code` is its short, stable form.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    /// Stable machine-readable code (`invalid_fields`, `unauthenticated`, …).
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For `invalid_fields`: every invalid field and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<FieldErrorSchema>>)]
    pub errors: Option<Vec<FieldError>>,
    /// Extra facts about the problem (for example which dependency is down).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}

/// One invalid field.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FieldErrorSchema {
    field: String,
    message: String,
}

/// Everything a handler can answer besides success.
#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthenticated(&'static str),
    Forbidden(String),
    NotFound(String),
    MethodNotAllowed,
    Conflict(String),
    /// What the request names existed once and is gone for good (an expired link).
    Gone(&'static str),
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    InvalidFields(Vec<FieldError>),
    RateLimited {
        retry_after_secs: u64,
    },
    Unavailable {
        detail: String,
        context: Option<serde_json::Value>,
    },
    /// Shed by admission control: more requests than the service runs at once.
    Overloaded(&'static str),
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidFields(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::BadRequest(_) => (S::BAD_REQUEST, "bad_request", "Malformed request"),
            Self::Unauthenticated(_) => (S::UNAUTHORIZED, "unauthenticated", "Not signed in"),
            Self::Forbidden(_) => (S::FORBIDDEN, "forbidden", "Not allowed"),
            Self::NotFound(_) => (S::NOT_FOUND, "not_found", "Not found"),
            Self::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            Self::Conflict(_) => (S::CONFLICT, "conflict", "Conflict"),
            Self::Gone(_) => (S::GONE, "gone", "Gone"),
            Self::PayloadTooLarge(_) => {
                (S::PAYLOAD_TOO_LARGE, "payload_too_large", "Body too large")
            }
            Self::UnsupportedMediaType(_) => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            Self::InvalidFields(_) => (S::UNPROCESSABLE_ENTITY, "invalid_fields", "Invalid fields"),
            Self::RateLimited { .. } => (S::TOO_MANY_REQUESTS, "rate_limited", "Too many requests"),
            Self::Unavailable { .. } => (
                S::SERVICE_UNAVAILABLE,
                "unavailable",
                "A dependency is unavailable",
            ),
            Self::Overloaded(_) => (S::SERVICE_UNAVAILABLE, "overloaded", "Too busy"),
            Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }

    fn into_problem(self) -> Problem {
        let (status, code, title) = self.kind();
        let mut problem = Problem {
            type_uri: format!("urn:xeno:problem:{code}"),
            title,
            status: status.as_u16(),
            code,
            detail: None,
            errors: None,
            context: None,
        };
        match self {
            Self::BadRequest(d)
            | Self::Forbidden(d)
            | Self::NotFound(d)
            | Self::Conflict(d)
            | Self::PayloadTooLarge(d)
            | Self::UnsupportedMediaType(d) => problem.detail = Some(d),
            Self::Unauthenticated(d) | Self::Overloaded(d) | Self::Gone(d) => {
                problem.detail = Some(d.to_owned())
            }
            Self::InvalidFields(errors) => {
                problem.detail = Some("one or more fields are invalid".to_owned());
                problem.errors = Some(errors);
            }
            Self::RateLimited { retry_after_secs } => {
                problem.detail = Some(format!("retry after {retry_after_secs} s"));
            }
            Self::Unavailable { detail, context } => {
                problem.detail = Some(detail);
                problem.context = context;
            }
            Self::Internal(err) => {
                // Logged here, inside the request's span, and never shown to the client.
                tracing::error!(error = format!("{err:#}"), "internal error");
            }
            Self::MethodNotAllowed => {}
        }
        problem
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::Unavailable { .. } => Some(5),
            Self::Overloaded(_) => Some(1),
            _ => None,
        };
        let unauthenticated = matches!(self, Self::Unauthenticated(_));
        problem_response(self.into_problem(), retry_after, unauthenticated)
    }
}

fn problem_response(problem: Problem, retry_after: Option<u64>, bearer: bool) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if bearer {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                Self::Unavailable {
                    detail: "the database is unavailable; try again shortly".to_owned(),
                    context: None,
                }
            }
            StorageError::Interrupted(reason) => {
                tracing::warn!(%reason, "storage interrupted");
                Self::Unavailable {
                    detail: format!("{reason}; try again shortly"),
                    context: None,
                }
            }
            StorageError::Conflict(what) => Self::Conflict(format!("{what} already exists")),
            StorageError::Database(source) => Self::Internal(source.into()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}
