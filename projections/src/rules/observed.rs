//! Observed snapshots and their order: which snapshot of an object is "the state at t"
//! (revenue-rules.md §0 and §6).

use chrono::{DateTime, Utc};
use ledger::domain::ObservedChange;
use serde::{Deserialize, Serialize};

/// One observed snapshot of a billing object with its ordering key.
///
/// Order = (`effective_at`, `change.rank()`, `source_id`) (revenue-rules.md §6). The state of an
/// object at time t is its snapshot with the greatest order key among those with
/// `effective_at <= t` (§0). Two `Observed` values with the same order key are the same
/// observation delivered twice and count once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed<T> {
    /// When the change took effect: the Stripe Event's `created` (UTC, whole seconds).
    pub effective_at: DateTime<Utc>,
    /// What happened (from the Stripe Event type); its rank breaks ties within one second.
    pub change: ObservedChange,
    /// The Stripe Event id (`evt_...`): the last tie-break, and the identity of the delivery.
    pub source_id: String,
    /// The object as Stripe described it at `effective_at`.
    pub snapshot: T,
}

/// The ordering key of an observation: (effective time UTC, change rank, Stripe Event id).
pub type OrderKey<'a> = (DateTime<Utc>, u8, &'a str);

impl<T> Observed<T> {
    /// This observation's ordering key (revenue-rules.md §6).
    pub fn order_key(&self) -> OrderKey<'_> {
        (
            self.effective_at,
            self.change.rank(),
            self.source_id.as_str(),
        )
    }
}

/// The observations of one object, sorted ascending by order key, with duplicate deliveries
/// (equal order keys) kept once.
pub(crate) fn sorted_without_duplicates<'a, T>(
    observations: impl IntoIterator<Item = &'a Observed<T>>,
) -> Vec<&'a Observed<T>> {
    let mut sorted: Vec<&Observed<T>> = observations.into_iter().collect();
    sorted.sort_by(|left, right| left.order_key().cmp(&right.order_key()));
    sorted.dedup_by(|later, earlier| later.order_key() == earlier.order_key());
    sorted
}

/// In `sorted` (ascending by order key), the last observation with `effective_at <= at`: the
/// object's state at `at`, or `None` if it was not observed yet.
pub(crate) fn state_at<'a, T>(sorted: &[&'a Observed<T>], at: DateTime<Utc>) -> Option<&'a T> {
    last_of_prefix(sorted, |observation| observation.effective_at <= at).map(|last| &last.snapshot)
}

/// In `sorted` (ascending by order key), the last observation with `effective_at < before`:
/// the object's state just before the instant `before` (e.g. at a month's close, §0).
pub(crate) fn state_before<'a, T>(
    sorted: &[&'a Observed<T>],
    before: DateTime<Utc>,
) -> Option<&'a T> {
    last_of_prefix(sorted, |observation| observation.effective_at < before)
        .map(|last| &last.snapshot)
}

/// The last element of the longest prefix of `sorted` whose elements all satisfy `in_prefix`
/// (a binary search: `in_prefix` must hold for a prefix and fail for the rest, as "happened at
/// or before t" does on a time-sorted slice). `None` when no element satisfies it.
pub(crate) fn last_of_prefix<T>(sorted: &[T], in_prefix: impl FnMut(&T) -> bool) -> Option<&T> {
    sorted
        .partition_point(in_prefix)
        .checked_sub(1)
        .map(|last_index| &sorted[last_index])
}
