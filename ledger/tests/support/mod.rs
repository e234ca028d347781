//! Shared builders for the event-store tests.

use chrono::{TimeZone, Utc};
use ledger::domain::{Actor, EventMetadata};
use ledger::store::NewEvent;
use uuid::Uuid;

/// A test event with a fresh id and a small payload.
pub fn new_event(label: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "TestEvent".to_owned(),
        schema_version: 1,
        payload: serde_json::json!({ "label": label }),
        metadata: EventMetadata {
            source: "test".to_owned(),
            actor: Actor::System,
            stripe_event_id: None,
            stripe_api_version: None,
            causation_id: None,
            correlation_id: None,
            stripe_fetch: None,
        },
        effective_at: Utc
            .with_ymd_and_hms(2025, 1, 2, 9, 0, 0)
            .single()
            .expect("valid date"),
    }
}
