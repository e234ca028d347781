//! MRR by plan: at the end of a UTC day, each product/price's share of MRR and how many
//! customers pay for it, one currency (revenue-rules.md §2-§3 applied per subscription item).

use crate::rules::item_amount::item_amount_per_billing_period;
use crate::rules::movements::start_of_day;
use crate::rules::observed::Observed;
use crate::rules::recorded_snapshots::CustomerSnapshots;
use crate::rules::subscription_mrr::SubscriptionHistory;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use ledger::domain::{Currency, SubscriptionSnapshot, UsageType};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One product/price line of the by-plan report. Amounts in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanMrr {
    /// The Stripe product id (`prod_...`), when the payload carried it.
    pub product: Option<String>,
    /// The Stripe price id (`price_...`).
    pub price: String,
    /// This price's share of MRR over all subscriptions of the currency.
    pub mrr: i64,
    /// Customers with a share > 0 on this price.
    pub customers: i64,
    /// Subscriptions with a share > 0 on this price.
    pub subscriptions: i64,
}

/// A line's key: (product id, price id).
type PlanKey = (Option<String>, String);

/// A line's running totals: (MRR, customers paying, subscriptions paying).
type PlanTotals<'a> = (i64, BTreeSet<&'a str>, i64);

/// The by-plan report at the end of `day` (after every Event before 00:00 UTC of the next day,
/// the daily report's close), for `currency`; lines sorted by product then price, only lines
/// with MRR > 0.
///
/// Each subscription's MRR is computed by the rules (once, rounded once) and then split over its
/// licensed items in proportion to their list amounts per billing period, in whole minor units
/// by largest remainder (ties to the earlier item), so the lines add up exactly to the total
/// MRR of the day. With one item per subscription (the usual case) no split happens.
pub fn mrr_by_plan(
    customers: &BTreeMap<String, CustomerSnapshots>,
    currency: &Currency,
    day: NaiveDate,
) -> Vec<PlanMrr> {
    // The last instant of the day: "effective_at <= at" is then "effective_at < next midnight".
    let at = day
        .succ_opt()
        .map_or(DateTime::<Utc>::MAX_UTC, start_of_day)
        - Duration::nanoseconds(1);
    let mut lines: BTreeMap<PlanKey, PlanTotals<'_>> = BTreeMap::new();
    for (customer, snapshots) in customers {
        let mut by_subscription: BTreeMap<&str, Vec<&Observed<SubscriptionSnapshot>>> =
            BTreeMap::new();
        for observed in &snapshots.subscriptions {
            by_subscription
                .entry(observed.snapshot.subscription.as_str())
                .or_default()
                .push(observed);
        }
        for observations in by_subscription.into_values() {
            let history = SubscriptionHistory::new(observations, &snapshots.discounts);
            let (Some((subscription_currency, mrr)), Some(state)) =
                (history.mrr_at(at), history.state_at(at))
            else {
                continue;
            };
            if subscription_currency != currency || mrr <= 0 {
                continue;
            }
            let mut shares_by_price: BTreeMap<PlanKey, i64> = BTreeMap::new();
            for (key, share) in split_over_items(state, mrr) {
                *shares_by_price.entry(key).or_default() += share;
            }
            for (key, share) in shares_by_price {
                if share > 0 {
                    let line = lines.entry(key).or_default();
                    line.0 = line.0.saturating_add(share);
                    line.1.insert(customer.as_str());
                    line.2 += 1;
                }
            }
        }
    }
    lines
        .into_iter()
        .map(
            |((product, price), (mrr, customers, subscriptions))| PlanMrr {
                product,
                price,
                mrr,
                customers: i64::try_from(customers.len()).unwrap_or(i64::MAX),
                subscriptions,
            },
        )
        .collect()
}

/// Splits a subscription's MRR (minor units, > 0) over its licensed items by list amount, by
/// largest remainder; keyed by (product, price), items of the same price summed.
fn split_over_items(state: &SubscriptionSnapshot, mrr: i64) -> Vec<(PlanKey, i64)> {
    let licensed: Vec<(&ledger::domain::SubscriptionItem, Decimal)> = state
        .items
        .iter()
        .filter(|item| item.usage_type == UsageType::Licensed)
        .map(|item| (item, item_amount_per_billing_period(item)))
        .collect();
    let key = |item: &ledger::domain::SubscriptionItem| {
        (
            item.product.as_ref().map(|product| product.0.clone()),
            item.price.0.clone(),
        )
    };
    let list_total = licensed.iter().fold(Decimal::ZERO, |total, (_, amount)| {
        total.saturating_add(*amount)
    });
    let Some((first, _)) = licensed.first() else {
        return Vec::new();
    };
    if list_total <= Decimal::ZERO {
        return vec![(key(first), mrr)];
    }
    let exact: Vec<Decimal> = licensed
        .iter()
        .map(|(_, amount)| Decimal::from(mrr) * *amount / list_total)
        .collect();
    let mut shares: Vec<i64> = exact
        .iter()
        .map(|share| i64::try_from(share.floor()).unwrap_or(0))
        .collect();
    let mut left = mrr - shares.iter().sum::<i64>();
    let mut by_remainder: Vec<usize> = (0..exact.len()).collect();
    by_remainder.sort_by(|left, right| {
        let remainder = |index: usize| exact[index] - exact[index].floor();
        remainder(*right)
            .cmp(&remainder(*left))
            .then(left.cmp(right))
    });
    for index in by_remainder {
        if left <= 0 {
            break;
        }
        shares[index] += 1;
        left -= 1;
    }
    licensed
        .iter()
        .zip(shares)
        .map(|((item, _), share)| (key(item), share))
        .collect()
}
