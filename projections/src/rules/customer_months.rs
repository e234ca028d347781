//! One customer's monthly figures in one currency: open, close and movement totals
//! (revenue-rules.md §0, §3).

use crate::rules::customer_timeline::{mrr_before, MrrPoint};
use crate::rules::month::Month;
use crate::rules::movements::{DailyMovement, MovementKind};
use serde::{Deserialize, Serialize};

/// One customer's figures for one month, in one currency. All amounts in minor units.
///
/// Invariant (revenue-rules.md §3):
/// `mrr_close = mrr_open + new + expansion - contraction - churn + reactivation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerMonth {
    /// The month.
    pub month: Month,
    /// MRR after every Event before the month's first instant (§0 "open").
    pub mrr_open: i64,
    /// MRR after every Event before the next month's first instant (§0 "close").
    pub mrr_close: i64,
    /// Sum of `new` movements on days of the month.
    pub new: i64,
    /// Sum of `expansion` movements on days of the month.
    pub expansion: i64,
    /// Sum of `contraction` movements on days of the month (positive).
    pub contraction: i64,
    /// Sum of `churn` movements on days of the month (positive).
    pub churn: i64,
    /// Sum of `reactivation` movements on days of the month.
    pub reactivation: i64,
}

impl CustomerMonth {
    /// A month without movements in which the MRR stays at `mrr` (a carried-forward month).
    pub fn carried_forward(month: Month, mrr: i64) -> Self {
        Self {
            month,
            mrr_open: mrr,
            mrr_close: mrr,
            new: 0,
            expansion: 0,
            contraction: 0,
            churn: 0,
            reactivation: 0,
        }
    }

    /// Adds one movement's amount to the total of its kind.
    fn add_movement(&mut self, movement: &DailyMovement) {
        let total = match movement.kind {
            MovementKind::New => &mut self.new,
            MovementKind::Expansion => &mut self.expansion,
            MovementKind::Contraction => &mut self.contraction,
            MovementKind::Churn => &mut self.churn,
            MovementKind::Reactivation => &mut self.reactivation,
        };
        *total = total.saturating_add(movement.amount);
    }
}

/// One customer's [`CustomerMonth`] rows in one currency (revenue-rules.md §0 "open"/"close",
/// §3): one row per month, from the month of the first point (or movement) to the month of the last
/// point or movement, both included; later months are implied: the last `mrr_close` carries
/// forward with no movements. Empty timeline: no rows.
///
/// `timeline`: the customer's MRR points in one currency (any order is accepted);
/// `movements`: its [`daily_movements`](crate::rules::daily_movements) for that timeline.
pub fn customer_months(timeline: &[MrrPoint], movements: &[DailyMovement]) -> Vec<CustomerMonth> {
    let mut sorted_timeline = timeline.to_vec();
    sorted_timeline.sort_by_key(|point| point.at);

    let months_with_activity = sorted_timeline
        .iter()
        .map(|point| Month::containing(point.at))
        .chain(
            movements
                .iter()
                .map(|movement| Month::containing_day(movement.day)),
        );
    let (Some(first_month), Some(last_month)) = (
        months_with_activity.clone().min(),
        months_with_activity.max(),
    ) else {
        return Vec::new();
    };

    Month::range_inclusive(first_month, last_month)
        .map(|month| {
            let mut row = CustomerMonth::carried_forward(month, 0);
            row.mrr_open = mrr_before(&sorted_timeline, month.first_instant());
            row.mrr_close = mrr_before(&sorted_timeline, month.next().first_instant());
            movements
                .iter()
                .filter(|movement| Month::containing_day(movement.day) == month)
                .for_each(|movement| row.add_movement(movement));
            row
        })
        .collect()
}
