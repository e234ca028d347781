//! Ingestion of Stripe Event bodies into the log. [`prepare_stripe_event`] is the one place
//! where a body is translated and its event ids derived (pure), shared by the webhook endpoint
//! ([`ingest_stripe_webhook`], one statement per body) and `tally import`
//! ([`crate::bulk_ingest`], chunks of bodies through COPY).
//!
//! Webhook order of work: prepare -> one autocommitted statement
//! (`ledger::store::keep_message`, migration 0013) that skips an already-kept body (recording
//! the duplicate delivery), appends the domain events (the statement's first write, after the
//! stream locks, so the gated feed keeps per-stream order), keeps the raw body in the inbox and
//! writes the delivery-log row -> wake the projectors. One round trip; the body is durable
//! before the caller answers.

use crate::translate::{translate, StripeEventEnvelope, Translation};
use chrono::{DateTime, Utc};
use ledger::domain::stripe_command::command_id_from_idempotency_key;
use ledger::domain::{Actor, DomainEvent, EventMetadata, StripeCommandEchoed};
use ledger::store::inbox::{InboxMessage, InboxOutcome};
use ledger::store::keep_message::{keep_message, KeepOutcome};
use ledger::store::webhook_deliveries::{self, DeliveryStatus, NewDelivery};
use ledger::store::{AppendSignal, ExpectedVersion, NewEvent, StreamAppend, StreamEvent};
use ledger::LedgerError;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
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
/// no delivery (see [`ingest_stripe_webhook`] for the webhook endpoint).
///
/// Errors only when storage fails: then nothing was stored and the caller must answer non-2xx
/// so that Stripe retries.
pub async fn ingest_stripe_event(
    pool: &PgPool,
    append_signal: &AppendSignal,
    channel: IngestChannel,
    body: &[u8],
) -> Result<IngestReport, IngestError> {
    ingest(pool, append_signal, channel, body, None).await
}

/// What the webhook endpoint knows of a delivery besides its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookDeliveryFacts {
    /// The `t=` of the verified `Stripe-Signature` header (UTC).
    pub signature_timestamp: Option<DateTime<Utc>>,
}

/// [`ingest_stripe_event`] for a verified webhook delivery, also recording the attempt in the
/// delivery log (`received`, `unparsed` or `duplicate`) without an extra round trip: a
/// duplicate's row is written by the duplicate check itself, an accepted body's row by the
/// inbox insert's statement, in the same transaction.
///
/// Errors only when storage fails: then nothing was stored (no delivery row either).
pub async fn ingest_stripe_webhook(
    pool: &PgPool,
    append_signal: &AppendSignal,
    body: &[u8],
    facts: WebhookDeliveryFacts,
) -> Result<IngestReport, IngestError> {
    ingest(
        pool,
        append_signal,
        IngestChannel::Webhook,
        body,
        Some(facts),
    )
    .await
}

/// Records a webhook delivery that was refused before anything was kept (bad, missing or
/// stale signature; body too large or unreadable). Nothing of the body is kept, not even its
/// Event id or type: unverified bytes are not Stripe's word. `reason` is e.g.
/// `signature_mismatch: no v1 signature matches ...`; `body_bytes` the size received (or
/// declared, for a body refused as too large).
pub async fn record_rejected_webhook(
    pool: &PgPool,
    reason: &str,
    body_bytes: Option<i64>,
    signature_timestamp: Option<DateTime<Utc>>,
) -> Result<(), IngestError> {
    let delivery = NewDelivery {
        stripe_event_id: None,
        event_type: None,
        status: DeliveryStatus::Rejected,
        reason: Some(reason),
        body_bytes,
        signature_timestamp,
    };
    webhook_deliveries::record_delivery(pool, &delivery).await?;
    Ok(())
}

async fn ingest(
    pool: &PgPool,
    append_signal: &AppendSignal,
    channel: IngestChannel,
    body: &[u8],
    facts: Option<WebhookDeliveryFacts>,
) -> Result<IngestReport, IngestError> {
    let prepared = prepare_stripe_event(channel, body);
    let mut report = IngestReport {
        message_key: prepared.message_key.clone(),
        event_type: prepared.event_type.clone(),
        outcome: None,
        reason: prepared.reason.clone(),
        positions: Vec::new(),
    };
    let status = match prepared.outcome {
        InboxOutcome::Unparsed => DeliveryStatus::Unparsed,
        InboxOutcome::Translated | InboxOutcome::Ignored => DeliveryStatus::Received,
    };
    let delivery = facts.map(|facts| NewDelivery {
        stripe_event_id: Some(&prepared.message_key),
        event_type: prepared.event_type.as_deref(),
        status,
        reason: prepared.reason.as_deref(),
        body_bytes: i64::try_from(body.len()).ok(),
        signature_timestamp: facts.signature_timestamp,
    });
    let message = prepared.inbox_message(body);
    // One round trip: duplicate check, the append of every stream (locked together, in a
    // fixed order, as the statement's first write), the inbox row and the delivery row.
    let kept = keep_message(
        pool,
        &stream_appends(&prepared.events),
        &message,
        delivery.as_ref(),
    )
    .await?;
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
        KeepOutcome::AlreadyKept => {}
        KeepOutcome::KeptConcurrently => {
            if let Some(delivery) = &delivery {
                let duplicate = NewDelivery {
                    status: DeliveryStatus::Duplicate,
                    ..*delivery
                };
                webhook_deliveries::record_delivery(pool, &duplicate).await?;
            }
        }
    }
    Ok(report)
}

/// Groups prepared events by stream (in order of first appearance, stream order kept) for one
/// multi-stream append. Stripe is the source of truth, so any stream version is accepted.
fn stream_appends(events: &[StreamEvent]) -> Vec<StreamAppend> {
    let mut appends: Vec<StreamAppend> = Vec::new();
    for event in events {
        match appends
            .iter_mut()
            .find(|append| append.stream_id == event.stream_id)
        {
            Some(append) => append.events.push(event.event.clone()),
            None => appends.push(StreamAppend {
                stream_id: event.stream_id.clone(),
                expected: ExpectedVersion::Any,
                events: vec![event.event.clone()],
            }),
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
                .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(body)))),
            event_type.clone(),
            InboxOutcome::Unparsed,
            Some(reason.clone()),
        ),
    }
}
