//! The webhook delivery log (`webhook_deliveries`, migration 0008): one row per delivery
//! attempt, whatever became of it. Operational, not the event log. A verified delivery's row
//! (received, unparsed or duplicate) is written in the same statement that keeps its body
//! ([`crate::store::inbox_queue::accept_message`]), so it adds no round trip; a rejected
//! delivery's row is one insert ([`record_delivery`]).

use crate::LedgerError;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// The status of a delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Verified and kept in the inbox (translated, or explicitly ignored, behind the answer).
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
