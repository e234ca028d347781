//! `charge.*` (succeeded, failed, refunded, captured, updated, pending, expired) ->
//! `ChargeObserved`: amounts and cumulative `amount_refunded` for the cash report's refunds.

use crate::error::PayloadError;
use crate::translate::common::{
    check_object_kind, optional_reference_id, parse_object, required, required_text,
    IdOrExpandedObject,
};
use ledger::domain::{
    ChargeId, ChargeObserved, ChargeSnapshot, Currency, CustomerId, DomainEvent, InvoiceId,
    ObservedChange,
};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of a Stripe `charge` Tally reads.
#[derive(Deserialize)]
struct StripeCharge {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    customer: Option<IdOrExpandedObject>,
    /// Absent from charges in recent API versions (payments link to invoices through
    /// `invoice_payment`); read when present.
    #[serde(default)]
    invoice: Option<IdOrExpandedObject>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    amount_refunded: Option<i64>,
    #[serde(default)]
    status: Option<String>,
}

/// Translates the `data.object` of a `charge.*` Event.
pub(crate) fn translate_charge(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let charge: StripeCharge = parse_object(object, "data.object", "charge")?;
    check_object_kind(charge.object.as_deref(), "data.object", "charge")?;
    let snapshot = ChargeSnapshot {
        charge: ChargeId(required_text(charge.id, "data.object.id")?),
        customer: optional_reference_id(&charge.customer).map(CustomerId),
        invoice: optional_reference_id(&charge.invoice).map(InvoiceId),
        currency: Currency::new(&required_text(charge.currency, "data.object.currency")?),
        amount: required(charge.amount, "data.object.amount")?,
        amount_refunded: required(charge.amount_refunded, "data.object.amount_refunded")?,
        status: required_text(charge.status, "data.object.status")?,
    };
    Ok(DomainEvent::ChargeObserved(ChargeObserved {
        change,
        snapshot,
    }))
}
