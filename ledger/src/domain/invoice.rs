//! Invoices, as far as cash reporting needs them.

use crate::domain::{Currency, CustomerId, InvoiceId, SubscriptionId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A snapshot of a Stripe invoice. Amounts in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceSnapshot {
    /// Stripe invoice id.
    pub invoice: InvoiceId,
    /// The customer billed.
    pub customer: Option<CustomerId>,
    /// The subscription billed, if any (`invoice.subscription` before API 2025-03-31.basil,
    /// `invoice.parent.subscription_details.subscription` since).
    pub subscription: Option<SubscriptionId>,
    /// Invoice currency.
    pub currency: Currency,
    /// Invoice status.
    pub status: InvoiceStatus,
    /// `amount_due`, minor units.
    pub amount_due: i64,
    /// `amount_paid`, minor units.
    pub amount_paid: i64,
    /// `amount_remaining`, minor units.
    pub amount_remaining: i64,
    /// `status_transitions.paid_at` (UTC), once paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// Stripe's `billing_reason` (`subscription_create`, `subscription_cycle`, ...).
    pub billing_reason: Option<String>,
}

/// Stripe's invoice `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Not finalized yet; not outstanding.
    Draft,
    /// Finalized and awaiting payment: outstanding.
    Open,
    /// Paid.
    Paid,
    /// Written off.
    Uncollectible,
    /// Voided.
    Void,
}
