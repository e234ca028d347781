//! The inbox: raw inbound messages (Stripe webhook bodies) kept verbatim, append-only,
//! deduplicated by source and key.

use crate::LedgerError;
use sqlx::{PgConnection, PgExecutor};

/// What became of an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxOutcome {
    /// Translated into domain events.
    Translated,
    /// A type Tally does not use: kept, counted, not translated.
    Ignored,
    /// Verified but unreadable: kept, counted, not translated.
    Unparsed,
}

impl InboxOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Translated => "translated",
            Self::Ignored => "ignored",
            Self::Unparsed => "unparsed",
        }
    }
}

/// A raw message to keep.
#[derive(Debug, Clone, Copy)]
pub struct InboxMessage<'a> {
    /// Where it came from, e.g. `stripe`.
    pub source: &'a str,
    /// Dedup key: the Stripe Event id, or `sha256:<hex>` of the body.
    pub message_key: &'a str,
    /// The message's type when known (Stripe event type).
    pub message_type: Option<&'a str>,
    /// The exact bytes received.
    pub body: &'a [u8],
    /// What became of it.
    pub outcome: InboxOutcome,
    /// Why it was ignored or not parsed.
    pub reason: Option<&'a str>,
    /// How many domain events it produced.
    pub event_count: i32,
}

/// Whether a message with this key was already kept.
pub async fn contains<'c>(
    executor: impl PgExecutor<'c>,
    source: &str,
    message_key: &str,
) -> Result<bool, LedgerError> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT inbox_position FROM inbox_messages WHERE source = $1 AND message_key = $2",
    )
    .bind(source)
    .bind(message_key)
    .fetch_optional(executor)
    .await?;
    Ok(found.is_some())
}

/// Keeps `message` inside the caller's transaction. Returns `false`, writing nothing, when a
/// message with the same source and key is already kept.
pub async fn insert(
    conn: &mut PgConnection,
    message: &InboxMessage<'_>,
) -> Result<bool, LedgerError> {
    let result = sqlx::query(
        "INSERT INTO inbox_messages (source, message_key, message_type, body, outcome, reason, event_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (source, message_key) DO NOTHING",
    )
    .bind(message.source)
    .bind(message.message_key)
    .bind(message.message_type)
    .bind(message.body)
    .bind(message.outcome.as_str())
    .bind(message.reason)
    .bind(message.event_count)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Counts of kept messages by outcome: (translated, ignored, unparsed), whether the outcome
/// was written with the message (`tally import`) or by the inbox translator after it
/// (`inbox_translations`). Messages still queued for translation are in neither count (see
/// [`crate::store::inbox_queue::queue_depth`]).
pub async fn outcome_counts<'c>(
    executor: impl PgExecutor<'c>,
) -> Result<(i64, i64, i64), LedgerError> {
    let row: (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE outcome = 'translated'),
                count(*) FILTER (WHERE outcome = 'ignored'),
                count(*) FILTER (WHERE outcome = 'unparsed')
         FROM (SELECT outcome FROM inbox_messages WHERE outcome IS NOT NULL
               UNION ALL
               SELECT outcome FROM inbox_translations) AS outcomes",
    )
    .fetch_one(executor)
    .await?;
    Ok(row)
}
