//! Every newly covered Stripe Event type, built from Stripe's own OpenAPI example objects
//! (`fixtures/stripe-fixtures-inbound/`), is translated into its domain event or explicitly
//! ignored with the listed reason; and the coverage list names every type the issue asks for.

use ledger::domain::{DomainEvent, ObservedChange};
use stripe_bridge::{covered_event_types, translate, StripeEventCoverage, Translation};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("fixtures/stripe-fixtures-inbound/", $name, ".json"))
    };
}

fn translated(body: &str) -> DomainEvent {
    match translate(body.as_bytes()) {
        Translation::Translated { mut events, .. } => {
            assert_eq!(events.len(), 1);
            events.remove(0)
        }
        other => panic!("expected Translated, got {other:?}"),
    }
}

fn ignored_reason(body: &str) -> String {
    match translate(body.as_bytes()) {
        Translation::Ignored { reason, .. } => reason,
        other => panic!("expected Ignored, got {other:?}"),
    }
}

#[test]
fn refunds_translate_from_refund_and_charge_refund_events() {
    for body in [
        fixture!("refund.created"),
        fixture!("refund.updated"),
        fixture!("charge.refund.updated"),
    ] {
        let DomainEvent::RefundObserved(refund) = translated(body) else {
            panic!("expected RefundObserved")
        };
        assert_eq!(
            refund.snapshot.refund.as_str(),
            "re_1Pgc72B7WZ01zgkWqPvrRrPE"
        );
        assert_eq!(
            refund.snapshot.charge.as_ref().map(|c| c.as_str()),
            Some("ch_1PgafuB7WZ01zgkWXYmPNZs8")
        );
        assert_eq!(refund.snapshot.amount, 100);
        assert_eq!(refund.snapshot.currency.as_str(), "usd");
        assert_eq!(refund.snapshot.status, "succeeded");
        assert_eq!(refund.snapshot.created.timestamp(), 1234567890);
    }
    let DomainEvent::RefundObserved(created) = translated(fixture!("refund.created")) else {
        unreachable!()
    };
    assert_eq!(created.change, ObservedChange::Created);
    let event = translated(fixture!("refund.created"));
    assert_eq!(event.stream_id(), "refund-re_1Pgc72B7WZ01zgkWqPvrRrPE");
}

#[test]
fn a_dispute_translates() {
    let event = translated(fixture!("charge.dispute.created"));
    assert_eq!(event.stream_id(), "dispute-dp_1Pgc71B7WZ01zgkWMevJiAUx");
    let DomainEvent::DisputeObserved(dispute) = event else {
        panic!("expected DisputeObserved")
    };
    assert_eq!(dispute.change, ObservedChange::Created);
    assert_eq!(dispute.snapshot.amount, 1000);
    assert_eq!(dispute.snapshot.status, "warning_needs_response");
    assert_eq!(dispute.snapshot.reason.as_deref(), Some("general"));
}

#[test]
fn credit_notes_translate_with_their_invoice_and_customer() {
    let event = translated(fixture!("credit_note.created"));
    assert_eq!(
        event.customer().map(|c| c.as_str()),
        Some("cus_QXg1o8vcGmoR32")
    );
    let DomainEvent::CreditNoteObserved(note) = event else {
        panic!("expected CreditNoteObserved")
    };
    assert_eq!(note.snapshot.total, 1690);
    assert_eq!(note.snapshot.credit_note_type, "pre_payment");
    assert_eq!(note.snapshot.status, "issued");
    assert_eq!(
        note.snapshot.invoice.as_ref().map(|i| i.as_str()),
        Some("in_1Pgc75B7WZ01zgkWYv4iMwt7")
    );
    assert_eq!(note.snapshot.effective_at.timestamp(), 1234567890);
    let DomainEvent::CreditNoteObserved(voided) = translated(fixture!("credit_note.voided")) else {
        panic!("expected CreditNoteObserved")
    };
    assert_eq!(voided.change, ObservedChange::Updated);
}

#[test]
fn an_invoice_payment_translates() {
    let DomainEvent::InvoicePaymentObserved(payment) = translated(fixture!("invoice_payment.paid"))
    else {
        panic!("expected InvoicePaymentObserved")
    };
    assert_eq!(payment.change, ObservedChange::Paid);
    assert_eq!(payment.snapshot.invoice.as_str(), "invoice");
    assert_eq!(
        payment.snapshot.amount_paid, None,
        "the fixture's filler null"
    );
    assert_eq!(payment.snapshot.amount_requested, 1112626247);
    assert!(payment.snapshot.is_default);
}

#[test]
fn products_and_prices_translate() {
    let DomainEvent::ProductObserved(product) = translated(fixture!("product.created")) else {
        panic!("expected ProductObserved")
    };
    assert_eq!(product.snapshot.name, "T-shirt");
    assert!(product.snapshot.active && !product.snapshot.deleted);
    let DomainEvent::ProductObserved(deleted) = translated(fixture!("product.deleted")) else {
        panic!("expected ProductObserved")
    };
    assert!(deleted.snapshot.deleted && !deleted.snapshot.active);
    let event = translated(fixture!("price.created"));
    assert!(event.stream_id().starts_with("price-price_"));
    let DomainEvent::PriceObserved(price) = event else {
        panic!("expected PriceObserved")
    };
    assert_eq!(
        price.snapshot.product.as_ref().map(|p| p.as_str()),
        Some("prod_QXg1hqf4jFNsqG")
    );
    assert_eq!(price.snapshot.unit_amount, Some(2000));
    assert_eq!(price.snapshot.recurring_interval.as_deref(), Some("month"));
    assert_eq!(price.snapshot.recurring_interval_count, Some(1));
}

#[test]
fn an_active_entitlement_summary_translates_with_its_lookup_keys() {
    let event = translated(fixture!("entitlements.active_entitlement_summary.updated"));
    assert_eq!(event.stream_id(), "entitlements-customer");
    let DomainEvent::ActiveEntitlementSummaryObserved(summary) = event else {
        panic!("expected ActiveEntitlementSummaryObserved")
    };
    assert_eq!(summary.snapshot.customer.as_str(), "customer");
    assert_eq!(summary.snapshot.entitlements.len(), 1);
    let entitlement = &summary.snapshot.entitlements[0];
    assert_eq!(entitlement.entitlement, "obj_123");
    assert_eq!(entitlement.feature, "obj_123", "the expanded feature's id");
    assert_eq!(entitlement.lookup_key, "lookup_key");
    assert!(
        !summary.snapshot.complete,
        "the fixture says has_more: true"
    );
}

#[test]
fn invoice_items_and_payment_intents_are_ignored_with_their_reason() {
    let reason = ignored_reason(fixture!("invoiceitem.created"));
    assert!(reason.contains("line of the invoice"), "{reason}");
    let reason = ignored_reason(fixture!("payment_intent.created"));
    assert!(reason.contains("through its charge"), "{reason}");
}

#[test]
fn the_coverage_list_names_every_type_the_issue_asks_for() {
    let asked = [
        "customer.created",
        "customer.discount.created",
        "customer.subscription.pending_update_expired",
        "customer.subscription.trial_will_end",
        "invoice.finalization_failed",
        "invoice.payment_action_required",
        "invoice.overdue",
        "invoice.sent",
        "invoice_payment.paid",
        "invoiceitem.created",
        "charge.succeeded",
        "charge.failed",
        "charge.refunded",
        "charge.dispute.created",
        "refund.created",
        "payment_intent.succeeded",
        "checkout.session.completed",
        "credit_note.created",
        "credit_note.voided",
        "product.created",
        "price.updated",
        "coupon.created",
        "entitlements.active_entitlement_summary.updated",
    ];
    let covered: Vec<_> = covered_event_types().collect();
    for event_type in asked {
        assert!(
            covered.iter().any(|(known, _)| *known == event_type),
            "{event_type} is not in the coverage list"
        );
    }
    let translated_to = |event_type: &str| {
        covered
            .iter()
            .find(|(known, _)| *known == event_type)
            .map(|(_, coverage)| *coverage)
    };
    assert_eq!(
        translated_to("checkout.session.completed")
            .map(|c| matches!(c, StripeEventCoverage::Ignored { .. })),
        Some(true)
    );
    assert_eq!(
        translated_to("credit_note.created"),
        Some(StripeEventCoverage::Translated {
            domain_event: "CreditNoteObserved"
        })
    );
}
