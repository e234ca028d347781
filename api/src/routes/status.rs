//! `GET /v1/status`: log head, each projection's position, and inbox counts.

use crate::{ApiError, AppState};
use axum::extract::State;
use axum::Json;
use ledger::store::{checkpoint, inbox, read};
use serde_json::{json, Value};

/// `{"log_head": <int>, "projections": [{"name", "position", "events_applied", "error"}],
/// "inbox": {"translated", "ignored", "unparsed"}}`. A projection has caught up when its
/// `position` equals `log_head`; `error` is set when its projector stopped at an event.
pub async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut connection = state
        .pool
        .acquire()
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let log_head = read::log_head(&mut *connection).await?;
    let stored = checkpoint::list(&mut connection).await?;
    let projections: Vec<Value> = state
        .projectors
        .names()
        .into_iter()
        .map(|name| {
            let checkpoint = stored
                .iter()
                .find(|(stored_name, _)| stored_name == name)
                .map(|(_, checkpoint)| *checkpoint)
                .unwrap_or_default();
            json!({
                "name": name,
                "position": checkpoint.max_position,
                "events_applied": checkpoint.events_applied,
                "error": state.projection_health.failure(name),
            })
        })
        .collect();
    let (translated, ignored, unparsed) = inbox::outcome_counts(&mut *connection).await?;
    Ok(Json(json!({
        "log_head": log_head,
        "projections": projections,
        "inbox": { "translated": translated, "ignored": ignored, "unparsed": unparsed },
    })))
}
