//! Appending a batch of independent events where some may already be stored (usage
//! increments): each event is written once, and the caller learns per event whether it was
//! written now or was a duplicate, instead of the all-or-nothing retry semantics of
//! [`EventStore::append_streams`].

use crate::store::{EventStore, ExpectedVersion, NewEvent, StreamAppend, StreamsAppendOutcome};
use crate::LedgerError;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Attempts before giving up when concurrent writers keep storing ids of the batch between the
/// check and the append (each attempt removes the ids found stored).
const MAX_ATTEMPTS: usize = 4;

/// What happened to one event of [`EventStore::append_new_events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewEventOutcome {
    /// Written now, at this global position.
    Appended {
        /// Its global position.
        global_position: i64,
    },
    /// Its id was already stored before this call: nothing written.
    AlreadyStored,
    /// Its id came earlier in the same batch: written (or found stored) once, for that one.
    RepeatedInBatch,
}

impl EventStore {
    /// Appends every event of `events` (stream id, event; expected version "any") whose id is
    /// not stored yet, atomically, and returns one outcome per event, in order.
    ///
    /// Round trips: one (`tally_append_streams`) when no id is stored yet, or when every id is
    /// (an exact retry); otherwise one more to find the stored ids, then the append of the rest.
    /// A repeated id within the batch is written once (the first).
    ///
    /// Errors: [`LedgerError::Database`]; [`LedgerError::PartialDuplicate`] only when concurrent
    /// writers keep storing ids of the batch through every attempt. Nothing is written on error.
    pub async fn append_new_events(
        &self,
        events: &[(String, NewEvent)],
    ) -> Result<Vec<NewEventOutcome>, LedgerError> {
        let mut outcomes: Vec<Option<NewEventOutcome>> = vec![None; events.len()];
        let mut seen = HashSet::with_capacity(events.len());
        for (index, (_, event)) in events.iter().enumerate() {
            if !seen.insert(event.event_id) {
                outcomes[index] = Some(NewEventOutcome::RepeatedInBatch);
            }
        }
        let mut stored: HashSet<Uuid> = HashSet::new();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let pending: Vec<usize> = (0..events.len())
                .filter(|&i| outcomes[i].is_none() && !stored.contains(&events[i].1.event_id))
                .collect();
            if pending.is_empty() {
                break;
            }
            let (appends, order) = group_by_stream(events, &pending);
            match self.append_streams(None, &appends).await {
                Ok(StreamsAppendOutcome::Appended(mut appended)) => {
                    // Stream by stream as given, each in stream order (sorted here rather than
                    // trusting the row order).
                    let stream_rank: HashMap<&str, usize> = appends
                        .iter()
                        .enumerate()
                        .map(|(rank, append)| (append.stream_id.as_str(), rank))
                        .collect();
                    appended.sort_by_key(|event| {
                        (
                            stream_rank.get(event.stream_id.as_str()).copied(),
                            event.stream_version,
                        )
                    });
                    for (index, event) in order.into_iter().zip(appended) {
                        outcomes[index] = Some(NewEventOutcome::Appended {
                            global_position: event.global_position,
                        });
                    }
                    break;
                }
                Ok(StreamsAppendOutcome::Duplicate(_)) => {
                    stored.extend(pending.iter().map(|&i| events[i].1.event_id));
                    break;
                }
                Err(LedgerError::PartialDuplicate { .. }) if attempt < MAX_ATTEMPTS => {
                    let ids: Vec<Uuid> = pending.iter().map(|&i| events[i].1.event_id).collect();
                    let found: Vec<(Uuid,)> =
                        sqlx::query_as("SELECT event_id FROM events WHERE event_id = ANY($1)")
                            .bind(&ids)
                            .fetch_all(self.pool())
                            .await?;
                    stored.extend(found.into_iter().map(|(id,)| id));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or(NewEventOutcome::AlreadyStored))
            .collect())
    }
}

/// The pending events as one append per stream (first-seen stream order, events in batch
/// order), and the batch indexes in the order `tally_append_streams` returns positions.
fn group_by_stream(
    events: &[(String, NewEvent)],
    pending: &[usize],
) -> (Vec<StreamAppend>, Vec<usize>) {
    let mut by_stream: HashMap<&str, usize> = HashMap::new();
    let mut appends: Vec<StreamAppend> = Vec::new();
    let mut indexes: Vec<Vec<usize>> = Vec::new();
    for &index in pending {
        let (stream_id, event) = &events[index];
        let slot = *by_stream.entry(stream_id.as_str()).or_insert_with(|| {
            appends.push(StreamAppend {
                stream_id: stream_id.clone(),
                expected: ExpectedVersion::Any,
                events: Vec::new(),
            });
            indexes.push(Vec::new());
            appends.len() - 1
        });
        appends[slot].events.push(event.clone());
        indexes[slot].push(index);
    }
    (appends, indexes.into_iter().flatten().collect())
}
