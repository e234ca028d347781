//! The live entitlements projector: a task that folds the global feed into a shared in-memory
//! [`EntitlementsState`], woken by the process's append signal (and the subscription's polling
//! fallback), so the hot-path entitlement check never touches the database.

use crate::entitlements::state::{EntitlementsState, EVENT_TYPES_READ};
use crate::ProjectionError;
use ledger::domain::DomainEvent;
use ledger::store::{read, EventStore, FeedCursor, RecordedEvent, SubscriptionOptions};
use sqlx::PgPool;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// The state shared between the projector task (writer) and the HTTP handlers (readers).
pub type SharedEntitlements = Arc<RwLock<EntitlementsState>>;

/// Events per page when reading the log.
const PAGE_SIZE: i64 = 5000;

/// The in-memory entitlements projection of one process.
#[derive(Debug, Clone)]
pub struct LiveEntitlements {
    state: SharedEntitlements,
    applied: watch::Sender<i64>,
}

impl Default for LiveEntitlements {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveEntitlements {
    /// An empty projection (position 0); [`LiveEntitlements::run`] fills it.
    pub fn new() -> Self {
        Self {
            state: Arc::new(RwLock::new(EntitlementsState::default())),
            applied: watch::channel(0).0,
        }
    }

    /// The shared state, for readers.
    pub fn state(&self) -> &SharedEntitlements {
        &self.state
    }

    /// The highest global position applied so far, as a watch (for waiting in tests and
    /// benchmarks).
    pub fn applied(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    /// Folds the whole log from the start and then tails it, for as long as the task lives.
    /// An event that cannot be decoded stops the fold at that event (logged, retried every 5 s);
    /// nothing is skipped.
    pub async fn run(self, store: EventStore) {
        let options = SubscriptionOptions {
            page_size: PAGE_SIZE,
            ..SubscriptionOptions::default()
        };
        let mut cursor = FeedCursor::default();
        loop {
            let mut subscription = store.subscribe(cursor, options);
            loop {
                let events = match subscription.next_batch().await {
                    Ok(events) => events,
                    Err(error) => {
                        tracing::warn!(%error, "entitlements projector cannot read the log");
                        break;
                    }
                };
                if let Err(error) = self.apply(&events) {
                    tracing::error!(%error, "entitlements projector stopped");
                    break;
                }
                cursor = subscription.cursor();
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }

    /// Applies one batch, in feed order: decodes outside the lock, then folds under it.
    ///
    /// Errors: [`ProjectionError::PoisonEvent`] for an event that does not decode (nothing of
    /// the batch is applied).
    pub fn apply(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        let decoded = decode_batch(events)?;
        {
            let mut state = self
                .state
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for (event, effective_at, position) in &decoded {
                state.apply(event, *effective_at, *position);
            }
            state.skip(last.global_position);
        }
        self.applied.send_replace(last.global_position);
        Ok(())
    }
}

type Decoded = (DomainEvent, chrono::DateTime<chrono::Utc>, i64);

fn decode_batch(events: &[RecordedEvent]) -> Result<Vec<Decoded>, ProjectionError> {
    let mut decoded = Vec::new();
    for event in events {
        if !EVENT_TYPES_READ.contains(&event.event_type.as_str()) {
            continue;
        }
        let domain = event
            .domain_event()
            .map_err(|error| ProjectionError::PoisonEvent {
                projection: "entitlements".to_owned(),
                global_position: event.global_position,
                reason: error.to_string(),
            })?;
        decoded.push((domain, event.effective_at, event.global_position));
    }
    Ok(decoded)
}

/// Folds the whole committed log into a fresh state (what a restart, or a rebuild, computes):
/// the reference the live state is compared with.
///
/// Errors: [`ProjectionError::PoisonEvent`], or the database.
pub async fn rebuild_from_log(pool: &PgPool) -> Result<EntitlementsState, ProjectionError> {
    let mut state = EntitlementsState::default();
    let mut cursor = FeedCursor::default();
    loop {
        let events = read::read_all_after(pool, cursor, PAGE_SIZE).await?;
        let Some(last) = events.last() else {
            return Ok(state);
        };
        cursor = FeedCursor {
            transaction_id: last.transaction_id,
            global_position: last.global_position,
        };
        for (event, effective_at, position) in decode_batch(&events)? {
            state.apply(&event, effective_at, position);
        }
        state.skip(last.global_position);
    }
}
