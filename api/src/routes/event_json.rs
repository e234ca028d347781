//! The JSON form of one stored event, shared by the audit trail and the global feed.

use ledger::store::RecordedEvent;
use serde_json::{json, Value};

/// One event as the API answers it: `global_position`, `stream_id`, `stream_version`,
/// `event_id`, `event_type`, `schema_version`, `effective_at` (business time, UTC, RFC 3339,
/// sub-seconds only when it has them),
/// `recorded_at` (when Tally recorded it, UTC, microseconds), `source` and `stripe_event_id`
/// (also in `metadata`, kept at the top level for existing clients), `metadata` (the whole
/// stored metadata: `source`, `actor` `{"kind", "id"?}`, `stripe_event_id`,
/// `stripe_api_version`, `causation_id`, `correlation_id`, and `stripe_fetch` on snapshots
/// fetched from the Stripe API) and the stored `payload` (not
/// upcast).
pub fn event_json(event: &RecordedEvent) -> Value {
    json!({
        "global_position": event.global_position,
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "effective_at": event.effective_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "recorded_at": event.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "source": event.metadata.source,
        "stripe_event_id": event.metadata.stripe_event_id,
        "metadata": event.metadata,
        "payload": event.payload,
    })
}
