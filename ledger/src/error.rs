//! The ledger crate's one error enum.

use crate::domain::DomainEventError;

/// Errors of the event store and the domain.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// An append expected the stream at one version and found it at another.
    #[error("stream {stream_id}: expected version {expected}, found {actual}")]
    WrongExpectedVersion {
        /// The stream appended to.
        stream_id: String,
        /// What the caller expected (`0` = no stream yet).
        expected: i64,
        /// What the stream's head actually was.
        actual: i64,
    },
    /// Some, but not all, of an append's event ids already exist: the append is neither new
    /// nor an exact retry. Nothing was written.
    #[error("{detail}")]
    PartialDuplicate {
        /// What the database reported (how many of the event ids exist).
        detail: String,
    },
    /// One multi-stream append listed the same stream twice. Nothing was written.
    #[error("stream {stream_id} is listed twice in one append: merge its events")]
    DuplicateStreamInAppend {
        /// The stream listed twice.
        stream_id: String,
    },
    /// A stored event could not be read back.
    #[error(transparent)]
    DomainEvent(#[from] DomainEventError),
    /// The embedded PostgreSQL could not be found, created or started.
    #[error("embedded PostgreSQL: {0}")]
    EmbeddedPostgres(String),
    /// A database error.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}
