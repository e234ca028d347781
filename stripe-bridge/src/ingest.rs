//! Ingestion of Stripe Event bodies into the log. [`prepare_stripe_event`] is the one place
//! where a body is translated and its event ids derived (pure), shared by the inbox translator
//! behind the webhook endpoint ([`crate::inbox_translator`], batches of queued bodies), by
//! [`ingest_stripe_event`] (one body, one statement) and by `tally import`
//! ([`crate::bulk_ingest`], chunks of bodies through COPY).
//!
//! [`ingest_stripe_event`]'s order of work: prepare -> one autocommitted statement
//! (`ledger::store::keep_message`, migration 0013) that skips an already-kept body, appends the
//! domain events (the statement's first write, after the stream locks, so the gated feed keeps
//! per-stream order) and keeps the raw body in the inbox -> wake the projectors. The webhook
//! endpoint keeps the body first and translates behind its answer ([`crate::webhook_inbox`]).

use crate::translate::{translate, StripeEventEnvelope, Translation};
use ledger::domain::stripe_command::command_id_from_idempotency_key;
use ledger::domain::{Actor, DomainEvent, EventMetadata, StripeCommandEchoed};
use ledger::store::inbox::{InboxMessage, InboxOutcome};
use ledger::store::keep_message::{keep_message, KeepOutcome};
use ledger::store::{AppendSignal, ExpectedVersion, NewEvent, StreamAppend, StreamEvent};
use ledger::LedgerError;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::HashMap;
use uuid::Uuid;

/// The inbox source name of Stripe messages.
pub const INBOX_SOURCE: &str = "stripe";

/// Namespace of Tally event ids derived from Stripe Event ids (UUIDv5), so that a redelivered
/// Stripe Event maps to the same event ids and is recognised as a duplicate.
pub const STRIPE_EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_5e0c_8b1d_4c55_9a7e_2f3b_4d5c_6e7f);

/// How a body reached Tally (recorded as the events' `metadata.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestChannel {
    /// `POST /webhooks/stripe`, signature verified.
    Webhook,
    /// `tally import FILE.jsonl` (Stripe Event objects from `GET /v1/events`).
    Import,
}

impl IngestChannel {
    fn source(self) -> &'static str {
        match self {
            Self::Webhook => "stripe_webhook",
            Self::Import => "stripe_import",
        }
    }
}

/// What became of one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestReport {
    /// The Stripe Event id (or `sha256:<hex>` for a body without one).
    pub message_key: String,
    /// The Stripe event type, when readable.
    pub event_type: Option<String>,
    /// `None` when the same message was already kept (a redelivery): nothing was written.
    pub outcome: Option<InboxOutcome>,
    /// Why the body was ignored or could not be parsed.
    pub reason: Option<String>,
    /// Global positions of the domain events appended.
    pub positions: Vec<i64>,
}

impl IngestReport {
    /// True when the message had already been received.
    pub fn is_duplicate(&self) -> bool {
        self.outcome.is_none()
    }
}

/// Errors of ingestion (storage only: any body is accepted and kept once verified).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The event store failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// What one Stripe Event body becomes, computed without the database: the inbox row's fields
/// and the domain events with their streams, deterministic ids and metadata. The one place
/// where translation and id derivation happen, shared by the webhook path
/// ([`ingest_stripe_event`]) and the bulk import ([`crate::bulk_ingest`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedStripeEvent {
    /// The inbox key: the Stripe Event id (or `sha256:<hex>` of a body without one).
    pub message_key: String,
    /// The Stripe event type, when readable.
    pub event_type: Option<String>,
    /// What becomes of the body: translated, ignored or unparsed.
    pub outcome: InboxOutcome,
    /// Why the body is ignored or could not be parsed.
    pub reason: Option<String>,
    /// The domain events to append, in order, each with its stream (empty unless translated),
    /// then, when the Event's `request.idempotency_key` is a Tally command's
    /// (`tally-cmd-<uuid>`), a `StripeCommandEchoed` in that command's stream (translated or
    /// ignored Events alike). Event ids are UUIDv5 of `<Stripe Event id>/<index>` (the echo:
    /// `<Stripe Event id>/echo`) in [`STRIPE_EVENT_NAMESPACE`];
    /// expected version is always "any". No event names an inbox row yet.
    pub events: Vec<StreamEvent>,
}

impl PreparedStripeEvent {
    /// The inbox row of this body (source [`INBOX_SOURCE`]), borrowing `body` and `self`.
    pub fn inbox_message<'a>(&'a self, body: &'a [u8]) -> InboxMessage<'a> {
        InboxMessage {
            source: INBOX_SOURCE,
            message_key: &self.message_key,
            message_type: self.event_type.as_deref(),
            body,
            outcome: self.outcome,
            reason: self.reason.as_deref(),
            event_count: i32::try_from(self.events.len()).unwrap_or(i32::MAX),
        }
    }
}

/// Translates `body` (a Stripe Event as JSON, verified or imported) into what must be stored,
/// without touching the database. Pure and deterministic: the same body always gives the same
/// key, event ids and payloads (events' `recorded_at` is set by the database).
pub fn prepare_stripe_event(channel: IngestChannel, body: &[u8]) -> PreparedStripeEvent {
    let translation = translate(body);
    let (message_key, event_type, outcome, reason) = describe(&translation, body);
    let (envelope, domain_events): (Option<&StripeEventEnvelope>, &[DomainEvent]) =
        match &translation {
            Translation::Translated { envelope, events } => (Some(envelope), events),
            Translation::Ignored { envelope, .. } => (Some(envelope), &[]),
            Translation::Unparsed { .. } => (None, &[]),
        };
    let mut events = Vec::new();
    if let Some(envelope) = envelope {
        let request_key = envelope.request_idempotency_key.as_deref();
        let command_id = request_key.and_then(command_id_from_idempotency_key);
        let metadata = EventMetadata {
            source: channel.source().to_owned(),
            actor: Actor::Stripe,
            stripe_event_id: Some(envelope.id.clone()),
            stripe_api_version: envelope.api_version.clone(),
            // The Stripe Event (kept in the inbox) is what caused these events.
            causation_id: Some(Uuid::new_v5(
                &STRIPE_EVENT_NAMESPACE,
                envelope.id.as_bytes(),
            )),
            // A Tally command's request: its command id (the echo's correlation); any other
            // request (dashboard, other software): an id derived from its idempotency key.
            correlation_id: command_id.or_else(|| {
                request_key.map(|key| {
                    Uuid::new_v5(&STRIPE_EVENT_NAMESPACE, format!("request:{key}").as_bytes())
                })
            }),
            stripe_fetch: None,
        };
        for (index, event) in domain_events.iter().enumerate() {
            let event_id = Uuid::new_v5(
                &STRIPE_EVENT_NAMESPACE,
                format!("{}/{index}", envelope.id).as_bytes(),
            );
            let new_event =
                NewEvent::from_domain(event_id, event, metadata.clone(), envelope.created);
            events.push(StreamEvent::new(event.stream_id(), new_event));
        }
        if let Some(command_id) = command_id {
            let echo = DomainEvent::StripeCommandEchoed(StripeCommandEchoed {
                command_id,
                stripe_event_id: envelope.id.clone(),
                stripe_event_type: envelope.event_type.clone(),
                stripe_event_created: envelope.created,
            });
            let event_id = Uuid::new_v5(
                &STRIPE_EVENT_NAMESPACE,
                format!("{}/echo", envelope.id).as_bytes(),
            );
            let new_event = NewEvent::from_domain(event_id, &echo, metadata, envelope.created);
            events.push(StreamEvent::new(echo.stream_id(), new_event));
        }
    }
    PreparedStripeEvent {
        message_key,
        event_type,
        outcome,
        reason,
        events,
    }
}

/// Keeps `body` (a Stripe Event as JSON) durably, translating it into domain events when Tally
/// uses its type; signals `append_signal` after commit. Idempotent by Stripe Event id. Records
/// no delivery log row (the webhook endpoint keeps bodies first: [`crate::webhook_inbox`]).
///
/// Errors only when storage fails: then nothing was stored and the caller must answer non-2xx
/// so that Stripe retries.
pub async fn ingest_stripe_event(
    pool: &PgPool,
    append_signal: &AppendSignal,
    channel: IngestChannel,
    body: &[u8],
) -> Result<IngestReport, IngestError> {
    let prepared = prepare_stripe_event(channel, body);
    let mut report = IngestReport {
        message_key: prepared.message_key.clone(),
        event_type: prepared.event_type.clone(),
        outcome: None,
        reason: prepared.reason.clone(),
        positions: Vec::new(),
    };
    let message = prepared.inbox_message(body);
    // One round trip: duplicate check, the append of every stream (locked together, in a
    // fixed order, as the statement's first write) and the inbox row.
    let appends = stream_appends(prepared.events.iter().cloned());
    let kept = keep_message(pool, &appends, &message).await?;
    match kept {
        KeepOutcome::Kept(events) => {
            if !events.is_empty() {
                append_signal.notify();
            }
            report
                .positions
                .extend(events.iter().map(|event| event.global_position));
            report.outcome = Some(prepared.outcome);
        }
        KeepOutcome::AlreadyKept | KeepOutcome::KeptConcurrently => {}
    }
    Ok(report)
}

/// Groups prepared events by stream (in order of first appearance, stream order kept) for one
/// multi-stream append. Stripe is the source of truth, so any stream version is accepted.
pub(crate) fn stream_appends(events: impl IntoIterator<Item = StreamEvent>) -> Vec<StreamAppend> {
    let mut appends: Vec<StreamAppend> = Vec::new();
    let mut index_of_stream: HashMap<String, usize> = HashMap::new();
    for StreamEvent {
        stream_id, event, ..
    } in events
    {
        match index_of_stream.get(&stream_id) {
            Some(&index) => appends[index].events.push(event),
            None => {
                index_of_stream.insert(stream_id.clone(), appends.len());
                appends.push(StreamAppend {
                    stream_id,
                    expected: ExpectedVersion::Any,
                    events: vec![event],
                });
            }
        }
    }
    appends
}

/// The inbox key, type, outcome and reason of a translation.
fn describe(
    translation: &Translation,
    body: &[u8],
) -> (String, Option<String>, InboxOutcome, Option<String>) {
    match translation {
        Translation::Translated { envelope, .. } => (
            envelope.id.clone(),
            Some(envelope.event_type.clone()),
            InboxOutcome::Translated,
            None,
        ),
        Translation::Ignored { envelope, reason } => (
            envelope.id.clone(),
            Some(envelope.event_type.clone()),
            InboxOutcome::Ignored,
            Some(reason.clone()),
        ),
        Translation::Unparsed {
            stripe_event_id,
            event_type,
            reason,
        } => (
            stripe_event_id
                .clone()
                .unwrap_or_else(|| keyless_message_key(body)),
            event_type.clone(),
            InboxOutcome::Unparsed,
            Some(reason.clone()),
        ),
    }
}

/// The inbox key of a body without a readable Stripe Event id: `sha256:<hex of the body>`.
pub(crate) fn keyless_message_key(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}
