//! Running projectors: catch up from the checkpoint in batches, tail the live log, rebuild.

use crate::projector::{versions, Projector, ProjectorLease};
use crate::read_models::{CashProjector, CustomerEventsProjector, MrrProjector};
use crate::ProjectionError;
use ledger::store::read::FilteredPage;
use ledger::store::{checkpoint, read, AppendSignal, Checkpoint, FeedCursor};
use sqlx::{PgConnection, PgExecutor, PgPool};
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

/// Applies every available event to `projector`'s live read-model version, batch by batch,
/// until the gated feed is empty. The caller must hold the projector's [`ProjectorLease`].
/// Returns the number of events passed (applied, or of types the projector does not read).
/// When a rebuild switches versions meanwhile, the batch in flight on the old version is
/// dropped and the projector continues from the new version's checkpoint.
///
/// Errors: the first batch that fails is rolled back, its error recorded on the checkpoint
/// row (with the event's position when known) and returned; the checkpoint stays before it,
/// so nothing is skipped.
pub async fn catch_up<P: Projector>(pool: &PgPool, projector: &P) -> Result<u64, ProjectionError> {
    let mut applied = 0_u64;
    loop {
        let mut connection = pool.acquire().await?;
        let previous = checkpoint::load(&mut connection, projector.name()).await?;
        let page = read_projector_page(
            &mut *connection,
            previous.cursor,
            BATCH_SIZE,
            projector.event_types(),
        )
        .await?;
        if page.through.is_none() {
            return Ok(applied);
        }
        let batch = Batch {
            previous,
            page: &page,
            live: true,
            bulk: false,
        };
        if apply_batch(&mut connection, projector, batch)
            .await?
            .is_some()
        {
            applied += page.covered;
        }
        // Else a rebuild switched versions (or reset) meanwhile: start over from the live one.
    }
}

/// Reads one page of at most `limit` events of the gated feed after `cursor`, as a projector
/// needs it: with `event_types` (the projector's [`Projector::event_types`]) only the events of
/// those types come in full and the rest are only counted ([`read::read_types_after`]: the
/// server renders no payload the projector would ignore, such as the usage increments that
/// make most of the log); without, every event. `through` is `None` when the feed is empty.
///
/// Errors: [`ProjectionError::Ledger`] from the read.
pub(crate) async fn read_projector_page<'c>(
    executor: impl PgExecutor<'c>,
    cursor: FeedCursor,
    limit: i64,
    event_types: Option<&'static [&'static str]>,
) -> Result<FilteredPage, ProjectionError> {
    Ok(match event_types {
        Some(event_types) => read::read_types_after(executor, cursor, limit, event_types).await?,
        None => {
            let events = read::read_all_after(executor, cursor, limit).await?;
            let through = events.last().map(|last| FeedCursor {
                transaction_id: last.transaction_id,
                global_position: last.global_position,
            });
            FilteredPage {
                covered: events.len() as u64,
                through,
                events,
            }
        }
    })
}

/// One batch of events for one read-model version.
pub(crate) struct Batch<'a> {
    /// The version's checkpoint before the batch.
    pub previous: Checkpoint,
    /// The page read for it ([`read_projector_page`]): the events the projector reads, in feed
    /// order (possibly none), where the page ended and how many events it covered.
    pub page: &'a FilteredPage,
    /// Whether the version must be the live one (the running projector) or must not be (a
    /// rebuild).
    pub live: bool,
    /// Through [`Projector::apply_bulk`] (rebuild) rather than [`Projector::apply`].
    pub bulk: bool,
}

/// Applies one batch to its version in one transaction that also advances the version's
/// checkpoint to the end of the page. Returns the version's new checkpoint (`previous` itself
/// for an empty page); `Ok(None)`: the checkpoint moved (or the version's liveness changed)
/// since `previous` was read, and nothing was applied.
///
/// Errors: the projector's error (the batch rolled back, the error recorded on the version's
/// checkpoint row).
pub(crate) async fn apply_batch<P: Projector>(
    connection: &mut PgConnection,
    projector: &P,
    batch: Batch<'_>,
) -> Result<Option<Checkpoint>, ProjectionError> {
    let Batch {
        previous,
        page,
        live,
        bulk,
    } = batch;
    let Some(through) = page.through else {
        return Ok(Some(previous));
    };
    let (events, covered) = (page.events.as_slice(), page.covered);
    let next = Checkpoint {
        version: previous.version,
        cursor: through,
        events_applied: previous.events_applied + i64::try_from(covered).unwrap_or(i64::MAX),
    };
    let mut transaction = sqlx::Connection::begin(&mut *connection).await?;
    // The checkpoint first: its row lock orders this batch against a version switch.
    if !checkpoint::advance(&mut transaction, projector.name(), live, &previous, &next).await? {
        transaction.rollback().await?;
        return Ok(None);
    }
    if events.is_empty() {
        // A filtered page with none of the projector's types: only the checkpoint moves.
        transaction.commit().await?;
        return Ok(Some(next));
    }
    versions::use_version(&mut transaction, projector.name(), previous.version).await?;
    let applied = if bulk {
        projector.apply_bulk(&mut transaction, events).await
    } else {
        projector.apply(&mut transaction, events).await
    };
    if let Err(error) = applied {
        transaction.rollback().await?;
        let position = match &error {
            ProjectionError::PoisonEvent {
                global_position, ..
            } => *global_position,
            _ => events
                .first()
                .map_or(through.global_position, |event| event.global_position),
        };
        checkpoint::record_failure(
            &mut *connection,
            projector.name(),
            previous.version,
            Some(position),
            &error.to_string(),
        )
        .await?;
        return Err(error);
    }
    transaction.commit().await?;
    Ok(Some(next))
}

/// Brings every projection up to the log head as it is now (every event committed so far is
/// applied): runs each projector here when no other process runs it, otherwise waits (up to `CATCH_UP_TIMEOUT`, 120 s) for the process that does.
pub async fn catch_up_all(pool: &PgPool, projectors: &Projectors) -> Result<(), ProjectionError> {
    catch_up_or_wait(pool, &projectors.mrr).await?;
    catch_up_or_wait(pool, &projectors.cash).await?;
    catch_up_or_wait(pool, &projectors.customer_events).await?;
    Ok(())
}

/// Brings `projector`'s live version up to the log head as it is now: runs it here when no
/// other process runs it, otherwise waits (up to `CATCH_UP_TIMEOUT`, 120 s) for the process
/// that does.
///
/// Errors: the projector's error when it runs here; [`ProjectionError::CatchUpTimeout`].
pub async fn catch_up_or_wait<P: Projector>(
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
