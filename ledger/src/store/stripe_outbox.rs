//! The Stripe outbox's own table (`stripe_outbox`, migration 0009): one row per outbound call
//! the outbox worker found on the log, with its attempts. The outcome of a call is an event
//! (`StripeCommandSucceeded` / `StripeCommandFailed`); this table only lets the worker resume
//! after a restart and answer "how is it going" while a call is pending.
//!
//! The worker's single instance across processes is an advisory lock ([`OutboxLease`]), never a
//! row lock: `SELECT ... FOR UPDATE` would take a transaction id and hold every gated reader of
//! the log back for the length of a Stripe call.

use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres};
use uuid::Uuid;

use crate::LedgerError;

/// The projection name of the outbox worker's checkpoint in `projection_checkpoints`.
pub const OUTBOX_PROJECTION: &str = "stripe_outbox";

/// A call found on the log, to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxRow {
    /// The command id (stream `command-<uuid>`; the idempotency key derives from it).
    pub command_id: Uuid,
    /// The event that asked for the call.
    pub source_event_id: Uuid,
    /// That event's global position (execution order).
    pub global_position: i64,
    /// The call, as JSON (`stripe_bridge::outbox::StripeCall`).
    pub stripe_call: serde_json::Value,
}

/// One row of `stripe_outbox`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxRow {
    /// The command id.
    pub command_id: Uuid,
    /// The event that asked for the call.
    pub source_event_id: Uuid,
    /// Its global position.
    pub global_position: i64,
    /// The call, as JSON.
    pub stripe_call: serde_json::Value,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// HTTP requests started so far (counted before each request is sent).
    pub attempts: i32,
    /// When the next attempt is due (UTC).
    pub next_attempt_at: DateTime<Utc>,
    /// The last error's code (`rate_limit`, `api_error`, `connection_error`, ...).
    pub last_error_code: Option<String>,
    /// The last error's message.
    pub last_error: Option<String>,
    /// The last HTTP status Stripe answered with an error.
    pub last_http_status: Option<i32>,
    /// The Stripe object id, once succeeded.
    pub stripe_object_id: Option<String>,
    /// When the worker found the call (UTC).
    pub created_at: DateTime<Utc>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "command_id, source_event_id, global_position, stripe_call, status, attempts,
    next_attempt_at, last_error_code, last_error, last_http_status, stripe_object_id,
    created_at, updated_at";

/// Inserts calls found on the log, inside the caller's transaction (the one advancing the
/// worker's checkpoint). A command already present is left as it is. Returns rows inserted.
pub async fn insert_calls(
    conn: &mut PgConnection,
    rows: &[NewOutboxRow],
) -> Result<u64, LedgerError> {
    let mut inserted = 0;
    for row in rows {
        inserted += sqlx::query(
            "INSERT INTO stripe_outbox (command_id, source_event_id, global_position, stripe_call)
             VALUES ($1, $2, $3, $4) ON CONFLICT (command_id) DO NOTHING",
        )
        .bind(row.command_id)
        .bind(row.source_event_id)
        .bind(row.global_position)
        .bind(&row.stripe_call)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(inserted)
}

/// Marks a command finished because its outcome event is on the log (a worker that died after
/// appending the outcome but before updating its row). Inside the caller's transaction.
pub async fn mark_outcome_seen(
    conn: &mut PgConnection,
    command_id: Uuid,
    succeeded: bool,
    stripe_object_id: Option<&str>,
) -> Result<(), LedgerError> {
    sqlx::query(
        "UPDATE stripe_outbox
         SET status = $2, stripe_object_id = COALESCE($3, stripe_object_id), updated_at = now()
         WHERE command_id = $1 AND status = 'pending'",
    )
    .bind(command_id)
    .bind(if succeeded { "succeeded" } else { "failed" })
    .bind(stripe_object_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The oldest pending call (lowest global position), due or not.
pub async fn oldest_pending<'c>(
    executor: impl PgExecutor<'c>,
) -> Result<Option<OutboxRow>, LedgerError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM stripe_outbox WHERE status = 'pending'
         ORDER BY global_position LIMIT 1"
    );
    Ok(sqlx::query_as(&sql).fetch_optional(executor).await?)
}

/// One command's row, if the worker has seen it.
pub async fn load<'c>(
    executor: impl PgExecutor<'c>,
    command_id: Uuid,
) -> Result<Option<OutboxRow>, LedgerError> {
    let sql = format!("SELECT {COLUMNS} FROM stripe_outbox WHERE command_id = $1");
    Ok(sqlx::query_as(&sql)
        .bind(command_id)
        .fetch_optional(executor)
        .await?)
}

/// Counts an attempt before its request is sent (so a crash during the call still counts it).
/// Returns the new attempt count.
pub async fn start_attempt<'c>(
    executor: impl PgExecutor<'c>,
    command_id: Uuid,
) -> Result<i32, LedgerError> {
    Ok(sqlx::query_scalar(
        "UPDATE stripe_outbox SET attempts = attempts + 1, updated_at = now()
         WHERE command_id = $1 RETURNING attempts",
    )
    .bind(command_id)
    .fetch_one(executor)
    .await?)
}

/// Records a retryable failure and when to try again.
pub async fn schedule_retry<'c>(
    executor: impl PgExecutor<'c>,
    command_id: Uuid,
    next_attempt_at: DateTime<Utc>,
    error_code: &str,
    error: &str,
    http_status: Option<u16>,
) -> Result<(), LedgerError> {
    sqlx::query(
        "UPDATE stripe_outbox
         SET next_attempt_at = $2, last_error_code = $3, last_error = $4, last_http_status = $5,
             updated_at = now()
         WHERE command_id = $1",
    )
    .bind(command_id)
    .bind(next_attempt_at)
    .bind(error_code)
    .bind(error)
    .bind(http_status.map(i32::from))
    .execute(executor)
    .await?;
    Ok(())
}

/// Records the final state after the outcome event was appended: `succeeded` with the Stripe
/// object id, or `failed` with the error.
pub async fn finish<'c>(
    executor: impl PgExecutor<'c>,
    command_id: Uuid,
    succeeded: bool,
    stripe_object_id: Option<&str>,
    error: Option<(&str, &str, Option<u16>)>,
) -> Result<(), LedgerError> {
    let (code, message, status) = match error {
        Some((code, message, status)) => (Some(code), Some(message), status.map(i32::from)),
        None => (None, None, None),
    };
    sqlx::query(
        "UPDATE stripe_outbox
         SET status = $2, stripe_object_id = $3,
             last_error_code = COALESCE($4, last_error_code),
             last_error = COALESCE($5, last_error),
             last_http_status = COALESCE($6, last_http_status), updated_at = now()
         WHERE command_id = $1",
    )
    .bind(command_id)
    .bind(if succeeded { "succeeded" } else { "failed" })
    .bind(stripe_object_id)
    .bind(code)
    .bind(message)
    .bind(status)
    .execute(executor)
    .await?;
    Ok(())
}

/// Pending calls (for status pages and tests).
pub async fn count_pending<'c>(executor: impl PgExecutor<'c>) -> Result<i64, LedgerError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM stripe_outbox WHERE status = 'pending'")
            .fetch_one(executor)
            .await?,
    )
}

/// The outbox worker's leadership across processes: a session-level advisory lock
/// (`tally-outbox:stripe`) on a dedicated connection, released when dropped (the connection is
/// closed, not pooled).
#[derive(Debug)]
pub struct OutboxLease {
    connection: Option<PoolConnection<Postgres>>,
}

impl OutboxLease {
    /// Tries to become the one running outbox worker; `None` when another holds it.
    pub async fn try_acquire(pool: &PgPool) -> Result<Option<Self>, LedgerError> {
        let mut connection = pool.acquire().await?;
        let acquired: bool = sqlx::query_scalar(
            "SELECT pg_try_advisory_lock(hashtextextended('tally-outbox:stripe', 0))",
        )
        .fetch_one(&mut *connection)
        .await?;
        Ok(acquired.then_some(Self {
            connection: Some(connection),
        }))
    }
}

impl Drop for OutboxLease {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            drop(connection.detach());
        }
    }
}
