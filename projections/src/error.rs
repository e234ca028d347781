//! The projections crate's one error enum.

use ledger::LedgerError;

/// Errors of projectors and read-model queries.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The event store failed (database, or an event that cannot be read back).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A read-model query failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored read-model row does not decode (a bug, or a schema change without rebuild).
    #[error("read model row does not decode: {0}")]
    BadRow(#[from] serde_json::Error),
    /// A projector could not apply an event: it stops here, and the event is surfaced.
    #[error(
        "projector {projection} cannot apply event at global position {global_position}: {reason}"
    )]
    PoisonEvent {
        /// The projector.
        projection: String,
        /// The event it stopped at.
        global_position: i64,
        /// Why.
        reason: String,
    },
    /// Waiting for projections to catch up took longer than allowed.
    #[error("projections did not catch up with log head {log_head} within {seconds} s")]
    CatchUpTimeout {
        /// The head waited for.
        log_head: i64,
        /// How long we waited.
        seconds: u64,
    },
    /// A rebuild of this projection is already running (in this or another process).
    #[error("a rebuild of projection {projection} is already running")]
    RebuildAlreadyRunning {
        /// The projection.
        projection: String,
    },
    /// A rebuild could not copy an index of the live read-model version to the new one (its
    /// definition does not name the live table the way `pg_get_indexdef` does).
    #[error("cannot create index on {table} from the live version's definition: {definition}")]
    IndexNotRetargetable {
        /// The new version's table, schema-qualified.
        table: String,
        /// The live version's `CREATE INDEX` statement.
        definition: String,
    },
    /// The checkpoint of the version a rebuild is building was moved by someone else.
    #[error("the checkpoint of version {version} of projection {projection} was moved by another process during the rebuild")]
    RebuildInterfered {
        /// The projection.
        projection: String,
        /// The version being built.
        version: i32,
    },
}
