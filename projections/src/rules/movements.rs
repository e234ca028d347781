//! MRR movements: per customer, per UTC day, netted over the day (revenue-rules.md §3, §6).

use crate::rules::customer_timeline::{self, MrrPoint};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The five movement types (ChartMogul's), revenue-rules.md §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// From 0 to > 0, and the customer never had MRR > 0 at the end of an earlier day.
    New,
    /// From > 0 to more.
    Expansion,
    /// From > 0 to less, but still > 0.
    Contraction,
    /// From > 0 to 0.
    Churn,
    /// From 0 to > 0 after having had MRR > 0 at the end of an earlier day (no time limit).
    Reactivation,
}

impl MovementKind {
    /// The snake_case name, as serialised: `new`, `expansion`, `contraction`, `churn`,
    /// `reactivation`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Expansion => "expansion",
            Self::Contraction => "contraction",
            Self::Churn => "churn",
            Self::Reactivation => "reactivation",
        }
    }
}

/// One customer's net MRR movement on one UTC day, in one currency (revenue-rules.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyMovement {
    /// The UTC calendar day.
    pub day: NaiveDate,
    /// The movement type.
    pub kind: MovementKind,
    /// Size of the movement, minor units, always > 0 (`|mrr_after - mrr_before|`).
    pub amount: i64,
    /// Customer MRR at the start of the day (after every Event before 00:00 UTC), minor units.
    pub mrr_before: i64,
    /// Customer MRR at the end of the day (after every Event before 00:00 UTC of the next day),
    /// minor units.
    pub mrr_after: i64,
}

/// 00:00:00 UTC of `day`.
pub(crate) fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The movements of one customer in one currency, one per UTC day on which its MRR at the end
/// of the day differs from its MRR at the start of the day (revenue-rules.md §3, §6).
///
/// `timeline`: the customer's MRR points in that currency, as from
/// [`customer_mrr_timelines`](crate::rules::customer_mrr_timelines) (any order is accepted).
/// Classification (before = start of day, after = end of day):
/// 0 -> >0 is `New` if the MRR was never > 0 at the end of an earlier day, else `Reactivation`;
/// >0 -> 0 is `Churn`; up is `Expansion`; down is `Contraction`; unchanged leaves no movement.
pub fn daily_movements(timeline: &[MrrPoint]) -> Vec<DailyMovement> {
    let mut sorted_timeline = timeline.to_vec();
    sorted_timeline.sort_by_key(|point| point.at);

    let mut days_with_changes: Vec<NaiveDate> = sorted_timeline
        .iter()
        .map(|point| point.at.date_naive())
        .collect();
    days_with_changes.dedup();

    let mut was_active_at_end_of_an_earlier_day = false;
    let mut movements = Vec::new();
    for day in days_with_changes {
        let mrr_before = customer_timeline::mrr_before(&sorted_timeline, start_of_day(day));
        let mrr_after = match day.succ_opt() {
            Some(next_day) => {
                customer_timeline::mrr_before(&sorted_timeline, start_of_day(next_day))
            }
            None => sorted_timeline.last().map_or(0, |point| point.mrr),
        };
        if let Some(kind) = classify(mrr_before, mrr_after, was_active_at_end_of_an_earlier_day) {
            movements.push(DailyMovement {
                day,
                kind,
                amount: mrr_after
                    .abs_diff(mrr_before)
                    .try_into()
                    .unwrap_or(i64::MAX),
                mrr_before,
                mrr_after,
            });
        }
        was_active_at_end_of_an_earlier_day |= mrr_after > 0;
    }
    movements
}

/// The movement type for a day that starts at `mrr_before` and ends at `mrr_after`
/// (revenue-rules.md §3); `None` when there is no movement.
pub(crate) fn classify(
    mrr_before: i64,
    mrr_after: i64,
    was_active_at_end_of_an_earlier_day: bool,
) -> Option<MovementKind> {
    let was_active = mrr_before > 0;
    let is_active = mrr_after > 0;
    match (was_active, is_active) {
        (false, true) if was_active_at_end_of_an_earlier_day => Some(MovementKind::Reactivation),
        (false, true) => Some(MovementKind::New),
        (true, false) => Some(MovementKind::Churn),
        (true, true) if mrr_after > mrr_before => Some(MovementKind::Expansion),
        (true, true) if mrr_after < mrr_before => Some(MovementKind::Contraction),
        _ => None,
    }
}
