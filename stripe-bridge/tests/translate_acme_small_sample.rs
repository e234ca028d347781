//! Translates the 311-line sample of the acme-small dataset (every event type, subscription
//! status, interval, coupon kind and two-item subscriptions; API 2026-09-30.endive) and checks
//! the Translated/Ignored split and the values that are easy to get subtly wrong.

use chrono::DateTime;
use ledger::domain::{
    CouponDuration, DiscountSnapshot, DomainEvent, InvoiceStatus, ObservedChange,
    SubscriptionStatus,
};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use stripe_bridge::{translate, Translation};

const EVENTS: &str = include_str!("fixtures/acme-small-sample/events.jsonl");

/// Every translated domain event, with its Stripe Event id; panics on an Unparsed line.
fn translated_events() -> Vec<(String, DomainEvent)> {
    EVENTS
        .lines()
        .filter_map(|line| match translate(line.as_bytes()) {
            Translation::Translated { envelope, events } => {
                Some(events.into_iter().map(move |e| (envelope.id.clone(), e)))
            }
            Translation::Ignored { .. } => None,
            Translation::Unparsed { reason, .. } => panic!("unparsed: {reason}\n{line}"),
        })
        .flatten()
        .collect()
}

fn discount(stripe_event_id: &str) -> DiscountSnapshot {
    translated_events()
        .into_iter()
        .find_map(|(id, event)| match event {
            DomainEvent::DiscountObserved(observed) if id == stripe_event_id => {
                Some(observed.snapshot)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{stripe_event_id} is a translated discount event"))
}

#[test]
fn every_line_translates_or_is_ignored_by_type() {
    let mut outcomes: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for line in EVENTS.lines() {
        let (event_type, outcome) = match translate(line.as_bytes()) {
            Translation::Translated { envelope, .. } => (envelope.event_type, "translated"),
            Translation::Ignored { envelope, .. } => (envelope.event_type, "ignored"),
            Translation::Unparsed { reason, .. } => panic!("unparsed: {reason}\n{line}"),
        };
        *outcomes.entry((event_type, outcome)).or_default() += 1;
    }
    let expected: BTreeMap<(String, &str), usize> = [
        ("charge.failed", "translated", 24),
        ("charge.refunded", "translated", 6),
        ("charge.succeeded", "translated", 24),
        ("customer.created", "translated", 24),
        ("customer.discount.created", "translated", 24),
        ("customer.discount.deleted", "translated", 17),
        ("customer.subscription.created", "translated", 24),
        ("customer.subscription.deleted", "translated", 24),
        ("customer.subscription.updated", "translated", 24),
        ("invoice.created", "translated", 24),
        ("invoice.finalized", "translated", 24),
        ("invoice.paid", "translated", 24),
        ("invoice.payment_failed", "translated", 24),
        ("payment_intent.succeeded", "ignored", 24),
    ]
    .into_iter()
    .map(|(event_type, outcome, count)| ((event_type.to_owned(), outcome), count))
    .collect();
    assert_eq!(outcomes, expected);
}

#[test]
fn every_subscription_status_of_the_dataset_is_read() {
    let statuses: BTreeSet<String> = translated_events()
        .into_iter()
        .filter_map(|(_, event)| match event {
            DomainEvent::SubscriptionObserved(observed) => {
                Some(format!("{:?}", observed.snapshot.status))
            }
            _ => None,
        })
        .collect();
    let expected = [
        SubscriptionStatus::Active,
        SubscriptionStatus::Canceled,
        SubscriptionStatus::Incomplete,
        SubscriptionStatus::PastDue,
        SubscriptionStatus::Trialing,
        SubscriptionStatus::Unpaid,
    ]
    .map(|status| format!("{status:?}"));
    assert_eq!(statuses, expected.into_iter().collect());
}

#[test]
fn percent_off_12_5_is_an_exact_decimal() {
    let discount = discount("evt_17Ak9pEdOtzbPa352MRRac0M");
    assert_eq!(discount.coupon_id, "STARTUP12_5");
    let coupon = discount.coupon.expect("expanded coupon");
    assert_eq!(coupon.id, "STARTUP12_5");
    assert_eq!(coupon.percent_off, Some(Decimal::from_str("12.5").unwrap()));
    assert_eq!(coupon.percent_off.unwrap().to_string(), "12.5");
    assert_eq!(coupon.duration, CouponDuration::Forever);
}

#[test]
fn amount_off_and_repeating_coupons() {
    let amount = discount("evt_17DlICEdOtzbPa35ed6Kmgu3");
    let amount_coupon = amount.coupon.expect("expanded coupon");
    assert_eq!(amount.coupon_id, amount_coupon.id);
    assert_eq!(amount_coupon.amount_off, Some(1000));
    assert_eq!(amount_coupon.percent_off, None);
    assert_eq!(amount_coupon.currency.unwrap().as_str(), "usd");
    let repeating = discount("evt_17DRcQEdOtzbPa35ZHocNN8G");
    let repeating_coupon = repeating.coupon.as_ref().expect("expanded coupon");
    assert_eq!(repeating.coupon_id, repeating_coupon.id);
    assert_eq!(repeating_coupon.duration, CouponDuration::Repeating);
    assert_eq!(repeating_coupon.duration_in_months, Some(3));
    assert_eq!(
        repeating.start,
        DateTime::from_timestamp(1746471506, 0).unwrap()
    );
    assert_eq!(repeating.end, DateTime::from_timestamp(1754420306, 0));
}

#[test]
fn two_item_subscription_keeps_both_items_and_their_period() {
    let (_, event) = translated_events()
        .into_iter()
        .find(|(id, _)| id == "evt_178cpCEdOtzbPa35SdNlelpy")
        .unwrap();
    let DomainEvent::SubscriptionObserved(observed) = event else {
        panic!("expected SubscriptionObserved")
    };
    let snapshot = observed.snapshot;
    let amounts: Vec<(Option<Decimal>, u64)> = snapshot
        .items
        .iter()
        .map(|item| (item.unit_amount_decimal, item.quantity))
        .collect();
    assert_eq!(
        amounts,
        [
            (Some(Decimal::from(20000)), 2),
            (Some(Decimal::from(99000)), 1)
        ]
    );
    assert_eq!(
        snapshot.current_period_start,
        DateTime::from_timestamp(1738431558, 0)
    );
    assert_eq!(
        snapshot.current_period_end,
        DateTime::from_timestamp(1769967558, 0)
    );
}

#[test]
fn failed_payments_are_payment_failed_snapshots() {
    let events = translated_events();
    let failed_invoices: Vec<_> = events
        .iter()
        .filter_map(|(_, event)| match event {
            DomainEvent::InvoiceObserved(o) if o.change == ObservedChange::PaymentFailed => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(failed_invoices.len(), 24);
    assert!(failed_invoices
        .iter()
        .all(|o| o.snapshot.status == InvoiceStatus::Open && o.snapshot.paid_at.is_none()));
    let failed_charges = events
        .iter()
        .filter(|(_, event)| {
            matches!(event, DomainEvent::ChargeObserved(o)
                if o.change == ObservedChange::PaymentFailed && o.snapshot.status == "failed")
        })
        .count();
    assert_eq!(failed_charges, 24);
}
