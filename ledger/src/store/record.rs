//! A stored event as readers see it.

use crate::domain::{DomainEvent, EventMetadata};
use crate::LedgerError;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use uuid::Uuid;

/// One event read back from the log.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    /// Position in the log (identity; unique, increasing in insert order, not commit order).
    pub global_position: i64,
    /// The appending transaction's id (`pg_current_xact_id()`); with `global_position`, the
    /// gap-free read order.
    pub transaction_id: i64,
    /// The stream, e.g. `subscription-sub_123`.
    pub stream_id: String,
    /// Version within the stream, from 1.
    pub stream_version: i64,
    /// Unique event id: the idempotency key.
    pub event_id: Uuid,
    /// Stored type name, e.g. `SubscriptionObserved`.
    pub event_type: String,
    /// Schema version of `payload`.
    pub schema_version: i32,
    /// The stored JSON payload (not upcast), as raw JSON text: reading the log does not build
    /// a JSON tree per event (that alone cost ~7 us per event); decode it with
    /// [`RecordedEvent::domain_event`] or [`RecordedEvent::payload_value`].
    pub payload: Box<RawValue>,
    /// Provenance, causation, correlation.
    pub metadata: EventMetadata,
    /// When it happened in the business (UTC).
    pub effective_at: DateTime<Utc>,
    /// When Tally recorded it (UTC).
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// The payload as a domain event, upcast to the current schema.
    ///
    /// Errors: [`LedgerError::DomainEvent`] for an unknown type or a payload that does not match.
    pub fn domain_event(&self) -> Result<DomainEvent, LedgerError> {
        Ok(DomainEvent::from_stored_text(
            &self.event_type,
            self.schema_version,
            self.payload.get(),
        )?)
    }

    /// The stored payload as a JSON tree (not upcast).
    ///
    /// Errors: [`LedgerError::DomainEvent`] if the stored text is not JSON (PostgreSQL's json type
    /// guarantees it is).
    pub fn payload_value(&self) -> Result<serde_json::Value, LedgerError> {
        serde_json::from_str(self.payload.get()).map_err(|source| {
            LedgerError::DomainEvent(crate::domain::DomainEventError::BadPayload {
                event_type: self.event_type.clone(),
                source,
            })
        })
    }
}
