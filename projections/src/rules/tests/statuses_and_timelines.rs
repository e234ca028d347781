//! §2.1 counting statuses, §6 trial conversion, §0 / §6 state at t, §3 customer MRR timelines.

use crate::rules::test_support::{
    at, monthly, observed_by_event, points, subscription, usd_timeline,
};
use crate::rules::{customer_mrr_timelines, mrr_at, subscription_mrr, Observed};
use ledger::domain::{
    Currency,
    ObservedChange::{self, *},
    SubscriptionSnapshot,
    SubscriptionStatus::{self, *},
};

/// Subscription `id` observed at `when` (also its period start) through `change`, in `status`,
/// at `monthly_amount` cents per month. The Event id is `evt_{when}_{id}`.
fn snapshot_of(
    id: &str,
    when: &str,
    change: ObservedChange,
    status: SubscriptionStatus,
    monthly_amount: i64,
) -> Observed<SubscriptionSnapshot> {
    let snapshot = subscription(id, status, when, vec![monthly(monthly_amount)]);
    observed_by_event(when, change, &format!("evt_{when}_{id}"), snapshot)
}

/// The same observation, delivered by the Event `event_id`.
fn by_event(
    observation: Observed<SubscriptionSnapshot>,
    event_id: &str,
) -> Observed<SubscriptionSnapshot> {
    Observed {
        source_id: event_id.to_owned(),
        ..observation
    }
}

#[test]
fn only_active_and_past_due_count() {
    // (status, MRR of a 5000/month subscription)
    let table = [
        (Active, 5000),
        (PastDue, 5000),
        (Trialing, 0),
        (Incomplete, 0),
        (IncompleteExpired, 0),
        (Unpaid, 0),
        (Paused, 0),
        (Canceled, 0),
    ];
    for (status, expected_mrr) in table {
        let snapshot = subscription("sub_1", status, "2025-01-01 00:00", vec![monthly(5000)]);
        assert_eq!(subscription_mrr(&snapshot, &[]), expected_mrr, "{status:?}");
    }
}

#[test]
#[rustfmt::skip]
fn cancel_at_period_end_keeps_counting_until_the_subscription_ends() {
    let mut set_to_cancel = snapshot_of("sub_1", "2025-03-10 09:00", Updated, Active, 5000);
    set_to_cancel.snapshot.cancel_at_period_end = true;
    let history = [
        snapshot_of("sub_1", "2025-03-03 09:00", Created, Active, 5000),
        set_to_cancel,
        snapshot_of("sub_1", "2025-04-03 09:00", Deleted, Canceled, 5000),
    ];
    assert_eq!(usd_timeline(&history, &[]), points(&[("2025-03-03 09:00", 5000), ("2025-04-03 09:00", 0)]));
}

#[test]
#[rustfmt::skip]
fn trial_to_active_counts_from_status_change() {
    let history = [
        snapshot_of("sub_1", "2025-01-20 09:00", Created, Trialing, 5000),
        snapshot_of("sub_1", "2025-02-03 09:00", Updated, Active, 5000),
    ];
    assert_eq!(usd_timeline(&history, &[]), points(&[("2025-02-03 09:00", 5000)]));
}

#[test]
#[rustfmt::skip]
fn trial_converted_then_past_due_still_counts() {
    let history = [
        snapshot_of("sub_1", "2025-01-20 09:00", Created, Trialing, 5000),
        snapshot_of("sub_1", "2025-02-03 09:00", Updated, Active, 5000),
        snapshot_of("sub_1", "2025-02-03 10:00", Updated, PastDue, 5000), // first invoice failed
    ];
    assert_eq!(usd_timeline(&history, &[]), points(&[("2025-02-03 09:00", 5000)]));
}

#[test]
#[rustfmt::skip]
fn incomplete_to_active_counts_from_status_change() {
    let history = [
        snapshot_of("sub_1", "2025-01-02 09:00", Created, Incomplete, 5000),
        snapshot_of("sub_1", "2025-01-02 09:30", Updated, Active, 5000),
    ];
    assert_eq!(usd_timeline(&history, &[]), points(&[("2025-01-02 09:30", 5000)]));
}

#[test]
#[rustfmt::skip]
fn plan_change_moves_mrr_at_the_effective_time_of_its_event() {
    let history = [
        snapshot_of("sub_1", "2025-01-02 09:00", Created, Active, 10_000),
        snapshot_of("sub_1", "2025-02-10 09:00", Updated, Active, 5_000),
    ];
    assert_eq!(usd_timeline(&history, &[]), points(&[("2025-01-02 09:00", 10_000), ("2025-02-10 09:00", 5_000)]));
}

#[test]
#[rustfmt::skip]
fn state_at_t_is_the_latest_snapshot_by_effective_time_not_arrival_order() {
    let downgrade = snapshot_of("sub_1", "2025-02-10 09:00", Updated, Active, 5_000);
    let in_arrival_order = [
        downgrade.clone(),
        snapshot_of("sub_1", "2025-01-02 09:00", Created, Active, 10_000),
        downgrade, // delivered twice
    ];
    let timeline = usd_timeline(&in_arrival_order, &[]);
    assert_eq!(timeline, points(&[("2025-01-02 09:00", 10_000), ("2025-02-10 09:00", 5_000)]));
    assert_eq!(mrr_at(&timeline, at("2025-02-10 08:59:59")), 10_000);
    assert_eq!(mrr_at(&timeline, at("2025-02-10 09:00")), 5_000);
}

#[test]
#[rustfmt::skip]
fn same_second_snapshots_are_ordered_by_change_rank_then_event_id() {
    let created = || snapshot_of("sub_1", "2025-01-12 09:00", Created, Active, 7_000);
    // Same second: `deleted` ranks after `updated`, whatever the Event ids.
    let updated = by_event(snapshot_of("sub_1", "2025-02-12 09:00", Updated, Active, 7_000), "evt_b");
    let deleted = by_event(snapshot_of("sub_1", "2025-02-12 09:00", Deleted, Canceled, 7_000), "evt_a");
    let timeline = usd_timeline(&[deleted, updated, created()], &[]);
    assert_eq!(timeline, points(&[("2025-01-12 09:00", 7_000), ("2025-02-12 09:00", 0)]));
    // Same second and same rank: the greater Event id wins.
    let later_id = by_event(snapshot_of("sub_1", "2025-02-20 09:00", Updated, Active, 9_000), "evt_2");
    let earlier_id = by_event(snapshot_of("sub_1", "2025-02-20 09:00", Updated, Active, 8_000), "evt_1");
    let timeline = usd_timeline(&[later_id, earlier_id, created()], &[]);
    assert_eq!(timeline, points(&[("2025-01-12 09:00", 7_000), ("2025-02-20 09:00", 9_000)]));
}

#[test]
#[rustfmt::skip]
fn customer_mrr_is_the_sum_of_its_subscriptions_and_lists_only_changes() {
    let history = [
        snapshot_of("sub_1", "2025-01-02 09:00", Created, Active, 10_000),
        snapshot_of("sub_2", "2025-01-05 09:00", Created, Active, 2_500),
        snapshot_of("sub_1", "2025-02-02 09:00", Updated, Active, 10_000), // renewal: no change
        snapshot_of("sub_2", "2025-02-05 09:00", Deleted, Canceled, 2_500),
    ];
    let expected = points(&[("2025-01-02 09:00", 10_000), ("2025-01-05 09:00", 12_500), ("2025-02-05 09:00", 10_000)]);
    assert_eq!(usd_timeline(&history, &[]), expected);
}

#[test]
#[rustfmt::skip]
fn currencies_are_never_added_together() {
    let mut in_eur = snapshot_of("sub_eur", "2025-01-03 09:00", Created, Active, 4_000);
    in_eur.snapshot.currency = Currency::new("eur");
    let history = [snapshot_of("sub_usd", "2025-01-02 09:00", Created, Active, 10_000), in_eur];
    let timelines = customer_mrr_timelines(&history, &[]);
    assert_eq!(timelines[&Currency::new("usd")], points(&[("2025-01-02 09:00", 10_000)]));
    assert_eq!(timelines[&Currency::new("eur")], points(&[("2025-01-03 09:00", 4_000)]));
}

#[test]
fn a_currency_that_never_had_mrr_has_an_empty_timeline() {
    let history = [snapshot_of(
        "sub_1",
        "2025-01-20 09:00",
        Created,
        Trialing,
        5000,
    )];
    assert_eq!(
        customer_mrr_timelines(&history, &[])[&Currency::new("usd")],
        vec![]
    );
}
