//! The PostgreSQL event store: append (one or several streams, idempotent by command id; or a
//! bulk-import chunk through COPY), read a stream, read or subscribe to the whole log in
//! gap-free global order, wake readers across processes, the raw inbox, checkpoints,
//! operations figures (projector lag, the oldest writing transaction), migrations, and the
//! embedded PostgreSQL default.
//!
//! This is the only SQL in the ledger crate. DDL lives in `/migrations`.
//!
//! Conventions: positions and versions are `i64` (PostgreSQL `bigint`), times are UTC. Unless a
//! function documents more, its only error is [`crate::LedgerError::Database`] (the database
//! failed or is unreachable; nothing was changed outside the caller's transaction).

pub mod api_keys;
pub mod append;
pub mod append_new;
pub mod append_signal;
pub mod bulk_import;
pub mod checkpoint;
pub mod connect;
mod copy_binary;
pub mod embedded_postgres;
pub mod inbox;
pub mod inbox_queue;
pub mod keep_message;
pub mod log_status;
pub mod notifications;
pub mod read;
pub mod record;
pub mod stripe_outbox;
pub mod subscription;
#[cfg(any(test, feature = "test-support"))]
pub mod test_database;
pub mod webhook_deliveries;

pub use append::{
    AppendOutcome, AppendedEvent, EventStore, ExpectedVersion, NewEvent, StreamAppend,
    StreamsAppendOutcome,
};
pub use append_new::NewEventOutcome;
pub use append_signal::AppendSignal;
pub use bulk_import::{copy_append_chunk, BulkOutcome, StreamEvent};
pub use checkpoint::{Checkpoint, FeedCursor, ProjectorFailure, StoredCheckpoint};
pub use notifications::FeedNotifications;
pub use record::RecordedEvent;
pub use subscription::{Subscription, SubscriptionOptions};

/// The migrations of `/migrations`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Applies every pending migration.
///
/// Errors: [`crate::LedgerError::Migration`] when a migration fails or the database has
/// migrations this build does not know.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), crate::LedgerError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
