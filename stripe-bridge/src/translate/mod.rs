//! Translation of a Stripe Event body into Tally's domain events: pure, total (never panics,
//! every input gets a [`Translation`]) and independent of the API version the payload was
//! rendered in.
//!
//! Payloads are read into private, tolerant structs (every field optional) rather than a typed
//! Stripe SDK, because an SDK is pinned to one API version and Tally must read both the
//! pre-2025-03-31.basil shape and the current one (revenue-rules.md §0). The shape is detected
//! from the fields present, not from `api_version`.

mod catalog;
mod charge;
mod common;
mod customer;
mod discount;
mod entitlements;
pub(crate) mod envelope;
mod event_types;
mod invoice;
mod money_movements;
mod price;
mod subscription;
mod subscription_item;

pub use envelope::StripeEventEnvelope;
pub use event_types::{
    covered_event_types, ignored_reason, is_used_event_type, observed_change, used_event_types,
    StripeEventCoverage,
};

use event_types::{carried_resource, CarriedResource};
use ledger::domain::DomainEvent;

/// The outcome of reading one Stripe webhook body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// A used Event type, translated. `events` holds one domain event per Stripe Event, whose
    /// effective time is `envelope.created` (UTC).
    Translated {
        /// The Event's provenance.
        envelope: StripeEventEnvelope,
        /// The domain events to append (exactly one today).
        events: Vec<DomainEvent>,
    },
    /// A valid Event of a type Tally does not translate (see [`covered_event_types`]).
    Ignored {
        /// The Event's provenance.
        envelope: StripeEventEnvelope,
        /// Why, e.g. `event type payment_intent.succeeded is not used by Tally: a payment
        /// intent's money reaches the ledger through its charge ...` ([`ignored_reason`]).
        reason: String,
    },
    /// The body is not a readable Stripe Event, or its object lacks a field Tally needs.
    Unparsed {
        /// The Event id, when it could be read.
        stripe_event_id: Option<String>,
        /// The Event type, when it could be read.
        event_type: Option<String>,
        /// What is wrong, with the JSON path (e.g. `data.object.currency missing`).
        reason: String,
    },
}

/// Reads a webhook body (the raw bytes Stripe sent, already verified) and translates it.
///
/// Never panics. The effective time of the result is the Event's `created`.
pub fn translate(body: &[u8]) -> Translation {
    let parsed = match envelope::parse_event(body) {
        Ok(parsed) => parsed,
        Err(problem) => {
            return Translation::Unparsed {
                stripe_event_id: problem.stripe_event_id,
                event_type: problem.event_type,
                reason: problem.error.to_string(),
            }
        }
    };
    let envelope = parsed.envelope;
    let Some(resource) = carried_resource(&envelope.event_type) else {
        let reason = ignored_reason(&envelope.event_type).unwrap_or_default();
        return Translation::Ignored { envelope, reason };
    };
    let change = observed_change(&envelope.event_type);
    let object = &parsed.object;
    let translated = match resource {
        CarriedResource::Customer => customer::translate_customer(object, change),
        CarriedResource::Discount => discount::translate_discount(object, change),
        CarriedResource::Coupon => discount::translate_coupon(object, change),
        CarriedResource::Subscription => subscription::translate_subscription(object, change),
        CarriedResource::Invoice => invoice::translate_invoice(object, change),
        CarriedResource::Charge => charge::translate_charge(object, change),
        CarriedResource::Refund => money_movements::translate_refund(object, change),
        CarriedResource::Dispute => money_movements::translate_dispute(object, change),
        CarriedResource::CreditNote => money_movements::translate_credit_note(object, change),
        CarriedResource::InvoicePayment => {
            money_movements::translate_invoice_payment(object, change)
        }
        CarriedResource::Product => catalog::translate_product(object, change),
        CarriedResource::Price => catalog::translate_price(object, change),
        CarriedResource::ActiveEntitlementSummary => {
            entitlements::translate_active_entitlement_summary(object, change)
        }
    };
    match translated {
        Ok(event) => Translation::Translated {
            envelope,
            events: vec![event],
        },
        Err(error) => Translation::Unparsed {
            stripe_event_id: Some(envelope.id),
            event_type: Some(envelope.event_type),
            reason: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
