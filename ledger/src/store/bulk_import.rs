//! Bulk import: appends a chunk of events (and, optionally, the raw inbox rows they came from)
//! in one transaction through binary `COPY`, for large histories (`tally import`).
//!
//! The rules are those of [`tally_append`](crate::store::append) (ARCHITECTURE.md, "Reading
//! the log without gaps"), applied to a whole chunk at once:
//!
//! 1. `BEGIN`, then the per-stream advisory locks of every stream of the chunk, in sorted
//!    order ([`lock_streams`], the same hash as `tally_append`), **before any write**: the
//!    transaction takes its transaction id only at its first write, so for each stream
//!    transaction-id order stays lock order and the gated feed keeps per-stream order.
//! 2. Under the locks, read the stream heads, which event ids and inbox keys are already stored.
//! 3. Inbox rows not yet kept (first wins within the chunk) are copied into `inbox_messages`.
//! 4. Events whose id is not stored yet (first wins within the chunk), and whose inbox row (if
//!    they name one) was written by this chunk, get the next versions of their stream in chunk
//!    order and are copied into `events`; then the `streams` heads move.
//! 5. `COMMIT`. The caller then signals [`AppendSignal`](crate::store::AppendSignal).
//!
//! Expected versions are always "any": an import appends after whatever the head is. A chunk
//! never overwrites or renumbers anything (no `ON CONFLICT` on `(stream_id, stream_version)`),
//! and re-importing the same chunk writes nothing.
//!
//! Memory is bounded by the chunk: the caller picks its size (5,000 to 10,000 events is a good
//! trade between round trips and the time the chunk's transaction holds back gated readers),
//! and the COPY data is sent in pieces of about 1 MiB while it is encoded.

use crate::store::append::{lock_streams, NewEvent};
use crate::store::copy_binary::CopyBinaryEncoder;
use crate::store::inbox::InboxMessage;
use crate::LedgerError;
use sqlx::postgres::PgCopyIn;
use sqlx::{Connection, PgConnection};
use std::collections::{HashMap, HashSet};
use std::ops::DerefMut;
use uuid::Uuid;

/// COPY data is sent to the server whenever this many bytes are encoded.
const SEND_PIECE_BYTES: usize = 1 << 20;

/// The columns the bulk import copies into `events`; `global_position`, `transaction_id` and
/// `recorded_at` take their defaults, as with `tally_append`.
const COPY_EVENTS: &str = "COPY events (stream_id, stream_version, event_id, event_type, \
     schema_version, payload, metadata, effective_at) FROM STDIN (FORMAT binary)";

/// The columns the bulk import copies into `inbox_messages`.
const COPY_INBOX: &str = "COPY inbox_messages (source, message_key, message_type, body, \
     outcome, reason, event_count) FROM STDIN (FORMAT binary)";

/// One event of a chunk, with the stream it is appended to.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    /// The stream, e.g. `subscription-sub_123`.
    pub stream_id: String,
    /// The event; its `event_id` is the idempotency key.
    pub event: NewEvent,
    /// Index into the chunk's inbox rows of the message this event was translated from, if
    /// any: the event is then written only together with that row, and skipped (counted as a
    /// duplicate) when that message is already kept, exactly as the webhook path does.
    pub inbox_row: Option<usize>,
}

impl StreamEvent {
    /// An event for `stream_id` that names no inbox row.
    pub fn new(stream_id: impl Into<String>, event: NewEvent) -> Self {
        Self {
            stream_id: stream_id.into(),
            event,
            inbox_row: None,
        }
    }

    /// The same event, written only together with the chunk's inbox row `inbox_row`.
    pub fn with_inbox_row(mut self, inbox_row: usize) -> Self {
        self.inbox_row = Some(inbox_row);
        self
    }
}

/// What a chunk import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Events written.
    pub appended: u64,
    /// Events not written: their id was already stored or came earlier in the chunk, or their
    /// inbox row was already kept.
    pub duplicates: u64,
    /// Streams that received at least one event.
    pub streams_appended: u64,
    /// Per inbox row of the chunk, in order: `true` when this chunk kept it, `false` when a
    /// row with the same source and key was already kept (or came earlier in the chunk).
    pub inbox_kept: Vec<bool>,
}

impl BulkOutcome {
    /// Inbox rows this chunk kept.
    pub fn inbox_kept_count(&self) -> u64 {
        self.inbox_kept.iter().filter(|kept| **kept).count() as u64
    }

    /// Inbox rows skipped because their key was already kept.
    pub fn inbox_duplicates(&self) -> u64 {
        self.inbox_kept.len() as u64 - self.inbox_kept_count()
    }
}

/// Appends `events` (expected version "any") and keeps `inbox` rows in one transaction through
/// binary `COPY`, following the rules of the [module docs](self). `conn` must not be inside a
/// transaction: this function begins and commits its own, so that the stream locks come before
/// any write. Signal [`AppendSignal`](crate::store::AppendSignal) after it returns `Ok`.
///
/// Idempotent: events whose id is already stored, and inbox rows whose `(source,
/// message_key)` is already kept, are skipped and counted; a repeated id or key within the
/// chunk is written once (the first). A row kept concurrently by another transaction (e.g. a
/// webhook delivery of the same Stripe Event) is detected and skipped with its events.
///
/// Errors: [`LedgerError::InvalidChunk`] (nothing written) when `conn` is already in a
/// transaction, an event names an inbox row the chunk does not have, or a value cannot be
/// encoded; [`LedgerError::Database`] otherwise (the transaction is rolled back: nothing of the
/// chunk is stored).
pub async fn copy_append_chunk(
    conn: &mut PgConnection,
    events: &[StreamEvent],
    inbox: &[InboxMessage<'_>],
) -> Result<BulkOutcome, LedgerError> {
    if conn.is_in_transaction() {
        return Err(LedgerError::InvalidChunk(
            "copy_append_chunk begins its own transaction: call it outside one".to_owned(),
        ));
    }
    if let Some(event) = events
        .iter()
        .find(|event| event.inbox_row.is_some_and(|row| row >= inbox.len()))
    {
        return Err(LedgerError::InvalidChunk(format!(
            "event {} names inbox row {:?} of a chunk with {} inbox rows",
            event.event.event_id,
            event.inbox_row,
            inbox.len()
        )));
    }
    if events.is_empty() && inbox.is_empty() {
        return Ok(BulkOutcome::default());
    }

    let mut transaction = conn.begin().await?;

    // 1. Every stream lock, sorted, before the first write (a read takes no transaction id).
    let mut stream_ids: Vec<String> = events.iter().map(|e| e.stream_id.clone()).collect();
    stream_ids.sort_unstable();
    stream_ids.dedup();
    if !stream_ids.is_empty() {
        lock_streams(&mut transaction, &stream_ids).await?;
    }

    // 2. What is already stored, read under the locks.
    let heads = read_stream_heads(&mut transaction, &stream_ids).await?;
    let stored_event_ids = read_stored_event_ids(&mut transaction, events).await?;
    let stored_inbox_rows = read_stored_inbox_rows(&mut transaction, inbox).await?;

    // 3. Inbox rows first: their events are written only if the row is.
    let mut inbox_to_write = Vec::new();
    let mut inbox_keys_seen = HashSet::new();
    for (row, message) in inbox.iter().enumerate() {
        if !stored_inbox_rows.contains(&row)
            && inbox_keys_seen.insert((message.source, message.message_key))
        {
            inbox_to_write.push(row);
        }
    }
    let inbox_kept = keep_inbox_rows(&mut transaction, inbox, &inbox_to_write).await?;

    // 4. Events: skip the stored and repeated ids, number the rest after their stream's head.
    let mut event_ids_seen = HashSet::with_capacity(events.len());
    let mut next_versions = heads;
    let mut planned = Vec::with_capacity(events.len());
    for event in events {
        let row_kept = event.inbox_row.is_none_or(|row| inbox_kept[row]);
        if !row_kept
            || stored_event_ids.contains(&event.event.event_id)
            || !event_ids_seen.insert(event.event.event_id)
        {
            continue;
        }
        let head = next_versions.entry(event.stream_id.as_str()).or_insert(0);
        *head += 1;
        planned.push((event, *head));
    }
    let appended = copy_events(&mut transaction, &planned).await?;
    let streams_appended = move_stream_heads(&mut transaction, &planned).await?;

    transaction.commit().await?;
    Ok(BulkOutcome {
        appended,
        duplicates: events.len() as u64 - appended,
        streams_appended,
        inbox_kept,
    })
}

/// The head version of each stream that exists.
async fn read_stream_heads<'s>(
    conn: &mut PgConnection,
    stream_ids: &'s [String],
) -> Result<HashMap<&'s str, i64>, LedgerError> {
    if stream_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT stream_id, version FROM streams WHERE stream_id = ANY($1)")
            .bind(stream_ids)
            .fetch_all(conn)
            .await?;
    let found: HashMap<String, i64> = rows.into_iter().collect();
    Ok(stream_ids
        .iter()
        .filter_map(|id| found.get(id).map(|version| (id.as_str(), *version)))
        .collect())
}

/// The chunk's event ids that are already stored (in any stream).
async fn read_stored_event_ids(
    conn: &mut PgConnection,
    events: &[StreamEvent],
) -> Result<HashSet<Uuid>, LedgerError> {
    if events.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<Uuid> = events.iter().map(|event| event.event.event_id).collect();
    let stored: Vec<Uuid> =
        sqlx::query_scalar("SELECT event_id FROM events WHERE event_id = ANY($1)")
            .bind(&ids)
            .fetch_all(conn)
            .await?;
    Ok(stored.into_iter().collect())
}

/// Indexes of the chunk's inbox rows whose `(source, message_key)` is already kept.
async fn read_stored_inbox_rows(
    conn: &mut PgConnection,
    inbox: &[InboxMessage<'_>],
) -> Result<HashSet<usize>, LedgerError> {
    if inbox.is_empty() {
        return Ok(HashSet::new());
    }
    let sources: Vec<&str> = inbox.iter().map(|message| message.source).collect();
    let keys: Vec<&str> = inbox.iter().map(|message| message.message_key).collect();
    let rows: Vec<i64> = sqlx::query_scalar(
        "SELECT i.n - 1 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(source, message_key, n)
         WHERE EXISTS (SELECT 1 FROM inbox_messages m
                       WHERE m.source = i.source AND m.message_key = i.message_key)",
    )
    .bind(&sources)
    .bind(&keys)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| usize::try_from(row).ok())
        .collect())
}

/// Keeps the inbox rows `rows` (not stored, not repeated): one COPY inside a savepoint. When a
/// concurrent transaction kept one of the keys meanwhile (the COPY fails on the key), the
/// savepoint is rolled back and the rows are inserted skipping the keys kept meanwhile.
/// Returns, per inbox row of the chunk, whether this chunk kept it.
async fn keep_inbox_rows(
    conn: &mut PgConnection,
    inbox: &[InboxMessage<'_>],
    rows: &[usize],
) -> Result<Vec<bool>, LedgerError> {
    let mut kept = vec![false; inbox.len()];
    if rows.is_empty() {
        return Ok(kept);
    }
    let mut savepoint = conn.begin().await?;
    match copy_inbox_rows(&mut savepoint, inbox, rows).await {
        Ok(()) => {
            savepoint.commit().await?;
            for row in rows {
                kept[*row] = true;
            }
        }
        Err(LedgerError::Database(error)) if is_inbox_key_violation(&error) => {
            savepoint.rollback().await?;
            for row in insert_inbox_rows_skipping_kept(conn, inbox, rows).await? {
                kept[row] = true;
            }
        }
        Err(error) => return Err(error),
    }
    Ok(kept)
}

fn is_inbox_key_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|database_error| database_error.constraint())
        == Some("inbox_messages_source_key")
}

async fn copy_inbox_rows(
    conn: &mut PgConnection,
    inbox: &[InboxMessage<'_>],
    rows: &[usize],
) -> Result<(), LedgerError> {
    let mut copy = conn.copy_in_raw(COPY_INBOX).await?;
    let mut encoder = CopyBinaryEncoder::new();
    for row in rows {
        let message = &inbox[*row];
        encoder.row(7);
        let encoded = encode_inbox_row(&mut encoder, message);
        if let Err(error) = encoded {
            copy.abort(error.to_string()).await?;
            return Err(error);
        }
        send_if_full(&mut copy, &mut encoder).await?;
    }
    copy.send(encoder.finish()).await?;
    copy.finish().await?;
    Ok(())
}

fn encode_inbox_row(
    encoder: &mut CopyBinaryEncoder,
    message: &InboxMessage<'_>,
) -> Result<(), LedgerError> {
    encoder.bytes(message.source.as_bytes())?;
    encoder.bytes(message.message_key.as_bytes())?;
    encoder.optional_text(message.message_type)?;
    encoder.bytes(message.body)?;
    encoder.bytes(message.outcome.as_str().as_bytes())?;
    encoder.optional_text(message.reason)?;
    encoder.int4(message.event_count);
    Ok(())
}

/// The slow path after a concurrent insert of a key: `INSERT ... ON CONFLICT (source,
/// message_key) DO NOTHING` (on the inbox key only, never on events). Returns the rows kept.
async fn insert_inbox_rows_skipping_kept(
    conn: &mut PgConnection,
    inbox: &[InboxMessage<'_>],
    rows: &[usize],
) -> Result<Vec<usize>, LedgerError> {
    let messages: Vec<&InboxMessage<'_>> = rows.iter().map(|row| &inbox[*row]).collect();
    let sources: Vec<&str> = messages.iter().map(|m| m.source).collect();
    let keys: Vec<&str> = messages.iter().map(|m| m.message_key).collect();
    let types: Vec<Option<&str>> = messages.iter().map(|m| m.message_type).collect();
    let bodies: Vec<&[u8]> = messages.iter().map(|m| m.body).collect();
    let outcomes: Vec<&str> = messages.iter().map(|m| m.outcome.as_str()).collect();
    let reasons: Vec<Option<&str>> = messages.iter().map(|m| m.reason).collect();
    let counts: Vec<i32> = messages.iter().map(|m| m.event_count).collect();
    let inserted: Vec<(String, String)> = sqlx::query_as(
        "INSERT INTO inbox_messages (source, message_key, message_type, body, outcome, reason, event_count)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[], $7::int4[])
         ON CONFLICT (source, message_key) DO NOTHING
         RETURNING source, message_key",
    )
    .bind(&sources)
    .bind(&keys)
    .bind(&types)
    .bind(&bodies)
    .bind(&outcomes)
    .bind(&reasons)
    .bind(&counts)
    .fetch_all(conn)
    .await?;
    let inserted: HashSet<(String, String)> = inserted.into_iter().collect();
    Ok(rows
        .iter()
        .filter(|row| {
            let message = &inbox[**row];
            inserted.contains(&(message.source.to_owned(), message.message_key.to_owned()))
        })
        .copied()
        .collect())
}

/// Copies the planned events (with their stream versions) into `events`; returns how many.
async fn copy_events(
    conn: &mut PgConnection,
    planned: &[(&StreamEvent, i64)],
) -> Result<u64, LedgerError> {
    if planned.is_empty() {
        return Ok(0);
    }
    let mut copy = conn.copy_in_raw(COPY_EVENTS).await?;
    let mut encoder = CopyBinaryEncoder::new();
    for (event, stream_version) in planned {
        encoder.row(8);
        if let Err(error) = encode_event_row(&mut encoder, event, *stream_version) {
            copy.abort(error.to_string()).await?;
            return Err(error);
        }
        send_if_full(&mut copy, &mut encoder).await?;
    }
    copy.send(encoder.finish()).await?;
    let copied = copy.finish().await?;
    if copied != planned.len() as u64 {
        return Err(LedgerError::InvalidChunk(format!(
            "COPY stored {copied} events of {}",
            planned.len()
        )));
    }
    Ok(copied)
}

fn encode_event_row(
    encoder: &mut CopyBinaryEncoder,
    event: &StreamEvent,
    stream_version: i64,
) -> Result<(), LedgerError> {
    let new_event = &event.event;
    encoder.bytes(event.stream_id.as_bytes())?;
    encoder.int8(stream_version);
    encoder.uuid(&new_event.event_id);
    encoder.bytes(new_event.event_type.as_bytes())?;
    encoder.int4(new_event.schema_version);
    encoder.json(&new_event.payload)?;
    encoder.json(&new_event.metadata)?;
    encoder.timestamptz(&new_event.effective_at)
}

async fn send_if_full<C: DerefMut<Target = PgConnection>>(
    copy: &mut PgCopyIn<C>,
    encoder: &mut CopyBinaryEncoder,
) -> Result<(), LedgerError> {
    if let Some(piece) = encoder.take_if_over(SEND_PIECE_BYTES) {
        copy.send(piece).await?;
    }
    Ok(())
}

/// Moves each appended stream's head to its last planned version. Returns how many streams.
async fn move_stream_heads(
    conn: &mut PgConnection,
    planned: &[(&StreamEvent, i64)],
) -> Result<u64, LedgerError> {
    let mut last_versions: HashMap<&str, i64> = HashMap::new();
    for (event, version) in planned {
        last_versions.insert(event.stream_id.as_str(), *version);
    }
    if last_versions.is_empty() {
        return Ok(0);
    }
    let (stream_ids, versions): (Vec<&str>, Vec<i64>) = last_versions.into_iter().unzip();
    sqlx::query(
        "INSERT INTO streams AS s (stream_id, version)
         SELECT * FROM unnest($1::text[], $2::bigint[])
         ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version",
    )
    .bind(&stream_ids)
    .bind(&versions)
    .execute(conn)
    .await?;
    Ok(stream_ids.len() as u64)
}
