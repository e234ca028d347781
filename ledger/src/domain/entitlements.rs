//! A customer's active entitlements as Stripe summarises them
//! (`entitlements.active_entitlement_summary.updated`): the whole list each time, so the
//! latest snapshot by effective time replaces the previous one.

use crate::domain::CustomerId;
use serde::{Deserialize, Serialize};

/// One active entitlement of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveEntitlement {
    /// Stripe active entitlement id (`ent_...`).
    pub entitlement: String,
    /// The feature's id (`feat_...`).
    pub feature: String,
    /// The entitlement's `lookup_key` (the feature's key an application checks).
    pub lookup_key: String,
}

/// Every active entitlement of one customer at the Event's effective time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveEntitlementSummarySnapshot {
    /// The customer.
    pub customer: CustomerId,
    /// The active entitlements, in Stripe's order.
    pub entitlements: Vec<ActiveEntitlement>,
    /// False when Stripe's list said `has_more: true`: the Event carried only the first page.
    pub complete: bool,
}
