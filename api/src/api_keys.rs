//! API keys: the key text (`tally_<id>_<secret>`), its scopes, and the gate every `/v1/*`
//! request passes ([`ApiKeyGate`]).
//!
//! Rules (issue 5; Stripe's own secret keys are the model):
//! - a key is `tally_<id: 32 hex>_<secret: 64 hex>`; the secret is 32 random bytes from the
//!   operating system and only its SHA-256 is stored (`api_keys`, migration 0009), so the key is
//!   shown once, at creation, and cannot be recovered;
//! - scopes nest: `admin` > `write` > `read`;
//! - `/v1/commands/*` always needs a key (`write` to send a command, `read` to look one up);
//!   every other `/v1/*` route needs one only once any key exists (`read` for GET, `write` for
//!   `POST /v1/usage`); the Stripe webhook endpoint (signed by Stripe), `/health` and
//!   `/metrics` never do;
//! - a revoked key (`tally apikey revoke`) stops working within [`KEY_CACHE_TTL`] in every
//!   running server: the active keys are cached so that the entitlement check stays free of
//!   database round trips ([`ApiKeyGate::invalidate`] drops the cache at once, for code that
//!   creates or revokes keys in the serving process itself, such as the tests).

use crate::ApiError;
use ledger::store::api_keys::{self, StoredApiKey};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a server trusts its copy of the active keys (revocations by another process take
/// effect within this time).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// How often a key's `last_used_at` is written at most.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// What a key may do. Ordered: a scope allows everything a lower one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum ApiKeyScope {
    /// Read reports, status, the feed, commands' status.
    Read,
    /// Also send commands and usage.
    Write,
    /// Everything.
    Admin,
}

impl ApiKeyScope {
    /// The stored name: `read`, `write`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// Reads a stored name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A key just created: the only moment its full text exists.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The stored row (id, display prefix, scope, created_at).
    pub stored: StoredApiKey,
    /// The whole key, `tally_<id>_<secret>`: show it once, never log it.
    pub key: String,
}

/// Creates a key with `scope`: 32 random bytes of secret, stored as SHA-256.
///
/// Errors: the database fails.
pub async fn create_api_key(pool: &PgPool, scope: ApiKeyScope) -> Result<CreatedApiKey, ApiError> {
    let id = Uuid::now_v7();
    let mut secret = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let secret = hex::encode(secret);
    let key = format!("tally_{}_{secret}", id.simple());
    let display_prefix = format!("tally_{}_{}...", id.simple(), &secret[..4]);
    let stored = api_keys::insert(
        pool,
        id,
        &secret_sha256(&secret),
        &display_prefix,
        scope.as_str(),
    )
    .await?;
    Ok(CreatedApiKey { stored, key })
}

fn secret_sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits `tally_<id>_<secret>` into its id and secret; `None` when it is not of that form.
fn parse_key(text: &str) -> Option<(Uuid, &str)> {
    let rest = text.strip_prefix("tally_")?;
    let (id, secret) = rest.split_once('_')?;
    let id = Uuid::try_parse(id).ok()?;
    (secret.len() == 64 && secret.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then_some((id, secret))
}

/// Compares two equal-length strings in time independent of where they differ.
fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0_u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A key of at least this scope, even when no key exists yet.
    Always(ApiKeyScope),
    /// A key of at least this scope once any key exists; nothing before.
    OnceKeysExist(ApiKeyScope),
}

/// Who made a request that passed the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No key was needed (none exists) and none was sent.
    Anonymous,
    /// A valid key.
    Key {
        /// Its id.
        id: Uuid,
        /// Its scope.
        scope: ApiKeyScope,
    },
}

impl Caller {
    /// The key id as recorded in events' `actor` and `requested_by` (the hyphenated UUID
    /// text), if any.
    pub fn key_id(&self) -> Option<String> {
        match self {
            Self::Anonymous => None,
            Self::Key { id, .. } => Some(id.to_string()),
        }
    }
}

/// What the check needs of an active key, read from its row once per cache fill.
#[derive(Debug, Clone, Copy)]
struct ActiveKey {
    /// SHA-256 of the secret part (the row's hex, decoded).
    secret_sha256: [u8; 32],
    /// Its scope.
    scope: ApiKeyScope,
}

impl ActiveKey {
    /// `None` for a row whose hash or scope cannot be read: no key matches it, so requests
    /// with it are refused as `invalid_api_key`.
    fn from_row(row: &StoredApiKey) -> Option<Self> {
        let mut secret_sha256 = [0_u8; 32];
        hex::decode_to_slice(&row.secret_sha256, &mut secret_sha256).ok()?;
        Some(Self {
            secret_sha256,
            scope: ApiKeyScope::parse(&row.scope)?,
        })
    }
}

#[derive(Debug, Default)]
struct KeyCache {
    /// The active keys by id, and when they were read (shared, so a request clones a pointer).
    active: Option<(Arc<HashMap<Uuid, ActiveKey>>, Instant)>,
    /// When each key's `last_used_at` was last written by this process.
    touched: HashMap<Uuid, Instant>,
}

/// Checks `Authorization: Bearer tally_...` against the active keys, cached for
/// [`KEY_CACHE_TTL`]. Cheap to clone (shared cache).
#[derive(Debug, Clone)]
pub struct ApiKeyGate {
    pool: PgPool,
    cache: Arc<Mutex<KeyCache>>,
    /// Held while the keys are read again, so that the requests arriving meanwhile wait for
    /// that one read instead of each making their own.
    reload: Arc<tokio::sync::Mutex<()>>,
}

impl ApiKeyGate {
    /// A gate over the keys in `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            cache: Arc::default(),
            reload: Arc::default(),
        }
    }

    /// Forgets the cached keys, so the next request reads them again (after a key is created
    /// or revoked through this process's pool).
    pub fn invalidate(&self) {
        self.lock().active = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The active keys: the cached copy while younger than [`KEY_CACHE_TTL`], else read again.
    async fn active_keys(&self) -> Result<Arc<HashMap<Uuid, ActiveKey>>, ApiError> {
        if let Some(keys) = self.fresh_keys() {
            return Ok(keys);
        }
        let _reloading = self.reload.lock().await;
        // Another request may have read them while this one waited.
        if let Some(keys) = self.fresh_keys() {
            return Ok(keys);
        }
        let keys: Arc<HashMap<Uuid, ActiveKey>> = Arc::new(
            api_keys::list_active(&self.pool)
                .await?
                .iter()
                .filter_map(|row| Some((row.id, ActiveKey::from_row(row)?)))
                .collect(),
        );
        self.lock().active = Some((Arc::clone(&keys), Instant::now()));
        Ok(keys)
    }

    /// The cached keys while younger than [`KEY_CACHE_TTL`].
    fn fresh_keys(&self) -> Option<Arc<HashMap<Uuid, ActiveKey>>> {
        match &self.lock().active {
            Some((keys, read_at)) if read_at.elapsed() < KEY_CACHE_TTL => Some(Arc::clone(keys)),
            _ => None,
        }
    }

    /// Lets the request through as a [`Caller`], or refuses it: 401 `missing_api_key` (none
    /// sent where one is needed), 401 `invalid_api_key` (malformed, unknown or revoked), 403
    /// `insufficient_scope`.
    ///
    /// Errors: also [`ApiError::Internal`] when the keys cannot be read.
    pub async fn check(
        &self,
        authorization: Option<&str>,
        requirement: Requirement,
    ) -> Result<Caller, ApiError> {
        let keys = self.active_keys().await?;
        let needed = match requirement {
            Requirement::Always(scope) => scope,
            Requirement::OnceKeysExist(_) if keys.is_empty() && authorization.is_none() => {
                return Ok(Caller::Anonymous)
            }
            Requirement::OnceKeysExist(scope) => scope,
        };
        let Some(authorization) = authorization else {
            return Err(ApiError::Unauthorized {
                code: "missing_api_key",
                message: if keys.is_empty() {
                    "this endpoint needs an API key: create one with `tally apikey create --scope write` and send it as `Authorization: Bearer tally_...`".to_owned()
                } else {
                    "send an API key as `Authorization: Bearer tally_...`".to_owned()
                },
            });
        };
        let invalid = || ApiError::Unauthorized {
            code: "invalid_api_key",
            message: "the API key is malformed, unknown or revoked".to_owned(),
        };
        let text = authorization
            .strip_prefix("Bearer ")
            .map(str::trim)
            .ok_or_else(invalid)?;
        let (id, secret) = parse_key(text).ok_or_else(invalid)?;
        let active = keys.get(&id).ok_or_else(invalid)?;
        if !constant_time_equal(&Sha256::digest(secret.as_bytes()), &active.secret_sha256) {
            return Err(invalid());
        }
        let scope = active.scope;
        if scope < needed {
            return Err(ApiError::Forbidden {
                code: "insufficient_scope",
                message: format!(
                    "this key has scope {}; this request needs {}",
                    scope.as_str(),
                    needed.as_str()
                ),
            });
        }
        self.touch_now_and_then(id);
        Ok(Caller::Key { id, scope })
    }

    /// Writes `last_used_at` at most once a [`TOUCH_INTERVAL`] per key, off the request path.
    fn touch_now_and_then(&self, id: Uuid) {
        let due = {
            let mut cache = self.lock();
            let due = cache
                .touched
                .get(&id)
                .is_none_or(|at| at.elapsed() >= TOUCH_INTERVAL);
            if due {
                cache.touched.insert(id, Instant::now());
            }
            due
        };
        if due {
            let pool = self.pool.clone();
            tokio::spawn(async move {
                if let Err(error) = api_keys::touch(&pool, id).await {
                    tracing::warn!(%error, key = %id, "could not record API key use");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_only_in_their_own_shape() {
        let id = Uuid::now_v7();
        let secret = "ab".repeat(32);
        let key = format!("tally_{}_{secret}", id.simple());
        assert_eq!(parse_key(&key), Some((id, secret.as_str())));
        assert_eq!(parse_key(&format!("tally_{}_{}", id.simple(), "ab")), None);
        assert_eq!(parse_key(&format!("sk_live_{secret}")), None);
        assert_eq!(parse_key("tally_nothex_zz"), None);
    }

    #[test]
    fn scopes_nest() {
        assert!(ApiKeyScope::Admin > ApiKeyScope::Write);
        assert!(ApiKeyScope::Write > ApiKeyScope::Read);
        for scope in [ApiKeyScope::Read, ApiKeyScope::Write, ApiKeyScope::Admin] {
            assert_eq!(ApiKeyScope::parse(scope.as_str()), Some(scope));
        }
    }

    #[test]
    fn comparison_needs_every_byte() {
        assert!(constant_time_equal(b"abcd", b"abcd"));
        assert!(!constant_time_equal(b"abcd", b"abce"));
        assert!(!constant_time_equal(b"abcd", b"abc"));
    }
}
