//! `GET /v1/status`: log head, each projection's position and lag, the oldest writing
//! transaction, inbox counts and the inbox translator's queue.

use crate::routes::log_figures::{self, milliseconds_precision};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use ledger::store::{inbox, webhook_deliveries};
use serde_json::{json, Value};
use stripe_bridge::StripeEventCoverage;

/// `{"log_head": <int>, "projections": [{"name", "version", "position", "events_applied",
/// "lag_events", "lag_seconds", "error", "rebuild"}], "oldest_writing_transaction": null |
/// {...}, "inbox": {"translated", "ignored", "unparsed"}, "inbox_translator": {"pending",
/// "oldest_pending_received_at", "oldest_pending_age_seconds"}, "webhook_deliveries": {"received",
/// "duplicate", "rejected", "unparsed"}, "stripe_event_types": {"translated": [{"type",
/// "domain_event"}], "ignored": [{"type", "reason"}], "other_types"}}`.
///
/// - `stripe_event_types` is the one coverage list of the Stripe bridge
///   ([`stripe_bridge::covered_event_types`]); every verified body of any type is kept in the
///   inbox, types outside the list are ignored as not used by Tally.
/// - `webhook_deliveries` counts the delivery log by status (`GET /v1/webhooks/deliveries`).
/// - `inbox` counts kept bodies by translation outcome; `inbox_translator.pending` counts the
///   bodies kept but not translated yet (the webhook endpoint answers before translation), with
///   the oldest one's receipt time (UTC) and age in seconds (`null` when none waits).
///
/// - A projection's `position` is its watermark: every event at or below it has been applied,
///   so it equals `log_head` exactly when the projection has caught up. `lag_events` counts the
///   committed events it has not applied yet; `lag_seconds` is the age of the oldest of them
///   (now minus its `recorded_at`, millisecond precision), 0 when caught up. `error`
///   (`{"message", "global_position", "at"}`) is set while its projector is stopped at an event.
///   `version` is the live read-model version; `rebuild` is `null` or `{"version", "position",
///   "events_applied", "error"}` for a version `tally rebuild` is building (or left
///   unfinished: `error` says why it stopped before switching).
/// - `oldest_writing_transaction`: the oldest running transaction of the whole PostgreSQL
///   cluster that holds a transaction id, `{"pid", "database", "application_name", "state",
///   "transaction_started_at", "query_started_at", "age_seconds"}`, or `null`. Events
///   committed after it started are held back from the gap-free feed (and so from every
///   projector) until it ends: a large `age_seconds` explains a lag that does not shrink.
pub async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut connection = log_figures::connection(&state).await?;
    let figures = log_figures::gather(&state, &mut connection).await?;
    let time = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    };
    let projections: Vec<Value> = figures
        .projectors
        .iter()
        .map(|projector| {
            let error_json = |failure: &ledger::store::ProjectorFailure| {
                json!({
                    "message": failure.message,
                    "global_position": failure.global_position,
                    "at": failure.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                })
            };
            let error = projector.failure.as_ref().map(error_json);
            let rebuild = projector.rebuild.as_ref().map(|rebuild| {
                json!({
                    "version": rebuild.checkpoint.version,
                    "position": rebuild.watermark,
                    "events_applied": rebuild.checkpoint.events_applied,
                    "error": rebuild.failure.as_ref().map(error_json),
                })
            });
            json!({
                "name": projector.name,
                "version": projector.checkpoint.version,
                "position": projector.watermark,
                "events_applied": projector.checkpoint.events_applied,
                "lag_events": projector.lag.events,
                "lag_seconds": milliseconds_precision(projector.lag.seconds),
                "error": error,
                "rebuild": rebuild,
            })
        })
        .collect();
    let oldest_writing_transaction = figures.oldest_writing_transaction.map(|transaction| {
        json!({
            "pid": transaction.pid,
            "database": transaction.database,
            "application_name": transaction.application_name,
            "state": transaction.state,
            "transaction_started_at": time(transaction.transaction_started_at),
            "query_started_at": time(transaction.query_started_at),
            "age_seconds": milliseconds_precision(transaction.age_seconds),
        })
    });
    let (translated, ignored, unparsed) = inbox::outcome_counts(&mut *connection).await?;
    let queue = figures.inbox_queue;
    let (received, duplicate, rejected, delivery_unparsed) =
        webhook_deliveries::status_counts(&mut *connection).await?;
    let mut translated_types = Vec::new();
    let mut ignored_types = Vec::new();
    for (event_type, coverage) in stripe_bridge::covered_event_types() {
        match coverage {
            StripeEventCoverage::Translated { domain_event } => {
                translated_types.push(json!({ "type": event_type, "domain_event": domain_event }))
            }
            StripeEventCoverage::Ignored { reason } => {
                ignored_types.push(json!({ "type": event_type, "reason": reason }))
            }
        }
    }
    Ok(Json(json!({
        "log_head": figures.log_head,
        "projections": projections,
        "oldest_writing_transaction": oldest_writing_transaction,
        "inbox": { "translated": translated, "ignored": ignored, "unparsed": unparsed },
        "inbox_translator": {
            "pending": queue.pending,
            "oldest_pending_received_at": time(queue.oldest_received_at),
            "oldest_pending_age_seconds": queue.oldest_age_seconds.map(milliseconds_precision),
        },
        "webhook_deliveries": {
            "received": received,
            "duplicate": duplicate,
            "rejected": rejected,
            "unparsed": delivery_unparsed,
        },
        "stripe_event_types": {
            "translated": translated_types,
            "ignored": ignored_types,
            "other_types": "stored in the inbox and ignored as not used by Tally",
        },
    })))
}
