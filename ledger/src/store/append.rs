//! Appending events: one round trip per stream, optimistic concurrency on the stream head,
//! idempotent by event id.

use crate::domain::{DomainEvent, EventMetadata};
use crate::LedgerError;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Unique id: the idempotency key. Derive it deterministically from the source (e.g.
    /// UUIDv5 of the Stripe Event id) so that a retry is recognised.
    pub event_id: Uuid,
    /// Stored type name.
    pub event_type: String,
    /// Schema version of `payload`.
    pub schema_version: i32,
    /// JSON payload.
    pub payload: serde_json::Value,
    /// Provenance, causation, correlation.
    pub metadata: EventMetadata,
    /// When it happened in the business (UTC).
    pub effective_at: DateTime<Utc>,
}

impl NewEvent {
    /// Wraps a domain event with its id, metadata and effective time.
    pub fn from_domain(
        event_id: Uuid,
        event: &DomainEvent,
        metadata: EventMetadata,
        effective_at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_id,
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.to_payload(),
            metadata,
            effective_at,
        }
    }
}

/// What the stream's head must be for an append to succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the head is.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's head must be exactly this version (>= 1).
    Exact(i64),
}

impl ExpectedVersion {
    fn as_sql(self) -> Option<i64> {
        match self {
            Self::Any => None,
            Self::NoStream => Some(0),
            Self::Exact(version) => Some(version),
        }
    }
}

/// The result of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The events were appended at these global positions; the stream is now at `stream_version`.
    Appended {
        /// Global positions, one per event, in order.
        positions: Vec<i64>,
        /// The stream's new head version.
        stream_version: i64,
    },
    /// Every event id was already stored: nothing was written; these are the original positions.
    Duplicate {
        /// The original global positions, one per event, in order.
        positions: Vec<i64>,
    },
}

/// The event store: appends and reads over a connection pool.
#[derive(Debug, Clone)]
pub struct EventStore {
    pool: PgPool,
}

impl EventStore {
    /// An event store on `pool` (migrations already applied).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Appends `events` to `stream_id` in their own transaction. See [`append_in`].
    pub async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let outcome = append_in(&mut tx, stream_id, expected, events).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

/// Appends `events` to `stream_id` inside the caller's transaction, in one round trip.
///
/// Make this the first write of the transaction (or lock every stream first with
/// [`lock_streams`]): the gated global order relies on the transaction id being taken after
/// the stream lock.
///
/// Errors: [`LedgerError::WrongExpectedVersion`] when the head is not `expected`;
/// [`LedgerError::PartialDuplicate`] when only some of the event ids are already stored;
/// [`LedgerError::Database`] otherwise.
pub async fn append_in(
    conn: &mut PgConnection,
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendOutcome, LedgerError> {
    if events.is_empty() {
        return Ok(AppendOutcome::Appended {
            positions: Vec::new(),
            stream_version: 0,
        });
    }
    let mut ids = Vec::with_capacity(events.len());
    let mut types = Vec::with_capacity(events.len());
    let mut versions = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    let mut metadata = Vec::with_capacity(events.len());
    let mut effective = Vec::with_capacity(events.len());
    for event in events {
        ids.push(event.event_id);
        types.push(event.event_type.as_str());
        versions.push(event.schema_version);
        payloads.push(&event.payload);
        metadata.push(
            serde_json::to_value(&event.metadata).expect("metadata is plain data and serializes"),
        );
        effective.push(event.effective_at);
    }
    let rows: Result<Vec<(i64, i64, bool)>, sqlx::Error> =
        sqlx::query_as("SELECT * FROM tally_append($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(stream_id)
            .bind(expected.as_sql())
            .bind(&ids)
            .bind(&types)
            .bind(&versions)
            .bind(&payloads)
            .bind(&metadata)
            .bind(&effective)
            .fetch_all(conn)
            .await;
    let rows = rows.map_err(|error| map_append_error(error, stream_id, expected))?;
    let positions: Vec<i64> = rows.iter().map(|row| row.0).collect();
    if rows.first().is_some_and(|row| row.2) {
        return Ok(AppendOutcome::Duplicate { positions });
    }
    let stream_version = rows.last().map_or(0, |row| row.1);
    Ok(AppendOutcome::Appended {
        positions,
        stream_version,
    })
}

/// Takes the append locks of several streams, in a fixed (sorted) order, inside the caller's
/// transaction, before any write. Use it when one transaction appends to several streams.
pub async fn lock_streams(
    conn: &mut PgConnection,
    stream_ids: &[String],
) -> Result<(), LedgerError> {
    let mut sorted: Vec<&str> = stream_ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(s, 0))
         FROM unnest($1::text[]) WITH ORDINALITY AS t(s, n) ORDER BY n",
    )
    .bind(&sorted)
    .execute(conn)
    .await?;
    Ok(())
}

fn map_append_error(error: sqlx::Error, stream_id: &str, expected: ExpectedVersion) -> LedgerError {
    let Some(database_error) = error.as_database_error() else {
        return LedgerError::Database(error);
    };
    match database_error.constraint() {
        Some("streams_expected_version") => {
            let actual = database_error
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail())
                .and_then(|detail| detail.parse().ok())
                .unwrap_or(-1);
            LedgerError::WrongExpectedVersion {
                stream_id: stream_id.to_owned(),
                expected: expected.as_sql().unwrap_or(-1),
                actual,
            }
        }
        Some("events_partial_duplicate") | Some("events_event_id_key") => {
            LedgerError::PartialDuplicate {
                stream_id: stream_id.to_owned(),
            }
        }
        _ => LedgerError::Database(error),
    }
}
