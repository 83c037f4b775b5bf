//! Verifying Shopify's signatures, in constant time.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str) -> Option<HmacSha256> {
    HmacSha256::new_from_slice(secret.as_bytes()).ok()
}

/// Whether `header` (base64) is the HMAC-SHA256 of the raw `body` under any of `secrets`
/// (the current app secret and, during rotation, the previous one).
pub fn verify_webhook(secrets: &[&str], body: &[u8], header: &str) -> bool {
    let Ok(expected) = BASE64.decode(header.trim()) else {
        return false;
    };
    secrets.iter().any(|secret| {
        mac(secret).is_some_and(|mut mac| {
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        })
    })
}

/// Whether an OAuth redirect's `hmac` parameter signs its other parameters: every parameter
/// but `hmac` and `signature`, sorted by name, joined as `name=value` with `&`, hex digest.
pub fn verify_oauth_query(secret: &str, params: &[(String, String)]) -> bool {
    let Some(given) = params
        .iter()
        .find(|(name, _)| name == "hmac")
        .map(|(_, v)| v)
    else {
        return false;
    };
    let Ok(given) = hex::decode(given) else {
        return false;
    };
    let mut pairs: Vec<&(String, String)> = params
        .iter()
        .filter(|(name, _)| name != "hmac" && name != "signature")
        .collect();
    pairs.sort();
    let message = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    mac(secret).is_some_and(|mut mac| {
        mac.update(message.as_bytes());
        mac.verify_slice(&given).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn accepts_shopifys_published_oauth_example_and_nothing_else() {
        let query = "code=0907a61c0c8d55e99db179b68161bc00&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173";
        assert!(verify_oauth_query("hush", &pairs(query)));
        assert!(!verify_oauth_query("hush!", &pairs(query)));
        let tampered = query.replace("some-shop", "other-shop");
        assert!(!verify_oauth_query("hush", &pairs(&tampered)));
        let missing = query.replace("&hmac=700e", "&nohmac=700e");
        assert!(!verify_oauth_query("hush", &pairs(&missing)));
    }

    #[test]
    fn webhook_signatures_check_the_raw_bytes_and_accept_the_previous_secret() {
        // RFC 4231 test case 2.
        let header = BASE64.encode(
            hex::decode("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
                .unwrap(),
        );
        let body = b"what do ya want for nothing?";
        assert!(verify_webhook(&["Jefe"], body, &header));
        assert!(verify_webhook(&["new-secret", "Jefe"], body, &header));
        assert!(!verify_webhook(&["new-secret"], body, &header));
        assert!(!verify_webhook(
            &["Jefe"],
            b"what do ya want for nothing? ",
            &header
        ));
        assert!(!verify_webhook(&["Jefe"], body, "not base64!"));
    }
}
