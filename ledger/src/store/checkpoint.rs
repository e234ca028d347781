//! Projector checkpoints: where each projector stands in the global feed, per read-model
//! version.
//!
//! A projection has one *live* version (the one readers see and its running projector
//! advances) and, while `tally rebuild` runs, one version being built (`live = false`) with its
//! own checkpoint. [`switch_live`] makes the built version live in the caller's transaction;
//! a live projector's [`advance`] on the old version then fails its compare-and-set, and the
//! projector continues from the new version's checkpoint.

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

/// A projector's stored checkpoint (of one read-model version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// The read-model version this checkpoint belongs to (from 1).
    pub version: i32,
    /// Where the projector resumes.
    pub cursor: FeedCursor,
    /// Events applied since this version was started.
    pub events_applied: i64,
}

impl Default for Checkpoint {
    fn default() -> Self {
        Self {
            version: 1,
            cursor: FeedCursor::default(),
            events_applied: 0,
        }
    }
}

const SELECT_LIVE: &str = "SELECT version, transaction_id, global_position, events_applied
                           FROM projection_checkpoints WHERE projection = $1 AND live";

/// Loads `projection`'s live checkpoint, creating a zero one (version 1) if it has none. A
/// plain read when the checkpoint exists (it is called on every poll, so it must not write).
pub async fn load(conn: &mut PgConnection, projection: &str) -> Result<Checkpoint, LedgerError> {
    let mut row: Option<(i32, i64, i64, i64)> = sqlx::query_as(SELECT_LIVE)
        .bind(projection)
        .fetch_optional(&mut *conn)
        .await?;
    if row.is_none() {
        sqlx::query(
            "INSERT INTO projection_checkpoints (projection, version, live)
             SELECT $1, 1, true
             WHERE NOT EXISTS (SELECT 1 FROM projection_checkpoints WHERE projection = $1)
             ON CONFLICT DO NOTHING",
        )
        .bind(projection)
        .execute(&mut *conn)
        .await?;
        row = Some(
            sqlx::query_as(SELECT_LIVE)
                .bind(projection)
                .fetch_one(&mut *conn)
                .await?,
        );
    }
    let (version, transaction_id, global_position, events_applied) = row.unwrap_or((1, 0, 0, 0));
    Ok(Checkpoint {
        version,
        cursor: FeedCursor {
            transaction_id,
            global_position,
        },
        events_applied,
    })
}

/// Loads the checkpoint of one version of `projection` (live or not), `None` if it has none.
pub async fn load_version(
    conn: &mut PgConnection,
    projection: &str,
    version: i32,
) -> Result<Option<Checkpoint>, LedgerError> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT transaction_id, global_position, events_applied
         FROM projection_checkpoints WHERE projection = $1 AND version = $2",
    )
    .bind(projection)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(
        |(transaction_id, global_position, events_applied)| Checkpoint {
            version,
            cursor: FeedCursor {
                transaction_id,
                global_position,
            },
            events_applied,
        },
    ))
}

/// One stored checkpoint row, as status pages list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The projection's name.
    pub projection: String,
    /// Its checkpoint (with the version).
    pub checkpoint: Checkpoint,
    /// Whether this is the live version (readers see it) or one a rebuild is building.
    pub live: bool,
    /// Why its projector (or rebuild) stopped, if it did.
    pub failure: Option<ProjectorFailure>,
}

/// Reads every checkpoint row (live versions and versions being built), by projection then
/// version, with their last failure. Read-only (for status pages).
pub async fn list(conn: &mut PgConnection) -> Result<Vec<StoredCheckpoint>, LedgerError> {
    type Row = (
        String,
        i32,
        bool,
        i64,
        i64,
        i64,
        Option<String>,
        Option<i64>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT projection, version, live, transaction_id, global_position, events_applied,
                failure, failure_position, failure_at
         FROM projection_checkpoints ORDER BY projection, version",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(projection, version, live, xid, pos, applied, failure, failure_position, at)| {
                StoredCheckpoint {
                    projection,
                    checkpoint: Checkpoint {
                        version,
                        cursor: FeedCursor {
                            transaction_id: xid,
                            global_position: pos,
                        },
                        events_applied: applied,
                    },
                    live,
                    failure: failure.zip(at).map(|(message, at)| ProjectorFailure {
                        message,
                        global_position: failure_position,
                        at,
                    }),
                }
            },
        )
        .collect())
}

/// Records that `version` of `projection` stopped with `message` at `global_position`, in its
/// own statement (the failed batch was rolled back), so every process sees it in
/// `/v1/status`. The next successful batch of that version clears it.
pub async fn record_failure<'c>(
    executor: impl PgExecutor<'c>,
    projection: &str,
    version: i32,
    global_position: Option<i64>,
    message: &str,
) -> Result<(), LedgerError> {
    sqlx::query(
        "UPDATE projection_checkpoints
         SET failure = $3, failure_position = $4, failure_at = now()
         WHERE projection = $1 AND version = $2",
    )
    .bind(projection)
    .bind(version)
    .bind(message)
    .bind(global_position)
    .execute(executor)
    .await?;
    Ok(())
}

/// Moves `projection`'s checkpoint of version `previous.version` from `previous` to `next`,
/// inside the caller's transaction (the one that writes the projection's rows; call it first
/// in that transaction, so the row lock orders it against [`switch_live`]). Compare-and-set:
/// returns `false`, and changes nothing, when the stored checkpoint is no longer `previous`
/// or the version's liveness is no longer `live` (another instance moved it, or a rebuild
/// switched versions); the caller must then roll back.
pub async fn advance(
    conn: &mut PgConnection,
    projection: &str,
    live: bool,
    previous: &Checkpoint,
    next: &Checkpoint,
) -> Result<bool, LedgerError> {
    let result = sqlx::query(
        "UPDATE projection_checkpoints
         SET transaction_id = $3, global_position = $4, events_applied = $5,
             updated_at = now(), failure = NULL, failure_position = NULL, failure_at = NULL
         WHERE projection = $1 AND version = $2 AND live = $8
           AND transaction_id = $6 AND global_position = $7",
    )
    .bind(projection)
    .bind(previous.version)
    .bind(next.cursor.transaction_id)
    .bind(next.cursor.global_position)
    .bind(next.events_applied)
    .bind(previous.cursor.transaction_id)
    .bind(previous.cursor.global_position)
    .bind(live)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Every version of `projection` that has a checkpoint row, as (version, live), ascending.
pub async fn versions(
    conn: &mut PgConnection,
    projection: &str,
) -> Result<Vec<(i32, bool)>, LedgerError> {
    Ok(sqlx::query_as(
        "SELECT version, live FROM projection_checkpoints WHERE projection = $1 ORDER BY version",
    )
    .bind(projection)
    .fetch_all(conn)
    .await?)
}

/// Starts checkpoint `version` of `projection` at the start of the log, not live, inside the
/// caller's transaction (the one creating the version's tables).
///
/// Errors: [`LedgerError::Database`] when that version already has a row.
pub async fn start_version(
    conn: &mut PgConnection,
    projection: &str,
    version: i32,
) -> Result<(), LedgerError> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (projection, version, live) VALUES ($1, $2, false)",
    )
    .bind(projection)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes `version` the live version of `projection` (and every other version not live),
/// inside the caller's transaction. It takes the row locks of the old live checkpoint, so it
/// waits for a projector batch in flight on the old version to commit; batches after it fail
/// their compare-and-set and move to `version`.
///
/// Errors: [`LedgerError::Database`]; nothing changes when `version` has no row (returns
/// `false`).
pub async fn switch_live(
    conn: &mut PgConnection,
    projection: &str,
    version: i32,
) -> Result<bool, LedgerError> {
    // Two statements: the partial unique index allows one live row at a time.
    sqlx::query(
        "UPDATE projection_checkpoints SET live = false, updated_at = now()
         WHERE projection = $1 AND live AND version <> $2",
    )
    .bind(projection)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    let switched = sqlx::query(
        "UPDATE projection_checkpoints SET live = true, updated_at = now()
         WHERE projection = $1 AND version = $2",
    )
    .bind(projection)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(switched.rows_affected() == 1)
}

/// Deletes the checkpoint row of `version` of `projection` (after its tables were dropped),
/// inside the caller's transaction. Refuses (does nothing) for the live version.
pub async fn remove_version(
    conn: &mut PgConnection,
    projection: &str,
    version: i32,
) -> Result<(), LedgerError> {
    sqlx::query(
        "DELETE FROM projection_checkpoints WHERE projection = $1 AND version = $2 AND NOT live",
    )
    .bind(projection)
    .bind(version)
    .execute(conn)
    .await?;
    Ok(())
}
