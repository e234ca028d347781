//! The payloads every workload writes: one ~1 KB `SubscriptionObserved` payload (the shape of a
//! Stripe subscription snapshot as Tally stores it) and Tally's metadata JSON.

use chrono::{DateTime, TimeZone, Utc};
use ledger::domain::{Actor, DomainEvent, EventMetadata};
use ledger::store::NewEvent;
use serde_json::{json, Value};
use uuid::Uuid;

/// Stored type of every benchmark event.
pub const EVENT_TYPE: &str = "SubscriptionObserved";

/// Schema version of every benchmark event.
pub const SCHEMA_VERSION: i32 = 1;

/// The shared payloads, built once.
#[derive(Debug, Clone)]
pub struct Payloads {
    /// A two-item subscription snapshot (one per-unit, one graduated-tiered item, a discount).
    pub payload: Value,
    /// Metadata of a webhook-translated event.
    pub metadata: EventMetadata,
    /// `metadata` as JSON (what the peer and the raw table store).
    pub metadata_json: Value,
    /// The business time of every event.
    pub effective_at: DateTime<Utc>,
}

impl Payloads {
    /// Builds the payloads and checks that the payload is a valid `SubscriptionObserved` v1.
    pub fn new() -> Self {
        let payload = subscription_payload();
        DomainEvent::from_stored(EVENT_TYPE, SCHEMA_VERSION, payload.clone())
            .expect("the benchmark payload is a valid SubscriptionObserved v1");
        let metadata = EventMetadata {
            source: "stripe_webhook".to_owned(),
            actor: Actor::Stripe,
            stripe_event_id: Some("evt_1QbZ2kLkdIwHu7ixq8R3mZpT".to_owned()),
            stripe_api_version: Some("2024-12-18.acacia".to_owned()),
            causation_id: Some(Uuid::from_u128(0x0193_f5a1_7c2e_7d41_9a0b_2c3d_4e5f_6071)),
            correlation_id: Some(Uuid::from_u128(0x0193_f5a1_7c2e_7d41_9a0b_2c3d_4e5f_6072)),
            stripe_fetch: None,
        };
        let metadata_json = serde_json::to_value(&metadata).expect("metadata serializes");
        Self {
            payload,
            metadata,
            metadata_json,
            effective_at: Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap(),
        }
    }

    /// Size of the payload's compact JSON text, in bytes.
    pub fn payload_bytes(&self) -> usize {
        self.payload.to_string().len()
    }

    /// Size of the metadata's compact JSON text, in bytes.
    pub fn metadata_bytes(&self) -> usize {
        self.metadata_json.to_string().len()
    }

    /// `count` new events with fresh random ids (the payload and metadata cloned per event, as
    /// a caller building them would).
    pub fn new_events(&self, count: usize) -> Vec<NewEvent> {
        (0..count)
            .map(|_| NewEvent {
                event_id: Uuid::new_v4(),
                event_type: EVENT_TYPE.to_owned(),
                schema_version: SCHEMA_VERSION,
                payload: self.payload.clone(),
                metadata: self.metadata.clone(),
                effective_at: self.effective_at,
            })
            .collect()
    }
}

fn subscription_payload() -> Value {
    let period_start = "2025-03-14T09:26:53Z";
    let period_end = "2025-04-14T09:26:53Z";
    json!({
        "change": "updated",
        "snapshot": {
            "subscription": "sub_1QbZ2kLkdIwHu7ixT4pQwX9e",
            "customer": "cus_RUa8mN3vK2pLq7",
            "currency": "usd",
            "status": "active",
            "cancel_at_period_end": false,
            "current_period_start": period_start,
            "current_period_end": period_end,
            "items": [
                {
                    "item": "si_RUa9bC4dE5fG6h",
                    "price": "price_1QbZ0aLkdIwHu7ixPro2025m",
                    "product": "prod_RUa7ProPlanMonthly",
                    "quantity": 12,
                    "usage_type": "licensed",
                    "billing_scheme": "per_unit",
                    "unit_amount_decimal": "4900",
                    "tiers_mode": null,
                    "tiers": [],
                    "transform_quantity": null,
                    "interval": "month",
                    "interval_count": 1,
                    "current_period_start": period_start,
                    "current_period_end": period_end
                },
                {
                    "item": "si_RUa9kL8mN9oP0q",
                    "price": "price_1QbZ0bLkdIwHu7ixSeats25",
                    "product": "prod_RUa7ExtraSeats",
                    "quantity": 40,
                    "usage_type": "licensed",
                    "billing_scheme": "tiered",
                    "unit_amount_decimal": null,
                    "tiers_mode": "graduated",
                    "tiers": [
                        {"up_to": 10, "unit_amount_decimal": "1500", "flat_amount_decimal": "0"},
                        {"up_to": 50, "unit_amount_decimal": "1200", "flat_amount_decimal": "0"},
                        {"up_to": null, "unit_amount_decimal": "900", "flat_amount_decimal": "2500"}
                    ],
                    "transform_quantity": null,
                    "interval": "month",
                    "interval_count": 1,
                    "current_period_start": period_start,
                    "current_period_end": period_end
                }
            ],
            "discount_ids": ["di_1QbZ3mLkdIwHu7ixLaunch20"],
            "expanded_discounts": [],
            "ended_at": null
        }
    })
}
