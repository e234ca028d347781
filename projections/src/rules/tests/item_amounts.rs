//! §2.2 list amounts, §2.3 normalisation and §1 rounding of one subscription's MRR.

use crate::rules::test_support::{active, dec, item, monthly, tier, tiered};
use crate::rules::{item_amount_per_billing_period, subscription_mrr, transformed_quantity};
use ledger::domain::{
    RecurringInterval::{Day, Month, Week, Year},
    SubscriptionItem, TiersMode, TransformQuantity, TransformRound, UsageType,
};

/// MRR of an active subscription with these items and no discount.
fn mrr_of(items: Vec<SubscriptionItem>) -> i64 {
    subscription_mrr(&active("sub_1", "2025-01-01 00:00", items), &[])
}

#[test]
fn per_unit_amount_is_unit_amount_times_quantity() {
    assert_eq!(mrr_of(vec![item(1500, 4, Month, 1)]), 6000);
    let fractional_cents = SubscriptionItem {
        unit_amount_decimal: Some(dec("0.5")),
        ..item(0, 3, Month, 1)
    };
    assert_eq!(
        item_amount_per_billing_period(&fractional_cents),
        dec("1.5")
    );
}

#[test]
fn per_unit_with_transform_quantity_rounds_up() {
    let up = |divide_by| {
        Some(TransformQuantity {
            divide_by,
            round: TransformRound::Up,
        })
    };
    // (quantity, divide_by, billed quantity)
    for (quantity, divide_by, billed) in [(0, 10, 0), (1, 10, 1), (10, 10, 1), (11, 10, 2)] {
        assert_eq!(
            transformed_quantity(quantity, up(divide_by)),
            billed,
            "{quantity}/{divide_by}"
        );
    }
    let per_ten_seats = SubscriptionItem {
        transform_quantity: up(10),
        ..item(1000, 11, Month, 1)
    };
    assert_eq!(mrr_of(vec![per_ten_seats]), 2000);
}

#[test]
fn per_unit_with_transform_quantity_rounds_down() {
    let down = |divide_by| {
        Some(TransformQuantity {
            divide_by,
            round: TransformRound::Down,
        })
    };
    for (quantity, divide_by, billed) in [(0, 10, 0), (9, 10, 0), (10, 10, 1), (19, 10, 1)] {
        assert_eq!(
            transformed_quantity(quantity, down(divide_by)),
            billed,
            "{quantity}/{divide_by}"
        );
    }
    let per_ten_seats = SubscriptionItem {
        transform_quantity: down(10),
        ..item(1000, 19, Month, 1)
    };
    assert_eq!(mrr_of(vec![per_ten_seats]), 1000);
}

#[test]
fn volume_tiers_price_every_unit_at_the_tier_containing_the_quantity() {
    // 1-10 at 1000 + 500 flat; 11-20 at 800 + 300 flat; 21+ at 600, no flat.
    let tiers = || {
        vec![
            tier(Some(10), 1000, 500),
            tier(Some(20), 800, 300),
            tier(None, 600, 0),
        ]
    };
    // (quantity, amount per period)
    for (quantity, amount) in [(1, 1500), (10, 10500), (11, 9100), (20, 16300), (25, 15000)] {
        let volume = tiered(TiersMode::Volume, tiers(), quantity);
        assert_eq!(
            item_amount_per_billing_period(&volume),
            dec(&amount.to_string()),
            "{quantity}"
        );
    }
}

#[test]
fn graduated_tiers_add_each_reached_tier_with_its_flat_amount() {
    // 1-10 at 1000 + 500 flat; 11-20 at 800 + 300 flat; 21+ at 600 + 100 flat.
    let tiers = || {
        vec![
            tier(Some(10), 1000, 500),
            tier(Some(20), 800, 300),
            tier(None, 600, 100),
        ]
    };
    // (quantity, amount): a tier is reached when at least one unit falls in it.
    let table = [
        (0, 0),
        (1, 1000 + 500),
        (10, 10_000 + 500),
        (11, 10_500 + 800 + 300),
        (20, 10_500 + 8_000 + 300),
        (21, 10_500 + 8_300 + 600 + 100),
    ];
    for (quantity, amount) in table {
        let graduated = tiered(TiersMode::Graduated, tiers(), quantity);
        assert_eq!(
            item_amount_per_billing_period(&graduated),
            dec(&amount.to_string()),
            "{quantity}"
        );
    }
}

#[test]
fn metered_items_contribute_nothing() {
    let metered = SubscriptionItem {
        usage_type: UsageType::Metered,
        ..monthly(99_00)
    };
    assert_eq!(item_amount_per_billing_period(&metered), dec("0"));
    assert_eq!(mrr_of(vec![monthly(5000), metered]), 5000);
}

#[test]
fn normalisation_to_a_month_per_interval() {
    // (unit amount, interval, interval_count, MRR): month 1/n, year 1/(12n), week 52/(12n),
    // day 365/(12n).
    let table = [
        (10_000, Month, 1, 10_000),
        (27_000, Month, 3, 9_000),
        (120_000, Year, 1, 10_000),
        (240_000, Year, 2, 10_000),
        (1_200, Week, 1, 5_200),
        (2_400, Week, 2, 5_200),
        (120, Day, 1, 3_650),
        (100, Day, 1, 3_042),
    ];
    for (unit_amount, interval, count, expected_mrr) in table {
        let items = vec![item(unit_amount, 1, interval, count)];
        assert_eq!(
            mrr_of(items),
            expected_mrr,
            "{unit_amount} every {count} {interval:?}"
        );
    }
}

#[test]
fn subscription_mrr_is_computed_exactly_and_rounded_once_half_away_from_zero() {
    // 6/year = 0.5/month -> 1; two such items = exactly 1/month, not 1 + 1.
    assert_eq!(mrr_of(vec![item(6, 1, Year, 1)]), 1);
    assert_eq!(mrr_of(vec![item(6, 1, Year, 1), item(6, 1, Year, 1)]), 1);
    // 10/3 months = 3.333... -> 3; three such items = exactly 10.
    assert_eq!(mrr_of(vec![item(10, 1, Month, 3)]), 3);
    assert_eq!(mrr_of(vec![item(10, 3, Month, 3)]), 10);
}
