//! Coupon discounts on a subscription: which discounts belong to it, when each is in effect, and
//! how they reduce the amount of a billing period (revenue-rules.md §2.4).

use crate::rules::observed::{sorted_without_duplicates, Observed, OrderKey};
use chrono::{DateTime, Months, Utc};
use ledger::domain::{
    Coupon, CouponDuration, Currency, DiscountId, DiscountSnapshot, ObservedChange,
    SubscriptionSnapshot,
};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// Everything known about one discount that belongs to one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountOnSubscription {
    /// When the discount was first observed (UTC): its terms are unknown before.
    pub first_observed_at: DateTime<Utc>,
    /// The discount as first observed: `start`, `end`, the coupon's id.
    pub terms: DiscountSnapshot,
    /// The coupon's terms, from the first observation that carried them (the projector fills
    /// them in from `CouponObserved` events when Stripe sent only the coupon's id).
    pub coupon: Coupon,
    /// When it was removed (UTC), if ever: the earlier of its first `Deleted` snapshot and the
    /// first subscription snapshot that no longer lists it after having listed it.
    pub removed_at: Option<DateTime<Utc>>,
    /// Every effective time at which an observation of this discount arrived (UTC).
    pub observed_at: Vec<DateTime<Utc>>,
}

/// The ids a subscription snapshot lists: `discount_ids` plus the ids of `expanded_discounts`.
fn listed_discount_ids(snapshot: &SubscriptionSnapshot) -> BTreeSet<&DiscountId> {
    let expanded_ids = snapshot.expanded_discounts.iter().map(|d| &d.discount);
    snapshot.discount_ids.iter().chain(expanded_ids).collect()
}

/// The discounts that belong to one subscription (revenue-rules.md §2.4): every discount id any
/// of its snapshots ever listed, plus every discount whose `subscription` names it. Discounts
/// whose coupon terms were never observed are left out (they cannot reduce anything).
///
/// `subscription_snapshots`: that subscription's snapshots, ascending by order key, no duplicates.
/// `discounts`: discount snapshots of the customer, any order (others are ignored, including
/// customer-level discounts with `subscription: None` that the subscription never lists).
pub fn discounts_on_subscription(
    subscription_snapshots: &[&Observed<SubscriptionSnapshot>],
    discounts: &[Observed<DiscountSnapshot>],
) -> Vec<DiscountOnSubscription> {
    let Some(first_snapshot) = subscription_snapshots.first() else {
        return Vec::new();
    };
    let subscription_id = &first_snapshot.snapshot.subscription;
    let mut belonging_ids: BTreeSet<&DiscountId> = subscription_snapshots
        .iter()
        .flat_map(|observed| listed_discount_ids(&observed.snapshot))
        .collect();
    belonging_ids.extend(
        discounts
            .iter()
            .filter(|observed| observed.snapshot.subscription.as_ref() == Some(subscription_id))
            .map(|observed| &observed.snapshot.discount),
    );
    belonging_ids
        .into_iter()
        .filter_map(|discount_id| {
            let own_snapshots = sorted_without_duplicates(
                discounts
                    .iter()
                    .filter(|observed| &observed.snapshot.discount == discount_id),
            );
            discount_facts(discount_id, &own_snapshots, subscription_snapshots)
        })
        .collect()
}

/// Terms, first observation and removal of one discount, from its own snapshots and the
/// subscription's snapshots (both ascending by order key). `None` if its terms never arrived.
fn discount_facts(
    discount_id: &DiscountId,
    own_snapshots: &[&Observed<DiscountSnapshot>],
    subscription_snapshots: &[&Observed<SubscriptionSnapshot>],
) -> Option<DiscountOnSubscription> {
    let own_observations = own_snapshots
        .iter()
        .map(|observed| (observed.order_key(), &observed.snapshot));
    let expanded_observations = subscription_snapshots.iter().flat_map(|observed| {
        let key = observed.order_key();
        observed
            .snapshot
            .expanded_discounts
            .iter()
            .filter(move |expanded| &expanded.discount == discount_id)
            .map(move |expanded| (key, expanded))
    });
    let all_observations: Vec<(OrderKey<'_>, &DiscountSnapshot)> =
        own_observations.chain(expanded_observations).collect();
    let (first_key, first_terms) = all_observations.iter().min_by_key(|(key, _)| *key)?;
    let coupon = all_observations
        .iter()
        .filter(|(_, observed)| observed.coupon.is_some())
        .min_by_key(|(key, _)| *key)
        .and_then(|(_, observed)| observed.coupon.clone())?;

    let deleted_at = own_snapshots
        .iter()
        .find(|observed| observed.change == ObservedChange::Deleted)
        .map(|observed| observed.effective_at);
    let unlisted_at = first_unlisting(discount_id, subscription_snapshots);
    let removed_at = match (deleted_at, unlisted_at) {
        (Some(deleted), Some(unlisted)) => Some(deleted.min(unlisted)),
        (deleted, unlisted) => deleted.or(unlisted),
    };
    let mut observed_at: Vec<DateTime<Utc>> =
        all_observations.iter().map(|(key, _)| key.0).collect();
    observed_at.sort();
    observed_at.dedup();
    Some(DiscountOnSubscription {
        first_observed_at: first_key.0,
        terms: (*first_terms).clone(),
        coupon,
        removed_at,
        observed_at,
    })
}

/// The effective time of the first subscription snapshot that no longer lists `discount_id`
/// after an earlier snapshot listed it.
fn first_unlisting(
    discount_id: &DiscountId,
    subscription_snapshots: &[&Observed<SubscriptionSnapshot>],
) -> Option<DateTime<Utc>> {
    let mut listed_before = false;
    for observed in subscription_snapshots {
        let listed_now = listed_discount_ids(&observed.snapshot).contains(discount_id);
        if listed_before && !listed_now {
            return Some(observed.effective_at);
        }
        listed_before |= listed_now;
    }
    None
}

impl DiscountOnSubscription {
    /// The exclusive end of a `repeating` discount: its `end`, else `start` + `duration_in_months`
    /// months; `None` (no end) when neither is known.
    pub fn repeating_end(&self) -> Option<DateTime<Utc>> {
        self.terms.end.or_else(|| {
            let months = self.coupon.duration_in_months?;
            self.terms.start.checked_add_months(Months::new(months))
        })
    }

    /// Whether this discount reduces the billing period that began at `period_start`, as known
    /// at `at` (revenue-rules.md §2.4): the period began while the discount was in effect
    /// (`start <= period_start`, before a removal known at `at`, before a repeating `end`), and
    /// for a `once` coupon it is the first period beginning at or after `start`.
    ///
    /// `period_starts_observed`: every period start the subscription's snapshots carried up to
    /// `at` (any order), used to find the first period of a `once` coupon.
    pub fn discounts_period(
        &self,
        period_start: DateTime<Utc>,
        at: DateTime<Utc>,
        period_starts_observed: &[DateTime<Utc>],
    ) -> bool {
        let terms_known = self.first_observed_at <= at;
        let began_after_start = self.terms.start <= period_start;
        let began_before_known_removal = match self.removed_at {
            Some(removed_at) if removed_at <= at => period_start < removed_at,
            _ => true,
        };
        if !(terms_known && began_after_start && began_before_known_removal) {
            return false;
        }
        match self.coupon.duration {
            CouponDuration::Forever => true,
            CouponDuration::Repeating => self.repeating_end().is_none_or(|end| period_start < end),
            CouponDuration::Once => {
                let first_period_from_start = period_starts_observed
                    .iter()
                    .filter(|observed_start| **observed_start >= self.terms.start)
                    .min();
                first_period_from_start == Some(&period_start)
            }
        }
    }
}

/// The amount of one billing period after coupons, in minor units, exact (revenue-rules.md §2.4):
/// percent coupons compound (`L x (1 - p1/100) x (1 - p2/100)`), then amount coupons are
/// subtracted; never below 0 (clamped after each coupon).
///
/// An `amount_off` coupon whose `currency` differs from `subscription_currency` is ignored (the
/// domain does not carry Stripe's per-currency coupon amounts). A coupon with neither
/// `percent_off` nor `amount_off` does nothing.
pub fn discounted_amount_per_period(
    list_amount: Decimal,
    coupons: &[&Coupon],
    subscription_currency: &Currency,
) -> Decimal {
    let hundred = Decimal::ONE_HUNDRED;
    let after_percent_coupons = coupons.iter().filter_map(|coupon| coupon.percent_off).fold(
        list_amount,
        |amount, percent_off| {
            let remaining_fraction =
                (hundred - percent_off.clamp(Decimal::ZERO, hundred)) / hundred;
            amount.saturating_mul(remaining_fraction).max(Decimal::ZERO)
        },
    );
    coupons
        .iter()
        .filter(|coupon| coupon.percent_off.is_none())
        .filter(|coupon| {
            coupon
                .currency
                .as_ref()
                .is_none_or(|currency| currency == subscription_currency)
        })
        .filter_map(|coupon| coupon.amount_off)
        .fold(after_percent_coupons, |amount, amount_off| {
            amount
                .saturating_sub(Decimal::from(amount_off))
                .max(Decimal::ZERO)
        })
}
