//! API keys (`api_keys`, migration 0009): stored as SHA-256 of their secret, with a display
//! prefix, a scope (`read`, `write`, `admin`) and revocation. Creating and checking the key text
//! (`tally_<id>_<secret>`) is the api crate's job; this module only stores and finds rows.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::LedgerError;

/// One stored API key (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredApiKey {
    /// The key's id (the `<id>` of `tally_<id>_<secret>`).
    pub id: Uuid,
    /// Hex SHA-256 of the secret part.
    pub secret_sha256: String,
    /// The first characters of the key, for display.
    pub display_prefix: String,
    /// `read`, `write` or `admin`.
    pub scope: String,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When it was revoked (UTC), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last accepted (UTC; updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, secret_sha256, display_prefix, scope, created_at, revoked_at, last_used_at";

/// Stores a new key.
pub async fn insert<'c>(
    executor: impl PgExecutor<'c>,
    id: Uuid,
    secret_sha256: &str,
    display_prefix: &str,
    scope: &str,
) -> Result<StoredApiKey, LedgerError> {
    let sql = format!(
        "INSERT INTO api_keys (id, secret_sha256, display_prefix, scope)
         VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .bind(secret_sha256)
        .bind(display_prefix)
        .bind(scope)
        .fetch_one(executor)
        .await?)
}

/// Every key, newest first (revoked ones included).
pub async fn list<'c>(executor: impl PgExecutor<'c>) -> Result<Vec<StoredApiKey>, LedgerError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at DESC, id");
    Ok(sqlx::query_as(&sql).fetch_all(executor).await?)
}

/// The keys not revoked, in no particular order (what a server's key check accepts).
pub async fn list_active<'c>(
    executor: impl PgExecutor<'c>,
) -> Result<Vec<StoredApiKey>, LedgerError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE revoked_at IS NULL");
    Ok(sqlx::query_as(&sql).fetch_all(executor).await?)
}

/// One key by id.
pub async fn find<'c>(
    executor: impl PgExecutor<'c>,
    id: Uuid,
) -> Result<Option<StoredApiKey>, LedgerError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(executor)
        .await?)
}

/// Whether any key is not revoked (then every `/v1/*` endpoint requires a key).
pub async fn any_active<'c>(executor: impl PgExecutor<'c>) -> Result<bool, LedgerError> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL)")
            .fetch_one(executor)
            .await?,
    )
}

/// Revokes a key; `false` when no such key exists. Revoking twice keeps the first time.
pub async fn revoke<'c>(executor: impl PgExecutor<'c>, id: Uuid) -> Result<bool, LedgerError> {
    let result =
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1")
            .bind(id)
            .execute(executor)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Notes that a key was used, at most once a minute per key (avoids a write per request).
pub async fn touch<'c>(executor: impl PgExecutor<'c>, id: Uuid) -> Result<(), LedgerError> {
    sqlx::query(
        "UPDATE api_keys SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    )
    .bind(id)
    .execute(executor)
    .await?;
    Ok(())
}
