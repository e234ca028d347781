//! Bulk ingestion of Stripe Event bodies (`tally import`): bodies are prepared one by one
//! ([`prepare_stripe_event`], the same translation and event ids as the webhook path) into a
//! bounded [`StripeImportChunk`], which is written in one transaction through the ledger's
//! COPY path ([`copy_append_chunk`]).
//!
//! Same outcome as ingesting each body through the webhook path, in order: a body whose Stripe
//! Event id is already kept (earlier in the file, in an earlier import, or by a webhook) is
//! counted as already present and none of its events are written; a re-import writes nothing.

use crate::ingest::{prepare_stripe_event, IngestChannel, IngestError, PreparedStripeEvent};
use ledger::store::inbox::{InboxMessage, InboxOutcome};
use ledger::store::{copy_append_chunk, StreamEvent};
use sqlx::PgConnection;

/// A chunk of Stripe Event bodies, prepared and waiting to be written. Its memory is its
/// bodies and events: cut it by [`Self::message_count`] and [`Self::body_bytes`].
#[derive(Debug)]
pub struct StripeImportChunk {
    channel: IngestChannel,
    bodies: Vec<Vec<u8>>,
    /// Each body's preparation, its events moved into `events`.
    messages: Vec<PreparedStripeEvent>,
    /// Each message's event count (the inbox `event_count`).
    event_counts: Vec<i32>,
    events: Vec<StreamEvent>,
    body_bytes: usize,
}

/// What writing one chunk did, counted per body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StripeImportReport {
    /// Bodies kept and translated into domain events.
    pub translated: u64,
    /// Bodies kept whose type Tally does not use.
    pub ignored: u64,
    /// Bodies kept but unreadable.
    pub unparsed: u64,
    /// Bodies already kept (earlier in the chunk, the file, or the store): nothing written.
    pub already_present: u64,
    /// Domain events appended.
    pub events_appended: u64,
    /// Domain events not appended because they were already stored (with their message).
    pub events_duplicate: u64,
    /// `(message key, reason)` of each body this chunk kept as unparsed, to show the user.
    pub unparsed_kept: Vec<(String, String)>,
}

impl StripeImportReport {
    /// Adds `other`'s counts (and unparsed list) to `self`.
    pub fn add(&mut self, other: StripeImportReport) {
        self.translated += other.translated;
        self.ignored += other.ignored;
        self.unparsed += other.unparsed;
        self.already_present += other.already_present;
        self.events_appended += other.events_appended;
        self.events_duplicate += other.events_duplicate;
        self.unparsed_kept.extend(other.unparsed_kept);
    }
}

impl StripeImportChunk {
    /// An empty chunk of bodies received through `channel` (recorded as the events'
    /// `metadata.source`).
    pub fn new(channel: IngestChannel) -> Self {
        Self {
            channel,
            bodies: Vec::new(),
            messages: Vec::new(),
            event_counts: Vec::new(),
            events: Vec::new(),
            body_bytes: 0,
        }
    }

    /// Translates `body` (one Stripe Event as JSON) and adds it to the chunk. Pure: nothing is
    /// written until [`Self::write`].
    pub fn push(&mut self, body: Vec<u8>) {
        let mut prepared = prepare_stripe_event(self.channel, &body);
        let inbox_row = self.messages.len();
        self.event_counts
            .push(i32::try_from(prepared.events.len()).unwrap_or(i32::MAX));
        self.events.extend(
            std::mem::take(&mut prepared.events)
                .into_iter()
                .map(|event| event.with_inbox_row(inbox_row)),
        );
        self.body_bytes += body.len();
        self.bodies.push(body);
        self.messages.push(prepared);
    }

    /// Bodies in the chunk.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// Domain events in the chunk.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// Total size of the chunk's bodies, bytes.
    pub fn body_bytes(&self) -> usize {
        self.body_bytes
    }

    /// True when no body was pushed.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Writes the chunk in one transaction on `conn` (which must not be inside a transaction):
    /// the inbox rows not yet kept, and their events, through COPY. Signal
    /// [`ledger::store::AppendSignal`] after it returns `Ok`.
    ///
    /// Errors: [`IngestError::Ledger`] when storage fails (nothing of the chunk is stored).
    pub async fn write(&self, conn: &mut PgConnection) -> Result<StripeImportReport, IngestError> {
        let inbox: Vec<InboxMessage<'_>> = self
            .messages
            .iter()
            .zip(&self.bodies)
            .zip(&self.event_counts)
            .map(|((message, body), event_count)| InboxMessage {
                event_count: *event_count,
                ..message.inbox_message(body)
            })
            .collect();
        let outcome = copy_append_chunk(conn, &self.events, &inbox).await?;
        let mut report = StripeImportReport {
            events_appended: outcome.appended,
            events_duplicate: outcome.duplicates,
            ..StripeImportReport::default()
        };
        for (message, kept) in self.messages.iter().zip(&outcome.inbox_kept) {
            if !kept {
                report.already_present += 1;
                continue;
            }
            match message.outcome {
                InboxOutcome::Translated => report.translated += 1,
                InboxOutcome::Ignored => report.ignored += 1,
                InboxOutcome::Unparsed => {
                    report.unparsed += 1;
                    report.unparsed_kept.push((
                        message.message_key.clone(),
                        message.reason.clone().unwrap_or_default(),
                    ));
                }
            }
        }
        Ok(report)
    }
}
