//! Appending events: one round trip per append (one or several streams), optimistic
//! concurrency on each stream head, idempotent by command id and by event id.

use crate::domain::{DomainEvent, EventMetadata};
use crate::store::{AppendSignal, FeedCursor, Subscription, SubscriptionOptions};
use crate::LedgerError;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};
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

/// Events to append to one stream, with the version its head must be at.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    /// The stream, e.g. `subscription-sub_123`.
    pub stream_id: String,
    /// What the stream's head must be (checked before anything is written).
    pub expected: ExpectedVersion,
    /// The events, in stream order. May be empty: then the append only checks `expected`.
    pub events: Vec<NewEvent>,
}

/// Where one appended (or, for a retry, originally appended) event sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendedEvent {
    /// Its global position.
    pub global_position: i64,
    /// Its stream.
    pub stream_id: String,
    /// Its version within the stream (from 1).
    pub stream_version: i64,
}

/// The result of a multi-stream append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamsAppendOutcome {
    /// The events were appended, in append order (stream by stream, as given).
    Appended(Vec<AppendedEvent>),
    /// An exact retry: the command id was already recorded (every event that command
    /// appended, in global order), or every event id was already stored (those events, in the
    /// order given). Nothing was written.
    Duplicate(Vec<AppendedEvent>),
}

impl StreamsAppendOutcome {
    /// The events, appended now or originally.
    pub fn events(&self) -> &[AppendedEvent] {
        match self {
            Self::Appended(events) | Self::Duplicate(events) => events,
        }
    }

    /// Whether nothing was written because this was a retry.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::Duplicate(_))
    }
}

/// The event store: appends over a connection pool, and wakes in-process readers after each
/// commit through its [`AppendSignal`].
#[derive(Debug, Clone)]
pub struct EventStore {
    pool: PgPool,
    signal: AppendSignal,
}

impl EventStore {
    /// An event store on `pool` (migrations already applied) with its own append signal.
    pub fn new(pool: PgPool) -> Self {
        Self::with_signal(pool, AppendSignal::new())
    }

    /// An event store on `pool` that signals `signal` after every commit: share one signal
    /// per process so subscriptions and projectors wake as soon as an append commits.
    pub fn with_signal(pool: PgPool, signal: AppendSignal) -> Self {
        Self { pool, signal }
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The signal raised after every commit of this store.
    pub fn signal(&self) -> &AppendSignal {
        &self.signal
    }

    /// A subscription to the global feed after `after` ([`FeedCursor::default`] = the whole
    /// log), woken by this store's signal. See [`Subscription`].
    pub fn subscribe(&self, after: FeedCursor, options: SubscriptionOptions) -> Subscription {
        Subscription::new(self.pool.clone(), &self.signal, after, options)
    }

    /// Appends `events` to `stream_id`, atomically, as one autocommitted statement (one round
    /// trip, no BEGIN/COMMIT), then raises the signal. See [`append_in`] for the outcomes and
    /// errors.
    pub async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendOutcome, LedgerError> {
        if events.is_empty() {
            return Ok(empty_append());
        }
        let append = single_stream(stream_id, expected, events);
        let outcome = execute_append(&self.pool, None, std::slice::from_ref(&append)).await?;
        if !outcome.is_duplicate() {
            self.signal.notify();
        }
        Ok(single_stream_outcome(outcome))
    }

    /// Appends to several streams, atomically, as the handling of `command_id` when given: one
    /// autocommitted statement (one round trip), then raises the signal. See
    /// [`append_streams_in`] for the outcomes and errors.
    pub async fn append_streams(
        &self,
        command_id: Option<Uuid>,
        appends: &[StreamAppend],
    ) -> Result<StreamsAppendOutcome, LedgerError> {
        if appends.is_empty() {
            return Ok(StreamsAppendOutcome::Appended(Vec::new()));
        }
        let outcome = execute_append(&self.pool, command_id, appends).await?;
        if !outcome.is_duplicate() {
            self.signal.notify();
        }
        Ok(outcome)
    }
}

/// Appends `events` to `stream_id` inside the caller's transaction, in one round trip.
///
/// Make this the first write of the transaction (or lock every stream first with
/// [`lock_streams`]): the gated global order relies on the transaction id being taken after
/// the stream lock. Signal the process's [`AppendSignal`] after commit.
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
        return Ok(empty_append());
    }
    let append = single_stream(stream_id, expected, events);
    let outcome = execute_append(conn, None, std::slice::from_ref(&append)).await?;
    Ok(single_stream_outcome(outcome))
}

fn empty_append() -> AppendOutcome {
    AppendOutcome::Appended {
        positions: Vec::new(),
        stream_version: 0,
    }
}

fn single_stream(stream_id: &str, expected: ExpectedVersion, events: &[NewEvent]) -> StreamAppend {
    StreamAppend {
        stream_id: stream_id.to_owned(),
        expected,
        events: events.to_vec(),
    }
}

fn single_stream_outcome(outcome: StreamsAppendOutcome) -> AppendOutcome {
    let positions = outcome
        .events()
        .iter()
        .map(|event| event.global_position)
        .collect();
    match outcome {
        StreamsAppendOutcome::Duplicate(_) => AppendOutcome::Duplicate { positions },
        StreamsAppendOutcome::Appended(appended) => AppendOutcome::Appended {
            positions,
            stream_version: appended.last().map_or(0, |event| event.stream_version),
        },
    }
}

/// Appends to several streams atomically inside the caller's transaction, in one round trip
/// (`tally_append_streams`, migration 0003): takes the command lock and every stream's lock in
/// a fixed order, checks every expected version, then inserts every event.
///
/// `command_id` is the idempotency key of the command being handled: when events carrying it
/// are already stored, nothing is written and those events are returned as
/// [`StreamsAppendOutcome::Duplicate`]. A command that appends nothing leaves no trace, so its
/// retry is decided afresh. Without a command id an exact retry is still recognised by its
/// event ids.
///
/// Make this the first write of the transaction; signal the process's [`AppendSignal`] after
/// commit. A stream listed twice is refused (merge its events into one [`StreamAppend`]).
///
/// Errors: [`LedgerError::WrongExpectedVersion`] for the first stream whose head is not as
/// expected; [`LedgerError::PartialDuplicate`] when only some event ids are already stored;
/// [`LedgerError::DuplicateStreamInAppend`]; [`LedgerError::Database`] otherwise. On error
/// nothing was written.
pub async fn append_streams_in(
    conn: &mut PgConnection,
    command_id: Option<Uuid>,
    appends: &[StreamAppend],
) -> Result<StreamsAppendOutcome, LedgerError> {
    if appends.is_empty() {
        return Ok(StreamsAppendOutcome::Appended(Vec::new()));
    }
    execute_append(conn, command_id, appends).await
}

/// Runs `tally_append_streams` on `executor`: inside the caller's transaction, or autocommitted
/// on a pool (the statement is atomic on its own).
async fn execute_append<'c>(
    executor: impl PgExecutor<'c>,
    command_id: Option<Uuid>,
    appends: &[StreamAppend],
) -> Result<StreamsAppendOutcome, LedgerError> {
    let arrays = AppendArrays::from_appends(appends)?;
    let rows: Result<Vec<(i64, String, i64, bool)>, sqlx::Error> = sqlx::query_as(
        "SELECT * FROM tally_append_streams($1, $2, $3, $4, $5, $6, $7, $8::json[], $9::json[], $10)",
    )
    .bind(command_id)
    .bind(&arrays.stream_ids)
    .bind(&arrays.expected_versions)
    .bind(&arrays.event_streams)
    .bind(&arrays.event_ids)
    .bind(&arrays.event_types)
    .bind(&arrays.schema_versions)
    .bind(&arrays.payloads)
    .bind(&arrays.metadata)
    .bind(&arrays.effective_at)
    .fetch_all(executor)
    .await;
    let rows = rows.map_err(map_append_error)?;
    let duplicate = rows.first().is_some_and(|row| row.3);
    let events = rows
        .into_iter()
        .map(
            |(global_position, stream_id, stream_version, _)| AppendedEvent {
                global_position,
                stream_id,
                stream_version,
            },
        )
        .collect();
    Ok(if duplicate {
        StreamsAppendOutcome::Duplicate(events)
    } else {
        StreamsAppendOutcome::Appended(events)
    })
}

/// The column arrays bound to `tally_append_streams` (and `tally_keep_message`).
pub(crate) struct AppendArrays<'a> {
    pub(crate) stream_ids: Vec<&'a str>,
    pub(crate) expected_versions: Vec<Option<i64>>,
    pub(crate) event_streams: Vec<i32>,
    pub(crate) event_ids: Vec<Uuid>,
    pub(crate) event_types: Vec<&'a str>,
    pub(crate) schema_versions: Vec<i32>,
    /// JSON text, bound as `text[]` and cast to the functions' `json[]` (migration 0016).
    pub(crate) payloads: Vec<String>,
    /// JSON text of each event's [`crate::domain::EventMetadata`].
    pub(crate) metadata: Vec<String>,
    pub(crate) effective_at: Vec<DateTime<Utc>>,
}

impl<'a> AppendArrays<'a> {
    pub(crate) fn from_appends(appends: &'a [StreamAppend]) -> Result<Self, LedgerError> {
        let event_count = appends.iter().map(|append| append.events.len()).sum();
        let mut arrays = Self {
            stream_ids: Vec::with_capacity(appends.len()),
            expected_versions: Vec::with_capacity(appends.len()),
            event_streams: Vec::with_capacity(event_count),
            event_ids: Vec::with_capacity(event_count),
            event_types: Vec::with_capacity(event_count),
            schema_versions: Vec::with_capacity(event_count),
            payloads: Vec::with_capacity(event_count),
            metadata: Vec::with_capacity(event_count),
            effective_at: Vec::with_capacity(event_count),
        };
        for (index, append) in appends.iter().enumerate() {
            if arrays.stream_ids.contains(&append.stream_id.as_str()) {
                return Err(LedgerError::DuplicateStreamInAppend {
                    stream_id: append.stream_id.clone(),
                });
            }
            arrays.stream_ids.push(&append.stream_id);
            arrays.expected_versions.push(append.expected.as_sql());
            let stream_index = i32::try_from(index + 1).expect("fewer than 2^31 streams");
            for event in &append.events {
                arrays.event_streams.push(stream_index);
                arrays.event_ids.push(event.event_id);
                arrays.event_types.push(&event.event_type);
                arrays.schema_versions.push(event.schema_version);
                arrays.payloads.push(event.payload.to_string());
                arrays.metadata.push(
                    serde_json::to_string(&event.metadata)
                        .expect("metadata is plain data and serializes"),
                );
                arrays.effective_at.push(event.effective_at);
            }
        }
        Ok(arrays)
    }
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

pub(crate) fn map_append_error(error: sqlx::Error) -> LedgerError {
    let Some(database_error) = error.as_database_error() else {
        return LedgerError::Database(error);
    };
    match database_error.constraint() {
        Some("streams_expected_version") => {
            let conflict: Option<VersionConflict> = database_error
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail())
                .and_then(|detail| serde_json::from_str(detail).ok());
            match conflict {
                Some(conflict) => LedgerError::WrongExpectedVersion {
                    stream_id: conflict.stream_id,
                    expected: conflict.expected,
                    actual: conflict.actual,
                },
                None => LedgerError::Database(error),
            }
        }
        Some("events_partial_duplicate") | Some("events_event_id_key") => {
            LedgerError::PartialDuplicate {
                detail: database_error.message().to_owned(),
            }
        }
        _ => LedgerError::Database(error),
    }
}

/// The JSON `DETAIL` of a `streams_expected_version` error.
#[derive(serde::Deserialize)]
struct VersionConflict {
    stream_id: String,
    expected: i64,
    actual: i64,
}
