//! Money that moves after an invoice is paid: refunds, disputes, credit notes, and the
//! invoice payments that link a payment to its invoice (Stripe API 2025-03-31.basil moved that
//! link from `charge.invoice` to the `invoice_payment` object). Amounts are integer minor units
//! of `currency`; times are UTC.

use crate::domain::{ChargeId, CreditNoteId, Currency, CustomerId, DisputeId, InvoiceId};
use crate::domain::{InvoicePaymentId, RefundId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A snapshot of a Stripe refund (`refund.*`; the same refund also appears inside
/// `charge.refunded`, which keeps feeding `ChargeObserved`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundSnapshot {
    /// Stripe refund id.
    pub refund: RefundId,
    /// The charge refunded, when Stripe names one.
    pub charge: Option<ChargeId>,
    /// The payment intent refunded, when Stripe names one (`pi_...`).
    pub payment_intent: Option<String>,
    /// Refund currency.
    pub currency: Currency,
    /// `amount`, minor units (positive: money returned to the customer).
    pub amount: i64,
    /// Stripe's refund `status` (`pending`, `requires_action`, `succeeded`, `failed`,
    /// `canceled`).
    pub status: String,
    /// Stripe's `reason` (`duplicate`, `fraudulent`, `requested_by_customer`, ...), if any.
    pub reason: Option<String>,
    /// When Stripe created the refund (UTC).
    pub created: DateTime<Utc>,
}

/// A snapshot of a Stripe dispute (`charge.dispute.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeSnapshot {
    /// Stripe dispute id.
    pub dispute: DisputeId,
    /// The disputed charge, when Stripe names one.
    pub charge: Option<ChargeId>,
    /// Dispute currency.
    pub currency: Currency,
    /// Disputed `amount`, minor units.
    pub amount: i64,
    /// Stripe's dispute `status` (`warning_needs_response`, `needs_response`, `won`, `lost`, ...).
    pub status: String,
    /// Stripe's dispute `reason` (`fraudulent`, `general`, ...), if any.
    pub reason: Option<String>,
    /// When Stripe created the dispute (UTC).
    pub created: DateTime<Utc>,
}

/// A snapshot of a Stripe credit note (`credit_note.created|updated|voided`): it lowers what an
/// invoice is worth (pre-payment) or returns money or credit (post-payment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteSnapshot {
    /// Stripe credit note id.
    pub credit_note: CreditNoteId,
    /// The invoice credited.
    pub invoice: Option<InvoiceId>,
    /// The customer credited.
    pub customer: Option<CustomerId>,
    /// Credit note currency.
    pub currency: Currency,
    /// `total`, minor units, including tax and after discounts.
    pub total: i64,
    /// `subtotal`, minor units, before tax and discounts, when Stripe sends it.
    pub subtotal: Option<i64>,
    /// `out_of_band_amount`, minor units credited outside Stripe, when set.
    pub out_of_band_amount: Option<i64>,
    /// Stripe's `type`: `pre_payment` (lowers the amount due) or `post_payment` (after payment).
    pub credit_note_type: String,
    /// Stripe's `status`: `issued` or `void`.
    pub status: String,
    /// Stripe's `reason`, if any.
    pub reason: Option<String>,
    /// When the credit note takes effect (Stripe's `effective_at`, else `created`), UTC.
    pub effective_at: DateTime<Utc>,
}

/// A snapshot of a Stripe invoice payment (`invoice_payment.paid`): which payment settled
/// (part of) which invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePaymentSnapshot {
    /// Stripe invoice payment id.
    pub invoice_payment: InvoicePaymentId,
    /// The invoice paid.
    pub invoice: InvoiceId,
    /// Payment currency.
    pub currency: Currency,
    /// `amount_paid`, minor units (`None` until Stripe reports it).
    pub amount_paid: Option<i64>,
    /// `amount_requested`, minor units.
    pub amount_requested: i64,
    /// Stripe's `status` (`open`, `paid`, `canceled`).
    pub status: String,
    /// Stripe's `is_default`: the invoice's default payment.
    pub is_default: bool,
    /// `payment.charge`, when the payment is a charge.
    pub charge: Option<ChargeId>,
    /// `payment.payment_intent`, when the payment is a payment intent (`pi_...`).
    pub payment_intent: Option<String>,
    /// `status_transitions.paid_at`, UTC.
    pub paid_at: Option<DateTime<Utc>>,
}
