//! `GET /v1/status`: log head, each projection's position, and inbox counts.

use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use ledger::store::{checkpoint, inbox, read};
use serde_json::{json, Value};

/// `{"log_head": <int>, "projections": [{"name", "position", "events_applied", "error"}],
/// "inbox": {"translated", "ignored", "unparsed"}}`. A projection's `position` is its watermark:
/// every event at or below it has been applied, so it equals `log_head` exactly when the
/// projection has caught up; `error` (`{"message", "global_position", "at"}`) is set while its
/// projector is stopped at an event.
pub async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut connection = state
        .pool
        .acquire()
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let log_head = read::log_head(&mut *connection).await?;
    let stored = checkpoint::list(&mut connection).await?;
    let mut projections = Vec::new();
    for name in state.projectors.names() {
        let (checkpoint, failure) = stored
            .iter()
            .find(|(stored_name, _, _)| stored_name == name)
            .map(|(_, checkpoint, failure)| (*checkpoint, failure.clone()))
            .unwrap_or_default();
        let error = failure.map(|failure| {
            json!({
                "message": failure.message,
                "global_position": failure.global_position,
                "at": failure.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        });
        let position = read::applied_through(&mut *connection, checkpoint.cursor).await?;
        projections.push(json!({
            "name": name,
            "position": position,
            "events_applied": checkpoint.events_applied,
            "error": error,
        }));
    }
    let (translated, ignored, unparsed) = inbox::outcome_counts(&mut *connection).await?;
    Ok(Json(json!({
        "log_head": log_head,
        "projections": projections,
        "inbox": { "translated": translated, "ignored": ignored, "unparsed": unparsed },
    })))
}
