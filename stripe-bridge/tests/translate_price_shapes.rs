//! Subscription item prices the datasets do not exercise: tiered (volume and graduated, `"inf"`
//! last tier, decimal and integer amounts), `transform_quantity`, metered usage, week and day
//! intervals, and several items whose periods differ.

use chrono::DateTime;
use ledger::domain::{
    BillingScheme, DomainEvent, PriceTier, RecurringInterval, SubscriptionSnapshot, TiersMode,
    TransformQuantity, TransformRound, UsageType,
};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;
use stripe_bridge::{translate, Translation};

fn subscription_event(items: Value) -> Vec<u8> {
    json!({
        "id": "evt_price_shapes",
        "object": "event",
        "api_version": "2026-09-30.endive",
        "created": 1767225600,
        "type": "customer.subscription.updated",
        "data": {"object": {
            "id": "sub_price_shapes",
            "object": "subscription",
            "customer": "cus_price_shapes",
            "currency": "eur",
            "status": "past_due",
            "cancel_at_period_end": false,
            "discounts": [],
            "items": {"object": "list", "data": items}
        }}
    })
    .to_string()
    .into_bytes()
}

fn snapshot(body: &[u8]) -> SubscriptionSnapshot {
    match translate(body) {
        Translation::Translated { mut events, .. } => match events.remove(0) {
            DomainEvent::SubscriptionObserved(observed) => observed.snapshot,
            other => panic!("expected SubscriptionObserved, got {other:?}"),
        },
        other => panic!("expected Translated, got {other:?}"),
    }
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[test]
fn tiered_transformed_metered_items_and_the_smallest_period() {
    let body = subscription_event(json!([
        {
            "id": "si_graduated", "quantity": 120,
            "current_period_start": 1767225600, "current_period_end": 1769904000,
            "price": {
                "id": "price_graduated", "product": {"id": "prod_expanded", "object": "product"},
                "billing_scheme": "tiered", "tiers_mode": "graduated",
                "unit_amount": null, "unit_amount_decimal": null,
                "tiers": [
                    {"up_to": 100, "unit_amount": 500, "unit_amount_decimal": "500",
                     "flat_amount": 1000, "flat_amount_decimal": "1000"},
                    {"up_to": "inf", "unit_amount": null, "unit_amount_decimal": "0.125",
                     "flat_amount": null, "flat_amount_decimal": null}
                ],
                "recurring": {"interval": "week", "interval_count": 2, "usage_type": "licensed"}
            }
        },
        {
            "id": "si_volume", "quantity": 7,
            "current_period_start": 1767000000, "current_period_end": 1769000000,
            "price": {
                "id": "price_volume", "billing_scheme": "tiered", "tiers_mode": "volume",
                "tiers": [{"up_to": null, "unit_amount": 300, "flat_amount": 0}],
                "recurring": {"interval": "day", "interval_count": 30}
            }
        },
        {
            "id": "si_packages", "quantity": 11,
            "price": {
                "id": "price_packages", "billing_scheme": "per_unit", "unit_amount": 2500,
                "transform_quantity": {"divide_by": 5, "round": "up"},
                "recurring": {"interval": "month", "interval_count": 1}
            }
        },
        {
            "id": "si_metered", "quantity": null,
            "price": {
                "id": "price_metered", "billing_scheme": "per_unit", "unit_amount_decimal": "0.25",
                "recurring": {"interval": "month", "interval_count": 1, "usage_type": "metered"}
            }
        }
    ]));
    let snapshot = snapshot(&body);
    assert_eq!(snapshot.currency.as_str(), "eur");
    assert_eq!(
        snapshot.current_period_start,
        DateTime::from_timestamp(1767000000, 0)
    );
    assert_eq!(
        snapshot.current_period_end,
        DateTime::from_timestamp(1769000000, 0)
    );
    let [graduated, volume, packages, metered] = snapshot.items.as_slice() else {
        panic!("four items")
    };

    assert_eq!(graduated.billing_scheme, BillingScheme::Tiered);
    assert_eq!(graduated.tiers_mode, Some(TiersMode::Graduated));
    assert_eq!(
        graduated.product.as_ref().unwrap().as_str(),
        "prod_expanded"
    );
    assert_eq!(graduated.unit_amount_decimal, None);
    assert_eq!(
        graduated.tiers,
        [
            PriceTier {
                up_to: Some(100),
                unit_amount_decimal: Some(dec("500")),
                flat_amount_decimal: Some(dec("1000"))
            },
            PriceTier {
                up_to: None,
                unit_amount_decimal: Some(dec("0.125")),
                flat_amount_decimal: None
            },
        ]
    );
    assert_eq!(
        (graduated.interval, graduated.interval_count),
        (RecurringInterval::Week, 2)
    );

    assert_eq!(volume.tiers_mode, Some(TiersMode::Volume));
    assert_eq!(volume.tiers[0].up_to, None);
    assert_eq!(volume.tiers[0].unit_amount_decimal, Some(dec("300")));
    assert_eq!(volume.tiers[0].flat_amount_decimal, Some(Decimal::ZERO));
    assert_eq!(
        (volume.interval, volume.interval_count),
        (RecurringInterval::Day, 30)
    );
    assert_eq!(
        volume.usage_type,
        UsageType::Licensed,
        "Stripe's default usage type"
    );

    assert_eq!(
        packages.transform_quantity,
        Some(TransformQuantity {
            divide_by: 5,
            round: TransformRound::Up
        })
    );
    assert_eq!(packages.current_period_start, None);

    assert_eq!(metered.usage_type, UsageType::Metered);
    assert_eq!(metered.quantity, 1);
    assert_eq!(metered.unit_amount_decimal, Some(dec("0.25")));
}

#[test]
fn invalid_price_details_are_unparsed_with_their_path() {
    let cases = [
        (
            json!({"id": "si_1", "price": {"id": "p", "recurring": {"interval": "fortnight"}}}),
            "data.object.items.data[0].price.recurring.interval has unknown value \"fortnight\" \
             (known: day, week, month, year)",
        ),
        (
            json!({"id": "si_1", "price": {"id": "p", "transform_quantity":
                {"divide_by": 0, "round": "up"}, "recurring": {"interval": "month"}}}),
            "data.object.items.data[0].price.transform_quantity.divide_by is invalid: must be \
             at least 1",
        ),
        (
            json!({"id": "si_1", "price": {"id": "p", "billing_scheme": "tiered",
                "tiers": [{"up_to": "lots"}], "recurring": {"interval": "month"}}}),
            "data.object.items.data[0].price.tiers[0].up_to is invalid: \"lots\" is neither a \
             unit count nor \"inf\"",
        ),
        (
            json!({"id": "si_1", "price": {"id": "p", "unit_amount_decimal": "ten",
                "recurring": {"interval": "month"}}}),
            "data.object.items.data[0].price.unit_amount_decimal is invalid: \"ten\" is not an \
             exact decimal number",
        ),
        (
            json!({"id": "si_1", "price": {"id": "p", "billing_scheme": "tiered",
                "tiers": [{"up_to": null, "unit_amount": 100}], "recurring": {"interval": "month"}}}),
            "data.object.items.data[0].price.tiers_mode is invalid: missing: a tiered price \
             needs volume or graduated",
        ),
        (
            json!({"id": "si_1", "price": {"id": "p", "billing_scheme": "per_unit",
                "unit_amount": null, "recurring": {"interval": "month"}}}),
            "data.object.items.data[0].price.unit_amount_decimal is invalid: missing: a \
             per_unit price needs unit_amount or unit_amount_decimal",
        ),
        (
            json!({"id": "si_1"}),
            "data.object.items.data[0].price missing",
        ),
    ];
    for (item, expected) in cases {
        match translate(&subscription_event(json!([item]))) {
            Translation::Unparsed { reason, .. } => assert_eq!(reason, expected),
            other => panic!("expected Unparsed, got {other:?}"),
        }
    }
}
