//! Outbound Stripe commands: what Tally was asked to make Stripe do, and what came of it.
//!
//! A command is appended first (`StripeCommandRequested`, stream `command-<uuid>`), then executed
//! by the outbox worker (`stripe_bridge::outbox`), which appends the outcome
//! (`StripeCommandSucceeded` / `StripeCommandFailed`) to the same stream. The idempotency key
//! sent to Stripe is derived from the command id alone ([`stripe_idempotency_key`]), so every
//! attempt, before or after a restart, is the same request to Stripe.
//!
//! Personal data: commands carry Stripe ids, amounts and Tally's own references, never names
//! or emails (set those in Stripe itself).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Currency, CustomerId, PriceId, SubscriptionId, SubscriptionItemId};

/// The prefix of the idempotency key Tally sends to Stripe for a command.
pub const STRIPE_IDEMPOTENCY_KEY_PREFIX: &str = "tally-cmd-";

/// The `Idempotency-Key` sent to Stripe for command `command_id`: `tally-cmd-<uuid>` (hyphenated,
/// lowercase). Stripe Events caused by the request carry it back as `request.idempotency_key`.
pub fn stripe_idempotency_key(command_id: Uuid) -> String {
    format!("{STRIPE_IDEMPOTENCY_KEY_PREFIX}{}", command_id.hyphenated())
}

/// The command id behind an idempotency key Tally sent (`tally-cmd-<uuid>`), or `None` for any
/// other key (requests made from Stripe's dashboard or other software).
pub fn command_id_from_idempotency_key(key: &str) -> Option<Uuid> {
    key.strip_prefix(STRIPE_IDEMPOTENCY_KEY_PREFIX)
        .and_then(|rest| Uuid::parse_str(rest).ok())
}

/// The stream of one command: `command-<uuid>`.
pub fn command_stream_id(command_id: Uuid) -> String {
    format!("command-{}", command_id.hyphenated())
}

/// The id of a command's `StripeCommandRequested` event: UUIDv5 of `requested` in the command
/// id's namespace, so a retried request derives the same id.
pub fn requested_event_id(command_id: Uuid) -> Uuid {
    Uuid::new_v5(&command_id, b"requested")
}

/// The id of a command's one outcome event (`StripeCommandSucceeded` or
/// `StripeCommandFailed`): UUIDv5 of `outcome` in the command id's namespace.
pub fn outcome_event_id(command_id: Uuid) -> Uuid {
    Uuid::new_v5(&command_id, b"outcome")
}

/// Stripe's `proration_behavior` for a price or quantity change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProrationBehavior {
    /// Prorate and add the prorations to the next invoice (Stripe's default).
    #[default]
    CreateProrations,
    /// No prorations.
    None,
    /// Prorate and invoice immediately.
    AlwaysInvoice,
}

impl ProrationBehavior {
    /// Stripe's name: `create_prorations`, `none`, `always_invoice`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateProrations => "create_prorations",
            Self::None => "none",
            Self::AlwaysInvoice => "always_invoice",
        }
    }
}

/// What a resume undoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResumeFrom {
    /// A cancellation scheduled at period end (`cancel_at_period_end` back to `false`).
    #[default]
    ScheduledCancellation,
    /// A paused subscription (Stripe's `POST /v1/subscriptions/{id}/resume`).
    Paused,
}

/// A command to Stripe, typed. Amounts are integer minor units of `currency`; ids are Stripe's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum StripeCommand {
    /// `POST /v1/customers`. `reference` is stored in the customer's metadata as
    /// `tally_reference` (e.g. your own account id), with any other `metadata`.
    CreateCustomer {
        /// Your reference for the customer (metadata `tally_reference`).
        reference: Option<String>,
        /// More metadata (key -> value, Stripe's limits: 50 keys, 40/500 characters).
        #[serde(default)]
        metadata: BTreeMap<String, String>,
    },
    /// `POST /v1/subscriptions` with one item.
    CreateSubscription {
        /// The Stripe customer (`cus_...`).
        customer: CustomerId,
        /// The recurring price (`price_...`).
        price: PriceId,
        /// The item's quantity (at least 1).
        quantity: u64,
        /// Trial length in days, if any.
        trial_period_days: Option<u32>,
        /// A coupon to apply (`discounts[0][coupon]`), if any.
        coupon: Option<String>,
    },
    /// `POST /v1/subscription_items/{id}`: a new price and/or quantity on one item.
    ChangeSubscriptionItem {
        /// The subscription item (`si_...`).
        subscription_item: SubscriptionItemId,
        /// The new price (`price_...`), if it changes.
        price: Option<PriceId>,
        /// The new quantity, if it changes.
        quantity: Option<u64>,
        /// How Stripe prorates the change.
        proration_behavior: ProrationBehavior,
    },
    /// Cancel now (`DELETE /v1/subscriptions/{id}`) or at period end
    /// (`POST /v1/subscriptions/{id}` with `cancel_at_period_end=true`).
    CancelSubscription {
        /// The subscription (`sub_...`).
        subscription: SubscriptionId,
        /// `true`: at the end of the current period; `false`: now.
        at_period_end: bool,
    },
    /// Undo a scheduled cancellation, or resume a paused subscription.
    ResumeSubscription {
        /// The subscription (`sub_...`).
        subscription: SubscriptionId,
        /// What is undone.
        from: ResumeFrom,
    },
    /// `POST /v1/billing/meter_events`: usage for a Billing Meter.
    RecordMeterEvent {
        /// The meter's `event_name`.
        event_name: String,
        /// The Stripe customer (`cus_...`), sent as `payload[stripe_customer_id]`.
        stripe_customer_id: CustomerId,
        /// The usage value, a decimal string as Stripe takes it (`payload[value]`, e.g. `"25"`).
        value: String,
        /// Stripe's dedupe key for the meter event (Tally: the usage increment's id).
        identifier: String,
        /// When the usage happened (UTC; sent as Unix seconds).
        timestamp: DateTime<Utc>,
    },
    /// `POST /v1/invoiceitems`: a one-off amount on the customer's next invoice.
    CreateInvoiceItem {
        /// The Stripe customer (`cus_...`).
        customer: CustomerId,
        /// Amount in minor units (negative for a credit).
        amount: i64,
        /// Its currency.
        currency: Currency,
        /// Shown on the invoice line.
        description: Option<String>,
    },
}

impl StripeCommand {
    /// Every command's name, as [`StripeCommand::name`] gives it (and serde tags it).
    pub const NAMES: &'static [&'static str] = &[
        "create_customer",
        "create_subscription",
        "change_subscription_item",
        "cancel_subscription",
        "resume_subscription",
        "record_meter_event",
        "create_invoice_item",
    ];

    /// The command's name as used in `POST /v1/commands/<name>` (`create_customer`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateCustomer { .. } => "create_customer",
            Self::CreateSubscription { .. } => "create_subscription",
            Self::ChangeSubscriptionItem { .. } => "change_subscription_item",
            Self::CancelSubscription { .. } => "cancel_subscription",
            Self::ResumeSubscription { .. } => "resume_subscription",
            Self::RecordMeterEvent { .. } => "record_meter_event",
            Self::CreateInvoiceItem { .. } => "create_invoice_item",
        }
    }

    /// Checks what Stripe would refuse anyway, so a bad command is rejected before it is
    /// stored: empty ids, quantity 0, a change that changes nothing, a non-decimal meter value.
    ///
    /// # Errors
    /// A message naming the field.
    pub fn validate(&self) -> Result<(), String> {
        fn non_empty(field: &str, value: &str) -> Result<(), String> {
            if value.trim().is_empty() {
                Err(format!("{field} must not be empty"))
            } else {
                Ok(())
            }
        }
        match self {
            Self::CreateCustomer { .. } => Ok(()),
            Self::CreateSubscription {
                customer,
                price,
                quantity,
                ..
            } => {
                non_empty("customer", customer.as_str())?;
                non_empty("price", price.as_str())?;
                if *quantity == 0 {
                    return Err("quantity must be at least 1".to_owned());
                }
                Ok(())
            }
            Self::ChangeSubscriptionItem {
                subscription_item,
                price,
                quantity,
                ..
            } => {
                non_empty("subscription_item", subscription_item.as_str())?;
                if price.is_none() && quantity.is_none() {
                    return Err("give a new price, a new quantity, or both".to_owned());
                }
                if let Some(price) = price {
                    non_empty("price", price.as_str())?;
                }
                Ok(())
            }
            Self::CancelSubscription { subscription, .. }
            | Self::ResumeSubscription { subscription, .. } => {
                non_empty("subscription", subscription.as_str())
            }
            Self::RecordMeterEvent {
                event_name,
                stripe_customer_id,
                value,
                identifier,
                ..
            } => {
                non_empty("event_name", event_name)?;
                non_empty("stripe_customer_id", stripe_customer_id.as_str())?;
                non_empty("identifier", identifier)?;
                if !is_plain_decimal(value) {
                    return Err(format!(
                        "value {value:?} is not a non-negative decimal number such as 25 or 0.5"
                    ));
                }
                Ok(())
            }
            Self::CreateInvoiceItem {
                customer, amount, ..
            } => {
                non_empty("customer", customer.as_str())?;
                if *amount == 0 {
                    return Err("amount must not be 0".to_owned());
                }
                Ok(())
            }
        }
    }
}

/// `true` for `digits[.digits]` (no sign, exponent or spaces): what a meter value may be.
fn is_plain_decimal(value: &str) -> bool {
    let (whole, fraction) = match value.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (value, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// Payload of `StripeCommandRequested` (stream `command-<command_id>`): a command accepted for
/// execution against Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeCommandRequested {
    /// The command's id (UUIDv7 from the API); the Stripe idempotency key derives from it.
    pub command_id: Uuid,
    /// What to do.
    pub command: StripeCommand,
    /// The API key id that asked (`None` when no key was required or for the CLI).
    pub requested_by: Option<String>,
    /// When it was accepted (UTC).
    pub requested_at: DateTime<Utc>,
}

/// Payload of `StripeCommandSucceeded`: Stripe accepted the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeCommandSucceeded {
    /// The command.
    pub command_id: Uuid,
    /// The id of the object Stripe created or changed (`cus_...`, `sub_...`, `si_...`,
    /// `ii_...`; for a meter event its `identifier`).
    pub stripe_object_id: String,
    /// Stripe's `object` name of it (`customer`, `subscription`, `billing.meter_event`, ...).
    pub stripe_object: String,
    /// HTTP requests made, this one included (1 = first try).
    pub attempts: u32,
    /// When the answer was received (UTC).
    pub completed_at: DateTime<Utc>,
}

/// Payload of `StripeCommandFailed`: Stripe refused the command for good (a 4xx that is not
/// retryable, or retries exhausted). Nothing was done in Stripe for a refused request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeCommandFailed {
    /// The command.
    pub command_id: Uuid,
    /// A stable code: Stripe's `error.code` (e.g. `resource_missing`), else `error.type`, else
    /// `http_<status>`, or Tally's `connection_error` / `retries_exhausted` / `unreadable_response`.
    pub code: String,
    /// Stripe's `error.message`, or what went wrong.
    pub message: String,
    /// The last HTTP status, if Stripe answered.
    pub http_status: Option<u16>,
    /// HTTP requests made.
    pub attempts: u32,
    /// When Tally gave up (UTC).
    pub failed_at: DateTime<Utc>,
}

/// Payload of `StripeCommandEchoed` (stream `command-<command_id>`): a Stripe Event caused by
/// the command's request reached Tally. Stripe puts the request's `Idempotency-Key` in every
/// Event the request caused (`request.idempotency_key`); Tally's keys are
/// `tally-cmd-<command id>` ([`stripe_idempotency_key`]), so the Event names its command. One
/// echo per Stripe Event; a command may have none (Stripe sends no Event for some calls, such
/// as meter events) or several (`customer.subscription.created`, `invoice.created`, ...).
/// Appended by ingestion beside the Event's own domain events, in the same statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeCommandEchoed {
    /// The command whose request caused the Event.
    pub command_id: Uuid,
    /// The Stripe Event (`evt_...`).
    pub stripe_event_id: String,
    /// Its type, e.g. `customer.subscription.created`.
    pub stripe_event_type: String,
    /// The Event's `created` (UTC).
    pub stripe_event_created: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idempotency_key_round_trips_and_ignores_foreign_keys() {
        let id = Uuid::parse_str("0190f5c4-8d5e-7b1a-9c3e-2f4a6b8c0d1e").unwrap();
        let key = stripe_idempotency_key(id);
        assert_eq!(key, "tally-cmd-0190f5c4-8d5e-7b1a-9c3e-2f4a6b8c0d1e");
        assert_eq!(command_id_from_idempotency_key(&key), Some(id));
        assert_eq!(command_id_from_idempotency_key("4b1c0a-dashboard"), None);
        assert_eq!(command_id_from_idempotency_key("tally-cmd-nope"), None);
    }

    #[test]
    fn names_lists_every_command_once_as_serde_tags_it() {
        let one_of_each = [
            StripeCommand::CreateCustomer {
                reference: None,
                metadata: BTreeMap::new(),
            },
            StripeCommand::CreateSubscription {
                customer: "cus_1".into(),
                price: "price_1".into(),
                quantity: 1,
                trial_period_days: None,
                coupon: None,
            },
            StripeCommand::ChangeSubscriptionItem {
                subscription_item: "si_1".into(),
                price: None,
                quantity: Some(2),
                proration_behavior: ProrationBehavior::None,
            },
            StripeCommand::CancelSubscription {
                subscription: "sub_1".into(),
                at_period_end: true,
            },
            StripeCommand::ResumeSubscription {
                subscription: "sub_1".into(),
                from: ResumeFrom::Paused,
            },
            StripeCommand::RecordMeterEvent {
                event_name: "api_calls".into(),
                stripe_customer_id: "cus_1".into(),
                value: "1".into(),
                identifier: "u1".into(),
                timestamp: DateTime::<Utc>::UNIX_EPOCH,
            },
            StripeCommand::CreateInvoiceItem {
                customer: "cus_1".into(),
                amount: 100,
                currency: Currency::new("usd"),
                description: None,
            },
        ];
        let names: Vec<&str> = one_of_each.iter().map(StripeCommand::name).collect();
        assert_eq!(names, StripeCommand::NAMES);
        for command in &one_of_each {
            assert_eq!(
                serde_json::to_value(command).unwrap()["name"],
                command.name()
            );
        }
    }

    #[test]
    fn validation_names_the_field() {
        let change = StripeCommand::ChangeSubscriptionItem {
            subscription_item: "si_1".into(),
            price: None,
            quantity: None,
            proration_behavior: ProrationBehavior::None,
        };
        assert!(change.validate().unwrap_err().contains("price"));
        let meter = StripeCommand::RecordMeterEvent {
            event_name: "api_calls".into(),
            stripe_customer_id: CustomerId::from("cus_1"),
            value: "1.5e3".into(),
            identifier: "u1".into(),
            timestamp: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert!(meter.validate().unwrap_err().contains("value"));
    }
}
