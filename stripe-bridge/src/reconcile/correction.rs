//! Corrective snapshots (`tally reconcile --fix`): Stripe's current subscription recorded as a
//! `SubscriptionObserved` snapshot, effective at the reconcile time the caller passes, its
//! metadata marked `correction: true` with a `reason` naming every drift it corrects. The
//! projectors treat it like any other snapshot, so MRR follows Stripe from that instant on.
//!
//! Idempotent: the event id is UUIDv5 of `<subscription>/<reconcile time>/<snapshot JSON>`,
//! and once appended the ledger's latest snapshot equals Stripe's, so a second reconcile finds
//! no drift and writes nothing.

use crate::reconcile::drift::SubscriptionDrift;
use chrono::{DateTime, Utc};
use ledger::domain::{
    Actor, DomainEvent, EventMetadata, ObservedChange, StripeFetchProvenance, SubscriptionObserved,
    SubscriptionSnapshot,
};
use ledger::store::{NewEvent, StreamEvent};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Namespace of the event ids of corrective snapshots (UUIDv5).
pub const CORRECTION_NAMESPACE: Uuid = Uuid::from_u128(0x81d2_4e6b_0f3a_4c59_b7e8_15a9_c3d0_6f42);

/// The `metadata.source` of corrective snapshots.
pub const RECONCILE_SOURCE: &str = "stripe_reconcile";

/// A subscription to correct: Stripe's object as a snapshot, with the request that listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSubscriptionState {
    /// Stripe's subscription, translated.
    pub snapshot: SubscriptionSnapshot,
    /// The list request that returned it (provenance).
    pub request: String,
    /// When Stripe answered it (UTC).
    pub fetched_at: DateTime<Utc>,
}

/// The corrective snapshot for `stripe`, effective at `reconciled_at` (whole seconds), or
/// `None` when `drifts` holds none about this subscription that a snapshot can correct
/// (`missing_in_stripe` cannot be: Tally has no Stripe object to record).
pub fn correction_event(
    stripe: &StripeSubscriptionState,
    drifts: &[SubscriptionDrift],
    reconciled_at: DateTime<Utc>,
) -> Option<StreamEvent> {
    let subscription = stripe.snapshot.subscription.to_string();
    let reasons: Vec<String> = drifts
        .iter()
        .filter(|drift| drift.subscription == subscription)
        .map(SubscriptionDrift::reason)
        .collect();
    if reasons.is_empty() {
        return None;
    }
    let reconciled_at = DateTime::from_timestamp(reconciled_at.timestamp(), 0)?;
    let event = DomainEvent::SubscriptionObserved(SubscriptionObserved {
        change: ObservedChange::Updated,
        snapshot: stripe.snapshot.clone(),
    });
    let payload_digest = hex::encode(Sha256::digest(event.to_payload().to_string()));
    let event_id = Uuid::new_v5(
        &CORRECTION_NAMESPACE,
        format!(
            "{subscription}/{}/{payload_digest}",
            reconciled_at.timestamp()
        )
        .as_bytes(),
    );
    let metadata = EventMetadata {
        source: RECONCILE_SOURCE.to_owned(),
        actor: Actor::System,
        stripe_event_id: None,
        stripe_api_version: None,
        causation_id: None,
        correlation_id: None,
        stripe_fetch: Some(StripeFetchProvenance {
            object_id: subscription,
            request: stripe.request.clone(),
            fetched_at: stripe.fetched_at,
            correction: true,
            reason: Some(reasons.join("; ")),
        }),
    };
    Some(StreamEvent::new(
        event.stream_id(),
        NewEvent::from_domain(event_id, &event, metadata, reconciled_at),
    ))
}
