//! Charges, as far as refunds need them.

use crate::domain::{ChargeId, Currency, CustomerId, InvoiceId};
use serde::{Deserialize, Serialize};

/// A snapshot of a Stripe charge. Amounts in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeSnapshot {
    /// Stripe charge id.
    pub charge: ChargeId,
    /// The customer charged.
    pub customer: Option<CustomerId>,
    /// The invoice the charge paid, when Stripe says so.
    pub invoice: Option<InvoiceId>,
    /// Charge currency.
    pub currency: Currency,
    /// `amount`, minor units.
    pub amount: i64,
    /// Cumulative `amount_refunded`, minor units.
    pub amount_refunded: i64,
    /// Stripe's charge `status` (`succeeded`, `pending`, `failed`).
    pub status: String,
}
