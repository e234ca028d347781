//! `POST /v1/commands/{name}` (a Tally command to Stripe, recorded first and executed by the
//! outbox worker) and `GET /v1/commands/{id}` (its status, outcome and webhook echoes).
//!
//! Both need an API key (`write` to send, `read` to look up; see
//! [`crate::routes::authorization`]).

use crate::api_keys::Caller;
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use axum::Json;
use chrono::{DateTime, Utc};
use ledger::domain::stripe_command::{
    command_stream_id, requested_event_id, stripe_idempotency_key,
};
use ledger::domain::{
    Actor, DomainEvent, EventMetadata, StripeCommand, StripeCommandEchoed, StripeCommandFailed,
    StripeCommandRequested, StripeCommandSucceeded,
};
use ledger::store::{read, stripe_outbox, EventStore, ExpectedVersion, NewEvent, StreamAppend};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Namespace of command ids derived from a client's `Idempotency-Key` (UUIDv5 of
/// `<api key id>:<Idempotency-Key>`), so that a retried POST names the same command.
pub const CLIENT_IDEMPOTENCY_NAMESPACE: Uuid =
    Uuid::from_u128(0x3c6e_0b1f_9a2d_4e7c_8f10_5a6b_7c8d_9e0f);

/// `POST /v1/commands/{name}` with the command's fields as a JSON object (see
/// `ledger::domain::StripeCommand`: e.g. `create_subscription` takes `customer`, `price`,
/// `quantity`, `trial_period_days`, `coupon`). The command is validated, then appended as a
/// `StripeCommandRequested` event (stream `command-<id>`, actor the API key) before the
/// answer; the outbox worker sends it to Stripe with `Idempotency-Key: tally-cmd-<id>`.
///
/// An optional `Idempotency-Key` header makes the POST itself safe to retry: the same key (per
/// API key) names the same command, and a retry answers the original command (200 instead of
/// 202), or 409 `idempotency_key_reused` when the body differs.
///
/// Answers 202 `{"command_id", "name", "status": "pending", "stripe_idempotency_key",
/// "global_position", "url"}`; 400 naming `name` or `body` for an unknown command or invalid
/// fields (nothing stored).
pub async fn request_command(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !StripeCommand::NAMES.contains(&name.as_str()) {
        return Err(ApiError::invalid(
            "name",
            format!(
                "unknown command {name:?}; one of {}",
                StripeCommand::NAMES.join(", ")
            ),
        ));
    }
    let command = read_command(&name, &body)?;
    command
        .validate()
        .map_err(|message| ApiError::invalid("body", message))?;
    // `/v1/commands/*` always needs a key (`routes::authorization::requirement`).
    let Some(key_id) = caller.key_id() else {
        return Err(ApiError::Internal(
            "a command request reached its handler without an API key".to_owned(),
        ));
    };
    let client_key = headers
        .get("idempotency-key")
        .map(|value| value.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?;
    let command_id = match &client_key {
        Some(key) if key.is_empty() || key.len() > 255 => {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 characters",
            ))
        }
        Some(key) => Uuid::new_v5(
            &CLIENT_IDEMPOTENCY_NAMESPACE,
            format!("{key_id}:{key}").as_bytes(),
        ),
        None => Uuid::now_v7(),
    };
    let requested_at = Utc::now();
    let event = DomainEvent::StripeCommandRequested(StripeCommandRequested {
        command_id,
        command: command.clone(),
        requested_by: Some(key_id.clone()),
        requested_at,
    });
    let metadata = EventMetadata {
        source: "api".to_owned(),
        actor: Actor::ApiKey(key_id),
        stripe_event_id: None,
        stripe_api_version: None,
        causation_id: None,
        correlation_id: Some(command_id),
        stripe_fetch: None,
    };
    let append = StreamAppend {
        stream_id: command_stream_id(command_id),
        expected: ExpectedVersion::NoStream,
        events: vec![NewEvent::from_domain(
            requested_event_id(command_id),
            &event,
            metadata,
            requested_at,
        )],
    };
    let store = EventStore::with_signal(state.pool.clone(), state.append_signal.clone());
    let outcome = store
        .append_streams(Some(command_id), std::slice::from_ref(&append))
        .await?;
    // A retry under the same client key is the store's command-id duplicate.
    if outcome.is_duplicate() {
        return answer_retry(&state, command_id, &command).await;
    }
    let global_position = outcome.events().first().map(|event| event.global_position);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "command_id": command_id,
            "name": name,
            "status": "pending",
            "stripe_idempotency_key": stripe_idempotency_key(command_id),
            "global_position": global_position,
            "url": format!("/v1/commands/{command_id}"),
        })),
    ))
}

/// Reads the body as the fields of command `name`.
fn read_command(name: &str, body: &[u8]) -> Result<StripeCommand, ApiError> {
    let fields: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        serde_json::from_slice(body).map_err(|error| {
            ApiError::invalid("body", format!("expected a JSON object: {error}"))
        })?
    };
    if fields.contains_key("name") {
        return Err(ApiError::invalid(
            "body",
            "the command's name is in the path, not the body",
        ));
    }
    let mut tagged = fields;
    tagged.insert("name".to_owned(), Value::String(name.to_owned()));
    serde_json::from_value(Value::Object(tagged))
        .map_err(|error| ApiError::invalid("body", format!("{name}: {error}")))
}

/// A retried POST: the original command when the body is the same, else 409.
async fn answer_retry(
    state: &AppState,
    command_id: Uuid,
    command: &StripeCommand,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let history = command_history(state, command_id).await?.ok_or_else(|| {
        ApiError::Internal(format!("command {command_id}: stream without request"))
    })?;
    if history.requested.command != *command {
        return Err(ApiError::Conflict {
            code: "idempotency_key_reused",
            message: "this Idempotency-Key was used with different parameters".to_owned(),
        });
    }
    Ok((
        StatusCode::OK,
        Json(history.to_json(state, command_id).await?),
    ))
}

/// `GET /v1/commands/{id}`: `{"command_id", "name", "command", "status": "pending" |
/// "succeeded" | "failed", "requested_at", "requested_by", "stripe_idempotency_key",
/// "attempts", "next_attempt_at", "last_error": {"code", "message", "http_status"} | null,
/// "outcome": null | {"stripe_object_id", "stripe_object", "attempts", "completed_at"} |
/// {"code", "message", "http_status", "attempts", "failed_at"}, "echoes":
/// [{"stripe_event_id", "stripe_event_type", "stripe_event_created", "global_position"}],
/// "events": [{"global_position", "event_type", "recorded_at"}]}`. Times UTC. 400 naming `id`
/// for a malformed id, 404 for an unknown one.
pub async fn command_status_route(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let command_id =
        Uuid::try_parse(&id).map_err(|_| ApiError::invalid("id", "a command id is a UUID"))?;
    let Some(history) = command_history(&state, command_id).await? else {
        return Err(ApiError::NotFound {
            what: "command",
            id,
        });
    };
    Ok(Json(history.to_json(&state, command_id).await?))
}

/// A command's stream, folded: the request, its outcome if any, and its webhook echoes.
struct CommandHistory {
    requested: StripeCommandRequested,
    outcome: Option<CommandOutcome>,
    /// Each echo with its global position.
    echoes: Vec<(i64, StripeCommandEchoed)>,
    /// Every event of the stream: global position, type, recorded time.
    events: Vec<(i64, String, DateTime<Utc>)>,
}

enum CommandOutcome {
    Succeeded(StripeCommandSucceeded),
    Failed(StripeCommandFailed),
}

/// Reads and folds `command-<id>`; `None` when it holds no request.
async fn command_history(
    state: &AppState,
    command_id: Uuid,
) -> Result<Option<CommandHistory>, ApiError> {
    let recorded = read::read_stream(&state.pool, &command_stream_id(command_id), 1).await?;
    let mut requested = None;
    let mut outcome = None;
    let mut echoes = Vec::new();
    let mut events = Vec::with_capacity(recorded.len());
    for event in &recorded {
        events.push((
            event.global_position,
            event.event_type.clone(),
            event.recorded_at,
        ));
        match event.domain_event()? {
            DomainEvent::StripeCommandRequested(request) => requested = Some(request),
            DomainEvent::StripeCommandSucceeded(done) => {
                outcome = Some(CommandOutcome::Succeeded(done))
            }
            DomainEvent::StripeCommandFailed(failed) => {
                outcome = Some(CommandOutcome::Failed(failed))
            }
            DomainEvent::StripeCommandEchoed(echo) => echoes.push((event.global_position, echo)),
            _ => {}
        }
    }
    Ok(requested.map(|requested| CommandHistory {
        requested,
        outcome,
        echoes,
        events,
    }))
}

impl CommandHistory {
    /// The `GET /v1/commands/{id}` document, with the outbox row's attempts and last error.
    async fn to_json(&self, state: &AppState, command_id: Uuid) -> Result<Value, ApiError> {
        let attempt = stripe_outbox::load(&state.pool, command_id).await?;
        let (status, outcome) = match &self.outcome {
            None => ("pending", Value::Null),
            Some(CommandOutcome::Succeeded(done)) => (
                "succeeded",
                json!({
                    "stripe_object_id": done.stripe_object_id,
                    "stripe_object": done.stripe_object,
                    "attempts": done.attempts,
                    "completed_at": done.completed_at,
                }),
            ),
            Some(CommandOutcome::Failed(failed)) => (
                "failed",
                json!({
                    "code": failed.code,
                    "message": failed.message,
                    "http_status": failed.http_status,
                    "attempts": failed.attempts,
                    "failed_at": failed.failed_at,
                }),
            ),
        };
        let last_error = attempt.as_ref().and_then(|row| {
            row.last_error_code.as_ref().map(|code| {
                json!({"code": code, "message": row.last_error, "http_status": row.last_http_status})
            })
        });
        let requested = &self.requested;
        Ok(json!({
            "command_id": requested.command_id,
            "name": requested.command.name(),
            "command": requested.command,
            "requested_at": requested.requested_at,
            "requested_by": requested.requested_by,
            "stripe_idempotency_key": stripe_idempotency_key(command_id),
            "status": status,
            "attempts": attempt.as_ref().map_or(0, |row| row.attempts),
            "next_attempt_at": attempt
                .as_ref()
                .filter(|row| row.status == "pending")
                .map(|row| row.next_attempt_at),
            "last_error": last_error,
            "outcome": outcome,
            "echoes": self.echoes.iter().map(|(position, echo)| json!({
                "stripe_event_id": echo.stripe_event_id,
                "stripe_event_type": echo.stripe_event_type,
                "stripe_event_created": echo.stripe_event_created,
                "global_position": position,
            })).collect::<Vec<_>>(),
            "events": self.events.iter().map(|(position, event_type, recorded_at)| json!({
                "global_position": position,
                "event_type": event_type,
                "recorded_at": recorded_at,
            })).collect::<Vec<_>>(),
        }))
    }
}
