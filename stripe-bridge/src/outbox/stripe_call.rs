//! The outbound calls to Stripe (`StripeCall`) and the pure mapping from a log event to the call
//! it asks for ([`stripe_call_for_event`]). No I/O: the worker stores the call and sends it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ledger::domain::{DomainEvent, ProrationBehavior, ResumeFrom, StripeCommand};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One call to the Stripe API, in Stripe's terms. Ids are Stripe's; amounts are integer minor
/// units; `currency` is Stripe's lowercase ISO code. Stored as JSON in `stripe_outbox`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum StripeCall {
    /// `POST /v1/customers` with `metadata`.
    CreateCustomer {
        /// The customer's metadata.
        metadata: BTreeMap<String, String>,
    },
    /// `POST /v1/subscriptions` with one item (`items[0][price]`, `items[0][quantity]`),
    /// `trial_period_days` and `discounts[0][coupon]` when given.
    CreateSubscription {
        /// `cus_...`.
        customer: String,
        /// `price_...`.
        price: String,
        /// At least 1.
        quantity: u64,
        /// Trial days.
        trial_period_days: Option<u32>,
        /// A coupon id.
        coupon: Option<String>,
    },
    /// `POST /v1/subscription_items/{id}` with `price`, `quantity`, `proration_behavior`.
    UpdateSubscriptionItem {
        /// `si_...`.
        subscription_item: String,
        /// New price.
        price: Option<String>,
        /// New quantity.
        quantity: Option<u64>,
        /// Stripe's proration behaviour.
        proration_behavior: ProrationBehavior,
    },
    /// `DELETE /v1/subscriptions/{id}`: cancel now.
    CancelSubscription {
        /// `sub_...`.
        subscription: String,
    },
    /// `POST /v1/subscriptions/{id}` with `cancel_at_period_end` (true: cancel at period end;
    /// false: undo that).
    SetCancelAtPeriodEnd {
        /// `sub_...`.
        subscription: String,
        /// The new flag.
        cancel_at_period_end: bool,
    },
    /// `POST /v1/subscriptions/{id}/resume`: resume a paused subscription.
    ResumeSubscription {
        /// `sub_...`.
        subscription: String,
    },
    /// `POST /v1/billing/meter_events` with `event_name`, `payload[stripe_customer_id]`,
    /// `payload[value]`, `identifier` (Stripe dedupes on it within 24 h) and `timestamp`.
    RecordMeterEvent {
        /// The meter's event name.
        event_name: String,
        /// `cus_...`.
        stripe_customer_id: String,
        /// A decimal string (`"25"`, `"0.5"`).
        value: String,
        /// The meter event's identifier (Tally: the usage increment's id).
        identifier: String,
        /// When the usage happened (UTC; Stripe takes Unix seconds, within the past 35 days).
        timestamp: DateTime<Utc>,
    },
    /// `POST /v1/invoiceitems` with `customer`, `amount`, `currency`, `description`.
    CreateInvoiceItem {
        /// `cus_...`.
        customer: String,
        /// Minor units (negative: a credit).
        amount: i64,
        /// Lowercase ISO code.
        currency: String,
        /// Shown on the invoice.
        description: Option<String>,
    },
}

impl StripeCall {
    /// The call that carries out `command`.
    pub fn from_command(command: &StripeCommand) -> Self {
        match command {
            StripeCommand::CreateCustomer {
                reference,
                metadata,
            } => {
                let mut metadata = metadata.clone();
                if let Some(reference) = reference {
                    metadata.insert("tally_reference".to_owned(), reference.clone());
                }
                Self::CreateCustomer { metadata }
            }
            StripeCommand::CreateSubscription {
                customer,
                price,
                quantity,
                trial_period_days,
                coupon,
            } => Self::CreateSubscription {
                customer: customer.0.clone(),
                price: price.0.clone(),
                quantity: *quantity,
                trial_period_days: *trial_period_days,
                coupon: coupon.clone(),
            },
            StripeCommand::ChangeSubscriptionItem {
                subscription_item,
                price,
                quantity,
                proration_behavior,
            } => Self::UpdateSubscriptionItem {
                subscription_item: subscription_item.0.clone(),
                price: price.as_ref().map(|price| price.0.clone()),
                quantity: *quantity,
                proration_behavior: *proration_behavior,
            },
            StripeCommand::CancelSubscription {
                subscription,
                at_period_end: false,
            } => Self::CancelSubscription {
                subscription: subscription.0.clone(),
            },
            StripeCommand::CancelSubscription {
                subscription,
                at_period_end: true,
            } => Self::SetCancelAtPeriodEnd {
                subscription: subscription.0.clone(),
                cancel_at_period_end: true,
            },
            StripeCommand::ResumeSubscription {
                subscription,
                from: ResumeFrom::ScheduledCancellation,
            } => Self::SetCancelAtPeriodEnd {
                subscription: subscription.0.clone(),
                cancel_at_period_end: false,
            },
            StripeCommand::ResumeSubscription {
                subscription,
                from: ResumeFrom::Paused,
            } => Self::ResumeSubscription {
                subscription: subscription.0.clone(),
            },
            StripeCommand::RecordMeterEvent {
                event_name,
                stripe_customer_id,
                value,
                identifier,
                timestamp,
            } => Self::RecordMeterEvent {
                event_name: event_name.clone(),
                stripe_customer_id: stripe_customer_id.0.clone(),
                value: value.clone(),
                identifier: identifier.clone(),
                timestamp: *timestamp,
            },
            StripeCommand::CreateInvoiceItem {
                customer,
                amount,
                currency,
                description,
            } => Self::CreateInvoiceItem {
                customer: customer.0.clone(),
                amount: *amount,
                currency: currency.as_str().to_ascii_lowercase(),
                description: description.clone(),
            },
        }
    }

    /// The call as stored JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a StripeCall is plain data and always serializes")
    }
}

/// The outbound call a log event asks for, with the command id it is executed (and its outcome
/// recorded) under:
/// - `StripeCommandRequested` -> its command;
/// - `UsageIncrementRecorded` (issue 6) -> a Billing Meter event under the increment's event id
///   (UUIDv5 of its idempotency key), with the increment's idempotency key as the meter event
///   `identifier` (Stripe deduplicates on it too), the Tally meter name as the Stripe meter's
///   `event_name`, and the quantity as a plain decimal string.
///
/// Every other event -> `None`. Pure. The outcome is appended to stream `command-<that id>`.
pub fn stripe_call_for_event(event: &DomainEvent) -> Option<(Uuid, StripeCall)> {
    match event {
        DomainEvent::StripeCommandRequested(requested) => Some((
            requested.command_id,
            StripeCall::from_command(&requested.command),
        )),
        DomainEvent::UsageIncrementRecorded(increment) => Some((
            increment.event_id(),
            StripeCall::RecordMeterEvent {
                event_name: increment.meter.clone(),
                stripe_customer_id: increment.customer.0.clone(),
                value: increment.quantity.normalize().to_string(),
                identifier: increment.idempotency_key.clone(),
                timestamp: increment.timestamp,
            },
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use ledger::domain::usage::UsageIncrementRecorded;
    use ledger::domain::CustomerId;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn a_usage_increment_becomes_a_meter_event_keyed_by_its_idempotency_key() {
        let increment = UsageIncrementRecorded {
            customer: CustomerId("cus_meter".to_owned()),
            meter: "api_requests".to_owned(),
            quantity: Decimal::from_str("2.500").expect("decimal"),
            timestamp: Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap(),
            idempotency_key: "req-42".to_owned(),
        };
        let (command_id, call) =
            stripe_call_for_event(&DomainEvent::UsageIncrementRecorded(increment.clone()))
                .expect("usage is forwarded");
        assert_eq!(command_id, increment.event_id());
        assert_eq!(
            call,
            StripeCall::RecordMeterEvent {
                event_name: "api_requests".to_owned(),
                stripe_customer_id: "cus_meter".to_owned(),
                value: "2.5".to_owned(),
                identifier: "req-42".to_owned(),
                timestamp: increment.timestamp,
            }
        );
    }
}
