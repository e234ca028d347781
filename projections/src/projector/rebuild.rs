//! Rebuilding a projection without downtime: build a new read-model version from the start of
//! the log while readers (and the running projector) keep using the live one, then switch
//! atomically and drop the old version.
//!
//! 1. Create version N+1: a schema with UNLOGGED copies of the live tables and a checkpoint
//!    row at the start of the log (not live).
//! 2. Replay the log into it in large pages through [`Projector::apply_bulk`] (the next page is
//!    read while the current one is written), then [`Projector::finish_bulk`] derives what the
//!    bulk path left out (set-based).
//!    A projector whose bulk path only inserts ([`Projector::bulk_only_inserts`]) replays
//!    into tables without indexes; they are built after the replay, before deriving, each
//!    filled table made durable first so its indexes are built once (logged).
//! 3. SET LOGGED + ANALYZE, then catch it up incrementally ([`Projector::apply`]) with the
//!    events appended meanwhile.
//! 4. One transaction: the live checkpoint becomes N+1's and every reader view is repointed.
//!    The running projector's next batch on N fails its compare-and-set and it continues on
//!    N+1 from N+1's checkpoint (the events appended since step 3 included).
//! 5. Drop version N, then bring N+1 to the log head (here, or by the process that runs the
//!    projector).
//!
//! A batch the projector cannot apply stops the rebuild before the switch: the live version
//! keeps serving, the error is recorded on the new version's checkpoint row (shown by
//! `/v1/status`), and the next rebuild discards the unfinished version.

use crate::projector::runner::{
    apply_batch, catch_up_or_wait, read_projector_page, Batch, BATCH_SIZE,
};
use crate::projector::{versions, Projector, ProjectorLease};
use crate::ProjectionError;
use ledger::store::read::FilteredPage;
use ledger::store::{checkpoint, Checkpoint, FeedCursor};
use sqlx::PgPool;
use tokio::sync::mpsc;

/// Events per page while replaying into a new version.
pub const REBUILD_PAGE_SIZE: i64 = 5000;

/// What a rebuild reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildProgress {
    /// Events replayed into the new version so far.
    Replayed {
        /// Count since the start of the rebuild.
        events: u64,
    },
    /// A step after the replay: `building indexes` (only for
    /// [`Projector::bulk_only_inserts`]), `deriving`, `making durable`, `catching up`,
    /// `switching`, `dropping old version`.
    Step(&'static str),
}

/// The result of a rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildOutcome {
    /// The version readers see now.
    pub version: i32,
    /// The version that was dropped.
    pub previous_version: i32,
    /// Events applied to the new version by the time it was brought to the log head.
    pub events_applied: u64,
}

/// [`rebuild_with_progress`] without progress reports; returns the events applied.
pub async fn rebuild<P: Projector>(pool: &PgPool, projector: &P) -> Result<u64, ProjectionError> {
    Ok(rebuild_with_progress(pool, projector, &mut |_| {})
        .await?
        .events_applied)
}

/// Rebuilds `projector`'s read models from the start of the log into a new version while the
/// live one keeps serving, switches readers and the running projector to it atomically, drops
/// the old version, and brings the new one to the log head (see the module docs).
///
/// Errors: [`ProjectionError::RebuildAlreadyRunning`]; [`ProjectionError::PoisonEvent`] (or
/// any projector error) for an event it cannot apply, before any switch; database errors.
pub async fn rebuild_with_progress<P: Projector>(
    pool: &PgPool,
    projector: &P,
    progress: &mut (dyn FnMut(RebuildProgress) + Send),
) -> Result<RebuildOutcome, ProjectionError> {
    let name = projector.name();
    let Some(lease) = ProjectorLease::try_acquire(pool, &format!("{name}:rebuild")).await? else {
        return Err(ProjectionError::RebuildAlreadyRunning {
            projection: name.to_owned(),
        });
    };
    let result = build_and_switch(pool, projector, progress).await;
    lease.release().await?;
    result
}

async fn build_and_switch<P: Projector>(
    pool: &PgPool,
    projector: &P,
    progress: &mut (dyn FnMut(RebuildProgress) + Send),
) -> Result<RebuildOutcome, ProjectionError> {
    let name = projector.name();
    let tables = projector.tables();
    let mut connection = pool.acquire().await?;
    let live = checkpoint::load(&mut connection, name).await?;
    // Versions left by an interrupted or failed rebuild are discarded.
    let stored = checkpoint::versions(&mut connection, name).await?;
    drop(connection);
    for &(version, is_live) in &stored {
        if !is_live {
            versions::drop_version(pool, name, tables, version).await?;
        }
    }
    let version = stored
        .iter()
        .map(|&(version, _)| version)
        .max()
        .unwrap_or(live.version)
        + 1;
    let indexes = if projector.bulk_only_inserts() {
        versions::NewIndexes::Deferred
    } else {
        versions::NewIndexes::Copied
    };
    versions::create_version(pool, name, tables, live.version, version, indexes).await?;
    let built = replay_and_catch_up(pool, projector, live.version, version, progress).await;
    if let Err(error) = &built {
        if !matches!(error, ProjectionError::PoisonEvent { .. }) {
            // Poison events were recorded by the batch; record anything else too.
            let _ = checkpoint::record_failure(
                pool,
                name,
                version,
                None,
                &format!("rebuild failed: {error}"),
            )
            .await;
        }
    }
    built?;
    progress(RebuildProgress::Step("switching"));
    let mut transaction = pool.begin().await?;
    if !versions::switch_to(&mut transaction, name, tables, version).await? {
        transaction.rollback().await?;
        return Err(ProjectionError::RebuildInterfered {
            projection: name.to_owned(),
            version,
        });
    }
    transaction.commit().await?;
    tracing::info!(
        projection = name,
        version,
        "read models switched to the new version"
    );
    progress(RebuildProgress::Step("dropping old version"));
    versions::drop_version(pool, name, tables, live.version).await?;
    catch_up_or_wait(pool, projector).await?;
    let now = checkpoint::load(&mut *pool.acquire().await?, name).await?;
    Ok(RebuildOutcome {
        version,
        previous_version: live.version,
        events_applied: u64::try_from(now.events_applied).unwrap_or(0),
    })
}

/// Steps 2 and 3: fills `version` from the start of the log and catches it up.
async fn replay_and_catch_up<P: Projector>(
    pool: &PgPool,
    projector: &P,
    live_version: i32,
    version: i32,
    progress: &mut (dyn FnMut(RebuildProgress) + Send),
) -> Result<(), ProjectionError> {
    let name = projector.name();
    let interfered = || ProjectionError::RebuildInterfered {
        projection: name.to_owned(),
        version,
    };
    let mut connection = pool.acquire().await?;
    let mut state = Checkpoint {
        version,
        ..Checkpoint::default()
    };
    let (pages_sender, mut pages) = mpsc::channel(2);
    let reader = tokio::spawn(read_ahead(
        pool.clone(),
        FeedCursor::default(),
        projector.event_types(),
        pages_sender,
    ));
    let mut replayed = 0_u64;
    while let Some(page) = pages.recv().await {
        let page: FilteredPage = match page {
            Ok(page) => page,
            Err(error) => {
                reader.abort();
                return Err(error);
            }
        };
        if page.through.is_none() {
            continue;
        }
        let batch = Batch {
            previous: state,
            page: &page,
            live: false,
            bulk: true,
        };
        let applied = apply_batch(&mut connection, projector, batch).await;
        let Some(next) = (match applied {
            Ok(next) => next,
            Err(error) => {
                reader.abort();
                return Err(error);
            }
        }) else {
            reader.abort();
            return Err(interfered());
        };
        state = next;
        replayed += page.covered;
        progress(RebuildProgress::Replayed { events: replayed });
    }
    if projector.bulk_only_inserts() {
        progress(RebuildProgress::Step("building indexes"));
        versions::build_deferred_indexes(pool, name, projector.tables(), live_version, version)
            .await?;
    }
    progress(RebuildProgress::Step("deriving"));
    projector.finish_bulk(pool, version).await?;
    progress(RebuildProgress::Step("making durable"));
    versions::make_durable(pool, name, projector.tables(), version).await?;
    progress(RebuildProgress::Step("catching up"));
    loop {
        let page = read_projector_page(
            &mut *connection,
            state.cursor,
            BATCH_SIZE,
            projector.event_types(),
        )
        .await?;
        if page.through.is_none() {
            return Ok(());
        }
        let batch = Batch {
            previous: state,
            page: &page,
            live: false,
            bulk: false,
        };
        state = apply_batch(&mut connection, projector, batch)
            .await?
            .ok_or_else(interfered)?;
        replayed += page.covered;
        progress(RebuildProgress::Replayed { events: replayed });
    }
}

/// Reads the gated feed from `cursor` in pages of [`REBUILD_PAGE_SIZE`] events until it is
/// empty, sending each page (or the error that stopped it); stops early when the receiver is
/// gone. With `event_types`, each page carries only the events of those types in full
/// ([`ledger::store::read::read_types_after`]), and where it ended.
async fn read_ahead(
    pool: PgPool,
    mut cursor: FeedCursor,
    event_types: Option<&'static [&'static str]>,
    pages: mpsc::Sender<Result<FilteredPage, ProjectionError>>,
) {
    loop {
        let page = match read_projector_page(&pool, cursor, REBUILD_PAGE_SIZE, event_types).await {
            Ok(page) => page,
            Err(error) => {
                let _ = pages.send(Err(error)).await;
                return;
            }
        };
        let Some(through) = page.through else {
            return;
        };
        cursor = through;
        if pages.send(Ok(page)).await.is_err() {
            return;
        }
    }
}
