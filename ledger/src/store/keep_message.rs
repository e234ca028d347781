//! Keeping one verified inbound message in one round trip (`tally_keep_message`, migrations
//! 0013 and 0017): the duplicate check, the multi-stream append of its domain events and the
//! raw body in the inbox, in one autocommitted statement. (Webhook deliveries are kept first
//! instead, through [`crate::store::inbox_queue::accept_message`].)

use crate::store::append::{map_append_error, AppendArrays, AppendedEvent, StreamAppend};
use crate::store::inbox::InboxMessage;
use crate::LedgerError;
use sqlx::PgExecutor;

/// One row of `tally_keep_message`: kept, then the appended event's global position, stream
/// and version (NULL when no event was appended).
type KeptRow = (bool, Option<i64>, Option<String>, Option<i64>);

/// What became of a message given to [`keep_message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepOutcome {
    /// Kept now: its events were appended (none for an ignored or unparsed message) with
    /// these global positions, in order.
    Kept(Vec<AppendedEvent>),
    /// Already kept (a redelivery): nothing was written.
    AlreadyKept,
    /// A concurrent delivery of the same message committed first: nothing was written.
    KeptConcurrently,
}

/// Keeps `message` with the domain events of `appends` (any stream count; each stream's
/// expected version is checked as in [`crate::store::append::append_streams_in`]). One
/// statement, autocommitted when `executor` is a pool: when it returns `Ok`, everything is
/// durable. Signal the process's
/// [`crate::store::AppendSignal`] after a [`KeepOutcome::Kept`] with events.
///
/// Errors: those of the append ([`LedgerError::WrongExpectedVersion`],
/// [`LedgerError::PartialDuplicate`], [`LedgerError::DuplicateStreamInAppend`]) and
/// [`LedgerError::Database`]; on error nothing was written.
pub async fn keep_message<'c>(
    executor: impl PgExecutor<'c>,
    appends: &[StreamAppend],
    message: &InboxMessage<'_>,
) -> Result<KeepOutcome, LedgerError> {
    let arrays = AppendArrays::from_appends(appends)?;
    let rows: Result<Vec<KeptRow>, sqlx::Error> = sqlx::query_as(
        "SELECT * FROM tally_keep_message($1, $2, $3, $4, $5, $6, $7::json[], $8::json[], $9,
                                          $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&arrays.stream_ids)
    .bind(&arrays.expected_versions)
    .bind(&arrays.event_streams)
    .bind(&arrays.event_ids)
    .bind(&arrays.event_types)
    .bind(&arrays.schema_versions)
    .bind(&arrays.payloads)
    .bind(&arrays.metadata)
    .bind(&arrays.effective_at)
    .bind(message.source)
    .bind(message.message_key)
    .bind(message.message_type)
    .bind(message.body)
    .bind(message.outcome.as_str())
    .bind(message.reason)
    .bind(message.event_count)
    .fetch_all(executor)
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) if is_kept_concurrently(&error) => return Ok(KeepOutcome::KeptConcurrently),
        Err(error) => return Err(map_append_error(error)),
    };
    if rows.first().is_some_and(|row| !row.0) {
        return Ok(KeepOutcome::AlreadyKept);
    }
    let events = rows
        .into_iter()
        .filter_map(|(_, global_position, stream_id, stream_version)| {
            Some(AppendedEvent {
                global_position: global_position?,
                stream_id: stream_id?,
                stream_version: stream_version?,
            })
        })
        .collect();
    Ok(KeepOutcome::Kept(events))
}

fn is_kept_concurrently(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|database_error| database_error.constraint())
        == Some("inbox_messages_kept_concurrently")
}
