//! A listed Stripe object -> the same domain event a webhook about it produces: the object is
//! wrapped in a synthetic Stripe Event envelope (`*.updated`, `created` = the fetch time) and
//! read by the one translator ([`crate::translate`]), so both API shapes are read as webhooks
//! are. Pure: the caller passes the fetch time.
//!
//! **Effective time.** A listed object says how Stripe sees it *now*, not since when, so its
//! snapshot takes effect at the moment Stripe answered the list request (`fetched_at`). Placing
//! it earlier (e.g. at the object's `created`) would let an older webhook snapshot outrank the
//! current state. Consequence: a subscription Tally first learns of through the backfill counts
//! for MRR from the import on; the Events of the window (`GET /v1/events`) carry the history.
//!
//! **Identity.** The event id is UUIDv5 of `<object id>/<sha256 of the object's JSON>` in
//! [`BACKFILL_NAMESPACE`]: fetching an unchanged object again yields the same id (a re-run
//! writes nothing), a changed one a new snapshot. The metadata says `source:
//! "stripe_backfill"` and carries [`StripeFetchProvenance`] (object id, request, fetch time).

use crate::backfill::listing::{listed_object_id, ListedResource};
use crate::translate::{translate, Translation};
use chrono::{DateTime, Utc};
use ledger::domain::{Actor, DomainEvent, EventMetadata, StripeFetchProvenance};
use ledger::store::{NewEvent, StreamEvent};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Namespace of the event ids of backfilled snapshots (UUIDv5).
pub const BACKFILL_NAMESPACE: Uuid = Uuid::from_u128(0x3c9e_1b7a_52d4_4f0e_8a61_d2f0_7b3e_9c14);

/// The `metadata.source` of backfilled snapshots.
pub const BACKFILL_SOURCE: &str = "stripe_backfill";

/// A listed object Tally could not read, kept for the report (never dropped silently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableObject {
    /// The object's id, or `(no id)`.
    pub object_id: String,
    /// What is wrong, with the JSON path (paths start at `data.object`, the object itself).
    pub reason: String,
}

/// How and when a page was fetched: the provenance of its snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchContext {
    /// The request, as [`crate::backfill::ListRequest::describe`] writes it.
    pub request: String,
    /// When Stripe answered it (UTC): the snapshots' effective time.
    pub fetched_at: DateTime<Utc>,
    /// The Stripe API version the transport asked for (`Stripe-Version`), if known.
    pub api_version: Option<String>,
}

/// Translates a listed object of `resource` as Stripe describes it at `fetched_at` (whole
/// seconds: Stripe's resolution) into its domain event, through the webhook translator.
///
/// Errors: an [`UnreadableObject`] naming the object and what the translator could not read.
pub fn translate_listed_object(
    resource: ListedResource,
    object: &RawValue,
    fetched_at: DateTime<Utc>,
) -> Result<DomainEvent, UnreadableObject> {
    let object_id = listed_object_id(object).unwrap_or_else(|| "(no id)".to_owned());
    let unreadable = |reason: String| UnreadableObject {
        object_id: object_id.clone(),
        reason,
    };
    let Some(event_type) = resource.snapshot_event_type() else {
        return Err(unreadable(
            "Stripe Events are ingested as Events, not wrapped as snapshots".to_owned(),
        ));
    };
    let body = format!(
        r#"{{"id":"tally_backfill","object":"event","type":"{event_type}","created":{},"api_version":null,"data":{{"object":{}}}}}"#,
        fetched_at.timestamp(),
        object.get()
    );
    match translate(body.as_bytes()) {
        Translation::Translated { mut events, .. } if events.len() == 1 => Ok(events.remove(0)),
        Translation::Translated { events, .. } => Err(unreadable(format!(
            "translated into {} events, expected one",
            events.len()
        ))),
        Translation::Ignored { reason, .. } | Translation::Unparsed { reason, .. } => {
            Err(unreadable(reason))
        }
    }
}

/// The stored event of a listed object: its snapshot (see [`translate_listed_object`]) with
/// its deterministic id, provenance metadata and effective time `fetch.fetched_at`.
///
/// Errors: an [`UnreadableObject`] when the object has no id or cannot be translated.
pub fn backfilled_snapshot_event(
    resource: ListedResource,
    object: &RawValue,
    fetch: &FetchContext,
) -> Result<StreamEvent, UnreadableObject> {
    let object_id = listed_object_id(object).ok_or_else(|| UnreadableObject {
        object_id: "(no id)".to_owned(),
        reason: "the listed object has no id".to_owned(),
    })?;
    let fetched_at = whole_second(fetch.fetched_at);
    let event = translate_listed_object(resource, object, fetched_at)?;
    let event_id = snapshot_event_id(&object_id, object.get().as_bytes());
    let metadata = EventMetadata {
        source: BACKFILL_SOURCE.to_owned(),
        actor: Actor::Stripe,
        stripe_event_id: None,
        stripe_api_version: fetch.api_version.clone(),
        causation_id: None,
        correlation_id: None,
        stripe_fetch: Some(StripeFetchProvenance {
            object_id,
            request: fetch.request.clone(),
            fetched_at,
            correction: false,
            reason: None,
        }),
    };
    Ok(StreamEvent::new(
        event.stream_id(),
        NewEvent::from_domain(event_id, &event, metadata, fetched_at),
    ))
}

/// UUIDv5 of `<object id>/<sha256 hex of the object's JSON text>`.
fn snapshot_event_id(object_id: &str, object_json: &[u8]) -> Uuid {
    let digest = hex::encode(Sha256::digest(object_json));
    Uuid::new_v5(
        &BACKFILL_NAMESPACE,
        format!("{object_id}/{digest}").as_bytes(),
    )
}

/// `at` truncated to the second (Stripe's time resolution, as webhook effective times are).
pub(crate) fn whole_second(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::domain::{ObservedChange, SubscriptionStatus};

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    const SUBSCRIPTION: &str = r#"{"id":"sub_1","object":"subscription","customer":"cus_1","currency":"usd","status":"active","cancel_at_period_end":false,"discounts":[],"items":{"object":"list","data":[{"id":"si_1","object":"subscription_item","quantity":2,"current_period_start":1767225600,"current_period_end":1769904000,"price":{"id":"price_1","object":"price","product":"prod_1","currency":"usd","unit_amount":1000,"unit_amount_decimal":"1000","billing_scheme":"per_unit","type":"recurring","recurring":{"interval":"month","interval_count":1,"usage_type":"licensed"}}}]}}"#;

    #[test]
    fn a_listed_subscription_becomes_a_snapshot_at_the_fetch_time() {
        let fetch = FetchContext {
            request: "GET /v1/subscriptions?limit=100&status=all".to_owned(),
            fetched_at: DateTime::from_timestamp(1_770_000_000, 500_000_000).unwrap(),
            api_version: None,
        };
        let event =
            backfilled_snapshot_event(ListedResource::Subscriptions, &raw(SUBSCRIPTION), &fetch)
                .unwrap();
        assert_eq!(event.stream_id, "subscription-sub_1");
        assert_eq!(event.event.effective_at.timestamp(), 1_770_000_000);
        assert_eq!(event.event.effective_at.timestamp_subsec_nanos(), 0);
        let provenance = event.event.metadata.stripe_fetch.clone().unwrap();
        assert_eq!(provenance.object_id, "sub_1");
        assert_eq!(event.event.metadata.source, "stripe_backfill");
        assert!(!provenance.correction);
        let DomainEvent::SubscriptionObserved(observed) = DomainEvent::from_stored(
            &event.event.event_type,
            event.event.schema_version,
            event.event.payload.clone(),
        )
        .unwrap() else {
            panic!("not a subscription snapshot");
        };
        assert_eq!(observed.change, ObservedChange::Updated);
        assert_eq!(observed.snapshot.status, SubscriptionStatus::Active);
        assert_eq!(observed.snapshot.items[0].quantity, 2);
        // Same object fetched later: same event id (a re-run writes nothing).
        let later = FetchContext {
            fetched_at: DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
            ..fetch.clone()
        };
        let again =
            backfilled_snapshot_event(ListedResource::Subscriptions, &raw(SUBSCRIPTION), &later)
                .unwrap();
        assert_eq!(again.event.event_id, event.event.event_id);
        let changed = SUBSCRIPTION.replace(r#""quantity":2"#, r#""quantity":3"#);
        let changed =
            backfilled_snapshot_event(ListedResource::Subscriptions, &raw(&changed), &fetch)
                .unwrap();
        assert_ne!(changed.event.event_id, event.event.event_id);
    }

    #[test]
    fn an_unreadable_object_is_named_with_its_reason() {
        let fetch = FetchContext {
            request: "GET /v1/subscriptions?limit=100&status=all".to_owned(),
            fetched_at: DateTime::from_timestamp(1_770_000_000, 0).unwrap(),
            api_version: None,
        };
        let broken = SUBSCRIPTION.replace(r#""currency":"usd","status""#, r#""status""#);
        let problem =
            backfilled_snapshot_event(ListedResource::Subscriptions, &raw(&broken), &fetch)
                .unwrap_err();
        assert_eq!(problem.object_id, "sub_1");
        assert!(problem.reason.contains("currency"), "{}", problem.reason);
    }
}
