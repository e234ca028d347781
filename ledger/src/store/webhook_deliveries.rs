//! The webhook delivery log (`webhook_deliveries`, migration 0008): one row per delivery
//! attempt, whatever became of it. Operational, not the event log. An accepted body's row is
//! written in the same statement as its inbox row ([`keep_inbox_message_and_delivery`]), a
//! redelivery's in the same statement as the duplicate check ([`record_if_duplicate`]), so
//! neither adds a round trip; a rejected delivery's row is one insert ([`record_delivery`]).

use crate::store::inbox::InboxMessage;
use crate::LedgerError;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// The status of a delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Verified, kept in the inbox, translated or ignored.
    Received,
    /// Verified, already kept: nothing written but the delivery row.
    Duplicate,
    /// Refused before anything was kept (signature, size, unreadable body).
    Rejected,
    /// Verified and kept, but not a readable Stripe Event.
    Unparsed,
}

impl DeliveryStatus {
    /// Every status, in the stored spelling.
    pub const ALL: [Self; 4] = [
        Self::Received,
        Self::Duplicate,
        Self::Rejected,
        Self::Unparsed,
    ];

    /// The stored name: `received`, `duplicate`, `rejected`, `unparsed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
            Self::Unparsed => "unparsed",
        }
    }

    /// Reads a stored name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

/// One delivery attempt to record.
#[derive(Debug, Clone, Copy)]
pub struct NewDelivery<'a> {
    /// The Stripe Event id (the inbox key) of a verified body; `None` when rejected.
    pub stripe_event_id: Option<&'a str>,
    /// The Stripe event type of a verified body, when readable; `None` when rejected.
    pub event_type: Option<&'a str>,
    /// What became of it.
    pub status: DeliveryStatus,
    /// Why it was rejected, ignored or unparsed.
    pub reason: Option<&'a str>,
    /// Body size, bytes.
    pub body_bytes: Option<i64>,
    /// The `t=` of the `Stripe-Signature` header, when readable (UTC).
    pub signature_timestamp: Option<DateTime<Utc>>,
}

/// A recorded delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Position in the delivery log (the paging cursor).
    pub delivery_id: i64,
    /// When the attempt was recorded (UTC).
    pub received_at: DateTime<Utc>,
    /// The Stripe Event id of a verified body.
    pub stripe_event_id: Option<String>,
    /// The Stripe event type of a verified body.
    pub event_type: Option<String>,
    /// `received`, `duplicate`, `rejected` or `unparsed`.
    pub status: String,
    /// Why it was rejected, ignored or unparsed.
    pub reason: Option<String>,
    /// Body size, bytes.
    pub body_bytes: Option<i64>,
    /// The signature's `t=` (UTC).
    pub signature_timestamp: Option<DateTime<Utc>>,
}

/// Filters and page of [`list_deliveries`]: newest first, rows with `delivery_id < before`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only this status.
    pub status: Option<DeliveryStatus>,
    /// Only this Stripe event type.
    pub event_type: Option<String>,
    /// Only rows older than this `delivery_id` (the previous page's last id).
    pub before: Option<i64>,
    /// At most this many rows.
    pub limit: i64,
}

/// Records one delivery attempt on its own (a rejected delivery, or a duplicate found after a
/// concurrent delivery won the inbox key).
pub async fn record_delivery<'c>(
    executor: impl PgExecutor<'c>,
    delivery: &NewDelivery<'_>,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries
             (stripe_event_id, event_type, status, reason, body_bytes, signature_timestamp)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(delivery.stripe_event_id)
    .bind(delivery.event_type)
    .bind(delivery.status.as_str())
    .bind(delivery.reason)
    .bind(delivery.body_bytes)
    .bind(delivery.signature_timestamp)
    .execute(executor)
    .await?;
    Ok(())
}

/// If the inbox already keeps `(source, message_key)`, records `delivery` as a duplicate and
/// returns `true`; otherwise writes nothing and returns `false`. One statement.
pub async fn record_if_duplicate<'c>(
    executor: impl PgExecutor<'c>,
    source: &str,
    message_key: &str,
    delivery: &NewDelivery<'_>,
) -> Result<bool, LedgerError> {
    let recorded = sqlx::query(
        "INSERT INTO webhook_deliveries
             (stripe_event_id, event_type, status, reason, body_bytes, signature_timestamp)
         SELECT $3, $4, 'duplicate', $5, $6, $7
         WHERE EXISTS (SELECT 1 FROM inbox_messages WHERE source = $1 AND message_key = $2)",
    )
    .bind(source)
    .bind(message_key)
    .bind(delivery.stripe_event_id)
    .bind(delivery.event_type)
    .bind(delivery.reason)
    .bind(delivery.body_bytes)
    .bind(delivery.signature_timestamp)
    .execute(executor)
    .await?;
    Ok(recorded.rows_affected() == 1)
}

/// Keeps `message` in the inbox and records `delivery`, in one statement inside the caller's
/// transaction. Returns `false`, writing nothing, when a message with the same source and key
/// is already kept (the caller rolls back and records a duplicate).
pub async fn keep_inbox_message_and_delivery(
    conn: &mut PgConnection,
    message: &InboxMessage<'_>,
    delivery: &NewDelivery<'_>,
) -> Result<bool, LedgerError> {
    let kept: Option<i64> = sqlx::query_scalar(
        "WITH kept AS (
             INSERT INTO inbox_messages
                 (source, message_key, message_type, body, outcome, reason, event_count)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (source, message_key) DO NOTHING
             RETURNING inbox_position
         )
         INSERT INTO webhook_deliveries
             (stripe_event_id, event_type, status, reason, body_bytes, signature_timestamp)
         SELECT $8, $9, $10, $11, $12, $13 FROM kept
         RETURNING delivery_id",
    )
    .bind(message.source)
    .bind(message.message_key)
    .bind(message.message_type)
    .bind(message.body)
    .bind(message.outcome.as_str())
    .bind(message.reason)
    .bind(message.event_count)
    .bind(delivery.stripe_event_id)
    .bind(delivery.event_type)
    .bind(delivery.status.as_str())
    .bind(delivery.reason)
    .bind(delivery.body_bytes)
    .bind(delivery.signature_timestamp)
    .fetch_optional(conn)
    .await?;
    Ok(kept.is_some())
}

/// One page of the delivery log, newest first.
pub async fn list_deliveries<'c>(
    executor: impl PgExecutor<'c>,
    filter: &DeliveryFilter,
) -> Result<Vec<DeliveryRow>, LedgerError> {
    let rows = sqlx::query_as::<_, DeliveryRow>(
        "SELECT delivery_id, received_at, stripe_event_id, event_type, status, reason,
                body_bytes, signature_timestamp
         FROM webhook_deliveries
         WHERE ($1::text IS NULL OR status = $1)
           AND ($2::text IS NULL OR event_type = $2)
           AND ($3::bigint IS NULL OR delivery_id < $3)
         ORDER BY delivery_id DESC
         LIMIT $4",
    )
    .bind(filter.status.map(DeliveryStatus::as_str))
    .bind(filter.event_type.as_deref())
    .bind(filter.before)
    .bind(filter.limit)
    .fetch_all(executor)
    .await?;
    Ok(rows)
}

/// Counts of recorded deliveries by status: (received, duplicate, rejected, unparsed).
pub async fn status_counts<'c>(
    executor: impl PgExecutor<'c>,
) -> Result<(i64, i64, i64, i64), LedgerError> {
    let row: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'received'),
                count(*) FILTER (WHERE status = 'duplicate'),
                count(*) FILTER (WHERE status = 'rejected'),
                count(*) FILTER (WHERE status = 'unparsed')
         FROM webhook_deliveries",
    )
    .fetch_one(executor)
    .await?;
    Ok(row)
}
