//! Running projectors: catch up from the checkpoint in batches, tail the live log, rebuild.

use crate::projector::{Projector, ProjectorLease};
use crate::read_models::{CashProjector, CustomerEventsProjector, MrrProjector};
use crate::ProjectionError;
use ledger::store::{checkpoint, read, AppendSignal, Checkpoint, FeedCursor};
use sqlx::PgPool;
use std::time::Duration;

/// Events per projector transaction.
pub const BATCH_SIZE: i64 = 1000;
/// Polling fallback when no in-process wake-up arrives (events appended by another process).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long `catch_up_all` waits for a projector run by another process.
pub const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

/// Every projector of Tally, in the order they are run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Projectors {
    /// MRR, movements and rates.
    pub mrr: MrrProjector,
    /// Invoices, cash collected, refunds, outstanding.
    pub cash: CashProjector,
    /// The per-customer audit trail.
    pub customer_events: CustomerEventsProjector,
}

impl Projectors {
    /// The names of every projection, as `/v1/status` lists them.
    pub fn names(&self) -> [&'static str; 3] {
        [
            self.mrr.name(),
            self.cash.name(),
            self.customer_events.name(),
        ]
    }
}

/// Applies every available event to `projector`, batch by batch, until the gated feed is empty.
/// The caller must hold the projector's [`ProjectorLease`]. Returns the number of events applied.
///
/// Errors: the first batch that fails is rolled back and its error returned (the checkpoint
/// stays before it, so nothing is skipped).
pub async fn catch_up<P: Projector>(pool: &PgPool, projector: &P) -> Result<u64, ProjectionError> {
    let mut applied = 0_u64;
    loop {
        let mut connection = pool.acquire().await?;
        let previous = checkpoint::load(&mut connection, projector.name()).await?;
        let events = read::read_all_after(&mut *connection, previous.cursor, BATCH_SIZE).await?;
        let Some(last) = events.last() else {
            return Ok(applied);
        };
        let next = Checkpoint {
            cursor: FeedCursor {
                transaction_id: last.transaction_id,
                global_position: last.global_position,
            },
            events_applied: previous.events_applied + events.len() as i64,
        };
        let mut transaction = sqlx::Connection::begin(&mut *connection).await?;
        if let Err(error) = projector.apply(&mut transaction, &events).await {
            transaction.rollback().await?;
            let position = match &error {
                ProjectionError::PoisonEvent {
                    global_position, ..
                } => *global_position,
                _ => events[0].global_position,
            };
            let message = error.to_string();
            checkpoint::record_failure(
                &mut *connection,
                projector.name(),
                Some(position),
                &message,
            )
            .await?;
            return Err(error);
        }
        if !checkpoint::advance(&mut transaction, projector.name(), &previous, &next).await? {
            // A rebuild reset the checkpoint meanwhile: drop this batch, start over from it.
            transaction.rollback().await?;
            continue;
        }
        transaction.commit().await?;
        applied += events.len() as u64;
    }
}

/// Brings every projection up to the log head as it is now (every event committed so far is
/// applied): runs each projector here when no other process runs it, otherwise waits (up to `CATCH_UP_TIMEOUT`, 120 s) for the process that does.
pub async fn catch_up_all(pool: &PgPool, projectors: &Projectors) -> Result<(), ProjectionError> {
    catch_up_or_wait(pool, &projectors.mrr).await?;
    catch_up_or_wait(pool, &projectors.cash).await?;
    catch_up_or_wait(pool, &projectors.customer_events).await?;
    Ok(())
}

async fn catch_up_or_wait<P: Projector>(
    pool: &PgPool,
    projector: &P,
) -> Result<(), ProjectionError> {
    let started = tokio::time::Instant::now();
    let head = read::log_head(pool).await?;
    loop {
        if let Some(lease) = ProjectorLease::try_acquire(pool, projector.name()).await? {
            let result = catch_up(pool, projector).await;
            lease.release().await?;
            result?;
        }
        let mut connection = pool.acquire().await?;
        let cursor = checkpoint::load(&mut connection, projector.name())
            .await?
            .cursor;
        if read::applied_through(&mut *connection, cursor).await? >= head {
            return Ok(());
        }
        if started.elapsed() > CATCH_UP_TIMEOUT {
            return Err(ProjectionError::CatchUpTimeout {
                log_head: head,
                seconds: CATCH_UP_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Replays the whole log into fresh read models for `projector`: empties its tables and resets
/// its checkpoint in one transaction, then brings it back up to the log head — here, or in the
/// process that runs the projector (a running server picks the reset up at its next batch).
/// Returns the number of events applied since the reset.
///
/// The read models are empty until the replay catches up; a rebuild that keeps serving the old
/// version meanwhile is future work (versioned tables, switched atomically).
pub async fn rebuild<P: Projector>(pool: &PgPool, projector: &P) -> Result<u64, ProjectionError> {
    let mut transaction = pool.begin().await?;
    for table in projector.tables() {
        // Table names are compile-time constants of the projector, never input.
        sqlx::query(&format!("TRUNCATE {table}"))
            .execute(&mut *transaction)
            .await?;
    }
    checkpoint::reset(&mut transaction, projector.name()).await?;
    transaction.commit().await?;
    catch_up_or_wait(pool, projector).await?;
    let mut connection = pool.acquire().await?;
    let rebuilt = checkpoint::load(&mut connection, projector.name()).await?;
    Ok(u64::try_from(rebuilt.events_applied).unwrap_or(0))
}

/// Runs `projector` for as long as the task lives: takes the lease (waiting while another
/// process holds it), catches up, then waits for `wake` (in-process, after each append) or the
/// polling interval. A batch that fails stops the projector: the error is logged, recorded on
/// its checkpoint row (shown by `/v1/status` in every process) and retried after a pause;
/// nothing is skipped.
pub async fn run_until_stopped<P: Projector>(pool: PgPool, projector: P, wake: AppendSignal) {
    let name = projector.name();
    let mut woken = wake.subscribe();
    loop {
        let lease = match ProjectorLease::try_acquire(&pool, name).await {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                tokio::time::sleep(POLL_INTERVAL).await;
                continue;
            }
            Err(error) => {
                tracing::warn!(projection = name, %error, "cannot take projector lease");
                tokio::time::sleep(POLL_INTERVAL).await;
                continue;
            }
        };
        loop {
            match catch_up(&pool, &projector).await {
                Ok(applied) => {
                    if applied > 0 {
                        tracing::debug!(projection = name, applied, "projector caught up");
                    }
                }
                Err(error) => {
                    tracing::error!(projection = name, %error, "projector stopped");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    break;
                }
            }
            let _ = tokio::time::timeout(POLL_INTERVAL, woken.changed()).await;
        }
        drop(lease);
    }
}
