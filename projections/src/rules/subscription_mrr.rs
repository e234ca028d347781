//! MRR of one subscription: from one snapshot and its applicable coupons, and over the
//! subscription's whole observed history (revenue-rules.md §2).

use crate::rules::discounts::{
    discounted_amount_per_period, discounts_on_subscription, DiscountOnSubscription,
};
use crate::rules::item_amount::{item_amount_per_billing_period, MonthlyNormalisation};
use crate::rules::observed::{self, sorted_without_duplicates, Observed};
use chrono::{DateTime, Utc};
use ledger::domain::{
    round_half_away_from_zero, Coupon, Currency, DiscountSnapshot, SubscriptionSnapshot, UsageType,
};
use rust_decimal::Decimal;

/// MRR of one subscription snapshot, in minor units of `snapshot.currency`
/// (revenue-rules.md §2, steps 1-5):
/// 0 unless the status is `active` or `past_due`; otherwise the list amount per billing period of
/// its licensed items, reduced by `applicable_coupons`, times the monthly normalisation factor,
/// computed exactly and rounded once, half away from zero.
///
/// `applicable_coupons`: the coupons of the discounts that apply to the current billing period
/// (see [`DiscountOnSubscription::discounts_period`]).
pub fn subscription_mrr(snapshot: &SubscriptionSnapshot, applicable_coupons: &[&Coupon]) -> i64 {
    if !snapshot.status.counts_for_mrr() {
        return 0;
    }
    let Some(normalisation) = monthly_normalisation(snapshot) else {
        return 0;
    };
    let list_amount = list_amount_per_billing_period(snapshot);
    let discounted =
        discounted_amount_per_period(list_amount, applicable_coupons, &snapshot.currency);
    round_half_away_from_zero(normalisation.monthly_amount(discounted))
}

/// The exact list amount per billing period of a subscription, in minor units: the sum of its
/// items' amounts (metered items add 0; revenue-rules.md §2.2).
pub fn list_amount_per_billing_period(snapshot: &SubscriptionSnapshot) -> Decimal {
    snapshot
        .items
        .iter()
        .map(item_amount_per_billing_period)
        .fold(Decimal::ZERO, Decimal::saturating_add)
}

/// The normalisation factor of a subscription (revenue-rules.md §2.3). All items of one
/// subscription share an interval (classic billing mode), so it is read from the first licensed
/// item; `None` when the subscription has no licensed item (its MRR is then 0).
pub fn monthly_normalisation(snapshot: &SubscriptionSnapshot) -> Option<MonthlyNormalisation> {
    snapshot
        .items
        .iter()
        .find(|item| item.usage_type == UsageType::Licensed)
        .map(|item| MonthlyNormalisation::for_interval(item.interval, item.interval_count))
}

/// When the snapshot's current billing period began (UTC; revenue-rules.md §2.4 "A billing
/// period begins"): `current_period_start` (the
/// subscription's, or the smallest of its items'), else the smallest item
/// `current_period_start`; `None` if no period is known (no discount then applies).
pub fn current_period_start(snapshot: &SubscriptionSnapshot) -> Option<DateTime<Utc>> {
    snapshot.current_period_start.or_else(|| {
        snapshot
            .items
            .iter()
            .filter_map(|item| item.current_period_start)
            .min()
    })
}

/// The observed history of one subscription, with the discounts that belong to it: answers
/// "what was its MRR at t" from the snapshots with `effective_at <= t` (revenue-rules.md §0, §2).
#[derive(Debug, Clone)]
pub struct SubscriptionHistory<'a> {
    /// The subscription's snapshots, ascending by order key, each delivery once.
    snapshots: Vec<&'a Observed<SubscriptionSnapshot>>,
    /// The discounts that belong to the subscription.
    discounts: Vec<DiscountOnSubscription>,
}

impl<'a> SubscriptionHistory<'a> {
    /// Builds the history of ONE subscription from its snapshots (any order, duplicates allowed)
    /// and the discount snapshots of its customer (any order; others are ignored).
    pub fn new(
        snapshots_of_one_subscription: impl IntoIterator<Item = &'a Observed<SubscriptionSnapshot>>,
        discounts_of_customer: &[Observed<DiscountSnapshot>],
    ) -> Self {
        let snapshots = sorted_without_duplicates(snapshots_of_one_subscription);
        let discounts = discounts_on_subscription(&snapshots, discounts_of_customer);
        Self {
            snapshots,
            discounts,
        }
    }

    /// Every effective time (UTC) at which this subscription's MRR may change: its snapshots'
    /// and its discounts' observations. Ascending, may repeat.
    pub fn change_times(&self) -> Vec<DateTime<Utc>> {
        let mut times: Vec<DateTime<Utc>> = self
            .snapshots
            .iter()
            .map(|observed| observed.effective_at)
            .chain(
                self.discounts
                    .iter()
                    .flat_map(|d| d.observed_at.iter().copied()),
            )
            .collect();
        times.sort();
        times
    }

    /// The subscription's state at `at`: its last snapshot with `effective_at <= at`.
    pub fn state_at(&self, at: DateTime<Utc>) -> Option<&'a SubscriptionSnapshot> {
        observed::state_at(&self.snapshots, at)
    }

    /// The subscription's currency and MRR (minor units) at `at`; `None` before its first
    /// snapshot.
    pub fn mrr_at(&self, at: DateTime<Utc>) -> Option<(&'a Currency, i64)> {
        let state = self.state_at(at)?;
        let applicable_coupons: Vec<&Coupon> = match current_period_start(state) {
            Some(period_start) => {
                let period_starts_observed = self.period_starts_observed_until(at);
                self.discounts
                    .iter()
                    .filter(|d| d.discounts_period(period_start, at, &period_starts_observed))
                    .map(|d| &d.coupon)
                    .collect()
            }
            None => Vec::new(),
        };
        Some((
            &state.currency,
            subscription_mrr(state, &applicable_coupons),
        ))
    }

    /// The billing period starts carried by the snapshots with `effective_at <= at`.
    fn period_starts_observed_until(&self, at: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        self.snapshots
            .iter()
            .take_while(|observed| observed.effective_at <= at)
            .filter_map(|observed| current_period_start(&observed.snapshot))
            .collect()
    }
}
