//! The in-memory usage and entitlements state, folded from the log (pure, no I/O). Every
//! collection is kept sorted by (effective time, global position), so applying the same events
//! in any order gives an equal state: the live state equals a rebuild.

use chrono::{DateTime, Utc};
use ledger::domain::{
    ActiveEntitlementSummaryObserved, Catalog, CatalogChanged, CustomerId, DomainEvent, PriceId,
    ProductId, SubscriptionId, SubscriptionObserved, SubscriptionStatus, UsageIncrementRecorded,
};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The stored event types this state reads; every other type is skipped without decoding.
pub const EVENT_TYPES_READ: [&str; 4] = [
    "SubscriptionObserved",
    "UsageIncrementRecorded",
    "CatalogChanged",
    "ActiveEntitlementSummaryObserved",
];

/// Everything the usage and entitlement questions need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntitlementsState {
    /// The highest global position applied.
    pub position: i64,
    /// Catalog versions, by (effective time, global position).
    pub catalogs: Vec<CatalogVersion>,
    /// Per customer.
    pub customers: HashMap<CustomerId, CustomerState>,
}

/// One catalog version and when it came into force.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogVersion {
    /// In force from (UTC).
    pub effective_at: DateTime<Utc>,
    /// Global position of its `CatalogChanged` event.
    pub global_position: i64,
    /// The catalog.
    pub catalog: Arc<Catalog>,
}

/// One customer's subscriptions and usage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerState {
    /// Observations per subscription, by (effective time, global position).
    pub subscriptions: HashMap<SubscriptionId, Vec<SubscriptionObservation>>,
    /// Usage per meter: quantity summed per second (UTC unix seconds; Stripe periods start on
    /// whole seconds, so a period's usage is a range of this map).
    pub usage: HashMap<String, BTreeMap<i64, Decimal>>,
    /// Stripe Entitlements summaries (`entitlements.active_entitlement_summary.updated`), by
    /// (effective time, global position): each is the customer's whole list at that time.
    pub stripe_entitlements: Vec<StripeEntitlementsObservation>,
}

/// What the state keeps of one `ActiveEntitlementSummaryObserved`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEntitlementsObservation {
    /// The event's effective time (UTC).
    pub effective_at: DateTime<Utc>,
    /// Its global position.
    pub global_position: i64,
    /// The active features' `lookup_key`s, sorted (searched by binary search).
    pub lookup_keys: Vec<String>,
}

/// What the state keeps of one `SubscriptionObserved`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionObservation {
    /// The event's effective time (UTC).
    pub effective_at: DateTime<Utc>,
    /// Its global position.
    pub global_position: i64,
    /// Stripe status.
    pub status: SubscriptionStatus,
    /// The current billing period `[start, end)` (UTC), when Stripe sent one.
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The items' prices (and products).
    pub items: Vec<(PriceId, Option<ProductId>)>,
}

impl EntitlementsState {
    /// Applies one stored event: `event` decoded, with its effective time and position. Events
    /// of other types change only `position`.
    pub fn apply(&mut self, event: &DomainEvent, effective_at: DateTime<Utc>, position: i64) {
        self.position = self.position.max(position);
        match event {
            DomainEvent::SubscriptionObserved(observed) => {
                self.apply_subscription(observed, effective_at, position)
            }
            DomainEvent::UsageIncrementRecorded(increment) => self.apply_usage(increment),
            DomainEvent::CatalogChanged(changed) => {
                self.apply_catalog(changed, effective_at, position)
            }
            DomainEvent::ActiveEntitlementSummaryObserved(observed) => {
                self.apply_stripe_entitlements(observed, effective_at, position)
            }
            _ => {}
        }
    }

    /// Marks `position` as read (an event of a type this state does not read).
    pub fn skip(&mut self, position: i64) {
        self.position = self.position.max(position);
    }

    fn apply_subscription(
        &mut self,
        observed: &SubscriptionObserved,
        effective_at: DateTime<Utc>,
        position: i64,
    ) {
        let snapshot = &observed.snapshot;
        let period = match (snapshot.current_period_start, snapshot.current_period_end) {
            (Some(start), Some(end)) if start < end => Some((start, end)),
            _ => None,
        };
        let observation = SubscriptionObservation {
            effective_at,
            global_position: position,
            status: snapshot.status,
            period,
            items: snapshot
                .items
                .iter()
                .map(|item| (item.price.clone(), item.product.clone()))
                .collect(),
        };
        let list = self
            .customers
            .entry(snapshot.customer.clone())
            .or_default()
            .subscriptions
            .entry(snapshot.subscription.clone())
            .or_default();
        let key = (effective_at, position);
        if list.iter().any(|known| known.global_position == position) {
            return;
        }
        let at = list.partition_point(|known| (known.effective_at, known.global_position) < key);
        list.insert(at, observation);
    }

    fn apply_usage(&mut self, increment: &UsageIncrementRecorded) {
        *self
            .customers
            .entry(increment.customer.clone())
            .or_default()
            .usage
            .entry(increment.meter.clone())
            .or_default()
            .entry(increment.timestamp.timestamp())
            .or_default() += increment.quantity;
    }

    fn apply_stripe_entitlements(
        &mut self,
        observed: &ActiveEntitlementSummaryObserved,
        effective_at: DateTime<Utc>,
        position: i64,
    ) {
        let summary = &observed.snapshot;
        let list = &mut self
            .customers
            .entry(summary.customer.clone())
            .or_default()
            .stripe_entitlements;
        if list.iter().any(|known| known.global_position == position) {
            return;
        }
        let mut lookup_keys: Vec<String> = summary
            .entitlements
            .iter()
            .map(|entitlement| entitlement.lookup_key.clone())
            .collect();
        lookup_keys.sort();
        lookup_keys.dedup();
        let key = (effective_at, position);
        let at = list.partition_point(|known| (known.effective_at, known.global_position) < key);
        list.insert(
            at,
            StripeEntitlementsObservation {
                effective_at,
                global_position: position,
                lookup_keys,
            },
        );
    }

    fn apply_catalog(
        &mut self,
        changed: &CatalogChanged,
        effective_at: DateTime<Utc>,
        position: i64,
    ) {
        if self
            .catalogs
            .iter()
            .any(|known| known.global_position == position)
        {
            return;
        }
        let key = (effective_at, position);
        let at = self
            .catalogs
            .partition_point(|known| (known.effective_at, known.global_position) < key);
        self.catalogs.insert(
            at,
            CatalogVersion {
                effective_at,
                global_position: position,
                catalog: Arc::new(changed.catalog.clone()),
            },
        );
    }

    /// The catalog in force at `at`: the last version whose effective time is at or before it.
    pub fn catalog_at(&self, at: DateTime<Utc>) -> Option<&CatalogVersion> {
        let count = self
            .catalogs
            .partition_point(|known| known.effective_at <= at);
        count.checked_sub(1).map(|last| &self.catalogs[last])
    }
}
