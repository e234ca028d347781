//! Projector checkpoints: where each projector stands in the global feed.

use crate::LedgerError;
use sqlx::PgConnection;

/// A position in the gap-free global feed: the pair (transaction id, global position) of the
/// last event read. Events are delivered in ascending order of this pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FeedCursor {
    /// `transaction_id` of the last event read (0 before the first).
    pub transaction_id: i64,
    /// `global_position` of the last event read (0 before the first).
    pub global_position: i64,
}

/// A projector's stored checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// Where the projector resumes.
    pub cursor: FeedCursor,
    /// Highest global position applied: equals the log head once caught up.
    pub max_position: i64,
    /// Events applied since the projection was (re)built.
    pub events_applied: i64,
}

/// Loads `projection`'s checkpoint, creating a zero one if it has none. A plain read when the
/// checkpoint exists (it is called on every poll, so it must not write).
pub async fn load(conn: &mut PgConnection, projection: &str) -> Result<Checkpoint, LedgerError> {
    const SELECT: &str = "SELECT transaction_id, global_position, max_position, events_applied
                          FROM projection_checkpoints WHERE projection = $1";
    let mut row: Option<(i64, i64, i64, i64)> = sqlx::query_as(SELECT)
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
    let (transaction_id, global_position, max_position, events_applied) = row.unwrap_or_default();
    Ok(Checkpoint {
        cursor: FeedCursor {
            transaction_id,
            global_position,
        },
        max_position,
        events_applied,
    })
}

/// Reads every projection's checkpoint, by name. Read-only (for status pages).
pub async fn list(conn: &mut PgConnection) -> Result<Vec<(String, Checkpoint)>, LedgerError> {
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT projection, transaction_id, global_position, max_position, events_applied
         FROM projection_checkpoints ORDER BY projection",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, xid, pos, max, applied)| {
            (
                name,
                Checkpoint {
                    cursor: FeedCursor {
                        transaction_id: xid,
                        global_position: pos,
                    },
                    max_position: max,
                    events_applied: applied,
                },
            )
        })
        .collect())
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
         SET transaction_id = $2, global_position = $3, max_position = $4, events_applied = $5,
             updated_at = now()
         WHERE projection = $1 AND transaction_id = $6 AND global_position = $7",
    )
    .bind(projection)
    .bind(next.cursor.transaction_id)
    .bind(next.cursor.global_position)
    .bind(next.max_position)
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
         SET transaction_id = 0, global_position = 0, max_position = 0, events_applied = 0,
             updated_at = now()",
    )
    .bind(projection)
    .execute(conn)
    .await?;
    Ok(())
}
