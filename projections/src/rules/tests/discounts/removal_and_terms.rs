//! Removal of a discount, where its terms come from, and how several coupons combine (§2.4).

use super::{di_1, di_1_at, in_2025, observed_2025, points_2025, pro_at, timeline};
use crate::rules::discounted_amount_per_period;
use crate::rules::test_support::{
    active, amount_coupon, dec, discount, listing, monthly, percent_coupon,
};
use ledger::domain::{
    Coupon, CouponDuration::*, Currency, ObservedChange::*, SubscriptionSnapshot,
};

#[test]
fn removal_mid_period_keeps_the_current_period_discounted() {
    let subscription = [
        pro_at("01-01", "01-01", &["di_1"]),
        pro_at("02-01", "02-01", &["di_1"]),
    ];
    let forever = || percent_coupon("25", Forever);
    let discounts = [
        di_1_at("01-01", Created, forever(), "01-01"),
        di_1_at("01-15", Deleted, forever(), "01-01"),
    ];
    let expected = points_2025(&[("01-01", 7_500), ("02-01", 10_000)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn removal_in_same_second_as_period_start_is_not_discounted() {
    let subscription = [
        pro_at("01-01", "01-01", &["di_1"]),
        pro_at("02-01", "02-01", &["di_1"]),
    ];
    let forever = || percent_coupon("25", Forever);
    let discounts = [
        di_1_at("01-01", Created, forever(), "01-01"),
        di_1_at("02-01", Deleted, forever(), "01-01"),
    ];
    let expected = points_2025(&[("01-01", 7_500), ("02-01", 10_000)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn subscription_that_stops_listing_a_discount_removes_it() {
    let subscription = [
        pro_at("01-01", "01-01", &["di_1"]),
        pro_at("01-15", "01-01", &[]),
        pro_at("02-01", "02-01", &[]),
    ];
    let coupon = percent_coupon("25", Forever);
    let discounts = [di_1_at("01-01", Created, coupon, "01-01")];
    let expected = points_2025(&[("01-01", 7_500), ("02-01", 10_000)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn discount_terms_are_known_from_their_first_observation() {
    let subscription = [pro_at("01-01", "01-01", &["di_1"])];
    let coupon = percent_coupon("25", Forever);
    let discounts = [di_1_at("01-03", Updated, coupon, "01-01")];
    let expected = points_2025(&[("01-01", 10_000), ("01-03", 7_500)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn expanded_discount_on_the_subscription_carries_its_terms() {
    let with_expanded = SubscriptionSnapshot {
        expanded_discounts: vec![di_1(percent_coupon("25", Forever), "01-01")],
        ..listing(
            active("sub_1", &in_2025("01-01"), vec![monthly(10_000)]),
            &["di_1"],
        )
    };
    let subscription = [observed_2025("01-01", Created, with_expanded)];
    assert_eq!(
        timeline(&subscription, &[]),
        points_2025(&[("01-01", 7_500)])
    );
}

#[test]
fn customer_level_discounts_are_ignored() {
    let subscription = [pro_at("01-01", "01-01", &[])];
    let customer_level = discount(
        "di_1",
        None,
        percent_coupon("25", Forever),
        &in_2025("01-01"),
    );
    let discounts = [observed_2025("01-01", Created, customer_level)];
    assert_eq!(
        timeline(&subscription, &discounts),
        points_2025(&[("01-01", 10_000)])
    );
}

#[test]
#[rustfmt::skip]
fn percent_coupons_compound_then_amount_coupons_subtract_never_below_zero() {
    let (percent, amount) = (|p| percent_coupon(p, Forever), |a| amount_coupon(a, Forever));
    // (coupons in any order, amount per period left of a 10000 list amount)
    let table: [(Vec<Coupon>, &str); 6] = [
        (vec![percent("25")],                  "7500"), // 10000 x 0.75
        (vec![percent("25"), percent("20")],   "6000"), // 10000 x 0.75 x 0.80
        (vec![amount(1_000), percent("50")],   "4000"), // percent first: 10000 x 0.5 - 1000
        (vec![percent("33.3")],                "6670"), // exact: 10000 x 0.667
        (vec![amount(7_000), amount(4_000)],   "0"),    // clamped at 0
        (vec![percent("100"), amount(1)],      "0"),    // clamped at 0
    ];
    let usd = Currency::new("usd");
    for (coupons, expected) in table {
        let coupon_refs: Vec<&Coupon> = coupons.iter().collect();
        let discounted = discounted_amount_per_period(dec("10000"), &coupon_refs, &usd);
        assert_eq!(discounted, dec(expected), "{coupons:?}");
    }
}

#[test]
fn amount_coupon_in_another_currency_is_ignored() {
    let in_eur = Coupon {
        currency: Some(Currency::new("eur")),
        ..amount_coupon(1_000, Forever)
    };
    let discounted = discounted_amount_per_period(dec("10000"), &[&in_eur], &Currency::new("usd"));
    assert_eq!(discounted, dec("10000"));
}
