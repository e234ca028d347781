//! §2.4 coupon discounts on `sub_1`, Pro at 10000/month renewing on the 1st: which billing
//! periods a discount reduces, when it is removed, where its terms come from, how coupons combine.

mod periods;
mod removal_and_terms;

use crate::rules::test_support::{
    active, at, discount, listing, monthly, observed, points, usd_timeline,
};
use crate::rules::{MrrPoint, Observed};
use chrono::{DateTime, Utc};
use ledger::domain::{Coupon, DiscountSnapshot, ObservedChange, SubscriptionSnapshot};
use ObservedChange::Updated;

/// A time in 2025 written `"MM-DD"` (00:00 UTC) or `"MM-DD HH:MM:SS"`, in full.
pub(super) fn in_2025(short: &str) -> String {
    if short.contains(' ') {
        format!("2025-{short}")
    } else {
        format!("2025-{short} 00:00")
    }
}

/// A time in 2025 (see [`in_2025`]) as a UTC instant.
pub(super) fn at_2025(short: &str) -> DateTime<Utc> {
    at(&in_2025(short))
}

/// Timeline points from (time in 2025, MRR) pairs.
pub(super) fn points_2025(pairs: &[(&str, i64)]) -> Vec<MrrPoint> {
    let full: Vec<(String, i64)> = pairs
        .iter()
        .map(|(when, mrr)| (in_2025(when), *mrr))
        .collect();
    let borrowed: Vec<(&str, i64)> = full
        .iter()
        .map(|(when, mrr)| (when.as_str(), *mrr))
        .collect();
    points(&borrowed)
}

/// `snapshot` observed at `when` (a time in 2025) through `change`.
pub(super) fn observed_2025<T>(when: &str, change: ObservedChange, snapshot: T) -> Observed<T> {
    observed(&in_2025(when), change, snapshot)
}

/// Discount `di_1` of `coupon` on `sub_1` from `start` (a time in 2025).
pub(super) fn di_1(coupon: Coupon, start: &str) -> DiscountSnapshot {
    discount("di_1", Some("sub_1"), coupon, &in_2025(start))
}

/// `sub_1` (Pro, 10000/month) observed at `when` with its current period begun at
/// `period_start` (times in 2025), listing `listed` discount ids.
pub(super) fn pro_at(
    when: &str,
    period_start: &str,
    listed: &[&str],
) -> Observed<SubscriptionSnapshot> {
    let snapshot = active("sub_1", &in_2025(period_start), vec![monthly(10_000)]);
    observed(&in_2025(when), Updated, listing(snapshot, listed))
}

/// Discount `di_1` of `coupon` on `sub_1` from `start`, observed at `when` through `change`
/// (times in 2025).
pub(super) fn di_1_at(
    when: &str,
    change: ObservedChange,
    coupon: Coupon,
    start: &str,
) -> Observed<DiscountSnapshot> {
    observed(&in_2025(when), change, di_1(coupon, start))
}

/// The usd timeline of `sub_1` with these discount snapshots.
pub(super) fn timeline(
    subscription: &[Observed<SubscriptionSnapshot>],
    discounts: &[Observed<DiscountSnapshot>],
) -> Vec<MrrPoint> {
    usd_timeline(subscription, discounts)
}
