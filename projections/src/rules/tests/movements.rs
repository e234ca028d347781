//! §3 movements per customer per UTC day, netted over the day, and §0 customer months.

use crate::rules::test_support::{customer_month, day, movements_of, points};
use crate::rules::{
    customer_months, daily_movements, DailyMovement,
    MovementKind::{self, *},
};

/// A movement row: (day, kind, amount, MRR at start of day, MRR at end of day).
fn movement(
    day_text: &str,
    kind: MovementKind,
    amount: i64,
    mrr_before: i64,
    mrr_after: i64,
) -> DailyMovement {
    DailyMovement {
        day: day(day_text),
        kind,
        amount,
        mrr_before,
        mrr_after,
    }
}

#[test]
fn the_five_movement_types() {
    let timeline = [
        ("2025-01-02 09:00", 10_000), // 0 -> 10000: new
        ("2025-02-10 09:00", 5_000),  // down, still > 0: contraction
        ("2025-02-20 09:00", 30_000), // up from > 0: expansion
        ("2025-03-20 09:00", 0),      // to 0: churn
        ("2025-04-08 09:00", 8_000),  // back from 0: reactivation
    ];
    let expected = vec![
        movement("2025-01-02", New, 10_000, 0, 10_000),
        movement("2025-02-10", Contraction, 5_000, 10_000, 5_000),
        movement("2025-02-20", Expansion, 25_000, 5_000, 30_000),
        movement("2025-03-20", Churn, 30_000, 30_000, 0),
        movement("2025-04-08", Reactivation, 8_000, 0, 8_000),
    ];
    assert_eq!(movements_of(&timeline), expected);
}

#[test]
fn movements_are_netted_over_the_utc_day() {
    let timeline = [
        ("2025-01-02 09:00", 10_000),
        ("2025-02-10 09:00", 5_000),
        ("2025-02-10 15:00", 12_000),
    ];
    let expected = vec![
        movement("2025-01-02", New, 10_000, 0, 10_000),
        movement("2025-02-10", Expansion, 2_000, 10_000, 12_000),
    ];
    assert_eq!(movements_of(&timeline), expected);
}

#[test]
fn same_day_join_and_leave_leaves_no_trace() {
    assert_eq!(
        movements_of(&[("2025-01-02 09:00", 10_000), ("2025-01-02 17:00", 0)]),
        vec![]
    );
    let changed_and_changed_back = [
        ("2025-01-02 09:00", 10_000),
        ("2025-01-05 09:00", 5_000),
        ("2025-01-05 10:00", 10_000),
    ];
    assert_eq!(
        movements_of(&changed_and_changed_back),
        vec![movement("2025-01-02", New, 10_000, 0, 10_000)]
    );
}

#[test]
fn new_only_if_never_active_at_the_end_of_an_earlier_day() {
    let timeline = [
        ("2025-01-02 09:00", 10_000),
        ("2025-01-02 17:00", 0),
        ("2025-01-05 09:00", 10_000),
    ];
    assert_eq!(
        movements_of(&timeline),
        vec![movement("2025-01-05", New, 10_000, 0, 10_000)]
    );
}

#[test]
fn reactivation_has_no_time_limit() {
    let timeline = [
        ("2021-01-02 09:00", 10_000),
        ("2021-02-01 09:00", 0),
        ("2025-06-01 09:00", 8_000),
    ];
    assert_eq!(
        movements_of(&timeline)[2],
        movement("2025-06-01", Reactivation, 8_000, 0, 8_000)
    );
}

#[test]
fn days_end_at_midnight_utc() {
    let timeline = [("2025-01-02 23:59:59", 10_000), ("2025-01-03 00:00:00", 0)];
    let expected = vec![
        movement("2025-01-02", New, 10_000, 0, 10_000),
        movement("2025-01-03", Churn, 10_000, 10_000, 0),
    ];
    assert_eq!(movements_of(&timeline), expected);
}

#[test]
fn customer_months_run_from_first_to_last_activity_and_close_equals_open_plus_movements() {
    let timeline = points(&[
        ("2025-01-02 09:00", 10_000),
        ("2025-02-10 09:00", 5_000),
        ("2025-02-20 09:00", 10_000),
        ("2025-04-03 09:00", 0),
    ]);
    let rows = customer_months(&timeline, &daily_movements(&timeline));
    let expected = vec![
        //             month     open  new     exp    con    churn   rea close
        customer_month("2025-01", 0, 10_000, 0, 0, 0, 0, 10_000),
        customer_month("2025-02", 10_000, 0, 5_000, 5_000, 0, 0, 10_000),
        customer_month("2025-03", 10_000, 0, 0, 0, 0, 0, 10_000),
        customer_month("2025-04", 10_000, 0, 0, 0, 10_000, 0, 0),
    ];
    assert_eq!(rows, expected);
    for row in rows {
        let moved = row.new + row.expansion - row.contraction - row.churn + row.reactivation;
        assert_eq!(row.mrr_close, row.mrr_open + moved, "{}", row.month);
    }
}

#[test]
fn customer_months_of_an_empty_timeline_are_empty() {
    assert_eq!(customer_months(&[], &[]), vec![]);
}

#[test]
fn movement_kinds_serialise_in_snake_case() {
    for kind in [New, Expansion, Contraction, Churn, Reactivation] {
        assert_eq!(
            serde_json::to_string(&kind).expect("serialise"),
            format!("\"{}\"", kind.as_str())
        );
    }
}
