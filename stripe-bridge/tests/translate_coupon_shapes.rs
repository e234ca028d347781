//! A discount's coupon as an id string or an expanded object, and the `coupon.*` Events that
//! carry a coupon's terms. Stripe API 2025-09-30.clover stopped expanding
//! `discount.source.coupon` (webhook payloads included): a discount then names only its
//! coupon id, and the terms come from `coupon.created|updated|deleted`.
//!
//! Every body is built from the worked example's `customer.discount.created` of D1
//! (`evt_177CyIetcPpBfUGFUwBPKKpQ`, coupon C25FOREVER expanded) or from its hand-made
//! pre-2025-03-31.basil rendering.

use ledger::domain::{
    Coupon, CouponDuration, CouponObserved, DiscountSnapshot, DomainEvent, ObservedChange,
};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use stripe_bridge::{translate, Translation};

const WORKED_EXAMPLE: &str = include_str!("fixtures/worked-example/events.jsonl");
const OLD_DISCOUNT: &str =
    include_str!("fixtures/old-api-shape/customer.discount.created.2024-06-20.json");
const OLD_SUBSCRIPTION: &str =
    include_str!("fixtures/old-api-shape/customer.subscription.created.2024-06-20.json");

/// D1's `customer.discount.created`, coupon C25FOREVER expanded in `source.coupon`.
const D1_DISCOUNT_CREATED: &str = "evt_177CyIetcPpBfUGFUwBPKKpQ";

fn worked_example_event(stripe_event_id: &str) -> Value {
    let line = WORKED_EXAMPLE
        .lines()
        .find(|line| line.contains(&format!("\"id\":\"{stripe_event_id}\"")))
        .unwrap_or_else(|| panic!("{stripe_event_id} is in the fixture"));
    serde_json::from_str(line).unwrap()
}

fn one_event(body: &Value) -> DomainEvent {
    match translate(body.to_string().as_bytes()) {
        Translation::Translated { mut events, .. } => {
            assert_eq!(events.len(), 1);
            events.remove(0)
        }
        other => panic!("expected Translated, got {other:?}"),
    }
}

fn discount_snapshot(body: &Value) -> DiscountSnapshot {
    match one_event(body) {
        DomainEvent::DiscountObserved(observed) => observed.snapshot,
        other => panic!("expected DiscountObserved, got {other:?}"),
    }
}

/// C25FOREVER's terms as the worked example states them.
fn c25forever() -> Coupon {
    Coupon {
        id: "C25FOREVER".into(),
        percent_off: Some(Decimal::from(25)),
        amount_off: None,
        currency: None,
        duration: CouponDuration::Forever,
        duration_in_months: None,
    }
}

/// A `coupon.*` Event around `coupon`, with the envelope of D1's discount Event.
fn coupon_event(event_type: &str, coupon: Value) -> Value {
    let mut event = worked_example_event(D1_DISCOUNT_CREATED);
    event["id"] = json!("evt_coupon_shapes");
    event["type"] = json!(event_type);
    event["data"] = json!({ "object": coupon });
    event
}

/// The expanded C25FOREVER object of D1's discount Event.
fn expanded_c25forever() -> Value {
    let coupon =
        worked_example_event(D1_DISCOUNT_CREATED)["data"]["object"]["source"]["coupon"].clone();
    assert_eq!(coupon["object"], "coupon", "the fixture expands the coupon");
    coupon
}

#[test]
fn clover_discount_with_a_coupon_id_keeps_the_id_without_terms() {
    let expanded = worked_example_event(D1_DISCOUNT_CREATED);
    let mut clover = expanded.clone();
    clover["data"]["object"]["source"] = json!({"type": "coupon", "coupon": "C25FOREVER"});
    let snapshot = discount_snapshot(&clover);
    assert_eq!(snapshot.coupon_id, "C25FOREVER");
    assert_eq!(snapshot.coupon, None);
    let expanded_snapshot = discount_snapshot(&expanded);
    assert_eq!(expanded_snapshot.coupon_id, "C25FOREVER");
    assert_eq!(expanded_snapshot.coupon, Some(c25forever()));
    assert_eq!(
        snapshot,
        DiscountSnapshot {
            coupon: None,
            ..expanded_snapshot
        },
        "everything but the terms is read as from the expanded shape"
    );
}

#[test]
fn old_shape_discount_with_a_coupon_id_keeps_the_id_without_terms() {
    let expanded: Value = serde_json::from_str(OLD_DISCOUNT).unwrap();
    let mut unexpanded = expanded.clone();
    unexpanded["data"]["object"]["coupon"] = json!("C25FOREVER");
    let snapshot = discount_snapshot(&unexpanded);
    assert_eq!(snapshot.coupon_id, "C25FOREVER");
    assert_eq!(snapshot.coupon, None);
    assert_eq!(
        snapshot,
        DiscountSnapshot {
            coupon: None,
            ..discount_snapshot(&expanded)
        }
    );
}

#[test]
fn expanded_subscription_discount_with_a_coupon_id_keeps_the_id_without_terms() {
    let mut old: Value = serde_json::from_str(OLD_SUBSCRIPTION).unwrap();
    old["data"]["object"]["discount"]["coupon"] = json!("C25FOREVER");
    let DomainEvent::SubscriptionObserved(observed) = one_event(&old) else {
        panic!("expected SubscriptionObserved")
    };
    let [discount] = observed.snapshot.expanded_discounts.as_slice() else {
        panic!("one expanded discount")
    };
    assert_eq!(discount.coupon_id, "C25FOREVER");
    assert_eq!(discount.coupon, None);
}

#[test]
fn coupon_created_carries_the_same_terms_as_the_expanded_coupon() {
    let event = coupon_event("coupon.created", expanded_c25forever());
    let expanded_terms = discount_snapshot(&worked_example_event(D1_DISCOUNT_CREATED)).coupon;
    let observed = one_event(&event);
    assert_eq!(
        observed,
        DomainEvent::CouponObserved(CouponObserved {
            change: ObservedChange::Created,
            snapshot: expanded_terms.expect("expanded coupon"),
        })
    );
    assert_eq!(observed.stream_id(), "coupon-C25FOREVER");
    assert_eq!(observed.customer(), None);
}

#[test]
fn coupon_updated_and_deleted_are_translated_with_their_change() {
    for (event_type, change) in [
        ("coupon.updated", ObservedChange::Updated),
        ("coupon.deleted", ObservedChange::Deleted),
    ] {
        assert_eq!(
            one_event(&coupon_event(event_type, expanded_c25forever())),
            DomainEvent::CouponObserved(CouponObserved {
                change,
                snapshot: c25forever(),
            }),
            "{event_type}"
        );
    }
}

#[test]
fn coupon_with_both_percent_off_and_amount_off_is_unparsed() {
    let mut coupon = expanded_c25forever();
    coupon["amount_off"] = json!(1000);
    coupon["currency"] = json!("usd");
    match translate(
        coupon_event("coupon.created", coupon)
            .to_string()
            .as_bytes(),
    ) {
        Translation::Unparsed {
            stripe_event_id,
            event_type,
            reason,
        } => {
            assert_eq!(stripe_event_id.as_deref(), Some("evt_coupon_shapes"));
            assert_eq!(event_type.as_deref(), Some("coupon.created"));
            assert_eq!(
                reason,
                "data.object is invalid: a coupon needs exactly one of percent_off and amount_off"
            );
        }
        other => panic!("expected Unparsed, got {other:?}"),
    }
}
