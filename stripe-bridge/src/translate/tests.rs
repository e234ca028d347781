//! Unit tests of `translate` on malformed and edge-case input: every case must come out as a
//! precise `Unparsed` (or `Ignored`), never a panic.

use super::*;
use serde_json::json;

/// The `Unparsed` fields of a translation, or a panic naming what came out instead.
fn unparsed(body: &[u8]) -> (Option<String>, Option<String>, String) {
    match translate(body) {
        Translation::Unparsed {
            stripe_event_id,
            event_type,
            reason,
        } => (stripe_event_id, event_type, reason),
        other => panic!("expected Unparsed, got {other:?}"),
    }
}

/// A minimal current-shape subscription Event around `object`.
fn event(event_type: &str, object: serde_json::Value) -> Vec<u8> {
    json!({
        "id": "evt_unit",
        "object": "event",
        "api_version": "2026-09-30.endive",
        "created": 1735808400,
        "type": event_type,
        "data": {"object": object},
        "request": {"id": null, "idempotency_key": null}
    })
    .to_string()
    .into_bytes()
}

fn subscription_object() -> serde_json::Value {
    json!({
        "id": "sub_unit",
        "object": "subscription",
        "customer": "cus_unit",
        "currency": "usd",
        "status": "active",
        "cancel_at_period_end": false,
        "discounts": [],
        "items": {"object": "list", "data": [{
            "id": "si_unit",
            "quantity": null,
            "current_period_start": 1735808400,
            "current_period_end": 1738486800,
            "price": {
                "id": "price_unit",
                "billing_scheme": "per_unit",
                "unit_amount": 1000,
                "unit_amount_decimal": "1000.5",
                "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}
            }
        }]}
    })
}

#[test]
fn truncated_json_is_unparsed_as_invalid_json() {
    let body = br#"{"id":"evt_1","object":"event","type":"invoice.paid","data":{"obj"#;
    let (id, event_type, reason) = unparsed(body);
    assert_eq!((id, event_type), (None, None));
    assert!(reason.starts_with("body is not valid JSON"), "{reason}");
}

#[test]
fn non_objects_and_non_events_are_unparsed() {
    for body in [&b"[1,2]"[..], b"\"evt\"", b"42", b"null"] {
        assert_eq!(unparsed(body).2, "body is not a JSON object");
    }
    assert_eq!(
        unparsed(b"").2.split(':').next(),
        Some("body is not valid JSON")
    );
    assert_eq!(
        unparsed(&[0xff, 0xfe]).2.split(':').next(),
        Some("body is not valid JSON")
    );
    let customer = br#"{"id":"cus_1","object":"customer","created":1}"#;
    assert_eq!(
        unparsed(customer).2,
        "body is a Stripe `customer`, not an `event`"
    );
}

#[test]
fn missing_envelope_fields_are_named_and_readable_ids_kept() {
    let no_object = br#"{"id":"evt_1","type":"invoice.paid","created":1,"data":{}}"#;
    assert_eq!(
        unparsed(no_object),
        (
            Some("evt_1".into()),
            Some("invoice.paid".into()),
            "data.object missing".into()
        )
    );
    let no_data = br#"{"id":"evt_1","type":"invoice.paid","created":1}"#;
    assert_eq!(unparsed(no_data).2, "data missing");
    let no_id = br#"{"type":"invoice.paid","created":1,"data":{"object":{}}}"#;
    assert_eq!(unparsed(no_id).2, "id missing");
    let no_type = br#"{"id":"evt_1","created":1,"data":{"object":{}}}"#;
    assert_eq!(unparsed(no_type).2, "type missing");
    let no_created = br#"{"id":"evt_1","type":"x.y","data":{"object":{}}}"#;
    assert_eq!(unparsed(no_created).2, "created missing");
    let bad_created = br#"{"id":"evt_1","type":"x.y","created":1.5,"data":{"object":{}}}"#;
    assert_eq!(
        unparsed(bad_created).2,
        "created is invalid: not a whole number of Unix seconds"
    );
    let numeric_id = br#"{"id":7,"type":"invoice.paid","created":1,"data":{"object":{}}}"#;
    assert_eq!(
        unparsed(numeric_id),
        (
            None,
            Some("invoice.paid".into()),
            "id is invalid: not a string".into()
        )
    );
    let data_not_object = br#"{"id":"evt_1","type":"x.y","created":1,"data":[]}"#;
    assert_eq!(
        unparsed(data_not_object).2,
        "data is invalid: not a JSON object"
    );
}

#[test]
fn unused_types_are_ignored_with_a_reason() {
    let body = event("payment_intent.succeeded", json!({"id": "pi_1"}));
    match translate(&body) {
        Translation::Ignored { envelope, reason } => {
            assert_eq!(envelope.id, "evt_unit");
            assert_eq!(envelope.api_version.as_deref(), Some("2026-09-30.endive"));
            assert_eq!(envelope.request_idempotency_key, None);
            assert!(
                reason.starts_with("event type payment_intent.succeeded is not used by Tally: "),
                "{reason}"
            );
        }
        other => panic!("expected Ignored, got {other:?}"),
    }
}

#[test]
fn unknown_statuses_are_unparsed() {
    let mut object = subscription_object();
    object["status"] = json!("frozen");
    let (id, event_type, reason) = unparsed(&event("customer.subscription.updated", object));
    assert_eq!(id.as_deref(), Some("evt_unit"));
    assert_eq!(event_type.as_deref(), Some("customer.subscription.updated"));
    assert!(
        reason.starts_with("data.object.status has unknown value \"frozen\" (known: incomplete,"),
        "{reason}"
    );
    let invoice = json!({"id": "in_1", "object": "invoice", "currency": "usd", "status": "lost",
        "amount_due": 1, "amount_paid": 0, "amount_remaining": 1});
    let reason = unparsed(&event("invoice.updated", invoice)).2;
    assert!(
        reason.starts_with("data.object.status has unknown value \"lost\""),
        "{reason}"
    );
}

#[test]
fn missing_object_fields_are_named_with_their_path() {
    let mut object = subscription_object();
    object.as_object_mut().unwrap().remove("currency");
    assert_eq!(
        unparsed(&event("customer.subscription.created", object)).2,
        "data.object.currency missing"
    );
    let mut object = subscription_object();
    object["items"]["data"][0]["price"]["recurring"]
        .as_object_mut()
        .unwrap()
        .remove("interval");
    assert_eq!(
        unparsed(&event("customer.subscription.created", object)).2,
        "data.object.items.data[0].price.recurring.interval missing"
    );
    let charge = json!({"id": "ch_1", "object": "charge", "amount": 5, "amount_refunded": 0,
        "status": "succeeded"});
    assert_eq!(
        unparsed(&event("charge.succeeded", charge)).2,
        "data.object.currency missing"
    );
}

#[test]
fn wrong_object_kinds_and_types_are_unparsed() {
    let reason = unparsed(&event("invoice.paid", json!("in_123"))).2;
    assert_eq!(
        reason,
        "data.object is invalid: expected the invoice object, found a string (an id, not an \
         expanded object)"
    );
    let reason = unparsed(&event(
        "invoice.paid",
        json!({"id": "ch_1", "object": "charge"}),
    ))
    .2;
    assert_eq!(
        reason,
        "data.object.object is invalid: expected \"invoice\", found \"charge\""
    );
    let mut object = subscription_object();
    object["items"]["data"][0]["quantity"] = json!(-1);
    let reason = unparsed(&event("customer.subscription.updated", object)).2;
    assert!(
        reason.starts_with("data.object is not a readable Stripe subscription: "),
        "{reason}"
    );
}

#[test]
fn unreadable_coupons_and_unexpanded_tiers_are_unparsed() {
    let discount = json!({"id": "di_1", "object": "discount", "start": 1,
        "source": {"type": "coupon", "coupon": 25}});
    assert_eq!(
        unparsed(&event("customer.discount.created", discount)).2,
        "data.object.source.coupon is invalid: neither a coupon id nor a coupon object"
    );
    let discount = json!({"id": "di_1", "object": "discount", "start": 1, "coupon": ""});
    assert_eq!(
        unparsed(&event("customer.discount.created", discount)).2,
        "data.object.coupon missing"
    );
    let discount = json!({"id": "di_1", "object": "discount", "start": 1,
        "source": {"type": "coupon", "coupon": null}});
    assert_eq!(
        unparsed(&event("customer.discount.created", discount)).2,
        "data.object.source.coupon missing"
    );
    assert_eq!(
        unparsed(&event("coupon.updated", json!("C25"))).2,
        "data.object is invalid: expected the coupon object, found a string (an id, not an \
         expanded object)"
    );
    let coupon = json!({"id": "C25", "object": "coupon", "percent_off": 25, "duration": "weekly"});
    assert_eq!(
        unparsed(&event("coupon.created", coupon)).2,
        "data.object.duration has unknown value \"weekly\" (known: once, repeating, forever)"
    );
    let mut object = subscription_object();
    object["items"]["data"][0]["price"]["billing_scheme"] = json!("tiered");
    object["items"]["data"][0]["price"]["tiers_mode"] = json!("volume");
    assert_eq!(
        unparsed(&event("customer.subscription.created", object)).2,
        "data.object.items.data[0].price.tiers is invalid: missing: a tiered price needs its \
         tiers, which Stripe sends only when expanded"
    );
}

#[test]
fn a_minimal_subscription_translates_with_defaults() {
    let Translation::Translated { events, .. } = translate(&event(
        "customer.subscription.created",
        subscription_object(),
    )) else {
        panic!("expected Translated");
    };
    let DomainEvent::SubscriptionObserved(observed) = &events[0] else {
        panic!("expected SubscriptionObserved");
    };
    let item = &observed.snapshot.items[0];
    assert_eq!(item.quantity, 1, "null quantity means 1");
    assert_eq!(item.unit_amount_decimal.unwrap().to_string(), "1000.5");
    assert_eq!(
        observed.snapshot.current_period_start,
        item.current_period_start
    );
}
