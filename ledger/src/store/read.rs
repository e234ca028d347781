//! Reading the log: a stream, and the whole log in gap-free global order.
//!
//! The global feed uses the transaction-id gate (ARCHITECTURE.md): an event is delivered only
//! once every transaction that could still commit an earlier-ordered event has finished, so a
//! reader never skips an event that a slower concurrent writer commits later.

use crate::domain::EventMetadata;
use crate::store::{FeedCursor, RecordedEvent};
use crate::LedgerError;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use uuid::Uuid;

const COLUMNS: &str = "global_position, transaction_id::text::bigint AS transaction_id, stream_id,
    stream_version, event_id, event_type, schema_version, payload, metadata, effective_at,
    recorded_at";

/// Reads up to `limit` events of the global feed after `cursor`, in (transaction id, global
/// position) order, only from transactions older than every transaction still running.
/// An empty page means the reader is caught up for now.
pub async fn read_all_after<'c>(
    executor: impl PgExecutor<'c>,
    cursor: FeedCursor,
    limit: i64,
) -> Result<Vec<RecordedEvent>, LedgerError> {
    // ORDER BY names the table's columns: a bare `transaction_id` would be the output column
    // (the bigint cast), which no index serves, so every page would sort the rest of the log.
    let sql = format!(
        "SELECT {COLUMNS} FROM events
         WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY events.transaction_id, events.global_position
         LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(cursor.transaction_id.to_string())
        .bind(cursor.global_position)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    rows.iter().map(recorded_event).collect()
}

/// Reads `stream_id` from `from_version` (inclusive) in stream order.
pub async fn read_stream<'c>(
    executor: impl PgExecutor<'c>,
    stream_id: &str,
    from_version: i64,
) -> Result<Vec<RecordedEvent>, LedgerError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2
         ORDER BY stream_version"
    );
    let rows = sqlx::query(&sql)
        .bind(stream_id)
        .bind(from_version)
        .fetch_all(executor)
        .await?;
    rows.iter().map(recorded_event).collect()
}

/// Reads the events at the given global positions, in effective-time order (then position).
pub async fn read_positions<'c>(
    executor: impl PgExecutor<'c>,
    positions: &[i64],
) -> Result<Vec<RecordedEvent>, LedgerError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE global_position = ANY($1)
         ORDER BY effective_at, global_position"
    );
    let rows = sqlx::query(&sql)
        .bind(positions)
        .fetch_all(executor)
        .await?;
    rows.iter().map(recorded_event).collect()
}

/// The watermark of a reader at `cursor`: the highest global position P such that every
/// committed event at or below P has been read (0 for an empty log). It equals the log head
/// exactly when the reader has read every committed event. Positions are not commit order, so
/// the last position read is not this watermark: an event at a lower position may commit later.
///
/// Costs an index range scan over the events after `cursor` (cheap when caught up).
pub async fn applied_through<'c>(
    executor: impl PgExecutor<'c>,
    cursor: FeedCursor,
) -> Result<i64, LedgerError> {
    let watermark: i64 = sqlx::query_scalar(
        "SELECT coalesce(
             (SELECT min(global_position) - 1 FROM events
              WHERE (transaction_id, global_position) > ($1::text::xid8, $2)),
             (SELECT max(global_position) FROM events),
             0)",
    )
    .bind(cursor.transaction_id.to_string())
    .bind(cursor.global_position)
    .fetch_one(executor)
    .await?;
    Ok(watermark)
}

/// The log head: the highest committed global position (0 for an empty log).
pub async fn log_head<'c>(executor: impl PgExecutor<'c>) -> Result<i64, LedgerError> {
    let head: Option<i64> = sqlx::query_scalar("SELECT max(global_position) FROM events")
        .fetch_one(executor)
        .await?;
    Ok(head.unwrap_or(0))
}

fn recorded_event(row: &PgRow) -> Result<RecordedEvent, LedgerError> {
    let metadata: serde_json::Value = row.try_get("metadata")?;
    let metadata: EventMetadata = serde_json::from_value(metadata)
        .map_err(|error| LedgerError::Database(sqlx::Error::Decode(Box::new(error))))?;
    Ok(RecordedEvent {
        global_position: row.try_get("global_position")?,
        transaction_id: row.try_get("transaction_id")?,
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        event_id: row.try_get::<Uuid, _>("event_id")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get("schema_version")?,
        payload: row.try_get("payload")?,
        metadata,
        effective_at: row.try_get::<DateTime<Utc>, _>("effective_at")?,
        recorded_at: row.try_get::<DateTime<Utc>, _>("recorded_at")?,
    })
}
