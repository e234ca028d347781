//! Projector checkpoints: where each projector stands in the global feed.

use crate::LedgerError;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// A position in the gap-free global feed: the pair (transaction id, global position) of the
/// last event read. Events are delivered in ascending order of this pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FeedCursor {
    /// `transaction_id` of the last event read (0 before the first).
    pub transaction_id: i64,
    /// `global_position` of the last event read (0 before the first).
    pub global_position: i64,
}

/// Why a projector stopped: the error of the batch it could not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectorFailure {
    /// The error, as text.
    pub message: String,
    /// The event it stopped at (the first of the failed batch when the event is not known).
    pub global_position: Option<i64>,
    /// When it failed (UTC).
    pub at: DateTime<Utc>,
}

/// A projector's stored checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// Where the projector resumes.
    pub cursor: FeedCursor,
    /// Events applied since the projection was (re)built.
    pub events_applied: i64,
}

/// Loads `projection`'s checkpoint, creating a zero one if it has none. A plain read when the
/// checkpoint exists (it is called on every poll, so it must not write).
pub async fn load(conn: &mut PgConnection, projection: &str) -> Result<Checkpoint, LedgerError> {
    const SELECT: &str = "SELECT transaction_id, global_position, events_applied
                          FROM projection_checkpoints WHERE projection = $1";
    let mut row: Option<(i64, i64, i64)> = sqlx::query_as(SELECT)
        .bind(projection)
        .fetch_optional(&mut *conn)
        .await?;
    if row.is_none() {
        sqlx::query(
            "INSERT INTO projection_checkpoints (projection) VALUES ($1) ON CONFLICT DO NOTHING",
        )
        .bind(projection)
        .execute(&mut *conn)
        .await?;
        row = Some(
            sqlx::query_as(SELECT)
                .bind(projection)
                .fetch_one(&mut *conn)
                .await?,
        );
    }
    let (transaction_id, global_position, events_applied) = row.unwrap_or_default();
    Ok(Checkpoint {
        cursor: FeedCursor {
            transaction_id,
            global_position,
        },
        events_applied,
    })
}

/// Reads every projection's checkpoint and last failure, by name. Read-only (for status pages).
pub async fn list(
    conn: &mut PgConnection,
) -> Result<Vec<(String, Checkpoint, Option<ProjectorFailure>)>, LedgerError> {
    type Row = (
        String,
        i64,
        i64,
        i64,
        Option<String>,
        Option<i64>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT projection, transaction_id, global_position, events_applied,
                failure, failure_position, failure_at
         FROM projection_checkpoints ORDER BY projection",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, xid, pos, applied, failure, failure_position, failure_at)| {
                let checkpoint = Checkpoint {
                    cursor: FeedCursor {
                        transaction_id: xid,
                        global_position: pos,
                    },
                    events_applied: applied,
                };
                let failure = failure
                    .zip(failure_at)
                    .map(|(message, at)| ProjectorFailure {
                        message,
                        global_position: failure_position,
                        at,
                    });
                (name, checkpoint, failure)
            },
        )
        .collect())
}

/// Records that `projection` stopped with `message` at `global_position`, in its own statement
/// (the failed batch was rolled back), so every process sees it in `/v1/status`. The next
/// successful batch clears it.
pub async fn record_failure<'c>(
    executor: impl PgExecutor<'c>,
    projection: &str,
    global_position: Option<i64>,
    message: &str,
) -> Result<(), LedgerError> {
    sqlx::query(
        "UPDATE projection_checkpoints
         SET failure = $2, failure_position = $3, failure_at = now()
         WHERE projection = $1",
    )
    .bind(projection)
    .bind(message)
    .bind(global_position)
    .execute(executor)
    .await?;
    Ok(())
}

/// Moves `projection`'s checkpoint from `previous` to `next`, inside the caller's transaction
/// (the one that wrote the projection's rows). Compare-and-set: returns `false`, and changes
/// nothing, when the stored checkpoint is no longer `previous` (another projector instance
/// moved it); the caller must then roll back.
pub async fn advance(
    conn: &mut PgConnection,
    projection: &str,
    previous: &Checkpoint,
    next: &Checkpoint,
) -> Result<bool, LedgerError> {
    let result = sqlx::query(
        "UPDATE projection_checkpoints
         SET transaction_id = $2, global_position = $3, events_applied = $4,
             updated_at = now(), failure = NULL, failure_position = NULL, failure_at = NULL
         WHERE projection = $1 AND transaction_id = $5 AND global_position = $6",
    )
    .bind(projection)
    .bind(next.cursor.transaction_id)
    .bind(next.cursor.global_position)
    .bind(next.events_applied)
    .bind(previous.cursor.transaction_id)
    .bind(previous.cursor.global_position)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Resets `projection`'s checkpoint to the start of the log (for a rebuild), inside the
/// caller's transaction.
pub async fn reset(conn: &mut PgConnection, projection: &str) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (projection) VALUES ($1)
         ON CONFLICT (projection) DO UPDATE
         SET transaction_id = 0, global_position = 0, events_applied = 0,
             updated_at = now(), failure = NULL, failure_position = NULL, failure_at = NULL",
    )
    .bind(projection)
    .execute(conn)
    .await?;
    Ok(())
}
