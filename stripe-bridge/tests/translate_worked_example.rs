//! Translates every Event of the worked example (revenue-rules.md §7, API 2026-09-30.endive)
//! and checks the Translated/Ignored split and the values the projections rely on.

use chrono::{DateTime, Utc};
use ledger::domain::{
    BillingScheme, Coupon, CouponDuration, DomainEvent, InvoiceStatus, ObservedChange,
    RecurringInterval, SubscriptionSnapshot, SubscriptionStatus, UsageType,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use stripe_bridge::{translate, Translation};

const EVENTS: &str = include_str!("fixtures/worked-example/events.jsonl");

const D1: &str = "sub_177CyIetcPpBfUGFUY5Zc6tr";

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

/// The one domain event of the Stripe Event with this id.
fn domain_event(stripe_event_id: &str) -> DomainEvent {
    let line = EVENTS
        .lines()
        .find(|line| line.contains(&format!("\"id\":\"{stripe_event_id}\"")))
        .unwrap_or_else(|| panic!("{stripe_event_id} is in the fixture"));
    match translate(line.as_bytes()) {
        Translation::Translated { envelope, events } => {
            assert_eq!(envelope.id, stripe_event_id);
            assert_eq!(events.len(), 1);
            events.into_iter().next().unwrap()
        }
        other => panic!("{stripe_event_id}: expected Translated, got {other:?}"),
    }
}

fn subscription(stripe_event_id: &str) -> (ObservedChange, SubscriptionSnapshot) {
    match domain_event(stripe_event_id) {
        DomainEvent::SubscriptionObserved(observed) => (observed.change, observed.snapshot),
        other => panic!("expected SubscriptionObserved, got {other:?}"),
    }
}

#[test]
fn every_event_translates_or_is_ignored_by_type() {
    let mut outcomes: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for line in EVENTS.lines() {
        let (event_type, outcome) = match translate(line.as_bytes()) {
            Translation::Translated { envelope, events } => {
                assert_eq!(events.len(), 1);
                (envelope.event_type, "translated")
            }
            Translation::Ignored { envelope, .. } => (envelope.event_type, "ignored"),
            Translation::Unparsed { reason, .. } => panic!("unparsed: {reason}\n{line}"),
        };
        *outcomes.entry((event_type, outcome)).or_default() += 1;
    }
    let expected: BTreeMap<(String, &str), usize> = [
        ("charge.refunded", "translated", 1),
        ("charge.succeeded", "translated", 11),
        ("customer.created", "translated", 5),
        ("customer.discount.created", "translated", 2),
        ("customer.discount.deleted", "translated", 1),
        ("customer.subscription.created", "translated", 6),
        ("customer.subscription.deleted", "translated", 3),
        ("customer.subscription.updated", "translated", 10),
        ("invoice.created", "translated", 12),
        ("invoice.finalized", "translated", 12),
        ("invoice.paid", "translated", 12),
        ("payment_intent.succeeded", "ignored", 11),
    ]
    .into_iter()
    .map(|(event_type, outcome, count)| ((event_type.to_owned(), outcome), count))
    .collect();
    assert_eq!(outcomes, expected);
    assert_eq!(EVENTS.lines().count(), 86);
}

#[test]
fn d1_is_plus_8000_usd_monthly_with_the_forever_coupon_listed() {
    let (change, d1) = subscription("evt_177CyIetcPpBfUGFftoeJkWb");
    assert_eq!(change, ObservedChange::Created);
    assert_eq!(d1.subscription.as_str(), D1);
    assert_eq!(d1.customer.as_str(), "cus_BkntAlX312ZYkS");
    assert_eq!(d1.currency.as_str(), "usd");
    assert_eq!(d1.status, SubscriptionStatus::Active);
    assert!(!d1.cancel_at_period_end);
    assert_eq!(d1.current_period_start, Some(at(1736067600)));
    assert_eq!(d1.current_period_end, Some(at(1738746000)));
    assert_eq!(d1.ended_at, None);
    assert_eq!(d1.discount_ids.len(), 1);
    assert_eq!(d1.discount_ids[0].as_str(), "di_177CyIetcPpBfUGFHnr08llT");
    assert!(
        d1.expanded_discounts.is_empty(),
        "current shape lists ids only"
    );
    let [item] = d1.items.as_slice() else {
        panic!("one item")
    };
    assert_eq!(item.item.as_str(), "si_tB0msXnVy8Kwes");
    assert_eq!(item.price.as_str(), "price_170lkDetcPpBfUGFhQNiAVSG");
    assert_eq!(
        item.product.as_ref().unwrap().as_str(),
        "prod_XngOiRF8M6ZRat"
    );
    assert_eq!(item.quantity, 1);
    assert_eq!(item.usage_type, UsageType::Licensed);
    assert_eq!(item.billing_scheme, BillingScheme::PerUnit);
    assert_eq!(item.unit_amount_decimal, Some(Decimal::from(8000)));
    assert_eq!(
        (item.interval, item.interval_count),
        (RecurringInterval::Month, 1)
    );
    assert_eq!(item.tiers_mode, None);
    assert!(item.tiers.is_empty());
    assert_eq!(item.transform_quantity, None);
    assert_eq!(item.current_period_start, Some(at(1736067600)));
    assert_eq!(item.current_period_end, Some(at(1738746000)));
}

#[test]
fn d1_discount_is_c25forever_25_percent_forever() {
    let DomainEvent::DiscountObserved(observed) = domain_event("evt_177CyIetcPpBfUGFUwBPKKpQ")
    else {
        panic!("expected DiscountObserved")
    };
    assert_eq!(observed.change, ObservedChange::Created);
    let discount = observed.snapshot;
    assert_eq!(discount.discount.as_str(), "di_177CyIetcPpBfUGFHnr08llT");
    assert_eq!(discount.customer.unwrap().as_str(), "cus_BkntAlX312ZYkS");
    assert_eq!(discount.subscription.unwrap().as_str(), D1);
    assert_eq!(discount.start, at(1736067600));
    assert_eq!(discount.end, None);
    assert_eq!(discount.coupon_id, "C25FOREVER");
    assert_eq!(
        discount.coupon,
        Some(Coupon {
            id: "C25FOREVER".into(),
            percent_off: Some(Decimal::from(25)),
            amount_off: None,
            currency: None,
            duration: CouponDuration::Forever,
            duration_in_months: None,
        }),
        "this fixture's discount carries its coupon expanded"
    );
}

#[test]
fn b1_once_coupon_is_created_then_deleted_and_its_price_is_annual() {
    for (event, change) in [
        ("evt_177j54etcPpBfUGFy7ixFi1d", ObservedChange::Created),
        ("evt_177j55etcPpBfUGFuUqhWWQY", ObservedChange::Deleted),
    ] {
        let DomainEvent::DiscountObserved(observed) = domain_event(event) else {
            panic!("expected DiscountObserved")
        };
        assert_eq!(observed.change, change);
        assert_eq!(observed.snapshot.coupon_id, "C25ONCE");
        let coupon = observed.snapshot.coupon.expect("expanded coupon");
        assert_eq!(coupon.id, "C25ONCE");
        assert_eq!(coupon.duration, CouponDuration::Once);
        assert_eq!(coupon.percent_off, Some(Decimal::from(25)));
        assert_eq!(
            observed.snapshot.subscription.unwrap().as_str(),
            "sub_177j54etcPpBfUGFypJp1CSw"
        );
    }
    let (_, b1) = subscription("evt_177j54etcPpBfUGFP0YJj8NG");
    assert!(
        b1.discount_ids.is_empty(),
        "Stripe consumed the once coupon at creation"
    );
    let item = &b1.items[0];
    assert_eq!(
        (item.interval, item.interval_count),
        (RecurringInterval::Year, 1)
    );
    assert_eq!(item.unit_amount_decimal, Some(Decimal::from(120000)));
    assert_eq!(b1.current_period_end, Some(at(1768467600)));
}

#[test]
fn e1_quarterly_price_is_every_three_months() {
    let (_, e1) = subscription("evt_17A9zletcPpBfUGFd7ecUTrx");
    let item = &e1.items[0];
    assert_eq!(
        (item.interval, item.interval_count),
        (RecurringInterval::Month, 3)
    );
    assert_eq!(item.unit_amount_decimal, Some(Decimal::from(27000)));
}

#[test]
fn c1_trial_then_active_then_cancel_at_period_end_then_ended() {
    let (_, trial) = subscription("evt_177z8TetcPpBfUGFrW6sPr6U");
    assert_eq!(trial.status, SubscriptionStatus::Trialing);
    let (_, converted) = subscription("evt_178i5ZetcPpBfUGFQxV77ncQ");
    assert_eq!(converted.status, SubscriptionStatus::Active);
    assert_eq!(converted.current_period_start, Some(at(1738573200)));
    let (_, cancelling) = subscription("evt_17AWTJetcPpBfUGFFC0PkTUs");
    assert!(cancelling.cancel_at_period_end);
    assert_eq!(cancelling.status, SubscriptionStatus::Active);
    let (change, ended) = subscription("evt_17BlXBetcPpBfUGFTu92rCYO");
    assert_eq!(change, ObservedChange::Deleted);
    assert_eq!(ended.status, SubscriptionStatus::Canceled);
    assert_eq!(ended.ended_at, Some(at(1743670800)));
}

#[test]
fn a1_plan_change_and_quantity_change() {
    let (_, basic) = subscription("evt_1794Z7etcPpBfUGFnwYIkDbV");
    assert_eq!(
        basic.items[0].unit_amount_decimal,
        Some(Decimal::from(5000))
    );
    let (_, three_seats) = subscription("evt_17AmWhetcPpBfUGF8rA9E17H");
    assert_eq!(three_seats.items[0].quantity, 3);
    assert_eq!(
        three_seats.items[0].unit_amount_decimal,
        Some(Decimal::from(10000))
    );
}

#[test]
fn d1_first_invoice_paid_and_e1_refund() {
    let DomainEvent::InvoiceObserved(observed) = domain_event("evt_177CyIetcPpBfUGFQCH7X7vB")
    else {
        panic!("expected InvoiceObserved")
    };
    assert_eq!(observed.change, ObservedChange::Paid);
    let invoice = observed.snapshot;
    assert_eq!(invoice.invoice.as_str(), "in_177CyIetcPpBfUGFj0YKnDGe");
    assert_eq!(invoice.subscription.unwrap().as_str(), D1);
    assert_eq!(invoice.customer.unwrap().as_str(), "cus_BkntAlX312ZYkS");
    assert_eq!(invoice.status, InvoiceStatus::Paid);
    assert_eq!(
        (
            invoice.amount_due,
            invoice.amount_paid,
            invoice.amount_remaining
        ),
        (6000, 6000, 0)
    );
    assert_eq!(invoice.paid_at, Some(at(1736067602)));
    assert_eq!(
        invoice.billing_reason.as_deref(),
        Some("subscription_create")
    );

    let DomainEvent::ChargeObserved(refund) = domain_event("evt_17B2aMetcPpBfUGFm4CZClbx") else {
        panic!("expected ChargeObserved")
    };
    assert_eq!(refund.change, ObservedChange::Refunded);
    assert_eq!(
        refund.snapshot.charge.as_str(),
        "ch_17A9zletcPpBfUGFE1WzxTVu"
    );
    assert_eq!(
        (refund.snapshot.amount, refund.snapshot.amount_refunded),
        (27000, 27000)
    );
    assert_eq!(
        refund.snapshot.customer.unwrap().as_str(),
        "cus_ZG5ixo64iMQKEe"
    );
    assert_eq!(
        refund.snapshot.invoice, None,
        "current-shape charges carry no invoice"
    );
    assert_eq!(refund.snapshot.status, "succeeded");
}

#[test]
fn customers_carry_no_personal_data_and_envelopes_keep_provenance() {
    let line = EVENTS.lines().next().unwrap();
    let Translation::Translated { envelope, events } = translate(line.as_bytes()) else {
        panic!("expected Translated")
    };
    assert_eq!(envelope.id, "evt_1773L3etcPpBfUGFtitg9QOG");
    assert_eq!(envelope.event_type, "customer.created");
    assert_eq!(envelope.created, at(1735808400));
    assert_eq!(envelope.api_version.as_deref(), Some("2026-09-30.endive"));
    assert_eq!(
        envelope.request_idempotency_key.as_deref(),
        Some("c2195a96-d581-4334-bbd8-28a60afeb149")
    );
    assert_eq!(
        events[0].to_payload(),
        serde_json::json!({
            "change": "created",
            "snapshot": {
                "customer": "cus_Z80rQiGR9BRAqc",
                "created": "2025-01-02T09:00:00Z",
                "deleted": false
            }
        })
    );
}
