//! Translates the 12 Event envelopes built from Stripe's OpenAPI `fixtures3.json`. They are
//! type-correct but semantically odd (filler values, item periods that end before they start),
//! so this only checks that each comes out sensibly: never a panic, used types translated,
//! others ignored.

use ledger::domain::{DomainEvent, InvoiceStatus, ObservedChange, SubscriptionStatus};
use stripe_bridge::{translate, Translation};

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("fixtures/stripe-fixtures-events/", $name)),
        )
    };
}

const FIXTURES: [(&str, &str); 12] = [
    fixture!("charge.refunded.json"),
    fixture!("charge.succeeded.json"),
    fixture!("checkout.session.completed.json"),
    fixture!("customer.created.json"),
    fixture!("customer.subscription.created.json"),
    fixture!("customer.subscription.deleted.json"),
    fixture!("customer.subscription.updated.json"),
    fixture!("invoice.created.json"),
    fixture!("invoice.finalized.json"),
    fixture!("invoice.paid.json"),
    fixture!("invoice.payment_failed.json"),
    fixture!("payment_intent.succeeded.json"),
];

fn translated(name: &str) -> DomainEvent {
    let (_, body) = FIXTURES.iter().find(|(file, _)| *file == name).unwrap();
    match translate(body.as_bytes()) {
        Translation::Translated { mut events, .. } => events.remove(0),
        other => panic!("{name}: expected Translated, got {other:?}"),
    }
}

#[test]
fn used_types_translate_and_others_are_ignored() {
    for (file, body) in FIXTURES {
        let event_type = file.trim_end_matches(".json");
        match translate(body.as_bytes()) {
            Translation::Translated { envelope, events } => {
                assert_eq!(envelope.event_type, event_type);
                assert_eq!(
                    envelope.api_version, None,
                    "the fixtures carry a null api_version"
                );
                assert_eq!(events.len(), 1, "{file}");
                assert!(stripe_bridge::translate::is_used_event_type(event_type));
            }
            Translation::Ignored { envelope, reason } => {
                assert_eq!(envelope.event_type, event_type);
                assert!(
                    reason.starts_with(&format!("event type {event_type} is not used by Tally: ")),
                    "{reason}"
                );
                assert!(["checkout.session.completed", "payment_intent.succeeded"]
                    .contains(&event_type));
            }
            Translation::Unparsed { reason, .. } => panic!("{file}: unparsed: {reason}"),
        }
    }
}

#[test]
fn the_manifest_is_not_an_event() {
    let manifest = include_str!("fixtures/stripe-fixtures-events/manifest.json");
    assert!(matches!(
        translate(manifest.as_bytes()),
        Translation::Unparsed {
            stripe_event_id: None,
            ..
        }
    ));
}

#[test]
fn odd_values_are_carried_as_sent() {
    let DomainEvent::SubscriptionObserved(deleted) =
        translated("customer.subscription.deleted.json")
    else {
        panic!("expected SubscriptionObserved")
    };
    assert_eq!(deleted.change, ObservedChange::Deleted);
    assert_eq!(deleted.snapshot.status, SubscriptionStatus::Canceled);
    let item = &deleted.snapshot.items[0];
    assert!(
        item.current_period_end < item.current_period_start,
        "filler periods kept as is"
    );
    assert_eq!(item.transform_quantity.unwrap().divide_by, 1592560163);

    let DomainEvent::InvoiceObserved(paid) = translated("invoice.paid.json") else {
        panic!("expected InvoiceObserved")
    };
    assert_eq!(paid.snapshot.status, InvoiceStatus::Paid);
    assert_eq!(paid.snapshot.amount_paid, 1000);
    assert_eq!(
        paid.snapshot.subscription, None,
        "a quote_details parent names no subscription"
    );

    let DomainEvent::ChargeObserved(refunded) = translated("charge.refunded.json") else {
        panic!("expected ChargeObserved")
    };
    assert_eq!(refunded.change, ObservedChange::Refunded);
    assert_eq!(refunded.snapshot.amount_refunded, 100);
    assert_eq!(refunded.snapshot.customer, None);
}
