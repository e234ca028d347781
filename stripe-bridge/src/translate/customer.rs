//! `customer.created|updated|deleted` -> `CustomerObserved`. Only the id, the creation time
//! and the deleted flag are read: no names, emails or addresses ever leave this module.

use crate::error::PayloadError;
use crate::translate::common::{
    check_object_kind, parse_object, required, required_text, unix_time,
};
use ledger::domain::{CustomerId, CustomerObserved, CustomerSnapshot, DomainEvent, ObservedChange};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of a Stripe `customer` Tally reads (deliberately no personal data).
#[derive(Deserialize)]
struct StripeCustomer {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    created: Option<i64>,
    /// `true` on a deleted customer.
    #[serde(default)]
    deleted: Option<bool>,
}

/// Translates the `data.object` of a `customer.*` Event. The customer counts as deleted when
/// the event is `customer.deleted` or the object says `deleted: true`.
pub(crate) fn translate_customer(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    let customer: StripeCustomer = parse_object(object, "data.object", "customer")?;
    check_object_kind(customer.object.as_deref(), "data.object", "customer")?;
    let snapshot = CustomerSnapshot {
        customer: CustomerId(required_text(customer.id, "data.object.id")?),
        created: unix_time(
            required(customer.created, "data.object.created")?,
            "data.object.created",
        )?,
        deleted: change == ObservedChange::Deleted || customer.deleted == Some(true),
    };
    Ok(DomainEvent::CustomerObserved(CustomerObserved {
        change,
        snapshot,
    }))
}
