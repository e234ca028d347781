//! Which billing periods a discount reduces: those that BEGIN while it is in effect (§2.4).

use super::{at_2025, di_1, di_1_at, in_2025, observed_2025, points_2025, pro_at, timeline};
use crate::rules::test_support::{active, item, listing, monthly, percent_coupon};
use ledger::domain::{
    Coupon, CouponDuration::*, DiscountSnapshot, ObservedChange::*, RecurringInterval,
    SubscriptionSnapshot,
};

#[test]
fn period_beginning_in_the_same_second_as_discount_start_is_discounted() {
    let subscription = [pro_at("01-01", "01-01", &["di_1"])];
    let coupon = percent_coupon("25", Forever);
    let discounts = [di_1_at("01-01", Created, coupon, "01-01")];
    assert_eq!(
        timeline(&subscription, &discounts),
        points_2025(&[("01-01", 7_500)])
    );
}

#[test]
fn forever_coupon_discounts_every_period_until_removed() {
    let subscription = [
        pro_at("01-01", "01-01", &["di_1"]),
        pro_at("02-01", "02-01", &["di_1"]),
        pro_at("03-01", "03-01", &["di_1"]),
    ];
    let coupon = percent_coupon("25", Forever);
    let discounts = [di_1_at("01-01", Created, coupon, "01-01")];
    assert_eq!(
        timeline(&subscription, &discounts),
        points_2025(&[("01-01", 7_500)])
    );
}

#[test]
fn discount_added_mid_period_applies_from_the_next_period() {
    let subscription = [
        pro_at("01-01", "01-01", &[]),
        pro_at("01-10", "01-01", &["di_1"]),
        pro_at("02-01", "02-01", &["di_1"]),
    ];
    let coupon = percent_coupon("25", Forever);
    let discounts = [di_1_at("01-10", Created, coupon, "01-10")];
    let expected = points_2025(&[("01-01", 10_000), ("02-01", 7_500)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn once_coupon_discounts_only_first_period() {
    // Stripe consumes a `once` coupon at creation: the subscription never lists it; the discount
    // names the subscription and is deleted seconds later.
    let subscription = [pro_at("01-01", "01-01", &[]), pro_at("02-01", "02-01", &[])];
    let once = || percent_coupon("25", Once);
    let discounts = [
        di_1_at("01-01", Created, once(), "01-01"),
        di_1_at("01-01 00:00:03", Deleted, once(), "01-01"),
    ];
    let expected = points_2025(&[("01-01", 7_500), ("02-01", 10_000)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn once_coupon_applied_mid_period_discounts_the_next_period_only() {
    let subscription = [
        pro_at("01-01", "01-01", &[]),
        pro_at("01-10", "01-01", &["di_1"]),
        pro_at("02-01", "02-01", &["di_1"]),
        pro_at("02-01 00:00:05", "02-01", &[]),
        pro_at("03-01", "03-01", &[]),
    ];
    let coupon = percent_coupon("25", Once);
    let discounts = [di_1_at("01-10", Created, coupon, "01-10")];
    let expected = points_2025(&[("01-01", 10_000), ("02-01", 7_500), ("03-01", 10_000)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn repeating_coupon_end_is_exclusive() {
    // Three months from 01-01: the periods of 01-01, 02-01 and 03-01 are discounted, not 04-01.
    let subscription: Vec<_> = ["01-01", "02-01", "03-01", "04-01"]
        .into_iter()
        .map(|renewal| pro_at(renewal, renewal, &["di_1"]))
        .collect();
    let three_months = DiscountSnapshot {
        end: Some(at_2025("04-01")),
        ..di_1(percent_coupon("25", Repeating), "01-01")
    };
    let discounts = [observed_2025("01-01", Created, three_months)];
    let expected = points_2025(&[("01-01", 7_500), ("04-01", 10_000)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn repeating_coupon_without_end_lasts_duration_in_months_from_start() {
    let subscription: Vec<_> = ["01-01", "02-01", "03-01"]
        .into_iter()
        .map(|renewal| pro_at(renewal, renewal, &["di_1"]))
        .collect();
    let two_months = Coupon {
        duration_in_months: Some(2),
        ..percent_coupon("25", Repeating)
    };
    let discounts = [di_1_at("01-01", Created, two_months, "01-01")];
    let expected = points_2025(&[("01-01", 7_500), ("03-01", 10_000)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn billing_cycle_reset_begins_a_new_period() {
    // A forever coupon added mid-period waits for the next period; switching to an annual price
    // resets the billing cycle on 01-20, which begins that period.
    let annual = |when: &str, period_start: &str| {
        let yearly = item(120_000, 1, RecurringInterval::Year, 1);
        observed_2025(
            when,
            Updated,
            listing(
                active("sub_1", &in_2025(period_start), vec![yearly]),
                &["di_1"],
            ),
        )
    };
    let subscription = [
        pro_at("01-01", "01-01", &[]),
        pro_at("01-10", "01-01", &["di_1"]),
        annual("01-20", "01-20"),
    ];
    let coupon = percent_coupon("25", Forever);
    let discounts = [di_1_at("01-10", Created, coupon, "01-10")];
    let expected = points_2025(&[("01-01", 10_000), ("01-20", 7_500)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn billing_period_start_is_the_smallest_item_period_start() {
    let with_item_periods_only = |when: &str, first_item_start: &str| {
        let mut items = vec![monthly(6_000), monthly(4_000)];
        items[0].current_period_start = Some(at_2025(first_item_start));
        items[1].current_period_start = Some(at_2025("02-01"));
        let snapshot = SubscriptionSnapshot {
            current_period_start: None,
            ..active("sub_1", &in_2025("01-01"), items)
        };
        observed_2025(when, Updated, listing(snapshot, &["di_1"]))
    };
    // The discount starts 01-15: the period that began 01-10 (smallest item start) is not
    // discounted; the one that began 02-01 is.
    let subscription = [
        with_item_periods_only("01-15", "01-10"),
        with_item_periods_only("02-01", "02-01"),
    ];
    let coupon = percent_coupon("50", Forever);
    let discounts = [di_1_at("01-15", Created, coupon, "01-15")];
    let expected = points_2025(&[("01-15", 10_000), ("02-01", 5_000)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}
