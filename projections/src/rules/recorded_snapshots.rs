//! Snapshots with the log entry they came from, and "the customers' snapshots as the log stood
//! at a recorded time": the input of time travel (`as_of`) and of restatements. Pure: the
//! caller loads the rows (`crate::queries`).

use crate::rules::customer_timeline::{customer_mrr_timelines, MrrPoint};
use crate::rules::observed::Observed;
use chrono::{DateTime, Utc};
use ledger::domain::{Coupon, Currency, DiscountSnapshot, SubscriptionSnapshot};
use std::collections::{BTreeMap, BTreeSet};

/// The log entry a snapshot row came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSource {
    /// When Tally recorded the event (UTC; the appending transaction's start).
    pub recorded_at: DateTime<Utc>,
    /// The event's global position in the log.
    pub global_position: i64,
    /// The domain event type, e.g. `SubscriptionObserved`.
    pub event_type: String,
    /// The Stripe Event id (`evt_...`) from the event's metadata; `None` for events Tally made
    /// itself.
    pub stripe_event_id: Option<String>,
}

/// One stored snapshot with its scope (customer, currency, `subscription:<id>` or `coupon`, as
/// in the snapshot tables) and its source event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedSnapshot<T> {
    /// The row's scope.
    pub scope: String,
    /// The snapshot and its order key.
    pub observed: Observed<T>,
    /// The event it came from.
    pub source: SnapshotSource,
}

impl<T> RecordedSnapshot<T> {
    /// Whether the log held this snapshot at `known_by` (`None`: now, always true).
    pub fn known_by(&self, known_by: Option<DateTime<Utc>>) -> bool {
        known_by.is_none_or(|known_by| self.source.recorded_at <= known_by)
    }
}

/// Every snapshot MRR depends on (the `mrr` projector's snapshot tables), with sources.
#[derive(Debug, Clone, Default)]
pub struct RecordedMrrSnapshots {
    /// Subscription snapshots, scoped by customer.
    pub subscriptions: Vec<RecordedSnapshot<SubscriptionSnapshot>>,
    /// Discount snapshots, scoped by customer or `subscription:<id>`.
    pub discounts: Vec<RecordedSnapshot<DiscountSnapshot>>,
    /// Coupon terms, scope `coupon`.
    pub coupons: Vec<RecordedSnapshot<Coupon>>,
}

/// One customer's snapshots as the MRR rules take them.
#[derive(Debug, Clone, Default)]
pub struct CustomerSnapshots {
    /// Every snapshot of every subscription of the customer.
    pub subscriptions: Vec<Observed<SubscriptionSnapshot>>,
    /// Every discount snapshot of the customer (coupon terms filled in when known).
    pub discounts: Vec<Observed<DiscountSnapshot>>,
}

impl CustomerSnapshots {
    /// The customer's MRR timeline in `currency` (revenue-rules.md §2-§3); empty when it never
    /// had MRR there.
    pub fn timeline(&self, currency: &Currency) -> Vec<MrrPoint> {
        customer_mrr_timelines(&self.subscriptions, &self.discounts)
            .remove(currency)
            .unwrap_or_default()
    }
}

impl RecordedMrrSnapshots {
    /// The customer each discount scope belongs to: a customer scope is its own customer;
    /// `subscription:<id>` belongs to the customer of that subscription (from any of its
    /// snapshots, whenever recorded), and is absent while that subscription is unknown.
    pub fn owner_of_scopes(&self) -> BTreeMap<String, String> {
        let mut owners = BTreeMap::new();
        for recorded in &self.subscriptions {
            owners.insert(recorded.scope.clone(), recorded.scope.clone());
            owners.insert(
                format!("subscription:{}", recorded.observed.snapshot.subscription),
                recorded.scope.clone(),
            );
        }
        for recorded in &self.discounts {
            if !recorded.scope.starts_with("subscription:") {
                owners.insert(recorded.scope.clone(), recorded.scope.clone());
            }
        }
        owners
    }

    /// Per customer, its snapshots as the log held them at `known_by` (only rows recorded at
    /// or before it; `None`: every row), grouped as the `mrr` projector groups them: discounts
    /// under `subscription:<id>` go to that subscription's customer, and a discount whose
    /// payload carried only its coupon id gets the terms of that coupon's first observation
    /// (by order key) known by then (none known: it reduces nothing).
    pub fn customers_known_by(
        &self,
        known_by: Option<DateTime<Utc>>,
    ) -> BTreeMap<String, CustomerSnapshots> {
        self.customers_known_by_among(known_by, None)
    }

    /// [`Self::customers_known_by`] restricted to `customers` (`None`: all).
    pub fn customers_known_by_among(
        &self,
        known_by: Option<DateTime<Utc>>,
        customers: Option<&BTreeSet<String>>,
    ) -> BTreeMap<String, CustomerSnapshots> {
        let wanted = |customer: &str| customers.is_none_or(|set| set.contains(customer));
        let owners = self.owner_of_scopes();
        let mut coupon_terms: BTreeMap<&str, &Observed<Coupon>> = BTreeMap::new();
        for recorded in self.coupons.iter().filter(|row| row.known_by(known_by)) {
            let earliest = coupon_terms
                .entry(recorded.observed.snapshot.id.as_str())
                .or_insert(&recorded.observed);
            if recorded.observed.order_key() < earliest.order_key() {
                *earliest = &recorded.observed;
            }
        }
        let mut grouped: BTreeMap<String, CustomerSnapshots> = BTreeMap::new();
        for recorded in &self.subscriptions {
            if recorded.known_by(known_by) && wanted(&recorded.scope) {
                grouped
                    .entry(recorded.scope.clone())
                    .or_default()
                    .subscriptions
                    .push(recorded.observed.clone());
            }
        }
        for recorded in &self.discounts {
            let Some(owner) = owners.get(&recorded.scope) else {
                continue;
            };
            if !recorded.known_by(known_by) || !wanted(owner) {
                continue;
            }
            let mut observed = recorded.observed.clone();
            if observed.snapshot.coupon.is_none() {
                observed.snapshot.coupon = coupon_terms
                    .get(observed.snapshot.coupon_id.as_str())
                    .map(|coupon| coupon.snapshot.clone());
            }
            grouped
                .entry(owner.clone())
                .or_default()
                .discounts
                .push(observed);
        }
        grouped
    }

    /// The customers whose discounts name one of `coupon_ids` (their MRR may depend on those
    /// coupons' terms).
    pub fn customers_redeeming(&self, coupon_ids: &BTreeSet<&str>) -> BTreeSet<String> {
        let owners = self.owner_of_scopes();
        self.discounts
            .iter()
            .filter(|row| coupon_ids.contains(row.observed.snapshot.coupon_id.as_str()))
            .filter_map(|row| owners.get(&row.scope).cloned())
            .collect()
    }

    /// Every source of a row about `customer` (its subscriptions and discounts) or about a
    /// coupon one of its discounts names, with the row's effective time.
    pub fn sources_of_customer(&self, customer: &str) -> Vec<(DateTime<Utc>, &SnapshotSource)> {
        let owners = self.owner_of_scopes();
        let mut coupon_ids = BTreeSet::new();
        let mut sources = Vec::new();
        for row in &self.subscriptions {
            if row.scope == customer {
                sources.push((row.observed.effective_at, &row.source));
            }
        }
        for row in &self.discounts {
            if owners.get(&row.scope).map(String::as_str) == Some(customer) {
                coupon_ids.insert(row.observed.snapshot.coupon_id.as_str());
                sources.push((row.observed.effective_at, &row.source));
            }
        }
        for row in &self.coupons {
            if coupon_ids.contains(row.observed.snapshot.id.as_str()) {
                sources.push((row.observed.effective_at, &row.source));
            }
        }
        sources
    }
}
