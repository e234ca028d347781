//! The daily MRR report: per UTC day, MRR at the start and end of the day and the day's movement
//! totals over all customers of one currency (revenue-rules.md §3, §6 "start/end of day d").

use crate::rules::movements::{DailyMovement, MovementKind};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One day of the daily MRR report, one currency. Amounts in minor units.
///
/// Invariant: `close = open + new + expansion - contraction - churn + reactivation`, and a day's
/// `open` is the previous day's `close`. Summing a month's days gives that month's movement
/// totals in the monthly report (both sum the same per-customer daily movements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyReportDay {
    /// The UTC calendar day.
    pub day: NaiveDate,
    /// Total MRR at the start of the day (after every Event before 00:00 UTC of the day).
    pub open: i64,
    /// Sum of the customers' `new` movements that day.
    pub new: i64,
    /// Sum of `expansion` movements that day.
    pub expansion: i64,
    /// Sum of `contraction` movements that day (positive).
    pub contraction: i64,
    /// Sum of `churn` movements that day (positive).
    pub churn: i64,
    /// Sum of `reactivation` movements that day.
    pub reactivation: i64,
    /// Total MRR at the end of the day (after every Event before 00:00 UTC of the next day).
    pub close: i64,
}

/// The daily report for every day from `from` to `to` inclusive (zero days included; empty
/// when `from > to`).
///
/// `open_at_from`: total MRR of the currency at the start of `from` (minor units);
/// `movements`: the daily movements of every customer of that currency (any order; movements
/// outside the range are ignored). Each day's close is its open plus its net movements.
pub fn daily_report(
    open_at_from: i64,
    movements: &[DailyMovement],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<DailyReportDay> {
    let mut totals_by_day: BTreeMap<NaiveDate, [i64; 5]> = BTreeMap::new();
    for movement in movements
        .iter()
        .filter(|movement| (from..=to).contains(&movement.day))
    {
        let totals = totals_by_day.entry(movement.day).or_default();
        let index = match movement.kind {
            MovementKind::New => 0,
            MovementKind::Expansion => 1,
            MovementKind::Contraction => 2,
            MovementKind::Churn => 3,
            MovementKind::Reactivation => 4,
        };
        totals[index] = totals[index].saturating_add(movement.amount);
    }
    let mut open = open_at_from;
    from.iter_days()
        .take_while(|day| *day <= to)
        .map(|day| {
            let [new, expansion, contraction, churn, reactivation] =
                totals_by_day.get(&day).copied().unwrap_or_default();
            let close = open
                .saturating_add(new)
                .saturating_add(expansion)
                .saturating_sub(contraction)
                .saturating_sub(churn)
                .saturating_add(reactivation);
            let row = DailyReportDay {
                day,
                open,
                new,
                expansion,
                contraction,
                churn,
                reactivation,
                close,
            };
            open = close;
            row
        })
        .collect()
}
