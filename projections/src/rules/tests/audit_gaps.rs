//! Rules the completeness audit (docs/revenue-rules-coverage.md) found without a test of their
//! own: tiers priced in fractional minor units, zero- and three-decimal currencies, coupon kinds
//! over several periods, several discounts on one subscription, status round trips through
//! `unpaid` and `paused`, and several subscriptions per customer.

use super::discounts::{di_1_at, observed_2025, points_2025, pro_at, timeline};
use crate::rules::test_support::{
    active, amount_coupon, dec, discount, item, monthly, observed, percent_coupon, subscription,
    tier, tiered, usd_timeline,
};
use crate::rules::{
    customer_mrr_timelines, daily_movements, item_amount_per_billing_period, subscription_mrr,
    DailyMovement, MovementKind, Observed,
};
use ledger::domain::{
    Coupon, CouponDuration::*, Currency, ObservedChange::*, PriceTier, RecurringInterval::*,
    SubscriptionSnapshot, SubscriptionStatus, SubscriptionStatus::*, TiersMode,
};

/// A tier whose unit and flat amounts are decimal minor units (Stripe's `*_decimal` fields).
fn decimal_tier(up_to: Option<u64>, unit: &str, flat: &str) -> PriceTier {
    PriceTier {
        up_to,
        unit_amount_decimal: Some(dec(unit)),
        flat_amount_decimal: Some(dec(flat)),
    }
}

#[test]
fn volume_tiers_with_decimal_unit_amounts_and_flat_amount() {
    // 1-1000 at 0.5 + 100 flat; 1001+ at 0.25, no flat.
    let tiers = || {
        vec![
            decimal_tier(Some(1000), "0.5", "100"),
            decimal_tier(None, "0.25", "0"),
        ]
    };
    // (quantity, exact amount, MRR rounded once half away from zero)
    for (quantity, amount, mrr) in [(999, "599.5", 600), (1000, "600", 600), (1500, "375", 375)] {
        let volume = tiered(TiersMode::Volume, tiers(), quantity);
        assert_eq!(
            item_amount_per_billing_period(&volume),
            dec(amount),
            "{quantity}"
        );
        let snapshot = active("sub_1", "2025-01-01 00:00", vec![volume]);
        assert_eq!(subscription_mrr(&snapshot, &[]), mrr, "{quantity}");
    }
}

#[test]
fn graduated_tiers_with_decimal_unit_amounts_and_flat_amounts() {
    // 1-1000 at 0.5 + 100 flat; 1001+ at 0.25 + 0.5 flat.
    let tiers = || {
        vec![
            decimal_tier(Some(1000), "0.5", "100"),
            decimal_tier(None, "0.25", "0.5"),
        ]
    };
    let table = [
        (1, "100.5"),     // 1 x 0.5 + 100
        (1000, "600"),    // 1000 x 0.5 + 100
        (1001, "600.75"), // 600 + 1 x 0.25 + 0.5
        (1500, "725.5"),  // 600 + 500 x 0.25 + 0.5
    ];
    for (quantity, amount) in table {
        let graduated = tiered(TiersMode::Graduated, tiers(), quantity);
        assert_eq!(
            item_amount_per_billing_period(&graduated),
            dec(amount),
            "{quantity}"
        );
    }
}

#[test]
fn tiered_price_billed_yearly_is_normalised_like_any_other() {
    // Graduated 1-10 at 1000 + 500 flat, 11+ at 800: 12 seats = 10500 + 1600 = 12100 a year
    // -> 12100 / 12 = 1008.33 -> 1008.
    let mut yearly = tiered(
        TiersMode::Graduated,
        vec![tier(Some(10), 1000, 500), tier(None, 800, 0)],
        12,
    );
    yearly.interval = Year;
    assert_eq!(
        subscription_mrr(&active("sub_1", "2025-01-01 00:00", vec![yearly]), &[]),
        1008
    );
}

/// `snapshot` in `currency`.
fn in_currency(snapshot: SubscriptionSnapshot, currency: &str) -> SubscriptionSnapshot {
    SubscriptionSnapshot {
        currency: Currency::new(currency),
        ..snapshot
    }
}

#[test]
fn zero_decimal_currency_amounts_are_whole_yen_rounded_once() {
    // jpy has no minor unit below the yen: 10000 yen a year = 833.33 yen a month -> 833.
    let yearly = in_currency(
        active("sub_1", "2025-01-01 00:00", vec![item(10_000, 1, Year, 1)]),
        "jpy",
    );
    assert_eq!(subscription_mrr(&yearly, &[]), 833);
    // An amount coupon in jpy is subtracted in yen; a usd amount coupon is ignored on jpy.
    let monthly_jpy = in_currency(
        active("sub_1", "2025-01-01 00:00", vec![monthly(980)]),
        "jpy",
    );
    let yen_off = Coupon {
        currency: Some(Currency::new("jpy")),
        ..amount_coupon(100, Forever)
    };
    assert_eq!(subscription_mrr(&monthly_jpy, &[&yen_off]), 880);
    assert_eq!(
        subscription_mrr(&monthly_jpy, &[&amount_coupon(100, Forever)]),
        980
    );
}

#[test]
fn three_decimal_currency_amounts_are_fils_rounded_once() {
    // kwd has 3 decimals (1 KWD = 1000 fils): 12.345 KWD a quarter = 12345 fils / 3 = 4115 fils.
    let quarterly = in_currency(
        active("sub_1", "2025-01-01 00:00", vec![item(12_345, 1, Month, 3)]),
        "kwd",
    );
    assert_eq!(subscription_mrr(&quarterly, &[]), 4115);
    // 33.3 % off 4.500 KWD = 3001.5 fils -> 3002 (one rounding, half away from zero).
    let monthly_kwd = in_currency(
        active("sub_1", "2025-01-01 00:00", vec![monthly(4500)]),
        "kwd",
    );
    assert_eq!(
        subscription_mrr(&monthly_kwd, &[&percent_coupon("33.3", Forever)]),
        3002
    );
}

#[test]
fn jpy_and_kwd_timelines_stay_separate_from_usd() {
    let usd = observed(
        "2025-01-01 00:00",
        Created,
        active("sub_usd", "2025-01-01 00:00", vec![monthly(1000)]),
    );
    let jpy = observed(
        "2025-01-02 00:00",
        Created,
        in_currency(
            active("sub_jpy", "2025-01-02 00:00", vec![monthly(980)]),
            "jpy",
        ),
    );
    let kwd = observed(
        "2025-01-03 00:00",
        Created,
        in_currency(
            active("sub_kwd", "2025-01-03 00:00", vec![monthly(4500)]),
            "kwd",
        ),
    );
    let timelines = customer_mrr_timelines(&[usd, jpy, kwd], &[]);
    assert_eq!(timelines.len(), 3);
    assert_eq!(timelines[&Currency::new("jpy")][0].mrr, 980);
    assert_eq!(timelines[&Currency::new("kwd")][0].mrr, 4500);
    assert_eq!(timelines[&Currency::new("usd")][0].mrr, 1000);
}

#[test]
fn amount_off_forever_coupon_reduces_every_period() {
    let subscription = [
        pro_at("01-01", "01-01", &["di_1"]),
        pro_at("02-01", "02-01", &["di_1"]),
    ];
    let discounts = [di_1_at(
        "01-01",
        Created,
        amount_coupon(2_500, Forever),
        "01-01",
    )];
    assert_eq!(
        timeline(&subscription, &discounts),
        points_2025(&[("01-01", 7_500)])
    );
}

#[test]
fn amount_off_larger_than_the_price_clamps_at_zero() {
    let subscription = [pro_at("01-01", "01-01", &["di_1"])];
    let discounts = [di_1_at(
        "01-01",
        Created,
        amount_coupon(15_000, Forever),
        "01-01",
    )];
    // Clamped at 0, never negative: MRR goes from nothing to 0, which is no change at all.
    assert!(
        timeline(&subscription, &discounts).is_empty(),
        "a 150.00 coupon on a 100.00 price leaves MRR at 0, not below"
    );
}

#[test]
fn repeating_coupon_removed_before_its_end_stops_at_the_next_period() {
    // 3-month 25 % coupon from 01-01 (would discount Jan, Feb, Mar), removed on 02-10: Feb stays
    // discounted (its period began while in effect), Mar is not.
    let repeating = || Coupon {
        duration_in_months: Some(3),
        ..percent_coupon("25", Repeating)
    };
    let subscription = [
        pro_at("01-01", "01-01", &["di_1"]),
        pro_at("02-01", "02-01", &["di_1"]),
        pro_at("02-10", "02-01", &[]),
        pro_at("03-01", "03-01", &[]),
    ];
    let discounts = [
        di_1_at("01-01", Created, repeating(), "01-01"),
        di_1_at("02-10", Deleted, repeating(), "01-01"),
    ];
    let expected = points_2025(&[("01-01", 7_500), ("03-01", 10_000)]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

#[test]
fn several_discounts_on_one_subscription_combine_per_period() {
    // di_1: 20 % forever, listed. di_2: 1000 off once, applied at creation and consumed (never
    // listed; named by its `subscription`). di_3: 10 % repeating 1 month, added 02-15.
    // Jan: 10000 x 0.8 - 1000 = 7000. Feb: 8000. Mar: 10000 x 0.8 x 0.9 = 7200. Apr: 8000.
    let di_2 = observed_2025(
        "01-01",
        Created,
        discount(
            "di_2",
            Some("sub_1"),
            amount_coupon(1_000, Once),
            "2025-01-01 00:00",
        ),
    );
    let di_3_coupon = Coupon {
        duration_in_months: Some(1),
        ..percent_coupon("10", Repeating)
    };
    let di_3 = observed_2025(
        "02-15",
        Created,
        discount("di_3", Some("sub_1"), di_3_coupon, "2025-02-15 00:00"),
    );
    let subscription = [
        pro_at("01-01", "01-01", &["di_1"]),
        pro_at("02-01", "02-01", &["di_1"]),
        pro_at("02-15", "02-01", &["di_1", "di_3"]),
        pro_at("03-01", "03-01", &["di_1", "di_3"]),
        pro_at("04-01", "04-01", &["di_1"]),
    ];
    let discounts = [
        di_1_at("01-01", Created, percent_coupon("20", Forever), "01-01"),
        di_2,
        di_3,
    ];
    let expected = points_2025(&[
        ("01-01", 7_000),
        ("02-01", 8_000),
        ("03-01", 7_200),
        ("04-01", 8_000),
    ]);
    assert_eq!(timeline(&subscription, &discounts), expected);
}

/// `sub_1` at 5000/month in `status`, observed on `day` (2025-MM-DD) at 00:00 through `Updated`.
fn sub_1_on(day: &str, status: SubscriptionStatus) -> Observed<SubscriptionSnapshot> {
    let when = format!("2025-{day} 00:00");
    observed(
        &when,
        Updated,
        subscription("sub_1", status, &when, vec![monthly(5000)]),
    )
}

/// (day, kind, amount) of each movement.
fn kinds(movements: &[DailyMovement]) -> Vec<(String, MovementKind, i64)> {
    movements
        .iter()
        .map(|m| (m.day.to_string(), m.kind, m.amount))
        .collect()
}

#[test]
fn past_due_keeps_counting_unpaid_churns_and_recovery_reactivates() {
    let history = [
        sub_1_on("01-01", Active),
        sub_1_on("02-01", PastDue),
        sub_1_on("02-20", Unpaid),
        sub_1_on("03-05", Active),
    ];
    let movements = daily_movements(&usd_timeline(&history, &[]));
    assert_eq!(
        kinds(&movements),
        vec![
            ("2025-01-01".to_owned(), MovementKind::New, 5000),
            ("2025-02-20".to_owned(), MovementKind::Churn, 5000),
            ("2025-03-05".to_owned(), MovementKind::Reactivation, 5000),
        ]
    );
}

#[test]
fn paused_subscription_churns_and_resuming_reactivates() {
    let history = [
        sub_1_on("01-01", Active),
        sub_1_on("01-15", Paused),
        sub_1_on("03-01", Active),
    ];
    let movements = daily_movements(&usd_timeline(&history, &[]));
    assert_eq!(
        kinds(&movements),
        vec![
            ("2025-01-01".to_owned(), MovementKind::New, 5000),
            ("2025-01-15".to_owned(), MovementKind::Churn, 5000),
            ("2025-03-01".to_owned(), MovementKind::Reactivation, 5000),
        ]
    );
}

#[test]
fn incomplete_expired_never_counts_and_leaves_no_movement() {
    let history = [
        sub_1_on("01-01", Incomplete),
        sub_1_on("01-02", IncompleteExpired),
    ];
    assert_eq!(daily_movements(&usd_timeline(&history, &[])), vec![]);
}

#[test]
fn several_subscriptions_of_one_customer_move_the_customer_not_each_subscription() {
    // sub_1 (10000) from 01-01; sub_2 (2500) added 01-10: expansion. sub_1 cancelled 02-01:
    // contraction (the customer still pays 2500). sub_2 cancelled 03-01: churn. sub_3 (4000)
    // 04-01: reactivation.
    let sub = |id: &str, day: &str, status, amount| {
        let when = format!("2025-{day} 00:00");
        observed(
            &when,
            Updated,
            subscription(id, status, &when, vec![monthly(amount)]),
        )
    };
    let history = [
        sub("sub_1", "01-01", Active, 10_000),
        sub("sub_2", "01-10", Active, 2_500),
        sub("sub_1", "02-01", Canceled, 10_000),
        sub("sub_2", "03-01", Canceled, 2_500),
        sub("sub_3", "04-01", Active, 4_000),
    ];
    let movements = daily_movements(&usd_timeline(&history, &[]));
    assert_eq!(
        kinds(&movements),
        vec![
            ("2025-01-01".to_owned(), MovementKind::New, 10_000),
            ("2025-01-10".to_owned(), MovementKind::Expansion, 2_500),
            ("2025-02-01".to_owned(), MovementKind::Contraction, 10_000),
            ("2025-03-01".to_owned(), MovementKind::Churn, 2_500),
            ("2025-04-01".to_owned(), MovementKind::Reactivation, 4_000),
        ]
    );
}
