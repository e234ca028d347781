//! `entitlements.active_entitlement_summary.updated` -> `ActiveEntitlementSummaryObserved`:
//! the customer id and the whole list of active entitlements (id, feature id, lookup_key).

use crate::error::PayloadError;
use crate::translate::common::{
    check_object_kind, optional_reference_id, parse_object, required, required_text,
    IdOrExpandedObject,
};
use ledger::domain::{
    ActiveEntitlement, ActiveEntitlementSummaryObserved, ActiveEntitlementSummarySnapshot,
    CustomerId, DomainEvent, ObservedChange,
};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One `entitlements.active_entitlement`.
#[derive(Deserialize)]
struct StripeActiveEntitlement {
    #[serde(default)]
    id: Option<String>,
    /// The feature id, or the expanded `entitlements.feature`.
    #[serde(default)]
    feature: Option<IdOrExpandedObject>,
    #[serde(default)]
    lookup_key: Option<String>,
}

/// `entitlements` of the summary: a Stripe list.
#[derive(Deserialize)]
struct StripeEntitlementList {
    #[serde(default)]
    data: Option<Vec<StripeActiveEntitlement>>,
    #[serde(default)]
    has_more: Option<bool>,
}

/// The fields of a Stripe `entitlements.active_entitlement_summary` Tally reads.
#[derive(Deserialize)]
struct StripeActiveEntitlementSummary {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    customer: Option<IdOrExpandedObject>,
    #[serde(default)]
    entitlements: Option<StripeEntitlementList>,
}

/// Translates the `data.object` of an `entitlements.active_entitlement_summary.updated` Event.
pub(crate) fn translate_active_entitlement_summary(
    object: &RawValue,
    change: ObservedChange,
) -> Result<DomainEvent, PayloadError> {
    const RESOURCE: &str = "entitlements.active_entitlement_summary";
    let summary: StripeActiveEntitlementSummary = parse_object(object, "data.object", RESOURCE)?;
    check_object_kind(summary.object.as_deref(), "data.object", RESOURCE)?;
    let customer = optional_reference_id(&summary.customer)
        .ok_or_else(|| PayloadError::missing("data.object.customer"))?;
    let list = required(summary.entitlements, "data.object.entitlements")?;
    let mut entitlements = Vec::new();
    for (index, entitlement) in list.data.unwrap_or_default().into_iter().enumerate() {
        let path = format!("data.object.entitlements.data[{index}]");
        entitlements.push(ActiveEntitlement {
            entitlement: required_text(entitlement.id, &format!("{path}.id"))?,
            feature: optional_reference_id(&entitlement.feature)
                .ok_or_else(|| PayloadError::missing(format!("{path}.feature")))?,
            lookup_key: required_text(entitlement.lookup_key, &format!("{path}.lookup_key"))?,
        });
    }
    let snapshot = ActiveEntitlementSummarySnapshot {
        customer: CustomerId(customer),
        entitlements,
        complete: !list.has_more.unwrap_or(false),
    };
    Ok(DomainEvent::ActiveEntitlementSummaryObserved(
        ActiveEntitlementSummaryObserved { change, snapshot },
    ))
}
