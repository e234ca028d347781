//! The reconcile comparison and corrections, table-driven over translated subscriptions.

use super::*;
use chrono::DateTime;
use ledger::domain::{SubscriptionSnapshot, SubscriptionStatus};
use serde_json::value::RawValue;

const SUBSCRIPTION: &str = r#"{"id":"sub_1","object":"subscription","customer":"cus_1","currency":"usd","status":"active","cancel_at_period_end":false,"discounts":[],"items":{"object":"list","data":[{"id":"si_1","object":"subscription_item","quantity":2,"current_period_start":1767225600,"current_period_end":1769904000,"price":{"id":"price_1","object":"price","product":"prod_1","currency":"usd","unit_amount":1000,"unit_amount_decimal":"1000","billing_scheme":"per_unit","type":"recurring","recurring":{"interval":"month","interval_count":1,"usage_type":"licensed"}}}]}}"#;

fn snapshot(json: &str) -> SubscriptionSnapshot {
    let raw = RawValue::from_string(json.to_owned()).unwrap();
    let at = DateTime::from_timestamp(1_770_000_000, 0).unwrap();
    match translate_listed_object(ListedResource::Subscriptions, &raw, at).unwrap() {
        DomainEvent::SubscriptionObserved(observed) => observed.snapshot,
        other => panic!("not a subscription: {other:?}"),
    }
}

#[test]
fn equal_states_have_no_drift() {
    let stripe = snapshot(SUBSCRIPTION);
    assert!(subscription_drifts(Some(&stripe.clone()), &stripe).is_empty());
}

#[test]
fn each_compared_field_is_a_drift_of_its_own() {
    let ledger = snapshot(SUBSCRIPTION);
    let table = [
        (
            r#""status":"active""#,
            r#""status":"canceled""#,
            DriftField::Status,
            "active",
            "canceled",
        ),
        (
            r#""quantity":2"#,
            r#""quantity":5"#,
            DriftField::Items,
            "si_1: price_1 x2",
            "si_1: price_1 x5",
        ),
        (
            r#""cancel_at_period_end":false"#,
            r#""cancel_at_period_end":true"#,
            DriftField::CancelAtPeriodEnd,
            "false",
            "true",
        ),
        (
            r#""discounts":[]"#,
            r#""discounts":["di_1"]"#,
            DriftField::Discounts,
            "(none)",
            "di_1",
        ),
        (
            r#""current_period_end":1769904000"#,
            r#""current_period_end":1772323200"#,
            DriftField::CurrentPeriod,
            "2026-01-01T00:00:00Z..2026-02-01T00:00:00Z",
            "2026-01-01T00:00:00Z..2026-03-01T00:00:00Z",
        ),
    ];
    for (from, to, field, ledger_text, stripe_text) in table {
        let stripe = snapshot(&SUBSCRIPTION.replace(from, to));
        let drifts = subscription_drifts(Some(&ledger), &stripe);
        assert_eq!(drifts.len(), 1, "{field:?}: {drifts:?}");
        assert_eq!(drifts[0].field, field);
        assert_eq!(drifts[0].ledger, ledger_text, "{field:?}");
        assert_eq!(drifts[0].stripe, stripe_text, "{field:?}");
    }
}

#[test]
fn a_subscription_only_one_side_knows_is_one_drift() {
    let known = snapshot(SUBSCRIPTION);
    let only_stripe = snapshot(&SUBSCRIPTION.replace("sub_1", "sub_2"));
    let only_ledger = snapshot(&SUBSCRIPTION.replace("sub_1", "sub_0"));
    let drifts = reconcile_subscriptions(&[known.clone(), only_ledger], &[known, only_stripe]);
    let fields: Vec<(&str, DriftField)> = drifts
        .iter()
        .map(|drift| (drift.subscription.as_str(), drift.field))
        .collect();
    assert_eq!(
        fields,
        [
            ("sub_0", DriftField::MissingInStripe),
            ("sub_2", DriftField::MissingInLedger)
        ]
    );
}

#[test]
fn a_correction_records_stripes_state_with_its_reasons() {
    let ledger = snapshot(SUBSCRIPTION);
    let stripe = StripeSubscriptionState {
        snapshot: snapshot(&SUBSCRIPTION.replace(r#""status":"active""#, r#""status":"past_due""#)),
        request: "GET /v1/subscriptions?limit=100&status=all".to_owned(),
        fetched_at: DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
    };
    let drifts = subscription_drifts(Some(&ledger), &stripe.snapshot);
    let reconciled_at = DateTime::from_timestamp(1_780_000_001, 250).unwrap();
    let event = correction_event(&stripe, &drifts, reconciled_at).unwrap();
    assert_eq!(event.stream_id, "subscription-sub_1");
    assert_eq!(event.event.effective_at.timestamp(), 1_780_000_001);
    assert_eq!(event.event.metadata.source, "stripe_reconcile");
    let provenance = event.event.metadata.stripe_fetch.clone().unwrap();
    assert!(provenance.correction);
    assert_eq!(
        provenance.reason.as_deref(),
        Some("status: ledger active, Stripe past_due")
    );
    let again = correction_event(&stripe, &drifts, reconciled_at).unwrap();
    assert_eq!(again.event.event_id, event.event.event_id);
    assert!(correction_event(&stripe, &[], reconciled_at).is_none());
    assert_eq!(stripe.snapshot.status, SubscriptionStatus::PastDue);
}
