//! The one list of Stripe Event types Tally covers (translated into which domain event, or
//! ignored and why), which resource each carries, and the [`ObservedChange`] each records.

use ledger::domain::ObservedChange;

/// What Tally does with one covered Stripe Event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripeEventCoverage {
    /// Stored raw in the inbox and translated into a domain event.
    Translated {
        /// The stored `event_type` of the domain event, e.g. `RefundObserved`.
        domain_event: &'static str,
    },
    /// Stored raw in the inbox and deliberately not translated.
    Ignored {
        /// Why the ledger does not need it.
        reason: &'static str,
    },
}

/// The resource a translated type carries in `data.object`, and what it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CarriedResource {
    /// `customer.*`: a customer -> `CustomerObserved`.
    Customer,
    /// `customer.discount.*`: a discount -> `DiscountObserved`.
    Discount,
    /// `coupon.*`: a coupon -> `CouponObserved`.
    Coupon,
    /// `customer.subscription.*`: a subscription -> `SubscriptionObserved`.
    Subscription,
    /// `invoice.*`: an invoice -> `InvoiceObserved`.
    Invoice,
    /// `charge.*`: a charge -> `ChargeObserved`.
    Charge,
    /// `refund.*`, `charge.refund.updated`: a refund -> `RefundObserved`.
    Refund,
    /// `charge.dispute.*`: a dispute -> `DisputeObserved`.
    Dispute,
    /// `credit_note.*`: a credit note -> `CreditNoteObserved`.
    CreditNote,
    /// `invoice_payment.paid`: an invoice payment -> `InvoicePaymentObserved`.
    InvoicePayment,
    /// `product.*`: a product -> `ProductObserved`.
    Product,
    /// `price.*`: a price -> `PriceObserved`.
    Price,
    /// `entitlements.active_entitlement_summary.updated` -> `ActiveEntitlementSummaryObserved`.
    ActiveEntitlementSummary,
}

impl CarriedResource {
    /// The stored `event_type` of the domain event this resource becomes.
    pub(crate) fn domain_event(self) -> &'static str {
        match self {
            Self::Customer => "CustomerObserved",
            Self::Discount => "DiscountObserved",
            Self::Coupon => "CouponObserved",
            Self::Subscription => "SubscriptionObserved",
            Self::Invoice => "InvoiceObserved",
            Self::Charge => "ChargeObserved",
            Self::Refund => "RefundObserved",
            Self::Dispute => "DisputeObserved",
            Self::CreditNote => "CreditNoteObserved",
            Self::InvoicePayment => "InvoicePaymentObserved",
            Self::Product => "ProductObserved",
            Self::Price => "PriceObserved",
            Self::ActiveEntitlementSummary => "ActiveEntitlementSummaryObserved",
        }
    }
}

/// One row of the coverage list: translated into a resource's domain event, or ignored.
#[derive(Debug, Clone, Copy)]
enum Row {
    Translate(CarriedResource),
    Ignore(&'static str),
}

const PAYMENT_INTENT_REASON: &str = "a payment intent's money reaches the ledger through its \
     charge (charge.*) and, for invoices, invoice_payment.paid";
const CHECKOUT_REASON: &str = "a Checkout session's subscription, invoice and payment each \
     send their own Event, which are translated";
const INVOICEITEM_REASON: &str = "a pending invoice item reaches the ledger as a line of the \
     invoice that bills it (invoice.*)";
const CUSTOMER_DETAIL_REASON: &str = "payment sources and tax ids change no revenue figure";

/// The one list of Stripe Event types Tally covers: each is stored raw in the inbox, then either
/// translated into a domain event or explicitly ignored, with the reason. A type not listed is
/// stored and ignored as "not used by Tally". `/v1/status` shows this list.
const COVERED_EVENT_TYPES: &[(&str, Row)] = {
    use CarriedResource::*;
    use Row::{Ignore, Translate};
    &[
        ("customer.created", Translate(Customer)),
        ("customer.updated", Translate(Customer)),
        ("customer.deleted", Translate(Customer)),
        ("customer.discount.created", Translate(Discount)),
        ("customer.discount.updated", Translate(Discount)),
        ("customer.discount.deleted", Translate(Discount)),
        ("customer.source.created", Ignore(CUSTOMER_DETAIL_REASON)),
        ("customer.source.updated", Ignore(CUSTOMER_DETAIL_REASON)),
        ("customer.source.deleted", Ignore(CUSTOMER_DETAIL_REASON)),
        ("customer.source.expiring", Ignore(CUSTOMER_DETAIL_REASON)),
        ("customer.tax_id.created", Ignore(CUSTOMER_DETAIL_REASON)),
        ("customer.tax_id.updated", Ignore(CUSTOMER_DETAIL_REASON)),
        ("customer.tax_id.deleted", Ignore(CUSTOMER_DETAIL_REASON)),
        ("coupon.created", Translate(Coupon)),
        ("coupon.updated", Translate(Coupon)),
        ("coupon.deleted", Translate(Coupon)),
        ("customer.subscription.created", Translate(Subscription)),
        ("customer.subscription.updated", Translate(Subscription)),
        ("customer.subscription.deleted", Translate(Subscription)),
        ("customer.subscription.paused", Translate(Subscription)),
        ("customer.subscription.resumed", Translate(Subscription)),
        (
            "customer.subscription.pending_update_applied",
            Translate(Subscription),
        ),
        (
            "customer.subscription.pending_update_expired",
            Translate(Subscription),
        ),
        (
            "customer.subscription.trial_will_end",
            Translate(Subscription),
        ),
        ("invoice.created", Translate(Invoice)),
        ("invoice.finalized", Translate(Invoice)),
        ("invoice.finalization_failed", Translate(Invoice)),
        ("invoice.paid", Translate(Invoice)),
        ("invoice.payment_succeeded", Translate(Invoice)),
        ("invoice.payment_failed", Translate(Invoice)),
        ("invoice.payment_action_required", Translate(Invoice)),
        ("invoice.marked_uncollectible", Translate(Invoice)),
        ("invoice.voided", Translate(Invoice)),
        ("invoice.updated", Translate(Invoice)),
        ("invoice.deleted", Translate(Invoice)),
        ("invoice.overdue", Translate(Invoice)),
        ("invoice.sent", Translate(Invoice)),
        (
            "invoice.upcoming",
            Ignore("a preview without an id: nothing has been billed yet"),
        ),
        ("invoice_payment.paid", Translate(InvoicePayment)),
        ("invoiceitem.created", Ignore(INVOICEITEM_REASON)),
        ("invoiceitem.updated", Ignore(INVOICEITEM_REASON)),
        ("invoiceitem.deleted", Ignore(INVOICEITEM_REASON)),
        ("charge.succeeded", Translate(Charge)),
        ("charge.failed", Translate(Charge)),
        ("charge.refunded", Translate(Charge)),
        ("charge.captured", Translate(Charge)),
        ("charge.updated", Translate(Charge)),
        ("charge.pending", Translate(Charge)),
        ("charge.expired", Translate(Charge)),
        ("charge.dispute.created", Translate(Dispute)),
        ("charge.dispute.updated", Translate(Dispute)),
        ("charge.dispute.closed", Translate(Dispute)),
        ("charge.dispute.funds_withdrawn", Translate(Dispute)),
        ("charge.dispute.funds_reinstated", Translate(Dispute)),
        ("charge.refund.updated", Translate(Refund)),
        ("refund.created", Translate(Refund)),
        ("refund.updated", Translate(Refund)),
        ("refund.failed", Translate(Refund)),
        ("payment_intent.created", Ignore(PAYMENT_INTENT_REASON)),
        ("payment_intent.processing", Ignore(PAYMENT_INTENT_REASON)),
        (
            "payment_intent.requires_action",
            Ignore(PAYMENT_INTENT_REASON),
        ),
        (
            "payment_intent.amount_capturable_updated",
            Ignore(PAYMENT_INTENT_REASON),
        ),
        (
            "payment_intent.partially_funded",
            Ignore(PAYMENT_INTENT_REASON),
        ),
        ("payment_intent.succeeded", Ignore(PAYMENT_INTENT_REASON)),
        (
            "payment_intent.payment_failed",
            Ignore(PAYMENT_INTENT_REASON),
        ),
        ("payment_intent.canceled", Ignore(PAYMENT_INTENT_REASON)),
        ("checkout.session.completed", Ignore(CHECKOUT_REASON)),
        ("credit_note.created", Translate(CreditNote)),
        ("credit_note.updated", Translate(CreditNote)),
        ("credit_note.voided", Translate(CreditNote)),
        ("product.created", Translate(Product)),
        ("product.updated", Translate(Product)),
        ("product.deleted", Translate(Product)),
        ("price.created", Translate(Price)),
        ("price.updated", Translate(Price)),
        ("price.deleted", Translate(Price)),
        (
            "entitlements.active_entitlement_summary.updated",
            Translate(ActiveEntitlementSummary),
        ),
    ]
};

/// Every covered Stripe Event type with what Tally does with it, in the list's order.
pub fn covered_event_types() -> impl Iterator<Item = (&'static str, StripeEventCoverage)> {
    COVERED_EVENT_TYPES.iter().map(|(event_type, row)| {
        let coverage = match row {
            Row::Translate(resource) => StripeEventCoverage::Translated {
                domain_event: resource.domain_event(),
            },
            Row::Ignore(reason) => StripeEventCoverage::Ignored { reason },
        };
        (*event_type, coverage)
    })
}

/// The Stripe Event types Tally translates into domain events.
pub fn used_event_types() -> Vec<&'static str> {
    COVERED_EVENT_TYPES
        .iter()
        .filter(|(_, row)| matches!(row, Row::Translate(_)))
        .map(|(event_type, _)| *event_type)
        .collect()
}

/// Whether Tally translates Stripe Events of this type.
pub fn is_used_event_type(event_type: &str) -> bool {
    carried_resource(event_type).is_some()
}

/// Why a type is not translated: the listed reason, or "not used by Tally" for unlisted types.
/// `None` for a translated type.
pub fn ignored_reason(event_type: &str) -> Option<String> {
    match COVERED_EVENT_TYPES
        .iter()
        .find(|(known, _)| *known == event_type)
    {
        Some((_, Row::Translate(_))) => None,
        Some((_, Row::Ignore(reason))) => Some(format!(
            "event type {event_type} is not used by Tally: {reason}"
        )),
        None => Some(format!("event type {event_type} is not used by Tally")),
    }
}

/// The resource carried by a translated event type; `None` for a type Tally does not translate.
pub(crate) fn carried_resource(event_type: &str) -> Option<CarriedResource> {
    COVERED_EVENT_TYPES
        .iter()
        .find_map(|(known, row)| match row {
            Row::Translate(resource) if *known == event_type => Some(*resource),
            _ => None,
        })
}

/// The change an event type records, from its last segment: `created`, `updated`, `deleted`,
/// `finalized`, `paid`, `refunded`, `succeeded` / `payment_succeeded` -> `Succeeded`,
/// `failed` / `payment_failed` -> `PaymentFailed`; anything else (`paused`, `voided`,
/// `trial_will_end`, `captured`, ...) -> `Updated`.
pub fn observed_change(event_type: &str) -> ObservedChange {
    let last_segment = event_type.rsplit('.').next().unwrap_or_default();
    match last_segment {
        "created" => ObservedChange::Created,
        "deleted" => ObservedChange::Deleted,
        "finalized" => ObservedChange::Finalized,
        "payment_failed" | "failed" => ObservedChange::PaymentFailed,
        "succeeded" | "payment_succeeded" => ObservedChange::Succeeded,
        "paid" => ObservedChange::Paid,
        "refunded" => ObservedChange::Refunded,
        _ => ObservedChange::Updated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_follow_the_last_segment() {
        let table = [
            ("customer.subscription.created", ObservedChange::Created),
            ("customer.subscription.paused", ObservedChange::Updated),
            (
                "customer.subscription.trial_will_end",
                ObservedChange::Updated,
            ),
            ("customer.discount.deleted", ObservedChange::Deleted),
            ("coupon.created", ObservedChange::Created),
            ("coupon.updated", ObservedChange::Updated),
            ("coupon.deleted", ObservedChange::Deleted),
            ("invoice.finalized", ObservedChange::Finalized),
            ("invoice.finalization_failed", ObservedChange::Updated),
            ("invoice.payment_failed", ObservedChange::PaymentFailed),
            ("invoice.payment_succeeded", ObservedChange::Succeeded),
            ("invoice.paid", ObservedChange::Paid),
            ("invoice.voided", ObservedChange::Updated),
            ("invoice.marked_uncollectible", ObservedChange::Updated),
            ("charge.failed", ObservedChange::PaymentFailed),
            ("charge.succeeded", ObservedChange::Succeeded),
            ("charge.refunded", ObservedChange::Refunded),
            ("charge.captured", ObservedChange::Updated),
        ];
        for (event_type, change) in table {
            assert_eq!(observed_change(event_type), change, "{event_type}");
        }
    }

    #[test]
    fn every_type_is_listed_once_and_ignored_ones_say_why() {
        let mut seen = std::collections::HashSet::new();
        for (event_type, coverage) in covered_event_types() {
            assert!(seen.insert(event_type), "{event_type} listed twice");
            match coverage {
                StripeEventCoverage::Translated { domain_event } => {
                    assert!(
                        ledger::domain::upcasting::current_schema_version(domain_event).is_some(),
                        "{event_type}: {domain_event} is not a domain event type"
                    );
                    assert_eq!(ignored_reason(event_type), None);
                }
                StripeEventCoverage::Ignored { reason } => {
                    assert!(!reason.is_empty());
                    assert!(ignored_reason(event_type).unwrap().ends_with(reason));
                }
            }
        }
        assert_eq!(
            ignored_reason("issuing_card.created").as_deref(),
            Some("event type issuing_card.created is not used by Tally")
        );
    }

    #[test]
    fn resources_follow_the_prefix() {
        use CarriedResource::*;
        assert_eq!(carried_resource("customer.updated"), Some(Customer));
        assert_eq!(
            carried_resource("customer.discount.created"),
            Some(Discount)
        );
        assert_eq!(
            carried_resource("customer.subscription.resumed"),
            Some(Subscription)
        );
        assert_eq!(carried_resource("coupon.created"), Some(Coupon));
        assert_eq!(carried_resource("coupon.deleted"), Some(Coupon));
        assert_eq!(carried_resource("invoice.sent"), Some(Invoice));
        assert_eq!(carried_resource("charge.expired"), Some(Charge));
        assert_eq!(carried_resource("invoice.upcoming"), None);
        assert_eq!(carried_resource("charge.dispute.created"), Some(Dispute));
        assert_eq!(carried_resource("charge.refund.updated"), Some(Refund));
        assert_eq!(carried_resource("refund.created"), Some(Refund));
        assert_eq!(carried_resource("payment_intent.succeeded"), None);
        assert_eq!(carried_resource("customer.source.created"), None);
    }
}
