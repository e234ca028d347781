//! Webhook deliveries, inbox first: a verified body is kept, queued for translation and its
//! delivery recorded in one autocommitted statement ([`accept_stripe_webhook`]), and the
//! endpoint answers 2xx right after; the [`crate::inbox_translator`] turns it into domain
//! events behind the answer. Stripe asks endpoints to "return a successful status code (2xx)
//! prior to any complex logic that could cause a timeout"; the body being durable is what
//! makes the early answer safe (see migration 0015 for the measured difference).
//!
//! Only the envelope's id and type are read before answering, so that redeliveries are
//! recognised (the key is the Stripe Event id) and the delivery log names the event (and, for
//! a type Tally ignores, says so). A body whose envelope is unreadable is still kept (key
//! `sha256:<hex>` when even its id is unreadable), logged as `unparsed`, and its translation
//! records why. A readable envelope around an unreadable object is `received` here and
//! `unparsed` in its translation (`/v1/status` inbox counts).

use crate::inbox_translator::InboxWakeup;
use crate::ingest::{keyless_message_key, IngestError, INBOX_SOURCE};
use crate::translate::envelope::parse_event;
use crate::translate::ignored_reason;
use chrono::{DateTime, Utc};
use ledger::store::inbox_queue::{accept_message, ArrivingMessage};
use ledger::store::webhook_deliveries::{self, DeliveryStatus, NewDelivery};
use sqlx::PgPool;

/// What the webhook endpoint knows of a delivery besides its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookDeliveryFacts {
    /// The `t=` of the verified `Stripe-Signature` header (UTC).
    pub signature_timestamp: Option<DateTime<Utc>>,
}

/// What became of one verified delivery when the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedDelivery {
    /// The Stripe Event id (or `sha256:<hex>` for a body without one): the inbox key.
    pub message_key: String,
    /// The Stripe event type, when readable.
    pub event_type: Option<String>,
    /// `received` (kept and queued for translation), `unparsed` (kept, but its envelope is
    /// unreadable) or `duplicate` (already kept: only the delivery row was written).
    pub status: DeliveryStatus,
    /// Why the envelope could not be read (`unparsed`), or why a `received` body's type is
    /// stored and explicitly ignored (e.g. `event type payment_intent.succeeded is not used by
    /// Tally: ...`); `None` for a type Tally translates.
    pub reason: Option<String>,
}

/// Keeps a verified webhook `body` durably (deduplicated by Stripe Event id), queues it for
/// translation and records the delivery, in one statement; then wakes this process's inbox
/// translator. When it returns `Ok`, the body and its delivery row are committed: answer 2xx.
///
/// Errors only when storage fails ([`IngestError::Ledger`]): then nothing was stored, not
/// even a delivery row, and the caller answers non-2xx so that Stripe retries.
pub async fn accept_stripe_webhook(
    pool: &PgPool,
    wakeup: &InboxWakeup,
    body: &[u8],
    facts: WebhookDeliveryFacts,
) -> Result<AcceptedDelivery, IngestError> {
    let (message_key, event_type, status, reason) = match parse_event(body) {
        Ok(parsed) => {
            let ignored = ignored_reason(&parsed.envelope.event_type);
            (
                parsed.envelope.id,
                Some(parsed.envelope.event_type),
                DeliveryStatus::Received,
                ignored,
            )
        }
        Err(problem) => (
            problem
                .stripe_event_id
                .unwrap_or_else(|| keyless_message_key(body)),
            problem.event_type,
            DeliveryStatus::Unparsed,
            Some(problem.error.to_string()),
        ),
    };
    let message = ArrivingMessage {
        source: INBOX_SOURCE,
        message_key: &message_key,
        message_type: event_type.as_deref(),
        body,
    };
    let delivery = NewDelivery {
        stripe_event_id: Some(&message_key),
        event_type: event_type.as_deref(),
        status,
        reason: reason.as_deref(),
        body_bytes: i64::try_from(body.len()).ok(),
        signature_timestamp: facts.signature_timestamp,
    };
    let kept = accept_message(pool, &message, &delivery).await?;
    let status = if kept {
        wakeup.wake();
        status
    } else {
        DeliveryStatus::Duplicate
    };
    Ok(AcceptedDelivery {
        message_key,
        event_type,
        status,
        reason,
    })
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
