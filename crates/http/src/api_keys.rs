//! API keys as credentials: `Authorization: Bearer xeno_<tenant>_<key>_<secret>`. The tenant
//! and key ids in the token find the key (row-level security needs the tenant first); the
//! secret is checked against its SHA-256 hash in constant time. A key seen live is trusted for
//! a few seconds without a query; one this process revokes stops at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use xeno_domain::account::Role;
use xeno_domain::ids::TenantId;

use crate::error::ApiError;

pub const TOKEN_PREFIX: &str = "xeno_";

/// A new key's token (shown once), its visible prefix and the hash kept.
pub struct Minted {
    pub token: String,
    pub prefix: String,
    pub hash: Vec<u8>,
}

pub fn mint(tenant: TenantId, key_id: Uuid) -> Minted {
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let key = key_id.simple().to_string();
    Minted {
        token: format!("{TOKEN_PREFIX}{}_{key}_{secret}", tenant.0.simple()),
        prefix: format!("{TOKEN_PREFIX}…{}", &key[key.len() - 8..]),
        hash: Sha256::digest(secret.as_bytes()).to_vec(),
    }
}

/// A token's tenant, key id and secret, when it is shaped like a key.
pub fn parse(token: &str) -> Option<(TenantId, Uuid, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let mut parts = rest.splitn(3, '_');
    let tenant = Uuid::try_parse(parts.next()?).ok()?;
    let key = Uuid::try_parse(parts.next()?).ok()?;
    let secret = parts.next().filter(|s| !s.is_empty())?;
    Some((TenantId(tenant), key, secret))
}

/// How long a key seen live is trusted without a query, and how often its use is recorded.
const LIVE_FOR: Duration = Duration::from_secs(5);
const TOUCH_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct Seen {
    hash: Vec<u8>,
    role: Role,
    stores: Option<Vec<Uuid>>,
    creator: Uuid,
    at: Instant,
    touched: Option<Instant>,
}

/// Keys recently checked live.
#[derive(Debug, Default)]
pub struct LiveKeys(Mutex<HashMap<Uuid, Seen>>);

/// A key that passed: its role (never above its creator's), and whether its use should be
/// recorded now.
pub struct Checked {
    pub role: Role,
    /// The stores the key is limited to, if it is.
    pub stores: Option<Vec<Uuid>>,
    /// The key's creator, whom it acts for.
    pub creator: Uuid,
    pub touch: bool,
}

impl LiveKeys {
    /// The key, if it is live and the secret is its own.
    pub async fn check(
        &self,
        db: &xeno_storage::Db,
        tenant: TenantId,
        key_id: Uuid,
        secret: &str,
    ) -> Result<Checked, ApiError> {
        const REFUSED: ApiError =
            ApiError::Unauthenticated("the API key is not valid (revoked, expired or mistyped)");
        let hash = Sha256::digest(secret.as_bytes());
        let fresh = self.0.lock().ok().and_then(|seen| {
            seen.get(&key_id)
                .filter(|s| s.at.elapsed() < LIVE_FOR)
                .cloned()
        });
        let seen = match fresh {
            Some(seen) => seen,
            None => {
                let row = db.find_api_key(tenant, key_id).await?.ok_or(REFUSED)?;
                let live =
                    row.revoked_at.is_none() && row.expires_at.is_none_or(|at| at > Utc::now());
                let creator = row.creator_role.as_deref().and_then(Role::parse);
                let role = Role::parse(&row.role)
                    .zip(creator)
                    .map(|(key, creator)| key.min(creator))
                    .filter(|_| live)
                    .ok_or(REFUSED)?;
                let previous = self
                    .0
                    .lock()
                    .ok()
                    .and_then(|seen| seen.get(&key_id).and_then(|s| s.touched));
                Seen {
                    hash: row.secret_hash,
                    role,
                    stores: row.store_ids,
                    creator: row.created_by,
                    at: Instant::now(),
                    touched: previous,
                }
            }
        };
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            hash.as_slice(),
            seen.hash.as_slice(),
        )) {
            return Err(REFUSED);
        }
        let touch = seen.touched.is_none_or(|at| at.elapsed() >= TOUCH_EVERY);
        if let Ok(mut all) = self.0.lock() {
            if all.len() > 100_000 {
                all.retain(|_, s| s.at.elapsed() < LIVE_FOR);
            }
            let touched = if touch {
                Some(Instant::now())
            } else {
                seen.touched
            };
            all.insert(
                key_id,
                Seen {
                    touched,
                    ..seen.clone()
                },
            );
        }
        Ok(Checked {
            role: seen.role,
            stores: seen.stores.clone(),
            creator: seen.creator,
            touch,
        })
    }

    /// Forgets a revoked key, so it stops on this process at once.
    /// Forgets every key (a member's role changed: their keys' roles may have too).
    pub fn forget_all(&self) {
        if let Ok(mut seen) = self.0.lock() {
            seen.clear();
        }
    }

    pub fn forget(&self, key_id: Uuid) {
        if let Ok(mut all) = self.0.lock() {
            all.remove(&key_id);
        }
    }
}

/// The store a request names, in its path (`/api/stores/{id}`, `…/{store_id}/…`) or its
/// query (`store_id=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedStore {
    Nothing,
    Store(Uuid),
    /// Something that is not a store id where one belongs.
    Malformed,
}

pub fn named_store(path_template: &str, path: &str, query: Option<&str>) -> NamedStore {
    let parse =
        |value: &str| Uuid::try_parse(value).map_or(NamedStore::Malformed, NamedStore::Store);
    let template: Vec<&str> = path_template.split('/').collect();
    let actual: Vec<&str> = path.split('/').collect();
    for (i, segment) in template.iter().enumerate() {
        let names_store =
            *segment == "{store_id}" || (*segment == "{id}" && template.get(2) == Some(&"stores"));
        if names_store {
            return actual
                .get(i)
                .map_or(NamedStore::Malformed, |value| parse(value));
        }
    }
    for pair in query.unwrap_or_default().split('&') {
        if let Some(("store_id", value)) = pair.split_once('=') {
            return parse(value);
        }
    }
    NamedStore::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_its_store_in_the_path_or_the_query() {
        let id = Uuid::now_v7();
        assert_eq!(
            named_store("/api/sync/{store_id}", &format!("/api/sync/{id}"), None),
            NamedStore::Store(id)
        );
        assert_eq!(
            named_store("/api/stores/{id}", &format!("/api/stores/{id}"), None),
            NamedStore::Store(id)
        );
        assert_eq!(
            named_store(
                "/api/orders",
                "/api/orders",
                Some(&format!("limit=5&store_id={id}"))
            ),
            NamedStore::Store(id)
        );
        assert_eq!(
            named_store("/api/orders", "/api/orders", Some("limit=5")),
            NamedStore::Nothing
        );
        assert_eq!(
            named_store("/api/keys/{id}", &format!("/api/keys/{id}"), None),
            NamedStore::Nothing
        );
        assert_eq!(
            named_store("/api/orders", "/api/orders", Some("store_id=x")),
            NamedStore::Malformed
        );
    }
}
