//! Ingestion of Stripe Event bodies into the log: the one code path shared by the webhook
//! endpoint (after signature verification) and `tally import`.
//!
//! Order of work: translate (pure) -> skip if already kept -> one transaction that appends the
//! domain events (first write, so the gated feed keeps per-stream order) and keeps the raw body
//! in the inbox -> commit -> wake the projectors. The body is durable before the caller answers.

use crate::translate::{translate, Translation};
use ledger::domain::{Actor, EventMetadata};
use ledger::store::append::{append_in, lock_streams};
use ledger::store::inbox::{self, InboxMessage, InboxOutcome};
use ledger::store::{AppendOutcome, AppendSignal, ExpectedVersion, NewEvent};
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

/// Keeps `body` (a Stripe Event as JSON) durably, translating it into domain events when Tally
/// uses its type; signals `append_signal` after commit. Idempotent by Stripe Event id.
///
/// Errors only when storage fails: then nothing was stored and the caller must answer non-2xx
/// so that Stripe retries.
pub async fn ingest_stripe_event(
    pool: &PgPool,
    append_signal: &AppendSignal,
    channel: IngestChannel,
    body: &[u8],
) -> Result<IngestReport, IngestError> {
    let translation = translate(body);
    let (message_key, event_type, outcome, reason) = describe(&translation, body);
    let mut report = IngestReport {
        message_key,
        event_type,
        outcome: None,
        reason,
        positions: Vec::new(),
    };
    if inbox::contains(pool, INBOX_SOURCE, &report.message_key).await? {
        return Ok(report);
    }
    let mut transaction = pool.begin().await?;
    if let Translation::Translated { envelope, events } = &translation {
        let streams: Vec<String> = events.iter().map(|event| event.stream_id()).collect();
        if streams.len() > 1 {
            lock_streams(&mut transaction, &streams).await?;
        }
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
            correlation_id: envelope.request_idempotency_key.as_deref().map(|key| {
                Uuid::new_v5(&STRIPE_EVENT_NAMESPACE, format!("request:{key}").as_bytes())
            }),
        };
        for (index, (event, stream)) in events.iter().zip(&streams).enumerate() {
            let event_id = Uuid::new_v5(
                &STRIPE_EVENT_NAMESPACE,
                format!("{}/{index}", envelope.id).as_bytes(),
            );
            let new_event =
                NewEvent::from_domain(event_id, event, metadata.clone(), envelope.created);
            match append_in(&mut transaction, stream, ExpectedVersion::Any, &[new_event]).await? {
                AppendOutcome::Appended { positions, .. }
                | AppendOutcome::Duplicate { positions } => report.positions.extend(positions),
            }
        }
    }
    let kept = inbox::insert(
        &mut transaction,
        &InboxMessage {
            source: INBOX_SOURCE,
            message_key: &report.message_key,
            message_type: report.event_type.as_deref(),
            body,
            outcome,
            reason: report.reason.as_deref(),
            event_count: i32::try_from(report.positions.len()).unwrap_or(i32::MAX),
        },
    )
    .await?;
    if !kept {
        // A concurrent delivery of the same message committed first.
        transaction.rollback().await?;
        report.positions.clear();
        return Ok(report);
    }
    transaction.commit().await?;
    append_signal.notify();
    report.outcome = Some(outcome);
    Ok(report)
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
