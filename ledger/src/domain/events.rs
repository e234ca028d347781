//! Tally's domain events: facts observed about billing objects, independent of Stripe's API
//! version. Each is stored in the stream of the object it describes, at the effective time of
//! its source (the Stripe Event's `created`).
//!
//! Persisted shapes are an API: never change one in place. Add a new schema version and an
//! upcaster ([`crate::domain::upcasting`]); [`DomainEvent::from_stored`] applies them.

use crate::domain::catalog::{CatalogChanged, CATALOG_STREAM};
use crate::domain::stripe_command::command_stream_id;
use crate::domain::upcasting::{current_schema_version, upcast_to_current};
use crate::domain::usage::UsageIncrementRecorded;
use crate::domain::{
    ActiveEntitlementSummarySnapshot, ChargeSnapshot, Coupon, CreditNoteSnapshot, CustomerId,
    CustomerSnapshot, DiscountSnapshot, DisputeSnapshot, InvoicePaymentSnapshot, InvoiceSnapshot,
    ObservedChange, PriceSnapshot, ProductSnapshot, RefundSnapshot, StripeCommandEchoed,
    StripeCommandFailed, StripeCommandRequested, StripeCommandSucceeded, SubscriptionSnapshot,
};
use serde::{Deserialize, Serialize};

/// A domain event. The variant is the stored `event_type`; the inner struct is the stored
/// JSON payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// A customer was created, updated or deleted.
    CustomerObserved(CustomerObserved),
    /// A subscription snapshot (created, updated, deleted, ...).
    SubscriptionObserved(SubscriptionObserved),
    /// A discount snapshot (created, updated, deleted).
    DiscountObserved(DiscountObserved),
    /// An invoice snapshot (created, finalized, paid, ...).
    InvoiceObserved(InvoiceObserved),
    /// A charge snapshot (succeeded, refunded, ...).
    ChargeObserved(ChargeObserved),
    /// A coupon's terms (created, updated, deleted): what discounts that name only the coupon's
    /// id are worth.
    CouponObserved(CouponObserved),
    /// A refund snapshot (`refund.*`: created, updated, failed).
    RefundObserved(RefundObserved),
    /// A dispute snapshot (`charge.dispute.*`).
    DisputeObserved(DisputeObserved),
    /// A credit note snapshot (`credit_note.*`: created, updated, voided).
    CreditNoteObserved(CreditNoteObserved),
    /// An invoice payment snapshot (`invoice_payment.paid`).
    InvoicePaymentObserved(InvoicePaymentObserved),
    /// A product snapshot (`product.*`).
    ProductObserved(ProductObserved),
    /// A price snapshot (`price.*`).
    PriceObserved(PriceObserved),
    /// A customer's whole list of active entitlements
    /// (`entitlements.active_entitlement_summary.updated`).
    ActiveEntitlementSummaryObserved(ActiveEntitlementSummaryObserved),
    /// A command to Stripe was accepted (stream `command-<uuid>`); the outbox worker executes it.
    StripeCommandRequested(StripeCommandRequested),
    /// Stripe accepted a command (same stream).
    StripeCommandSucceeded(StripeCommandSucceeded),
    /// Stripe refused a command for good, or retries were exhausted (same stream).
    StripeCommandFailed(StripeCommandFailed),
    /// A Stripe Event caused by a command's request reached Tally (same stream): the webhook
    /// echo, linked through the request's idempotency key.
    StripeCommandEchoed(StripeCommandEchoed),
    /// A metered quantity a customer used (`POST /v1/usage`).
    UsageIncrementRecorded(UsageIncrementRecorded),
    /// A new version of the entitlement catalog (`tally catalog apply`).
    CatalogChanged(CatalogChanged),
}

/// Payload of `CustomerObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The customer as observed.
    pub snapshot: CustomerSnapshot,
}

/// Payload of `SubscriptionObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The subscription as observed.
    pub snapshot: SubscriptionSnapshot,
}

/// Payload of `DiscountObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountObserved {
    /// What happened (`Deleted` is a removal).
    pub change: ObservedChange,
    /// The discount as observed.
    pub snapshot: DiscountSnapshot,
}

/// Payload of `InvoiceObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The invoice as observed.
    pub snapshot: InvoiceSnapshot,
}

/// Payload of `ChargeObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The charge as observed.
    pub snapshot: ChargeSnapshot,
}

/// Payload of `CouponObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponObserved {
    /// What happened (a deleted coupon's terms still apply to discounts already redeemed).
    pub change: ObservedChange,
    /// The coupon's terms.
    pub snapshot: Coupon,
}

/// Payload of `RefundObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The refund as observed.
    pub snapshot: RefundSnapshot,
}

/// Payload of `DisputeObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The dispute as observed.
    pub snapshot: DisputeSnapshot,
}

/// Payload of `CreditNoteObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNoteObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The credit note as observed (`status: void` once voided).
    pub snapshot: CreditNoteSnapshot,
}

/// Payload of `InvoicePaymentObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePaymentObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The invoice payment as observed.
    pub snapshot: InvoicePaymentSnapshot,
}

/// Payload of `ProductObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The product as observed.
    pub snapshot: ProductSnapshot,
}

/// Payload of `PriceObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The price as observed.
    pub snapshot: PriceSnapshot,
}

/// Payload of `ActiveEntitlementSummaryObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveEntitlementSummaryObserved {
    /// What happened.
    pub change: ObservedChange,
    /// The customer's active entitlements, replacing any earlier list.
    pub snapshot: ActiveEntitlementSummarySnapshot,
}

/// Why a stored event could not be read back as a [`DomainEvent`].
#[derive(Debug, thiserror::Error)]
pub enum DomainEventError {
    /// The stored `event_type` is not one this build knows (or its `schema_version` is below 1).
    #[error("unknown event type {event_type} v{schema_version}")]
    UnknownType {
        /// Stored event type.
        event_type: String,
        /// Stored schema version.
        schema_version: i32,
    },
    /// The stored `schema_version` is above the current version of its type: a newer build
    /// wrote it. Never read by guessing; run the newer build.
    #[error("{event_type} v{schema_version} was written by a newer build (this one reads up to v{current})")]
    FutureVersion {
        /// Stored event type.
        event_type: String,
        /// Stored schema version.
        schema_version: i32,
        /// The newest version this build reads.
        current: i32,
    },
    /// No upcaster reads `event_type` at `from_version` (a gap in
    /// [`crate::domain::upcasting::UPCASTERS`]: a bug).
    #[error("no upcaster from {event_type} v{from_version}")]
    MissingUpcaster {
        /// Stored event type.
        event_type: String,
        /// The version without a next step.
        from_version: i32,
    },
    /// An upcaster refused the payload (it does not have the shape of its version).
    #[error("cannot upcast {event_type} v{from_version}: {reason}")]
    UpcastFailed {
        /// Stored event type.
        event_type: String,
        /// The version the failing step reads.
        from_version: i32,
        /// What is wrong, with the JSON path.
        reason: String,
    },
    /// The payload, upcast to the current version, does not match its schema.
    #[error("payload of {event_type} does not match its schema: {source}")]
    BadPayload {
        /// Stored event type.
        event_type: String,
        /// The serde error.
        source: serde_json::Error,
    },
}

impl DomainEvent {
    /// The stored `event_type` name.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::CustomerObserved(_) => "CustomerObserved",
            Self::SubscriptionObserved(_) => "SubscriptionObserved",
            Self::DiscountObserved(_) => "DiscountObserved",
            Self::InvoiceObserved(_) => "InvoiceObserved",
            Self::ChargeObserved(_) => "ChargeObserved",
            Self::CouponObserved(_) => "CouponObserved",
            Self::RefundObserved(_) => "RefundObserved",
            Self::DisputeObserved(_) => "DisputeObserved",
            Self::CreditNoteObserved(_) => "CreditNoteObserved",
            Self::InvoicePaymentObserved(_) => "InvoicePaymentObserved",
            Self::ProductObserved(_) => "ProductObserved",
            Self::PriceObserved(_) => "PriceObserved",
            Self::ActiveEntitlementSummaryObserved(_) => "ActiveEntitlementSummaryObserved",
            Self::StripeCommandRequested(_) => "StripeCommandRequested",
            Self::StripeCommandSucceeded(_) => "StripeCommandSucceeded",
            Self::StripeCommandFailed(_) => "StripeCommandFailed",
            Self::StripeCommandEchoed(_) => "StripeCommandEchoed",
            Self::UsageIncrementRecorded(_) => "UsageIncrementRecorded",
            Self::CatalogChanged(_) => "CatalogChanged",
        }
    }

    /// The schema version this build writes for the event's type
    /// ([`crate::domain::upcasting::EVENT_TYPES`]).
    pub fn schema_version(&self) -> i32 {
        current_schema_version(self.event_type())
            .expect("every DomainEvent variant is listed in EVENT_TYPES")
    }

    /// The stream the event belongs to: one stream per billing object, e.g.
    /// `subscription-sub_123`, `invoice-in_123`, `refund-re_123`, `credit_note-cn_123`,
    /// `invoice_payment-inpay_123`, `price-price_123`; a customer's active entitlements live in
    /// `entitlements-cus_123`.
    pub fn stream_id(&self) -> String {
        match self {
            Self::CustomerObserved(e) => format!("customer-{}", e.snapshot.customer),
            Self::SubscriptionObserved(e) => format!("subscription-{}", e.snapshot.subscription),
            Self::DiscountObserved(e) => format!("discount-{}", e.snapshot.discount),
            Self::InvoiceObserved(e) => format!("invoice-{}", e.snapshot.invoice),
            Self::ChargeObserved(e) => format!("charge-{}", e.snapshot.charge),
            Self::CouponObserved(e) => format!("coupon-{}", e.snapshot.id),
            Self::RefundObserved(e) => format!("refund-{}", e.snapshot.refund),
            Self::DisputeObserved(e) => format!("dispute-{}", e.snapshot.dispute),
            Self::CreditNoteObserved(e) => format!("credit_note-{}", e.snapshot.credit_note),
            Self::InvoicePaymentObserved(e) => {
                format!("invoice_payment-{}", e.snapshot.invoice_payment)
            }
            Self::ProductObserved(e) => format!("product-{}", e.snapshot.product),
            Self::PriceObserved(e) => format!("price-{}", e.snapshot.price),
            Self::ActiveEntitlementSummaryObserved(e) => {
                format!("entitlements-{}", e.snapshot.customer)
            }
            Self::StripeCommandRequested(e) => command_stream_id(e.command_id),
            Self::StripeCommandSucceeded(e) => command_stream_id(e.command_id),
            Self::StripeCommandFailed(e) => command_stream_id(e.command_id),
            Self::StripeCommandEchoed(e) => command_stream_id(e.command_id),
            Self::UsageIncrementRecorded(e) => format!("usage-{}", e.customer),
            Self::CatalogChanged(_) => CATALOG_STREAM.to_owned(),
        }
    }

    /// The customer the event is about, when known.
    pub fn customer(&self) -> Option<&CustomerId> {
        match self {
            Self::CustomerObserved(e) => Some(&e.snapshot.customer),
            Self::SubscriptionObserved(e) => Some(&e.snapshot.customer),
            Self::DiscountObserved(e) => e.snapshot.customer.as_ref(),
            Self::InvoiceObserved(e) => e.snapshot.customer.as_ref(),
            Self::ChargeObserved(e) => e.snapshot.customer.as_ref(),
            Self::CreditNoteObserved(e) => e.snapshot.customer.as_ref(),
            Self::ActiveEntitlementSummaryObserved(e) => Some(&e.snapshot.customer),
            Self::CouponObserved(_)
            | Self::RefundObserved(_)
            | Self::DisputeObserved(_)
            | Self::InvoicePaymentObserved(_)
            | Self::ProductObserved(_)
            | Self::PriceObserved(_) => None,
            // Commands are not facts about a customer's billing; their audit is the command stream.
            Self::StripeCommandRequested(_)
            | Self::StripeCommandSucceeded(_)
            | Self::StripeCommandFailed(_)
            | Self::StripeCommandEchoed(_) => None,
            Self::UsageIncrementRecorded(e) => Some(&e.customer),
            Self::CatalogChanged(_) => None,
        }
    }

    /// The JSON payload to store.
    pub fn to_payload(&self) -> serde_json::Value {
        let value = match self {
            Self::CustomerObserved(e) => serde_json::to_value(e),
            Self::SubscriptionObserved(e) => serde_json::to_value(e),
            Self::DiscountObserved(e) => serde_json::to_value(e),
            Self::InvoiceObserved(e) => serde_json::to_value(e),
            Self::ChargeObserved(e) => serde_json::to_value(e),
            Self::CouponObserved(e) => serde_json::to_value(e),
            Self::RefundObserved(e) => serde_json::to_value(e),
            Self::DisputeObserved(e) => serde_json::to_value(e),
            Self::CreditNoteObserved(e) => serde_json::to_value(e),
            Self::InvoicePaymentObserved(e) => serde_json::to_value(e),
            Self::ProductObserved(e) => serde_json::to_value(e),
            Self::PriceObserved(e) => serde_json::to_value(e),
            Self::ActiveEntitlementSummaryObserved(e) => serde_json::to_value(e),
            Self::StripeCommandRequested(e) => serde_json::to_value(e),
            Self::StripeCommandSucceeded(e) => serde_json::to_value(e),
            Self::StripeCommandFailed(e) => serde_json::to_value(e),
            Self::StripeCommandEchoed(e) => serde_json::to_value(e),
            Self::UsageIncrementRecorded(e) => serde_json::to_value(e),
            Self::CatalogChanged(e) => serde_json::to_value(e),
        };
        value.expect("domain events are plain data and always serialize")
    }

    /// Reads a stored event back: upcasts its payload from `schema_version` to the current
    /// version of its type ([`crate::domain::upcasting`]), then deserializes it.
    ///
    /// Errors: [`DomainEventError::UnknownType`] for a type this build does not know,
    /// [`DomainEventError::FutureVersion`] for a version newer than this build's,
    /// [`DomainEventError::MissingUpcaster`] / [`DomainEventError::UpcastFailed`] when upcasting
    /// fails, [`DomainEventError::BadPayload`] when the upcast payload does not match.
    pub fn from_stored(
        event_type: &str,
        schema_version: i32,
        payload: serde_json::Value,
    ) -> Result<Self, DomainEventError> {
        let payload = upcast_to_current(event_type, schema_version, payload)?;
        Self::from_current(event_type, schema_version, payload)
    }

    /// Reads a stored event back from its payload's JSON text (what the log stores): like
    /// [`DomainEvent::from_stored`], but a payload already at its type's current schema version
    /// is deserialized straight from the text into its type, without building a
    /// `serde_json::Value` tree first (the tree cost ~7 us of a 1.3 KB payload's decode, more
    /// than the typed decode itself). Older versions go through the upcasters as JSON trees.
    ///
    /// Errors: as [`DomainEvent::from_stored`]; [`DomainEventError::BadPayload`] also for text
    /// that is not JSON.
    pub fn from_stored_text(
        event_type: &str,
        schema_version: i32,
        payload: &str,
    ) -> Result<Self, DomainEventError> {
        if current_schema_version(event_type) == Some(schema_version) {
            return Self::from_current(event_type, schema_version, payload);
        }
        let value =
            serde_json::from_str(payload).map_err(|source| DomainEventError::BadPayload {
                event_type: event_type.to_owned(),
                source,
            })?;
        Self::from_stored(event_type, schema_version, value)
    }

    /// Deserializes a payload at its type's current schema version into its type.
    fn from_current(
        event_type: &str,
        schema_version: i32,
        payload: impl CurrentPayload,
    ) -> Result<Self, DomainEventError> {
        let bad = |source| DomainEventError::BadPayload {
            event_type: event_type.to_owned(),
            source,
        };
        Ok(match event_type {
            "CustomerObserved" => Self::CustomerObserved(payload.decode().map_err(bad)?),
            "SubscriptionObserved" => Self::SubscriptionObserved(payload.decode().map_err(bad)?),
            "DiscountObserved" => Self::DiscountObserved(payload.decode().map_err(bad)?),
            "InvoiceObserved" => Self::InvoiceObserved(payload.decode().map_err(bad)?),
            "ChargeObserved" => Self::ChargeObserved(payload.decode().map_err(bad)?),
            "CouponObserved" => Self::CouponObserved(payload.decode().map_err(bad)?),
            "RefundObserved" => Self::RefundObserved(payload.decode().map_err(bad)?),
            "DisputeObserved" => Self::DisputeObserved(payload.decode().map_err(bad)?),
            "CreditNoteObserved" => Self::CreditNoteObserved(payload.decode().map_err(bad)?),
            "InvoicePaymentObserved" => {
                Self::InvoicePaymentObserved(payload.decode().map_err(bad)?)
            }
            "ProductObserved" => Self::ProductObserved(payload.decode().map_err(bad)?),
            "PriceObserved" => Self::PriceObserved(payload.decode().map_err(bad)?),
            "ActiveEntitlementSummaryObserved" => {
                Self::ActiveEntitlementSummaryObserved(payload.decode().map_err(bad)?)
            }
            "StripeCommandRequested" => {
                Self::StripeCommandRequested(payload.decode().map_err(bad)?)
            }
            "StripeCommandSucceeded" => {
                Self::StripeCommandSucceeded(payload.decode().map_err(bad)?)
            }
            "StripeCommandFailed" => Self::StripeCommandFailed(payload.decode().map_err(bad)?),
            "StripeCommandEchoed" => Self::StripeCommandEchoed(payload.decode().map_err(bad)?),
            "UsageIncrementRecorded" => {
                Self::UsageIncrementRecorded(payload.decode().map_err(bad)?)
            }
            "CatalogChanged" => Self::CatalogChanged(payload.decode().map_err(bad)?),
            _ => {
                return Err(DomainEventError::UnknownType {
                    event_type: event_type.to_owned(),
                    schema_version,
                })
            }
        })
    }
}

/// A payload at its type's current schema version, in one of the forms it is decoded from.
trait CurrentPayload {
    /// Deserializes the payload into `T`.
    fn decode<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error>;
}

/// An upcast payload, as a JSON tree.
impl CurrentPayload for serde_json::Value {
    fn decode<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self)
    }
}

/// A stored payload's JSON text.
impl CurrentPayload for &str {
    fn decode<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self)
    }
}
