//! The one list of Stripe Event types Tally translates, which resource each carries, and the
//! [`ObservedChange`] each type records.

use ledger::domain::ObservedChange;

/// Every Stripe Event type Tally translates into a domain event. All other types are
/// acknowledged and ignored. Stripe sends the object of the type's resource in `data.object`.
const USED_EVENT_TYPES: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.discount.created",
    "customer.discount.updated",
    "customer.discount.deleted",
    "coupon.created",
    "coupon.updated",
    "coupon.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
    "customer.subscription.trial_will_end",
    "invoice.created",
    "invoice.finalized",
    "invoice.finalization_failed",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "invoice.marked_uncollectible",
    "invoice.voided",
    "invoice.updated",
    "invoice.deleted",
    "invoice.overdue",
    "invoice.sent",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "charge.captured",
    "charge.updated",
    "charge.pending",
    "charge.expired",
];

/// The Stripe Event types Tally translates (`customer.*`, `customer.discount.*`, `coupon.*`,
/// `customer.subscription.*`, `invoice.*` except `invoice.upcoming`, which has no id, and
/// `charge.*` except `charge.dispute.*` / `charge.refund.*`, which carry other objects).
///
/// `coupon.*` is used because since Stripe API 2025-09-30.clover a discount's
/// `source.coupon` is only the coupon id: the coupon's terms come from its own Events.
pub fn used_event_types() -> &'static [&'static str] {
    USED_EVENT_TYPES
}

/// Whether Tally translates Stripe Events of this type.
pub fn is_used_event_type(event_type: &str) -> bool {
    USED_EVENT_TYPES.contains(&event_type)
}

/// The Stripe resource a used event type carries in `data.object`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CarriedResource {
    /// `customer.*`: a customer.
    Customer,
    /// `customer.discount.*`: a discount.
    Discount,
    /// `coupon.*`: a coupon.
    Coupon,
    /// `customer.subscription.*`: a subscription.
    Subscription,
    /// `invoice.*`: an invoice.
    Invoice,
    /// `charge.*`: a charge.
    Charge,
}

/// The resource carried by a used event type; `None` for a type Tally does not use.
pub(crate) fn carried_resource(event_type: &str) -> Option<CarriedResource> {
    if !is_used_event_type(event_type) {
        return None;
    }
    let resource = if event_type.starts_with("customer.subscription.") {
        CarriedResource::Subscription
    } else if event_type.starts_with("customer.discount.") {
        CarriedResource::Discount
    } else if event_type.starts_with("customer.") {
        CarriedResource::Customer
    } else if event_type.starts_with("coupon.") {
        CarriedResource::Coupon
    } else if event_type.starts_with("invoice.") {
        CarriedResource::Invoice
    } else {
        CarriedResource::Charge
    };
    Some(resource)
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
        assert_eq!(carried_resource("charge.dispute.created"), None);
        assert_eq!(carried_resource("charge.refund.updated"), None);
        assert_eq!(carried_resource("customer.source.created"), None);
    }
}
