//! Questions asked of [`EntitlementsState`] (pure; `now` is an argument): the billing period of
//! an instant, a meter's usage in a period with allowance and overage, a customer's active
//! features and limits, and one feature's check with the reason.

use crate::entitlements::state::{
    CustomerState, EntitlementsState, StripeEntitlementsObservation, SubscriptionObservation,
};
use crate::rules::Month;
use chrono::{DateTime, Duration, Utc};
use ledger::domain::{
    round_half_away_from_zero, Catalog, Currency, CustomerId, PriceId, SubscriptionId,
    SubscriptionStatus,
};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a billing period comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodBasis {
    /// A subscription's `current_period_start/end` as Stripe sent it.
    Subscription,
    /// No subscription period covers the instant: the calendar month (UTC).
    CalendarMonth,
}

/// A billing period `[start, end)`, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BillingPeriod {
    /// First instant (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// Where it comes from.
    pub basis: PeriodBasis,
}

/// A meter's limit for a customer, summed over the plans that grant it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitGrant {
    /// Hard quota per period (meter units); `None`: none.
    pub quota: Option<Decimal>,
    /// Included quantity per period (meter units).
    pub included: Decimal,
    /// Overage price per unit in minor units of `currency` (first plan in catalog order).
    pub overage_unit_amount: Option<Decimal>,
    /// Currency of the overage price.
    pub currency: Option<Currency>,
    /// The Stripe Billing Meter `event_name` (first plan in catalog order naming one).
    pub stripe_event_name: Option<String>,
}

/// Why a feature is granted: the subscription and price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureGrant {
    /// The subscription granting it.
    pub subscription: SubscriptionId,
    /// The price whose catalog plan lists it.
    pub price: PriceId,
    /// The subscription's status.
    pub status: SubscriptionStatus,
}

/// A customer's active features and limits at one instant, and the subscriptions that lost
/// theirs (with why).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerEntitlements {
    /// Active features, each with the first subscription granting it.
    pub features: BTreeMap<String, FeatureGrant>,
    /// Limits per meter.
    pub limits: BTreeMap<String, LimitGrant>,
    /// Subscriptions that grant nothing at this instant, and why.
    pub inactive: BTreeMap<SubscriptionId, String>,
    /// Features Stripe Entitlements lists as active for the customer at this instant (their
    /// `lookup_key`s, from the latest `entitlements.active_entitlement_summary.updated` at or
    /// before it): granted whatever the catalog says.
    pub stripe_entitlements: Vec<String>,
}

/// An overage amount: exact decimal rounded once, in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverageAmount {
    /// Minor units (e.g. cents), rounded half away from zero from the exact product.
    pub minor: i64,
    /// Currency.
    pub currency: Currency,
}

/// A meter's usage in one period, with the allowance in force and the overage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageSummary {
    /// The meter.
    pub meter: String,
    /// The period.
    pub period: BillingPeriod,
    /// Quantity used in the period (meter units, exact).
    pub quantity: Decimal,
    /// The limit in force (plans of the subscriptions active at the period's last instant, or
    /// at `now` for the current period, under the catalog in force then); `None`: no plan
    /// limits this meter.
    pub limit: Option<LimitGrant>,
    /// Quantity above the included allowance (>= 0).
    pub overage_quantity: Decimal,
    /// The overage's amount, when the limit has an overage price.
    pub overage_amount: Option<OverageAmount>,
    /// Quota minus quantity (>= 0), when there is a quota.
    pub remaining: Option<Decimal>,
}

/// The answer to "may this customer use this feature now".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureDecision {
    /// Allowed or not.
    pub allowed: bool,
    /// Why, in words.
    pub reason: String,
}

impl EntitlementsState {
    /// The billing period containing `at` for `customer`: among every period Stripe sent on
    /// the customer's subscriptions, the one containing `at` with the latest start; else the
    /// calendar month (UTC) of `at`.
    pub fn billing_period(&self, customer: &CustomerId, at: DateTime<Utc>) -> BillingPeriod {
        let observed = self.customers.get(customer).and_then(|state| {
            state
                .subscriptions
                .values()
                .flatten()
                .filter_map(|observation| observation.period)
                .filter(|(start, end)| *start <= at && at < *end)
                .max()
        });
        match observed {
            Some((start, end)) => BillingPeriod {
                start,
                end,
                basis: PeriodBasis::Subscription,
            },
            None => {
                let month = Month::containing(at);
                BillingPeriod {
                    start: month.first_instant(),
                    end: month.next().first_instant(),
                    basis: PeriodBasis::CalendarMonth,
                }
            }
        }
    }

    /// The customer's active features and limits at `now` (catalog in force at `now`).
    /// `trialing`, `active` and `past_due` subscriptions keep entitlements; `past_due` only
    /// for the catalog's `past_due_grace_days` after it became `past_due` (when set); every
    /// other status loses them.
    pub fn entitlements(&self, customer: &CustomerId, now: DateTime<Utc>) -> CustomerEntitlements {
        let mut result = CustomerEntitlements::default();
        let Some(state) = self.customers.get(customer) else {
            return result;
        };
        if let Some(summary) = stripe_entitlements_at(state, now) {
            result.stripe_entitlements = summary.lookup_keys.clone();
        }
        let Some(version) = self.catalog_at(now) else {
            for subscription in state.subscriptions.keys() {
                result
                    .inactive
                    .insert(subscription.clone(), "no catalog is in force".to_owned());
            }
            return result;
        };
        let catalog: &Catalog = &version.catalog;
        let mut subscriptions: Vec<_> = state.subscriptions.iter().collect();
        subscriptions.sort_by(|a, b| a.0.cmp(b.0));
        // Plans granted, in (catalog order) so the first plan's overage price wins.
        let mut granted: Vec<(usize, &SubscriptionId, &PriceId, SubscriptionStatus)> = Vec::new();
        for (subscription, observations) in subscriptions {
            let Some(latest) = latest_at(observations, now) else {
                continue;
            };
            if let Err(reason) = keeps_entitlements(observations, latest, catalog, now) {
                result.inactive.insert(subscription.clone(), reason);
                continue;
            }
            for (price, product) in &latest.items {
                if let Some(plan) = catalog.plan_for(price, product.as_ref()) {
                    let index = catalog
                        .plans
                        .iter()
                        .position(|candidate| std::ptr::eq(candidate, plan))
                        .unwrap_or(usize::MAX);
                    granted.push((index, subscription, price, latest.status));
                }
            }
        }
        granted.sort_by_key(|(index, ..)| *index);
        for (index, subscription, price, status) in granted {
            let plan = &catalog.plans[index];
            for feature in &plan.features {
                result
                    .features
                    .entry(feature.clone())
                    .or_insert_with(|| FeatureGrant {
                        subscription: subscription.clone(),
                        price: price.clone(),
                        status,
                    });
            }
            for limit in &plan.limits {
                let entry =
                    result
                        .limits
                        .entry(limit.meter.clone())
                        .or_insert_with(|| LimitGrant {
                            quota: Some(Decimal::ZERO),
                            included: Decimal::ZERO,
                            overage_unit_amount: None,
                            currency: None,
                            stripe_event_name: None,
                        });
                // A plan without a quota lifts it; quotas and allowances of several plans add up.
                entry.quota = match (entry.quota, limit.quota) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
                entry.included += limit.included;
                if entry.overage_unit_amount.is_none() && limit.overage_unit_amount.is_some() {
                    entry.overage_unit_amount = limit.overage_unit_amount;
                    entry.currency = limit.currency.clone();
                }
                if entry.stripe_event_name.is_none() {
                    entry.stripe_event_name = limit.stripe_event_name.clone();
                }
            }
        }
        result
    }

    /// `meter`'s usage for `customer` in the period containing `at`, with the limit in force at
    /// the period's last instant (or at `now` while the period is still running) and the
    /// overage amount, rounded once ([`round_half_away_from_zero`]).
    pub fn usage(
        &self,
        customer: &CustomerId,
        meter: &str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> UsageSummary {
        let period = self.billing_period(customer, at);
        let quantity = self
            .customers
            .get(customer)
            .map(|state| used_in(state, meter, &period))
            .unwrap_or_default();
        let evaluated_at = now.min(period.end - Duration::seconds(1));
        let limit = self
            .entitlements(customer, evaluated_at)
            .limits
            .remove(meter);
        summarize(meter, period, quantity, limit)
    }

    /// Whether `customer` may use `feature` at `now`, and why. A feature is allowed when an
    /// entitled subscription's plan lists it, or when a plan limits a meter of that name; and
    /// in either case, when a quota of the meter named like the feature is not reached in the
    /// current period.
    pub fn check_feature(
        &self,
        customer: &CustomerId,
        feature: &str,
        now: DateTime<Utc>,
    ) -> FeatureDecision {
        let entitlements = self.entitlements(customer, now);
        let granted = entitlements.features.get(feature);
        let limit = entitlements.limits.get(feature);
        let by_stripe = entitlements
            .stripe_entitlements
            .binary_search_by(|key| key.as_str().cmp(feature))
            .is_ok();
        if granted.is_none() && limit.is_none() && by_stripe {
            return FeatureDecision {
                allowed: true,
                reason: format!("granted by Stripe Entitlements (active feature {feature})"),
            };
        }
        if granted.is_none() && limit.is_none() {
            let reason = if !self.customers.contains_key(customer) {
                format!("customer {customer} has no subscription Tally knows of")
            } else if entitlements.inactive.is_empty() {
                format!("no subscription of {customer} grants {feature}")
            } else {
                let why: Vec<String> = entitlements
                    .inactive
                    .iter()
                    .map(|(subscription, reason)| format!("{subscription}: {reason}"))
                    .collect();
                format!(
                    "no active subscription grants {feature} ({})",
                    why.join("; ")
                )
            };
            return FeatureDecision {
                allowed: false,
                reason,
            };
        }
        if let Some(quota) = limit.and_then(|limit| limit.quota) {
            let period = self.billing_period(customer, now);
            let used = self
                .customers
                .get(customer)
                .map(|state| used_in(state, feature, &period))
                .unwrap_or_default();
            if used >= quota {
                return FeatureDecision {
                    allowed: false,
                    reason: format!(
                        "quota of {quota} {feature} reached: {used} used in the period {} to {}",
                        period.start.to_rfc3339(),
                        period.end.to_rfc3339()
                    ),
                };
            }
            return FeatureDecision {
                allowed: true,
                reason: format!(
                    "{used} of {quota} {feature} used in the period ending {}",
                    period.end.to_rfc3339()
                ),
            };
        }
        let reason = match granted {
            Some(grant) => format!(
                "granted by price {} of subscription {} ({})",
                grant.price,
                grant.subscription,
                status_name(grant.status)
            ),
            None => format!("{feature} is metered without a quota"),
        };
        FeatureDecision {
            allowed: true,
            reason,
        }
    }

    /// Quantity of `meter` used by `customer` in `period`.
    pub fn used(&self, customer: &CustomerId, meter: &str, period: &BillingPeriod) -> Decimal {
        self.customers
            .get(customer)
            .map(|state| used_in(state, meter, period))
            .unwrap_or_default()
    }
}

/// Builds a usage summary from a quantity and the limit in force: overage above the included
/// allowance, its amount (exact, then rounded once), and what is left of the quota.
pub fn summarize(
    meter: &str,
    period: BillingPeriod,
    quantity: Decimal,
    limit: Option<LimitGrant>,
) -> UsageSummary {
    let included = limit.as_ref().map(|l| l.included).unwrap_or_default();
    let overage_quantity = (quantity - included).max(Decimal::ZERO);
    let overage_amount = limit.as_ref().and_then(|limit| {
        let unit = limit.overage_unit_amount?;
        let currency = limit.currency.clone()?;
        Some(OverageAmount {
            minor: round_half_away_from_zero(overage_quantity * unit),
            currency,
        })
    });
    let remaining = limit
        .as_ref()
        .and_then(|limit| limit.quota)
        .map(|quota| (quota - quantity).max(Decimal::ZERO));
    UsageSummary {
        meter: meter.to_owned(),
        period,
        quantity: quantity.normalize(),
        limit,
        overage_quantity: overage_quantity.normalize(),
        overage_amount,
        remaining: remaining.map(|r| r.normalize()),
    }
}

fn used_in(state: &CustomerState, meter: &str, period: &BillingPeriod) -> Decimal {
    state
        .usage
        .get(meter)
        .map(|per_second| {
            per_second
                .range(period.start.timestamp()..period.end.timestamp())
                .map(|(_, quantity)| *quantity)
                .sum()
        })
        .unwrap_or_default()
}

fn latest_at(
    observations: &[SubscriptionObservation],
    at: DateTime<Utc>,
) -> Option<&SubscriptionObservation> {
    let count = observations.partition_point(|o| o.effective_at <= at);
    count.checked_sub(1).map(|last| &observations[last])
}

/// Whether a subscription whose latest observation at `now` is `latest` keeps entitlements,
/// else why not.
fn keeps_entitlements(
    observations: &[SubscriptionObservation],
    latest: &SubscriptionObservation,
    catalog: &Catalog,
    now: DateTime<Utc>,
) -> Result<(), String> {
    match latest.status {
        SubscriptionStatus::Trialing | SubscriptionStatus::Active => Ok(()),
        SubscriptionStatus::PastDue => {
            let Some(days) = catalog.past_due_grace_days else {
                return Ok(());
            };
            // The start of the unbroken run of past_due observations ending at `latest`.
            let count = observations.partition_point(|o| o.effective_at <= now);
            let since = observations[..count]
                .iter()
                .rev()
                .take_while(|o| o.status == SubscriptionStatus::PastDue)
                .last()
                .map(|o| o.effective_at)
                .unwrap_or(latest.effective_at);
            let grace_end = since + Duration::days(i64::from(days));
            if now < grace_end {
                Ok(())
            } else {
                Err(format!(
                    "past_due since {}; the grace period of {days} days ended at {}",
                    since.to_rfc3339(),
                    grace_end.to_rfc3339()
                ))
            }
        }
        other => Err(format!("subscription is {}", status_name(other))),
    }
}

fn status_name(status: SubscriptionStatus) -> &'static str {
    match status {
        SubscriptionStatus::Incomplete => "incomplete",
        SubscriptionStatus::IncompleteExpired => "incomplete_expired",
        SubscriptionStatus::Trialing => "trialing",
        SubscriptionStatus::Active => "active",
        SubscriptionStatus::PastDue => "past_due",
        SubscriptionStatus::Canceled => "canceled",
        SubscriptionStatus::Unpaid => "unpaid",
        SubscriptionStatus::Paused => "paused",
    }
}

/// The customer's latest Stripe Entitlements summary at or before `at`.
fn stripe_entitlements_at(
    state: &CustomerState,
    at: DateTime<Utc>,
) -> Option<&StripeEntitlementsObservation> {
    let list = &state.stripe_entitlements;
    let count = list.partition_point(|known| known.effective_at <= at);
    count.checked_sub(1).map(|last| &list[last])
}
