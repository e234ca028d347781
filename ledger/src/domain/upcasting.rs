//! Schema evolution: every stored event keeps the `event_type` and `schema_version` it was
//! written with, forever. Reading applies upcasters — one step per version, each rewriting a
//! payload of version n as version n + 1 — until the current version of the type, and only
//! then deserializes into [`crate::domain::DomainEvent`]. Stored events are never rewritten.
//!
//! To change a stored shape: bump the type's version in [`EVENT_TYPES`], write the step from the
//! previous version (a pure function on `serde_json::Value`) and list it in [`UPCASTERS`], and
//! add the new version's sample under `ledger/tests/fixtures/event-samples/` (older samples are
//! never edited). ARCHITECTURE.md, "Schema evolution", says more.

use crate::domain::DomainEventError;
use serde_json::Value;

/// Every domain event type this build knows, with the schema version it writes.
pub const EVENT_TYPES: &[(&str, i32)] = &[
    ("CustomerObserved", 1),
    ("SubscriptionObserved", 2),
    ("DiscountObserved", 1),
    ("InvoiceObserved", 1),
    ("ChargeObserved", 1),
    ("CouponObserved", 1),
    ("RefundObserved", 1),
    ("DisputeObserved", 1),
    ("CreditNoteObserved", 1),
    ("InvoicePaymentObserved", 1),
    ("ProductObserved", 1),
    ("PriceObserved", 1),
    ("ActiveEntitlementSummaryObserved", 1),
    ("StripeCommandRequested", 1),
    ("StripeCommandSucceeded", 1),
    ("StripeCommandFailed", 1),
    ("StripeCommandEchoed", 1),
    ("UsageIncrementRecorded", 1),
    ("CatalogChanged", 1),
];

/// One upcasting step: a payload of `event_type` at `from_version`, rewritten as
/// `from_version + 1`. Pure; returns why the payload cannot be upcast (its shape is wrong).
#[derive(Debug, Clone, Copy)]
pub struct Upcaster {
    /// The stored event type.
    pub event_type: &'static str,
    /// The version the step reads; it writes `from_version + 1`.
    pub from_version: i32,
    /// The rewrite.
    pub upcast: fn(Value) -> Result<Value, String>,
}

/// Every upcasting step, at most one per `(event_type, from_version)`.
pub const UPCASTERS: &[Upcaster] = &[Upcaster {
    event_type: "SubscriptionObserved",
    from_version: 1,
    upcast: subscription_observed_v1_to_v2,
}];

/// The schema version this build writes for `event_type`; `None` for a type it does not know.
pub fn current_schema_version(event_type: &str) -> Option<i32> {
    EVENT_TYPES
        .iter()
        .find(|(known, _)| *known == event_type)
        .map(|(_, version)| *version)
}

/// Upcasts a stored payload of `event_type` at `schema_version` to the type's current version,
/// one step at a time.
///
/// Errors: [`DomainEventError::UnknownType`] for a type this build does not know, or a version
/// below 1; [`DomainEventError::FutureVersion`] for a version above the current one (written by
/// a newer build: never guessed at); [`DomainEventError::MissingUpcaster`] when a step of the
/// chain is not registered (a bug, caught by the event-sample tests);
/// [`DomainEventError::UpcastFailed`] when a step refuses the payload.
pub fn upcast_to_current(
    event_type: &str,
    schema_version: i32,
    payload: Value,
) -> Result<Value, DomainEventError> {
    let Some(current) = current_schema_version(event_type).filter(|_| schema_version >= 1) else {
        return Err(DomainEventError::UnknownType {
            event_type: event_type.to_owned(),
            schema_version,
        });
    };
    if schema_version > current {
        return Err(DomainEventError::FutureVersion {
            event_type: event_type.to_owned(),
            schema_version,
            current,
        });
    }
    let mut payload = payload;
    for from_version in schema_version..current {
        let step = UPCASTERS
            .iter()
            .find(|step| step.event_type == event_type && step.from_version == from_version)
            .ok_or_else(|| DomainEventError::MissingUpcaster {
                event_type: event_type.to_owned(),
                from_version,
            })?;
        payload = (step.upcast)(payload).map_err(|reason| DomainEventError::UpcastFailed {
            event_type: event_type.to_owned(),
            from_version,
            reason,
        })?;
    }
    Ok(payload)
}

/// `SubscriptionObserved` v1 -> v2: the price terms the revenue rules read are explicit.
///
/// v1 let an item's `tiers_mode` be null on a `tiered` price and `unit_amount_decimal` be null
/// on a `per_unit` price, and the rules read those as `volume` and `0`. v2 never stores either
/// null (the translator refuses such a price, as Stripe never sends one for a recurring price);
/// this step writes the values the rules used to assume, so no figure changes.
fn subscription_observed_v1_to_v2(mut payload: Value) -> Result<Value, String> {
    let items = payload
        .pointer_mut("/snapshot/items")
        .and_then(Value::as_array_mut)
        .ok_or("snapshot.items is not an array")?;
    for (index, item) in items.iter_mut().enumerate() {
        let item = item
            .as_object_mut()
            .ok_or_else(|| format!("snapshot.items[{index}] is not an object"))?;
        let (field, default) = match item.get("billing_scheme").and_then(Value::as_str) {
            Some("tiered") => ("tiers_mode", "volume"),
            Some("per_unit") => ("unit_amount_decimal", "0"),
            other => {
                return Err(format!(
                    "snapshot.items[{index}].billing_scheme is {other:?}, not per_unit or tiered"
                ))
            }
        };
        let value = item.entry(field).or_insert(Value::Null);
        if value.is_null() {
            *value = Value::from(default);
        }
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_upcaster_steps_within_a_known_type_below_its_current_version() {
        for step in UPCASTERS {
            let current = current_schema_version(step.event_type).expect(step.event_type);
            assert!(
                (1..current).contains(&step.from_version),
                "{} v{}",
                step.event_type,
                step.from_version
            );
            let duplicates = UPCASTERS
                .iter()
                .filter(|other| {
                    other.event_type == step.event_type && other.from_version == step.from_version
                })
                .count();
            assert_eq!(duplicates, 1, "{} v{}", step.event_type, step.from_version);
        }
    }

    #[test]
    fn a_current_payload_is_returned_unchanged() {
        let payload = json!({"change": "created"});
        let upcast = upcast_to_current("CustomerObserved", 1, payload.clone()).unwrap();
        assert_eq!(upcast, payload);
    }

    #[test]
    fn a_future_version_or_an_unknown_type_is_refused_never_misread() {
        let future = upcast_to_current("SubscriptionObserved", 3, json!({})).unwrap_err();
        assert!(matches!(
            future,
            DomainEventError::FutureVersion {
                schema_version: 3,
                current: 2,
                ..
            }
        ));
        assert!(future.to_string().contains("newer"), "{future}");
        let unknown = upcast_to_current("InvoiceVoided", 1, json!({})).unwrap_err();
        assert!(matches!(unknown, DomainEventError::UnknownType { .. }));
        let zero = upcast_to_current("CustomerObserved", 0, json!({})).unwrap_err();
        assert!(matches!(zero, DomainEventError::UnknownType { .. }));
    }

    #[test]
    fn subscription_v1_items_get_the_terms_the_rules_assumed() {
        let v1 = json!({"change": "updated", "snapshot": {"items": [
            {"billing_scheme": "tiered", "tiers_mode": null, "unit_amount_decimal": null},
            {"billing_scheme": "tiered", "tiers_mode": "graduated", "unit_amount_decimal": null},
            {"billing_scheme": "per_unit", "tiers_mode": null, "unit_amount_decimal": null},
            {"billing_scheme": "per_unit", "tiers_mode": null, "unit_amount_decimal": "12.5"},
        ]}});
        let v2 = upcast_to_current("SubscriptionObserved", 1, v1).unwrap();
        let items = v2["snapshot"]["items"].as_array().unwrap();
        assert_eq!(items[0]["tiers_mode"], "volume");
        assert_eq!(items[0]["unit_amount_decimal"], Value::Null);
        assert_eq!(items[1]["tiers_mode"], "graduated");
        assert_eq!(items[2]["unit_amount_decimal"], "0");
        assert_eq!(items[2]["tiers_mode"], Value::Null);
        assert_eq!(items[3]["unit_amount_decimal"], "12.5");
    }

    #[test]
    fn a_v1_subscription_of_the_wrong_shape_is_refused_with_the_path() {
        let error = upcast_to_current(
            "SubscriptionObserved",
            1,
            json!({"snapshot": {"items": [{"billing_scheme": "flat"}]}}),
        )
        .unwrap_err();
        assert!(matches!(
            error,
            DomainEventError::UpcastFailed {
                from_version: 1,
                ..
            }
        ));
        assert!(
            error.to_string().contains("items[0].billing_scheme"),
            "{error}"
        );
    }
}
