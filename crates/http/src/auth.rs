//! Sign-in tokens (JWT, HS256) bound to revocable sessions, and password hashing
//! (argon2id).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRef, FromRequestParts, MatchedPath};
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xeno_domain::account::Role;
use xeno_domain::ids::{TenantId, UserId};

use crate::error::ApiError;
use crate::throttle::{AllowanceSlot, Limit};

/// Keys and lifetime for session tokens.
#[derive(Clone)]
pub struct TokenKeys(Arc<KeysInner>);

struct KeysInner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    refresh_ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ttl", &self.0.ttl)
            .finish_non_exhaustive()
    }
}

/// A bearer token already verified on this request (by admission control), with its claims.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    token: String,
    claims: Claims,
}

impl Verified {
    pub(crate) fn tenant(&self) -> Uuid {
        self.claims.tid
    }
}

/// What a token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The user's tenant.
    pub tid: Uuid,
    /// The session: revoking it ends the token at once.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

impl TokenKeys {
    /// Access tokens live `ttl`; a session (its refresh tokens) `refresh_ttl`.
    pub fn new(secret: &[u8], ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self(Arc::new(KeysInner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
            refresh_ttl,
        }))
    }

    pub fn ttl(&self) -> Duration {
        self.0.ttl
    }

    pub fn refresh_ttl(&self) -> Duration {
        self.0.refresh_ttl
    }

    /// An access token for `user` of `tenant` in `session`, valid for the configured lifetime.
    pub fn issue(&self, tenant: TenantId, user: UserId, session: Uuid) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(self.0.ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user.0,
            tid: tenant.0,
            sid: session,
            iat: now,
            exp: now.saturating_add(ttl),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.0.encoding)
            .map_err(|e| ApiError::Internal(e.into()))
    }

    /// A valid token's claims (signature and expiry checked; not the session), kept with
    /// the token they came from.
    pub(crate) fn verified(&self, token: &str) -> Option<Verified> {
        self.verify(token).ok().map(|claims| Verified {
            token: token.to_owned(),
            claims,
        })
    }

    fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.0.decoding, &self.0.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => ApiError::Unauthenticated("the token has expired"),
                ErrorKind::InvalidSignature => {
                    ApiError::Unauthenticated("the token's signature is not valid")
                }
                _ => ApiError::Unauthenticated("the token is malformed"),
            })
    }
}

/// Sessions seen live in the last few seconds: a request's session check is a lookup here,
/// and a query only when the entry is missing or stale. Sessions this process revokes leave
/// at once; those revoked elsewhere (another instance, a deleted user) within `LIVE_FOR`.
#[derive(Debug, Default)]
pub struct LiveSessions(Mutex<HashMap<Uuid, (Instant, Role)>>);

const LIVE_FOR: Duration = Duration::from_secs(5);

impl LiveSessions {
    /// The session's user's role, if the session was seen live a moment ago.
    fn fresh(&self, session: Uuid) -> Option<Role> {
        self.0.lock().ok().and_then(|seen| {
            seen.get(&session)
                .filter(|(at, _)| at.elapsed() < LIVE_FOR)
                .map(|(_, role)| *role)
        })
    }

    fn seen(&self, session: Uuid, role: Role) {
        if let Ok(mut seen) = self.0.lock() {
            if seen.len() > 100_000 {
                seen.retain(|_, (at, _)| at.elapsed() < LIVE_FOR);
            }
            seen.insert(session, (Instant::now(), role));
        }
    }

    /// Forgets revoked sessions (and those whose user's role changed), so the change holds
    /// on this process at once.
    pub fn forget(&self, sessions: &[Uuid]) {
        if let Ok(mut seen) = self.0.lock() {
            for session in sessions {
                seen.remove(session);
            }
        }
    }

    /// Forgets every session (a member's role changed; their sessions are not known here).
    pub fn forget_all(&self) {
        if let Ok(mut seen) = self.0.lock() {
            seen.clear();
        }
    }
}

/// The token in an `Authorization: Bearer <token>` value.
pub(crate) fn bearer(value: &header::HeaderValue) -> Option<&str> {
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The caller, from `Authorization: Bearer <token>`: a live session's access token, or an
/// API key (`xeno_…`), allowed the route it called (see [`crate::authorization`]).
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub tenant_id: TenantId,
    /// The person, or the key's creator.
    pub user_id: UserId,
    /// The session, or the key's id.
    pub session_id: Uuid,
    /// Whether the caller is an API key.
    pub key: bool,
    /// What the caller may do: the person's role, or the key's (never above its creator's).
    pub role: Role,
    /// Where the request came from, when the server knows.
    pub address: Option<IpAddr>,
}

impl AuthUser {
    /// Refuses API keys: some things only a signed-in person does (managing keys, signing
    /// out, changing a password).
    pub fn person(&self) -> Result<(), ApiError> {
        if self.key {
            return Err(ApiError::Forbidden(
                "an API key cannot do this; sign in as a person".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Where a request came from.
fn address(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

/// Refuses a caller whose role is below the route's minimum; records the role for the
/// response (personal data is masked for viewers).
fn authorize(parts: &Parts, caller: AuthUser) -> Result<AuthUser, ApiError> {
    RoleSlot::record(parts, caller.role);
    let Some(path) = parts.extensions.get::<MatchedPath>() else {
        return Ok(caller);
    };
    let needed = crate::authorization::minimum_role(&parts.method, path.as_str());
    if caller.role < needed {
        return Err(ApiError::Forbidden(crate::authorization::refusal(
            needed,
            caller.role,
        )));
    }
    Ok(caller)
}

/// The caller's role, kept for the response on its way out.
#[derive(Debug, Clone, Default)]
pub struct RoleSlot(Arc<OnceLock<Role>>);

impl RoleSlot {
    fn record(parts: &Parts, role: Role) {
        if let Some(slot) = parts.extensions.get::<Self>() {
            let _ = slot.0.set(role);
        }
    }

    pub fn role(&self) -> Option<Role> {
        self.0.get().copied()
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    crate::state::AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthenticated(
                "send Authorization: Bearer <token>",
            ))?;
        let token = bearer(value).ok_or(ApiError::Unauthenticated(
            "the Authorization header must be 'Bearer <token>'",
        ))?;
        let state = crate::state::AppState::from_ref(state);
        if let Some((tenant, key_id, secret)) = crate::api_keys::parse(token) {
            let secret = secret.to_owned();
            return key_caller(&state, parts, tenant, key_id, &secret).await;
        }
        let claims = match parts.extensions.remove::<Verified>() {
            Some(verified) if verified.token == token => verified.claims,
            _ => state.tokens.verify(token)?,
        };
        let tenant = TenantId(claims.tid);
        let role = match state.live_sessions.fresh(claims.sid) {
            Some(role) => role,
            None => {
                let role = state
                    .db
                    .live_session_role(tenant, claims.sid)
                    .await?
                    .and_then(|role| Role::parse(&role))
                    .ok_or(ApiError::Unauthenticated(
                        "the session has ended: sign in again",
                    ))?;
                state.live_sessions.seen(claims.sid, role);
                role
            }
        };
        // Each tenant's requests draw on its own quota, whichever instance serves them.
        if let Some(allowance) = state
            .throttle
            .take(Limit::Tenant, &claims.tid.to_string())
            .await
        {
            AllowanceSlot::record(parts, allowance);
            if let Some(wait) = allowance.retry_after {
                return Err(crate::throttle::refused(wait));
            }
        }
        authorize(
            parts,
            Self {
                tenant_id: tenant,
                user_id: UserId(claims.sub),
                session_id: claims.sid,
                key: false,
                role,
                address: address(parts),
            },
        )
    }
}

/// An API key's caller: its role decides which routes it may call, and each key draws on a
/// quota of its own.
async fn key_caller(
    state: &crate::state::AppState,
    parts: &mut Parts,
    tenant: TenantId,
    key_id: Uuid,
    secret: &str,
) -> Result<AuthUser, ApiError> {
    let checked = state
        .live_keys
        .check(&state.db, tenant, key_id, secret)
        .await?;
    if let Some(stores) = &checked.stores {
        within_stores(parts, stores)?;
    }
    let caller = authorize(
        parts,
        AuthUser {
            tenant_id: tenant,
            user_id: UserId(checked.creator),
            session_id: key_id,
            key: true,
            role: checked.role,
            address: address(parts),
        },
    )?;
    if let Some(allowance) = state
        .throttle
        .take(Limit::Tenant, &format!("key:{key_id}"))
        .await
    {
        AllowanceSlot::record(parts, allowance);
        if let Some(wait) = allowance.retry_after {
            return Err(crate::throttle::refused(wait));
        }
    }
    if checked.touch {
        // Last used, and from where: recorded beside the request, never in its way.
        let db = state.db.clone();
        let address = caller.address.map(|ip| ip.to_string());
        tokio::spawn(async move {
            if let Err(err) = db.touch_api_key(tenant, key_id, address.as_deref()).await {
                tracing::warn!(%err, "cannot record an API key's use");
            }
        });
    }
    Ok(caller)
}

/// A key limited to some stores may name only those, and must name one (its own identity
/// aside): a route across the tenant would show the others.
fn within_stores(parts: &Parts, stores: &[Uuid]) -> Result<(), ApiError> {
    let template = parts
        .extensions
        .get::<MatchedPath>()
        .map_or(parts.uri.path(), MatchedPath::as_str);
    let refused = || {
        ApiError::Forbidden(format!(
            "this API key is limited to {} store(s): name one with store_id",
            stores.len()
        ))
    };
    use crate::api_keys::{named_store, NamedStore};
    match named_store(template, parts.uri.path(), parts.uri.query()) {
        NamedStore::Store(store) if stores.contains(&store) => Ok(()),
        NamedStore::Nothing if template == "/api/auth/me" => Ok(()),
        _ => Err(refused()),
    }
}

/// Password hashes computed at once: each argon2id run holds 19 MiB, so this bounds their
/// memory (about 150 MiB) whatever the number of sign-ins in flight.
const HASHING_AT_ONCE: usize = 8;
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING_AT_ONCE);
/// How long a sign-in waits for a turn before it is told to come back.
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A turn at hashing, or a fast 503 when every turn is taken.
async fn hashing_turn() -> Result<tokio::sync::SemaphorePermit<'static>, ApiError> {
    match tokio::time::timeout(HASHING_WAIT, HASHING.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(ApiError::Unavailable {
            detail: "sign-in is busy; try again in a moment".to_owned(),
            context: None,
        }),
    }
}

/// Hashes a password with argon2id off the async runtime (it is deliberately slow).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    let _turn = hashing_turn().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)
}

/// Checks a password against a stored hash. With no hash (unknown email) it still does the
/// work of one check, so response time does not reveal whether the email exists.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    let _turn = hashing_turn().await?;
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let Ok(hash) = PasswordHash::new(&stored) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
        ok && stored != DUMMY_HASH
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))
}

/// An argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$W7Ib6oEA0uWCvwbbVuoCQ9PZNE1gFaBoSgWzqjOKkmo";

/// What an OAuth install `state` carries: who started it, for which shop, and the nonce
/// that makes it single-use. Signed with a key of its own, so a session token can never pass
/// for a state or the other way round.
#[derive(Debug, Serialize, Deserialize)]
pub struct InstallState {
    pub tid: Uuid,
    pub sub: Uuid,
    pub shop: String,
    pub nonce: String,
    pub exp: i64,
}

#[derive(Clone)]
pub struct StateKeys(Arc<(EncodingKey, DecodingKey, Validation)>);

impl std::fmt::Debug for StateKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKeys")
    }
}

impl StateKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut key = secret.to_vec();
        key.extend_from_slice(b"/shopify-install-state");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Self(Arc::new((
            EncodingKey::from_secret(&key),
            DecodingKey::from_secret(&key),
            validation,
        )))
    }

    pub fn issue(&self, state: &InstallState) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), state, &self.0 .0)
            .map_err(|e| ApiError::Internal(e.into()))
    }

    /// The state's claims, if it is ours and unexpired.
    pub fn verify(&self, token: &str) -> Option<InstallState> {
        jsonwebtoken::decode::<InstallState>(token, &self.0 .1, &self.0 .2)
            .ok()
            .map(|data| data.claims)
    }
}
