//! The read-side views of the rules: the daily report, a customer's changes one by one, MRR by
//! plan, the snapshots as the log stood at a recorded time, and restatements of a closed month.

use crate::rules::test_support::{
    active, amount_coupon, at, day, discount, listing, month, monthly, observed, points,
};
use crate::rules::{
    daily_movements, daily_report, mrr_by_plan, mrr_changes, restatements, CustomerSnapshots,
    MonthFigures, MovementKind, Observed, RecordedMrrSnapshots, RecordedSnapshot, SnapshotSource,
};
use ledger::domain::{CouponDuration, Currency, ObservedChange, SubscriptionSnapshot};
use std::collections::BTreeMap;

fn usd() -> Currency {
    Currency::new("usd")
}

#[test]
fn a_days_close_is_its_open_plus_its_movements_and_the_next_days_open() {
    let mut movements = daily_movements(&points(&[
        ("2025-01-02 09:00", 10_000),
        ("2025-01-03 09:00", 4_000),
    ]));
    movements.extend(daily_movements(&points(&[("2025-01-03 12:00", 2_500)])));
    movements.extend(daily_movements(&points(&[("2025-02-01 00:00", 700)])));
    let days = daily_report(1_000, &movements, day("2025-01-02"), day("2025-01-04"));
    let summary: Vec<_> = days
        .iter()
        .map(|d| (d.day.to_string(), d.open, d.new, d.contraction, d.close))
        .collect();
    assert_eq!(
        summary,
        [
            ("2025-01-02".to_owned(), 1_000, 10_000, 0, 11_000),
            ("2025-01-03".to_owned(), 11_000, 2_500, 6_000, 7_500),
            ("2025-01-04".to_owned(), 7_500, 0, 0, 7_500),
        ],
        "the February movement is outside the range"
    );
    assert!(daily_report(0, &movements, day("2025-01-05"), day("2025-01-04")).is_empty());
}

#[test]
fn each_change_is_classified_on_its_own_while_the_day_nets_them() {
    let timeline = points(&[
        ("2025-01-02 09:00", 10_000),
        ("2025-01-02 15:00", 0),
        ("2025-02-01 09:00", 5_000),
        ("2025-02-03 09:00", 8_000),
    ]);
    let changes: Vec<_> = mrr_changes(&timeline)
        .iter()
        .map(|c| (c.at, c.kind, c.mrr_before, c.mrr_after))
        .collect();
    assert_eq!(
        changes,
        [
            (at("2025-01-02 09:00"), MovementKind::New, 0, 10_000),
            (at("2025-01-02 15:00"), MovementKind::Churn, 10_000, 0),
            (at("2025-02-01 09:00"), MovementKind::Reactivation, 0, 5_000),
            (
                at("2025-02-03 09:00"),
                MovementKind::Expansion,
                5_000,
                8_000
            ),
        ]
    );
    // Netted per day, the first day leaves no trace, so February's start is `new`.
    assert_eq!(daily_movements(&timeline)[0].kind, MovementKind::New);
}

/// One customer holding `subscriptions` (observed on the given days at 09:00).
fn customer(
    subscriptions: Vec<Observed<SubscriptionSnapshot>>,
    discounts: Vec<Observed<ledger::domain::DiscountSnapshot>>,
) -> BTreeMap<String, CustomerSnapshots> {
    BTreeMap::from([(
        "cus_test".to_owned(),
        CustomerSnapshots {
            subscriptions,
            discounts,
        },
    )])
}

#[test]
fn a_subscriptions_mrr_is_split_over_its_prices_by_largest_remainder() {
    let mut items = vec![monthly(100), monthly(100), monthly(100)];
    for (index, item) in items.iter_mut().enumerate() {
        item.price = format!("price_{index}").as_str().into();
    }
    let subscription = listing(active("sub_1", "2025-01-02 09:00", items), &["di_1"]);
    let coupon = discount(
        "di_1",
        Some("sub_1"),
        amount_coupon(100, CouponDuration::Forever),
        "2025-01-02 09:00",
    );
    let customers = customer(
        vec![observed(
            "2025-01-02 09:00",
            ObservedChange::Created,
            subscription,
        )],
        vec![observed(
            "2025-01-02 09:00",
            ObservedChange::Created,
            coupon,
        )],
    );
    let plans = mrr_by_plan(&customers, &usd(), day("2025-01-31"));
    let shares: Vec<(&str, i64, i64)> = plans
        .iter()
        .map(|plan| (plan.price.as_str(), plan.mrr, plan.customers))
        .collect();
    // 300 - 100 off = 200 over three equal items: 66.67 each -> 67, 67, 66.
    assert_eq!(
        shares,
        [("price_0", 67, 1), ("price_1", 67, 1), ("price_2", 66, 1)]
    );
    assert!(
        mrr_by_plan(&customers, &usd(), day("2025-01-01")).is_empty(),
        "nothing before the subscription"
    );
    assert!(mrr_by_plan(&customers, &Currency::new("eur"), day("2025-01-31")).is_empty());
}

/// `snapshot` of `customer`, effective at `effective`, recorded at `recorded` as position
/// `position` through Stripe Event `stripe_id`.
fn recorded(
    customer: &str,
    effective: &str,
    recorded: &str,
    position: i64,
    stripe_id: &str,
    snapshot: SubscriptionSnapshot,
) -> RecordedSnapshot<SubscriptionSnapshot> {
    let mut snapshot = snapshot;
    snapshot.customer = customer.into();
    RecordedSnapshot {
        scope: customer.to_owned(),
        observed: Observed {
            effective_at: at(effective),
            change: ObservedChange::Updated,
            source_id: stripe_id.to_owned(),
            snapshot,
        },
        source: SnapshotSource {
            recorded_at: at(recorded),
            global_position: position,
            event_type: "SubscriptionObserved".to_owned(),
            stripe_event_id: Some(stripe_id.to_owned()),
        },
    }
}

fn figures(open: i64, new: i64, expansion: i64, close: i64) -> MonthFigures {
    MonthFigures {
        open,
        new,
        expansion,
        close,
        ..MonthFigures::default()
    }
}

#[test]
fn a_late_webhook_and_a_backdated_change_restate_the_closed_month_in_recorded_order() {
    let mut two_seats = monthly(10_000);
    two_seats.quantity = 2;
    let snapshots = RecordedMrrSnapshots {
        subscriptions: vec![
            // On time: A subscribes on 01-02, recorded a second later.
            recorded(
                "cus_a",
                "2025-01-02 09:00",
                "2025-01-02 09:00:01",
                1,
                "evt_a_created",
                active("sub_a", "2025-01-02 09:00", vec![monthly(10_000)]),
            ),
            // A late webhook: B subscribed on 01-10, delivered on 02-03.
            recorded(
                "cus_b",
                "2025-01-10 09:00",
                "2025-02-03 10:00",
                3,
                "evt_b_created",
                active("sub_b", "2025-01-10 09:00", vec![monthly(5_000)]),
            ),
            // After the month, about February only: restates nothing in January.
            recorded(
                "cus_a",
                "2025-02-05 09:00",
                "2025-02-05 09:00:01",
                4,
                "evt_a_february",
                active("sub_a", "2025-01-02 09:00", vec![monthly(10_000)]),
            ),
            // A backdated change: A went to two seats on 01-20, recorded on 02-10.
            recorded(
                "cus_a",
                "2025-01-20 09:00",
                "2025-02-10 12:00",
                5,
                "evt_a_backdated",
                active("sub_a", "2025-01-02 09:00", vec![two_seats]),
            ),
        ],
        discounts: Vec::new(),
        coupons: Vec::new(),
    };
    let found = restatements(&snapshots, &usd(), month("2025-01"));
    assert_eq!(found.closed_at, at("2025-02-01 00:00"));
    assert_eq!(found.as_closed, figures(0, 10_000, 0, 10_000));
    let summary: Vec<_> = found
        .restatements
        .iter()
        .map(|r| {
            let causes: Vec<_> = r
                .causes
                .iter()
                .map(|c| {
                    (
                        c.global_position,
                        c.stripe_event_id.clone().unwrap_or_default(),
                    )
                })
                .collect();
            (r.recorded_at, r.before, r.after, causes)
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                at("2025-02-03 10:00"),
                figures(0, 10_000, 0, 10_000),
                figures(0, 15_000, 0, 15_000),
                vec![(3, "evt_b_created".to_owned())],
            ),
            (
                at("2025-02-10 12:00"),
                figures(0, 15_000, 0, 15_000),
                figures(0, 15_000, 10_000, 25_000),
                vec![(5, "evt_a_backdated".to_owned())],
            ),
        ]
    );
    // As of the close, the month is what the snapshots recorded by then give.
    let at_close = snapshots.customers_known_by(Some(found.closed_at));
    assert_eq!(at_close.len(), 1, "B was not known yet");
}

#[test]
fn a_coupon_known_later_reduces_mrr_only_from_when_it_was_recorded() {
    let subscription = listing(
        active("sub_1", "2025-01-02 09:00", vec![monthly(10_000)]),
        &["di_1"],
    );
    let mut terms_only_by_id = discount(
        "di_1",
        Some("sub_1"),
        amount_coupon(1_000, CouponDuration::Forever),
        "2025-01-02 09:00",
    );
    let coupon = terms_only_by_id.coupon.take().expect("coupon");
    let source = |recorded_at: &str, position: i64, event_type: &str| SnapshotSource {
        recorded_at: at(recorded_at),
        global_position: position,
        event_type: event_type.to_owned(),
        stripe_event_id: None,
    };
    let snapshots = RecordedMrrSnapshots {
        subscriptions: vec![RecordedSnapshot {
            scope: "cus_test".to_owned(),
            observed: observed("2025-01-02 09:00", ObservedChange::Created, subscription),
            source: source("2025-01-02 09:00", 1, "SubscriptionObserved"),
        }],
        discounts: vec![RecordedSnapshot {
            scope: "subscription:sub_1".to_owned(),
            observed: observed(
                "2025-01-02 09:00",
                ObservedChange::Created,
                terms_only_by_id,
            ),
            source: source("2025-01-02 09:00", 2, "DiscountObserved"),
        }],
        coupons: vec![RecordedSnapshot {
            scope: "coupon".to_owned(),
            observed: observed("2025-01-01 09:00", ObservedChange::Created, coupon),
            source: source("2025-03-01 09:00", 3, "CouponObserved"),
        }],
    };
    let mrr_known_by = |recorded: &str| {
        snapshots.customers_known_by(Some(at(recorded)))["cus_test"]
            .timeline(&usd())
            .last()
            .map(|point| point.mrr)
    };
    assert_eq!(mrr_known_by("2025-02-01 00:00"), Some(10_000));
    assert_eq!(mrr_known_by("2025-03-01 09:00"), Some(9_000));
    assert_eq!(
        snapshots.customers_known_by(None)["cus_test"]
            .discounts
            .len(),
        1,
        "the discount under its subscription belongs to the subscription's customer"
    );
}
