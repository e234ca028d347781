//! Operations figures of the log: how far behind a projector is, and the oldest writing
//! transaction of the cluster (what holds the gated global feed back).
//!
//! Read-only. Needs SELECT on `events` and the `pg_stat_activity` view; a role sees other
//! roles' `backend_xid` there only with `pg_read_all_stats` (or as superuser), otherwise their
//! transactions are invisible to [`oldest_writing_transaction`].

use crate::store::FeedCursor;
use crate::LedgerError;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// How far a reader at some [`FeedCursor`] (a projector's checkpoint) is behind the log.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReaderLag {
    /// Committed events after the cursor, i.e. not applied yet (0 when caught up). Includes
    /// events the gate still holds back behind an older running transaction.
    pub events: i64,
    /// Age in seconds of the oldest of those events (now minus its `recorded_at`, database
    /// clock); 0 when caught up. Never negative.
    pub seconds: f64,
}

/// The lag of a reader at `cursor`: the events it has not read yet and the age of the oldest.
///
/// Costs an index range scan over the events after `cursor` (cheap when caught up, the whole
/// log for a projector that is rebuilding).
pub async fn reader_lag<'c>(
    executor: impl PgExecutor<'c>,
    cursor: FeedCursor,
) -> Result<ReaderLag, LedgerError> {
    let (events, seconds): (i64, f64) = sqlx::query_as(
        "SELECT count(*),
                coalesce(greatest(extract(epoch FROM clock_timestamp() - min(recorded_at)), 0),
                         0)::float8
         FROM events
         WHERE (transaction_id, global_position) > ($1::text::xid8, $2)",
    )
    .bind(cursor.transaction_id.to_string())
    .bind(cursor.global_position)
    .fetch_one(executor)
    .await?;
    Ok(ReaderLag { events, seconds })
}

/// A running transaction that holds a transaction id (it has written, or asked for an id), as
/// `pg_stat_activity` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WritingTransaction {
    /// The backend's process id (`pg_terminate_backend` takes it).
    pub pid: i32,
    /// Its database (transaction ids, hence the feed's gate, are shared by the whole cluster).
    pub database: Option<String>,
    /// The client's `application_name` (may be empty).
    pub application_name: Option<String>,
    /// `active`, `idle in transaction`, ... (`None` when not visible to this role).
    pub state: Option<String>,
    /// When the transaction started (UTC).
    pub transaction_started_at: Option<DateTime<Utc>>,
    /// When its current (or last) statement started (UTC).
    pub query_started_at: Option<DateTime<Utc>>,
    /// Seconds since the transaction started (database clock), never negative.
    pub age_seconds: f64,
}

/// The oldest running transaction of the cluster that holds a transaction id
/// (`pg_stat_activity.backend_xid IS NOT NULL`, oldest id first), or `None`. Its id is the
/// gate of [`crate::store::read::read_all_after`]: events committed after it started wait
/// until it ends, so its age is how long the global feed can be held back. (Prepared
/// transactions also hold the gate and do not appear here.)
pub async fn oldest_writing_transaction<'c>(
    executor: impl PgExecutor<'c>,
) -> Result<Option<WritingTransaction>, LedgerError> {
    type Row = (
        i32,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        f64,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT pid, datname::text, application_name, state, xact_start, query_start,
                coalesce(greatest(extract(epoch FROM clock_timestamp() - xact_start), 0),
                         0)::float8
         FROM pg_stat_activity
         WHERE backend_xid IS NOT NULL
         ORDER BY age(backend_xid) DESC, xact_start
         LIMIT 1",
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.map(
        |(
            pid,
            database,
            application_name,
            state,
            transaction_started_at,
            query_started_at,
            age_seconds,
        )| WritingTransaction {
            pid,
            database,
            application_name,
            state,
            transaction_started_at,
            query_started_at,
            age_seconds,
        },
    ))
}
