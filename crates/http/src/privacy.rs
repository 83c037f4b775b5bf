//! Viewers see figures and lists without customers' personal data: names, emails, phones and
//! addresses in every JSON answer are masked on the way out, whatever the route, so a new
//! route cannot forget it. A viewer's own account and their colleagues (`/api/auth/…`,
//! `/api/members`) are not customers' data.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use xeno_domain::account::Role;

use crate::auth::RoleSlot;

/// Fields that hold personal data wherever they appear.
const PERSONAL: &[&str] = &[
    "email",
    "phone",
    "first_name",
    "last_name",
    "customer_name",
    "default_address",
    "billing_address",
    "shipping_address",
    "address1",
    "address2",
    "zip",
];

/// The largest answer masked in memory; a bigger one is refused rather than shown unmasked.
const MAX_MASKED_BYTES: usize = 32 * 1024 * 1024;

pub async fn mask_for_viewers(mut request: Request, next: Next) -> Response {
    let slot = RoleSlot::default();
    request.extensions_mut().insert(slot.clone());
    // Customers' data is masked, not the team's: a viewer's own account and colleagues.
    let path = request.uri().path();
    let own_account = ["/api/auth/", "/api/members", "/api/audit"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    let response = next.run(request).await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if slot.role() != Some(Role::Viewer) || own_account || !json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_MASKED_BYTES).await else {
        return crate::error::ApiError::Internal(anyhow::anyhow!("an answer too large to mask"))
            .into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    mask(&mut value);
    let masked = serde_json::to_vec(&value).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(masked))
}

/// Masks personal data in place: a person's `name` too, where the object is a customer's.
pub fn mask(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(mask),
        Value::Object(object) => {
            let a_customer = object.contains_key("customer_id") || object.contains_key("email");
            for (key, field) in object.iter_mut() {
                if PERSONAL.contains(&key.as_str()) || (a_customer && key == "name") {
                    *field = masked(field);
                } else {
                    mask(field);
                }
            }
        }
        _ => {}
    }
}

/// `Ada` → `A•••`; objects (addresses) and numbers go entirely; nothing stays nothing.
fn masked(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::String(text) => match text.chars().next() {
            Some(first) => Value::String(format!("{first}•••")),
            None => Value::String(String::new()),
        },
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::mask;

    #[test]
    fn personal_data_is_masked_and_figures_are_not() {
        let mut answer = json!({
            "top_customers": [{ "customer_id": "7", "name": "Ada Lovelace", "email": "ada@example.com",
                "spent": "120.00", "default_address": { "address1": "1 Main St" } }],
            "stores": [{ "name": "Ada's Shop", "id": "s" }],
        });
        mask(&mut answer);
        assert_eq!(
            answer,
            json!({
                "top_customers": [{ "customer_id": "7", "name": "A•••", "email": "a•••",
                    "spent": "120.00", "default_address": null }],
                "stores": [{ "name": "Ada's Shop", "id": "s" }],
            })
        );
    }
}
