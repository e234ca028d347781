//! A customer's MRR over time, per currency: the sum of its subscriptions' MRR
//! (revenue-rules.md §3, first bullet).

use crate::rules::observed::{last_of_prefix, Observed};
use crate::rules::subscription_mrr::SubscriptionHistory;
use chrono::{DateTime, Utc};
use ledger::domain::{Currency, DiscountSnapshot, SubscriptionId, SubscriptionSnapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The customer's MRR (integer minor units) from `at` (UTC, inclusive) until the next point.
///
/// A timeline lists only changes, ascending by `at`; before its first point the MRR is 0
/// (revenue-rules.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrrPoint {
    /// When this MRR took effect (UTC): the effective time of the Event that caused it.
    pub at: DateTime<Utc>,
    /// Customer MRR in minor units from `at` on.
    pub mrr: i64,
}

/// Per currency, the customer's MRR timeline (revenue-rules.md §2, §3): at every effective time
/// of any snapshot, the integer sum of the MRR of the customer's subscriptions in that currency,
/// each computed from the state after every Event with `effective_at <=` that time.
///
/// `subscriptions`: every snapshot of ALL the customer's subscriptions; `discounts`: every
/// discount snapshot of the customer. Any order; duplicate deliveries count once.
/// A currency in which the customer has a subscription but never had MRR maps to an empty
/// timeline.
pub fn customer_mrr_timelines(
    subscriptions: &[Observed<SubscriptionSnapshot>],
    discounts: &[Observed<DiscountSnapshot>],
) -> BTreeMap<Currency, Vec<MrrPoint>> {
    let mut snapshots_by_subscription: BTreeMap<&SubscriptionId, Vec<&Observed<_>>> =
        BTreeMap::new();
    for observed in subscriptions {
        snapshots_by_subscription
            .entry(&observed.snapshot.subscription)
            .or_default()
            .push(observed);
    }
    let histories: Vec<SubscriptionHistory<'_>> = snapshots_by_subscription
        .into_values()
        .map(|snapshots| SubscriptionHistory::new(snapshots, discounts))
        .collect();

    let mut change_times: Vec<DateTime<Utc>> = histories
        .iter()
        .flat_map(SubscriptionHistory::change_times)
        .collect();
    change_times.sort();
    change_times.dedup();

    let mut timelines: BTreeMap<Currency, Vec<MrrPoint>> = subscriptions
        .iter()
        .map(|observed| (observed.snapshot.currency.clone(), Vec::new()))
        .collect();
    for at in change_times {
        let mut mrr_by_currency: BTreeMap<&Currency, i64> = BTreeMap::new();
        for history in &histories {
            if let Some((currency, mrr)) = history.mrr_at(at) {
                let total = mrr_by_currency.entry(currency).or_insert(0);
                *total = total.saturating_add(mrr);
            }
        }
        for (currency, timeline) in &mut timelines {
            let mrr = mrr_by_currency.get(currency).copied().unwrap_or(0);
            let previous_mrr = timeline.last().map_or(0, |point| point.mrr);
            if mrr != previous_mrr {
                timeline.push(MrrPoint { at, mrr });
            }
        }
    }
    timelines
}

/// The MRR (minor units) a timeline gives at `at`, inclusive: the last point with
/// `point.at <= at`, else 0 (e.g. `GET /v1/customers/{id}/mrr?at=t`, revenue-rules.md §6).
/// `timeline` must be ascending by `at`.
pub fn mrr_at(timeline: &[MrrPoint], at: DateTime<Utc>) -> i64 {
    last_of_prefix(timeline, |point| point.at <= at).map_or(0, |point| point.mrr)
}

/// The MRR (minor units) a timeline gives just before the instant `before`: the last point with
/// `point.at < before`, else 0 (the "open"/"close" convention of revenue-rules.md §0).
/// `timeline` must be ascending by `at`.
pub fn mrr_before(timeline: &[MrrPoint], before: DateTime<Utc>) -> i64 {
    last_of_prefix(timeline, |point| point.at < before).map_or(0, |point| point.mrr)
}
