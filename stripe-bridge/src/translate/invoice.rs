//! `invoice.*` -> `InvoiceObserved`: status, amounts and `paid_at` for the cash report. The
//! subscription is `invoice.subscription` before Stripe API 2025-03-31.basil and
//! `invoice.parent.subscription_details.subscription` since.

use crate::error::PayloadError;
use crate::translate::common::{
    check_object_kind, known_value, optional_reference_id, optional_unix_time, parse_object,
    required, required_text, IdOrExpandedObject,
};
use ledger::domain::{
    Currency, CustomerId, DomainEvent, InvoiceId, InvoiceObserved, InvoiceSnapshot, InvoiceStatus,
    ObservedChange, SubscriptionId,
};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of a Stripe `invoice` Tally reads, in either API shape.
#[derive(Deserialize)]
struct StripeInvoice {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    customer: Option<IdOrExpandedObject>,
    /// Before 2025-03-31.basil.
    #[serde(default)]
    subscription: Option<IdOrExpandedObject>,
    /// Since 2025-03-31.basil.
    #[serde(default)]
    parent: Option<StripeInvoiceParent>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    amount_due: Option<i64>,
    #[serde(default)]
    amount_paid: Option<i64>,
    #[serde(default)]
    amount_remaining: Option<i64>,
    #[serde(default)]
    status_transitions: Option<StripeInvoiceStatusTransitions>,
    #[serde(default)]
    billing_reason: Option<String>,
}

/// `invoice.parent` (since 2025-03-31.basil).
#[derive(Deserialize)]
struct StripeInvoiceParent {
    /// `subscription_details`, `quote_details`, ...
    #[serde(default, rename = "type")]
    parent_type: Option<String>,
    #[serde(default)]
    subscription_details: Option<StripeInvoiceSubscriptionDetails>,
}

/// `invoice.parent.subscription_details`.
#[derive(Deserialize)]
struct StripeInvoiceSubscriptionDetails {
    #[serde(default)]
    subscription: Option<IdOrExpandedObject>,
}

/// `invoice.status_transitions` (Unix seconds).
#[derive(Deserialize)]
struct StripeInvoiceStatusTransitions {
    #[serde(default)]
    paid_at: Option<i64>,
}

/// Stripe's invoice `status` values.
const INVOICE_STATUSES: &[(&str, InvoiceStatus)] = &[
    ("draft", InvoiceStatus::Draft),
    ("open", InvoiceStatus::Open),
    ("paid", InvoiceStatus::Paid),
    ("uncollectible", InvoiceStatus::Uncollectible),
    ("void", InvoiceStatus::Void),
];

/// Translates the `data.object` of an `invoice.*` Event.
pub(crate) fn translate_invoice(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let invoice: StripeInvoice = parse_object(object, "data.object", "invoice")?;
    check_object_kind(invoice.object.as_deref(), "data.object", "invoice")?;
    let snapshot = InvoiceSnapshot {
        invoice: InvoiceId(required_text(invoice.id, "data.object.id")?),
        customer: optional_reference_id(&invoice.customer).map(CustomerId),
        subscription: invoice_subscription(&invoice.subscription, &invoice.parent)
            .map(SubscriptionId),
        currency: Currency::new(&required_text(invoice.currency, "data.object.currency")?),
        status: known_value(
            invoice.status.as_deref(),
            "data.object.status",
            INVOICE_STATUSES,
        )?,
        amount_due: required(invoice.amount_due, "data.object.amount_due")?,
        amount_paid: required(invoice.amount_paid, "data.object.amount_paid")?,
        amount_remaining: required(invoice.amount_remaining, "data.object.amount_remaining")?,
        paid_at: optional_unix_time(
            invoice.status_transitions.and_then(|t| t.paid_at),
            "data.object.status_transitions.paid_at",
        )?,
        billing_reason: invoice.billing_reason.filter(|reason| !reason.is_empty()),
    };
    Ok(DomainEvent::InvoiceObserved(InvoiceObserved {
        change,
        snapshot,
    }))
}

/// The invoice's subscription: the old top-level `subscription`, else the current
/// `parent.subscription_details.subscription` when the parent is a subscription (a parent of
/// another `type`, such as `quote_details`, is not read).
fn invoice_subscription(
    old_shape: &Option<IdOrExpandedObject>,
    parent: &Option<StripeInvoiceParent>,
) -> Option<String> {
    optional_reference_id(old_shape).or_else(|| {
        let parent = parent.as_ref()?;
        match parent.parent_type.as_deref() {
            None | Some("subscription_details") => {
                optional_reference_id(&parent.subscription_details.as_ref()?.subscription)
            }
            Some(_) => None,
        }
    })
}
