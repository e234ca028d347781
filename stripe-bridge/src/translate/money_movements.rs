//! `refund.*` / `charge.refund.updated` -> `RefundObserved`, `charge.dispute.*` ->
//! `DisputeObserved`, `credit_note.*` -> `CreditNoteObserved`, `invoice_payment.paid` ->
//! `InvoicePaymentObserved`: the money that moves around a paid invoice. Amounts are read as
//! Stripe sends them (integer minor units), times as UTC.

use crate::error::PayloadError;
use crate::translate::common::{
    check_object_kind, optional_reference_id, optional_unix_time, parse_object, required,
    required_text, unix_time, IdOrExpandedObject,
};
use ledger::domain::{
    ChargeId, CreditNoteId, CreditNoteObserved, CreditNoteSnapshot, Currency, CustomerId,
    DisputeId, DisputeObserved, DisputeSnapshot, DomainEvent, InvoiceId, InvoicePaymentId,
    InvoicePaymentObserved, InvoicePaymentSnapshot, ObservedChange, RefundId, RefundObserved,
    RefundSnapshot,
};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of a Stripe `refund` Tally reads.
#[derive(Deserialize)]
struct StripeRefund {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    charge: Option<IdOrExpandedObject>,
    #[serde(default)]
    payment_intent: Option<IdOrExpandedObject>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    created: Option<i64>,
}

/// Translates the `data.object` of a `refund.*` or `charge.refund.updated` Event.
pub(crate) fn translate_refund(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let refund: StripeRefund = parse_object(object, "data.object", "refund")?;
    check_object_kind(refund.object.as_deref(), "data.object", "refund")?;
    let snapshot = RefundSnapshot {
        refund: RefundId(required_text(refund.id, "data.object.id")?),
        charge: optional_reference_id(&refund.charge).map(ChargeId),
        payment_intent: optional_reference_id(&refund.payment_intent),
        currency: Currency::new(&required_text(refund.currency, "data.object.currency")?),
        amount: required(refund.amount, "data.object.amount")?,
        status: required_text(refund.status, "data.object.status")?,
        reason: refund.reason.filter(|reason| !reason.is_empty()),
        created: unix_time(
            required(refund.created, "data.object.created")?,
            "data.object.created",
        )?,
    };
    Ok(DomainEvent::RefundObserved(RefundObserved {
        change,
        snapshot,
    }))
}

/// The fields of a Stripe `dispute` Tally reads.
#[derive(Deserialize)]
struct StripeDispute {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    charge: Option<IdOrExpandedObject>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    created: Option<i64>,
}

/// Translates the `data.object` of a `charge.dispute.*` Event.
pub(crate) fn translate_dispute(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let dispute: StripeDispute = parse_object(object, "data.object", "dispute")?;
    check_object_kind(dispute.object.as_deref(), "data.object", "dispute")?;
    let snapshot = DisputeSnapshot {
        dispute: DisputeId(required_text(dispute.id, "data.object.id")?),
        charge: optional_reference_id(&dispute.charge).map(ChargeId),
        currency: Currency::new(&required_text(dispute.currency, "data.object.currency")?),
        amount: required(dispute.amount, "data.object.amount")?,
        status: required_text(dispute.status, "data.object.status")?,
        reason: dispute.reason.filter(|reason| !reason.is_empty()),
        created: unix_time(
            required(dispute.created, "data.object.created")?,
            "data.object.created",
        )?,
    };
    Ok(DomainEvent::DisputeObserved(DisputeObserved {
        change,
        snapshot,
    }))
}

/// The fields of a Stripe `credit_note` Tally reads.
#[derive(Deserialize)]
struct StripeCreditNote {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    invoice: Option<IdOrExpandedObject>,
    #[serde(default)]
    customer: Option<IdOrExpandedObject>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    total: Option<i64>,
    #[serde(default)]
    subtotal: Option<i64>,
    #[serde(default)]
    out_of_band_amount: Option<i64>,
    #[serde(default, rename = "type")]
    credit_note_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    effective_at: Option<i64>,
    #[serde(default)]
    created: Option<i64>,
}

/// Translates the `data.object` of a `credit_note.*` Event. Its effective time in the snapshot
/// is Stripe's `effective_at`, else `created`.
pub(crate) fn translate_credit_note(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let note: StripeCreditNote = parse_object(object, "data.object", "credit_note")?;
    check_object_kind(note.object.as_deref(), "data.object", "credit_note")?;
    let effective_at = match note.effective_at {
        Some(seconds) => unix_time(seconds, "data.object.effective_at")?,
        None => unix_time(
            required(note.created, "data.object.created")?,
            "data.object.created",
        )?,
    };
    let snapshot = CreditNoteSnapshot {
        credit_note: CreditNoteId(required_text(note.id, "data.object.id")?),
        invoice: optional_reference_id(&note.invoice).map(InvoiceId),
        customer: optional_reference_id(&note.customer).map(CustomerId),
        currency: Currency::new(&required_text(note.currency, "data.object.currency")?),
        total: required(note.total, "data.object.total")?,
        subtotal: note.subtotal,
        out_of_band_amount: note.out_of_band_amount,
        credit_note_type: required_text(note.credit_note_type, "data.object.type")?,
        status: required_text(note.status, "data.object.status")?,
        reason: note.reason.filter(|reason| !reason.is_empty()),
        effective_at,
    };
    Ok(DomainEvent::CreditNoteObserved(CreditNoteObserved {
        change,
        snapshot,
    }))
}

/// `invoice_payment.payment`: what paid the invoice.
#[derive(Deserialize)]
struct StripeInvoicePaymentPayment {
    #[serde(default)]
    charge: Option<IdOrExpandedObject>,
    #[serde(default)]
    payment_intent: Option<IdOrExpandedObject>,
}

/// `invoice_payment.status_transitions`.
#[derive(Deserialize)]
struct StripeInvoicePaymentTransitions {
    #[serde(default)]
    paid_at: Option<i64>,
}

/// The fields of a Stripe `invoice_payment` Tally reads.
#[derive(Deserialize)]
struct StripeInvoicePayment {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    invoice: Option<IdOrExpandedObject>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    amount_paid: Option<i64>,
    #[serde(default)]
    amount_requested: Option<i64>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    is_default: Option<bool>,
    #[serde(default)]
    payment: Option<StripeInvoicePaymentPayment>,
    #[serde(default)]
    status_transitions: Option<StripeInvoicePaymentTransitions>,
}

/// Translates the `data.object` of an `invoice_payment.paid` Event.
pub(crate) fn translate_invoice_payment(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let payment: StripeInvoicePayment = parse_object(object, "data.object", "invoice_payment")?;
    check_object_kind(payment.object.as_deref(), "data.object", "invoice_payment")?;
    let invoice = optional_reference_id(&payment.invoice)
        .ok_or_else(|| PayloadError::missing("data.object.invoice"))?;
    let paid_at = payment
        .status_transitions
        .as_ref()
        .and_then(|transitions| transitions.paid_at);
    let snapshot = InvoicePaymentSnapshot {
        invoice_payment: InvoicePaymentId(required_text(payment.id, "data.object.id")?),
        invoice: InvoiceId(invoice),
        currency: Currency::new(&required_text(payment.currency, "data.object.currency")?),
        amount_paid: payment.amount_paid,
        amount_requested: required(payment.amount_requested, "data.object.amount_requested")?,
        status: required_text(payment.status, "data.object.status")?,
        is_default: payment.is_default.unwrap_or(false),
        charge: payment
            .payment
            .as_ref()
            .and_then(|paid_by| optional_reference_id(&paid_by.charge))
            .map(ChargeId),
        payment_intent: payment
            .payment
            .as_ref()
            .and_then(|paid_by| optional_reference_id(&paid_by.payment_intent)),
        paid_at: optional_unix_time(paid_at, "data.object.status_transitions.paid_at")?,
    };
    Ok(DomainEvent::InvoicePaymentObserved(
        InvoicePaymentObserved { change, snapshot },
    ))
}
