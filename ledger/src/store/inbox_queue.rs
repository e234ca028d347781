//! Inbox-first ingest (migration 0015): a verified message is kept and queued in one statement
//! ([`accept_message`]); the inbox translator later reads the queue ([`read_pending`]), appends
//! the messages' domain events and records their outcomes ([`record_translations`]) in one
//! transaction of its own, serialized across processes by [`lock_translator`].
//!
//! The queue (`inbox_pending`) is the one mutable table of ingest: the inbox and the outcomes
//! (`inbox_translations`) stay append-only.

use crate::store::inbox::InboxOutcome;
use crate::store::webhook_deliveries::NewDelivery;
use crate::LedgerError;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// The advisory lock key that serializes inbox translators (any process, one at a time).
/// An advisory lock takes no transaction id, so the translator's append stays the first write
/// of its transaction and the gated feed keeps per-stream order.
const TRANSLATOR_LOCK_KEY: i64 = 0x7461_6c6c_7969_6e62; // "tallyinb"

/// A verified message to keep before it is translated.
#[derive(Debug, Clone, Copy)]
pub struct ArrivingMessage<'a> {
    /// Where it came from, e.g. `stripe`.
    pub source: &'a str,
    /// Dedup key: the Stripe Event id, or `sha256:<hex>` of a body without one.
    pub message_key: &'a str,
    /// The message's type when readable (Stripe event type).
    pub message_type: Option<&'a str>,
    /// The exact bytes received.
    pub body: &'a [u8],
}

/// A kept message waiting for translation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingMessage {
    /// Its inbox position (the queue's order).
    pub inbox_position: i64,
    /// The exact bytes received.
    pub body: Vec<u8>,
}

/// What translating one queued message came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTranslation {
    /// The message's inbox position.
    pub inbox_position: i64,
    /// Translated, ignored or unparsed.
    pub outcome: InboxOutcome,
    /// Why it was ignored or could not be parsed.
    pub reason: Option<String>,
    /// How many domain events were appended for it.
    pub event_count: i32,
}

/// The translation queue's depth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueDepth {
    /// Messages kept and not yet translated.
    pub pending: i64,
    /// When the oldest of them was received (UTC); `None` when the queue is empty.
    pub oldest_received_at: Option<DateTime<Utc>>,
    /// Its age in seconds (database clock, as the other lags in
    /// [`crate::store::log_status`]); `None` when the queue is empty.
    pub oldest_age_seconds: Option<f64>,
}

/// Keeps `message` in the inbox, queues it for translation and records `delivery` (its status
/// for a new message; `duplicate` when the key is already kept), in one autocommitted
/// statement when `executor` is a pool: when it returns, all of it is durable. A concurrent
/// delivery of the same key waits for the first to commit and is then a duplicate.
///
/// Returns `true` when the message was kept now, `false` for a duplicate (only the delivery
/// row was written).
///
/// Errors: [`LedgerError::Database`]; then nothing was written.
pub async fn accept_message<'c>(
    executor: impl PgExecutor<'c>,
    message: &ArrivingMessage<'_>,
    delivery: &NewDelivery<'_>,
) -> Result<bool, LedgerError> {
    let kept: Option<i64> = sqlx::query_scalar(
        "WITH kept AS (
             INSERT INTO inbox_messages (source, message_key, message_type, body)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (source, message_key) DO NOTHING
             RETURNING inbox_position
         ), queued AS (
             INSERT INTO inbox_pending (inbox_position) SELECT inbox_position FROM kept
         ), delivered AS (
             INSERT INTO webhook_deliveries
                 (stripe_event_id, event_type, status, reason, body_bytes, signature_timestamp)
             SELECT $5, $6, CASE WHEN EXISTS (SELECT 1 FROM kept) THEN $7 ELSE 'duplicate' END,
                    $8, $9, $10
         )
         SELECT inbox_position FROM kept",
    )
    .bind(message.source)
    .bind(message.message_key)
    .bind(message.message_type)
    .bind(message.body)
    .bind(delivery.stripe_event_id)
    .bind(delivery.event_type)
    .bind(delivery.status.as_str())
    .bind(delivery.reason)
    .bind(delivery.body_bytes)
    .bind(delivery.signature_timestamp)
    .fetch_optional(executor)
    .await?;
    Ok(kept.is_some())
}

/// Takes the translator lock for the caller's transaction (released at commit or rollback),
/// waiting for another translator's batch to commit first. Call it before [`read_pending`],
/// in its own statement, so that the read's snapshot sees that batch's queue deletions.
///
/// Errors: [`LedgerError::Database`].
pub async fn lock_translator(conn: &mut PgConnection) -> Result<(), LedgerError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(TRANSLATOR_LOCK_KEY)
        .execute(conn)
        .await?;
    Ok(())
}

/// Up to `limit` queued messages, oldest inbox position first. Takes no row locks (a row lock
/// would take a transaction id before the append): hold [`lock_translator`] first.
///
/// Errors: [`LedgerError::Database`].
pub async fn read_pending(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<PendingMessage>, LedgerError> {
    let rows = sqlx::query_as::<_, PendingMessage>(
        "SELECT p.inbox_position, i.body
         FROM inbox_pending p JOIN inbox_messages i USING (inbox_position)
         ORDER BY p.inbox_position
         LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// Records each translation's outcome and removes the messages from the queue, in one
/// statement inside the caller's transaction (the one that appended their events).
///
/// Errors: [`LedgerError::Database`], also when an outcome is already recorded (each
/// message's outcome is written once: primary key).
pub async fn record_translations(
    conn: &mut PgConnection,
    translations: &[MessageTranslation],
) -> Result<(), LedgerError> {
    let positions: Vec<i64> = translations.iter().map(|t| t.inbox_position).collect();
    let outcomes: Vec<&str> = translations.iter().map(|t| t.outcome.as_str()).collect();
    let reasons: Vec<Option<&str>> = translations.iter().map(|t| t.reason.as_deref()).collect();
    let counts: Vec<i32> = translations.iter().map(|t| t.event_count).collect();
    sqlx::query(
        "WITH dequeued AS (
             DELETE FROM inbox_pending WHERE inbox_position = ANY ($1)
         )
         INSERT INTO inbox_translations (inbox_position, outcome, reason, event_count)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[])",
    )
    .bind(&positions)
    .bind(&outcomes)
    .bind(&reasons)
    .bind(&counts)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many kept messages wait for translation, since when and for how long.
///
/// Errors: [`LedgerError::Database`].
pub async fn queue_depth<'c>(executor: impl PgExecutor<'c>) -> Result<QueueDepth, LedgerError> {
    let (pending, oldest_received_at, oldest_age_seconds): (
        i64,
        Option<DateTime<Utc>>,
        Option<f64>,
    ) = sqlx::query_as(
        "SELECT count(*), min(i.received_at),
                -- NULL for an empty queue (greatest() would turn a NULL into 0).
                CASE WHEN count(*) > 0
                     THEN greatest(extract(epoch FROM clock_timestamp() - min(i.received_at)), 0)
                END::float8
         FROM inbox_pending p JOIN inbox_messages i USING (inbox_position)",
    )
    .fetch_one(executor)
    .await?;
    Ok(QueueDepth {
        pending,
        oldest_received_at,
        oldest_age_seconds,
    })
}
