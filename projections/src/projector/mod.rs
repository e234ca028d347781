//! Projectors: turn the global feed into read models, one batch per short transaction that also
//! moves the projector's checkpoint (so a crash never loses or doubles an update).

mod fingerprint;
mod leadership;
mod runner;

pub use fingerprint::read_model_fingerprint;
pub use leadership::ProjectorLease;
pub use runner::{catch_up, catch_up_all, rebuild, run_until_stopped, Projectors};

use crate::ProjectionError;
use ledger::store::RecordedEvent;
use sqlx::PgConnection;
use std::future::Future;

/// A projector: applies batches of events, in global feed order, to its read-model tables.
///
/// `apply` runs inside the transaction that also advances the checkpoint; it must be
/// deterministic (same events, same rows) and must not call anything outside the database.
pub trait Projector: Send + Sync + 'static {
    /// The projection's name (checkpoint key, status name), e.g. `mrr`.
    fn name(&self) -> &'static str;

    /// The read-model tables this projector owns (emptied by a rebuild).
    fn tables(&self) -> &'static [&'static str];

    /// Applies `events` (one batch, in feed order) inside the caller's transaction.
    fn apply(
        &self,
        conn: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> impl Future<Output = Result<(), ProjectionError>> + Send;
}
