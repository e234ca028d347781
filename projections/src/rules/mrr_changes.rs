//! Every change of one customer's MRR, one by one (not netted per day): what a customer
//! timeline shows finance (revenue-rules.md §3).

use crate::rules::customer_timeline::MrrPoint;
use crate::rules::movements::{classify, MovementKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One change of a customer's MRR in one currency, at one effective time. Amounts in minor
/// units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrrChange {
    /// When the change took effect (UTC): the effective time of the Event(s) that caused it.
    pub at: DateTime<Utc>,
    /// The change's movement type, classified like a daily movement but for this change alone
    /// (`new` when the customer never had MRR > 0 before it, else `reactivation` from 0).
    /// Several changes on one UTC day are netted into one daily movement by
    /// [`daily_movements`](crate::rules::daily_movements), which may differ (or vanish).
    pub kind: MovementKind,
    /// Customer MRR just before `at`.
    pub mrr_before: i64,
    /// Customer MRR from `at` on.
    pub mrr_after: i64,
}

/// The changes of a customer timeline (ascending by `at`, as from
/// [`customer_mrr_timelines`](crate::rules::customer_mrr_timelines); any order accepted), one
/// per point whose MRR differs from the one before it (0 before the first point).
pub fn mrr_changes(timeline: &[MrrPoint]) -> Vec<MrrChange> {
    let mut sorted_timeline = timeline.to_vec();
    sorted_timeline.sort_by_key(|point| point.at);
    let mut previous_mrr = 0;
    let mut was_ever_active = false;
    let mut changes = Vec::new();
    for point in sorted_timeline {
        if let Some(kind) = classify(previous_mrr, point.mrr, was_ever_active) {
            changes.push(MrrChange {
                at: point.at,
                kind,
                mrr_before: previous_mrr,
                mrr_after: point.mrr,
            });
        }
        was_ever_active |= point.mrr > 0;
        previous_mrr = point.mrr;
    }
    changes
}
