//! The operations figures shared by `GET /v1/status` and `GET /metrics`: log head, each
//! projector's checkpoint, watermark and lag, the oldest writing transaction, and the inbox
//! translator's queue.

use crate::{ApiError, AppState};
use ledger::store::inbox_queue::{self, QueueDepth};
use ledger::store::log_status::{self, ReaderLag, WritingTransaction};
use ledger::store::{checkpoint, read, Checkpoint, ProjectorFailure};
use sqlx::pool::PoolConnection;
use sqlx::Postgres;

/// One projector's progress.
pub(crate) struct ProjectorFigures {
    /// The projector's name, e.g. `mrr`.
    pub name: &'static str,
    /// Its stored checkpoint (zero when it has never run).
    pub checkpoint: Checkpoint,
    /// Why it is stopped, if it is.
    pub failure: Option<ProjectorFailure>,
    /// Every event at or below this global position has been applied.
    pub watermark: i64,
    /// Events not applied yet, and the age of the oldest.
    pub lag: ReaderLag,
    /// The version a rebuild is building (or left unfinished), if any.
    pub rebuild: Option<RebuildFigures>,
}

/// A read-model version being built by `tally rebuild` (not live yet).
pub(crate) struct RebuildFigures {
    /// Its checkpoint (version, cursor, events applied).
    pub checkpoint: Checkpoint,
    /// Every event at or below this global position has been replayed into it.
    pub watermark: i64,
    /// Why the rebuild stopped, if it did (it then never switched).
    pub failure: Option<ProjectorFailure>,
}

/// Everything `/v1/status` and `/metrics` report about the log.
pub(crate) struct LogFigures {
    /// Highest committed global position (0 for an empty log).
    pub log_head: i64,
    /// Every projector of this build, in a stable order.
    pub projectors: Vec<ProjectorFigures>,
    /// The oldest running transaction of the cluster holding a transaction id.
    pub oldest_writing_transaction: Option<WritingTransaction>,
    /// Webhook bodies kept but not translated yet, and the oldest one's age.
    pub inbox_queue: QueueDepth,
}

/// A pooled connection, its error mapped to a 500.
pub(crate) async fn connection(state: &AppState) -> Result<PoolConnection<Postgres>, ApiError> {
    state
        .pool
        .acquire()
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))
}

/// Reads the figures on `connection` (read-only statements, no transaction, so it takes no
/// transaction id and never holds the feed back itself).
pub(crate) async fn gather(
    state: &AppState,
    connection: &mut PoolConnection<Postgres>,
) -> Result<LogFigures, ApiError> {
    let log_head = read::log_head(&mut **connection).await?;
    let stored = checkpoint::list(connection).await?;
    let mut projectors = Vec::new();
    for name in state.projectors.names() {
        let (checkpoint, failure) = stored
            .iter()
            .find(|row| row.projection == name && row.live)
            .map(|row| (row.checkpoint, row.failure.clone()))
            .unwrap_or_default();
        let watermark = read::applied_through(&mut **connection, checkpoint.cursor).await?;
        let lag = log_status::reader_lag(&mut **connection, checkpoint.cursor).await?;
        let mut rebuild = None;
        if let Some(row) = stored
            .iter()
            .filter(|row| row.projection == name && !row.live)
            .max_by_key(|row| row.checkpoint.version)
        {
            rebuild = Some(RebuildFigures {
                checkpoint: row.checkpoint,
                watermark: read::applied_through(&mut **connection, row.checkpoint.cursor).await?,
                failure: row.failure.clone(),
            });
        }
        projectors.push(ProjectorFigures {
            name,
            checkpoint,
            failure,
            watermark,
            lag,
            rebuild,
        });
    }
    let oldest_writing_transaction =
        log_status::oldest_writing_transaction(&mut **connection).await?;
    let inbox_queue = inbox_queue::queue_depth(&mut **connection).await?;
    Ok(LogFigures {
        log_head,
        projectors,
        oldest_writing_transaction,
        inbox_queue,
    })
}

/// Seconds rounded to the millisecond, for JSON.
pub(crate) fn milliseconds_precision(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}
