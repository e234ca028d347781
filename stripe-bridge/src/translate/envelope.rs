//! The Stripe Event envelope (`object: "event"`): id, type, created, API version, request, and
//! the raw `data.object` the type-specific translators read.

use crate::error::PayloadError;
use crate::translate::common::unix_time;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// The provenance of a Stripe Event, common to every API version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEventEnvelope {
    /// Stripe Event id (`evt_...`): the idempotency key of ingestion.
    pub id: String,
    /// Stripe Event type, e.g. `customer.subscription.updated`.
    pub event_type: String,
    /// The Event's `created` (Unix seconds in the payload), UTC: the effective time of every
    /// domain event translated from it (revenue-rules.md §0).
    pub created: DateTime<Utc>,
    /// The API version the payload was rendered in (e.g. `2026-09-30.endive`); `None` when
    /// Stripe sent null.
    pub api_version: Option<String>,
    /// `request.idempotency_key` of the API request that caused the Event, if any.
    pub request_idempotency_key: Option<String>,
}

/// A readable Event: its envelope and the raw text of `data.object`.
pub(crate) struct ParsedEvent {
    /// The envelope.
    pub(crate) envelope: StripeEventEnvelope,
    /// `data.object`, unparsed.
    pub(crate) object: Box<RawValue>,
}

/// Why a body is not a readable Event, with whatever id and type could be read.
pub(crate) struct EnvelopeProblem {
    /// The Event id, when readable.
    pub(crate) stripe_event_id: Option<String>,
    /// The Event type, when readable.
    pub(crate) event_type: Option<String>,
    /// What is wrong.
    pub(crate) error: PayloadError,
}

/// The top level of an Event, every field tolerated in any type so that the id and type can
/// be reported even when another field is wrong.
#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    object: Option<Value>,
    #[serde(default, rename = "type")]
    event_type: Option<Value>,
    #[serde(default)]
    created: Option<Value>,
    #[serde(default)]
    api_version: Option<Value>,
    /// An object `{id, idempotency_key}` since API 2017-05-25; a request id string before.
    #[serde(default)]
    request: Option<Value>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

/// `data`: only `object` is read (`previous_attributes` is not needed: Tally keeps snapshots).
#[derive(Deserialize)]
struct RawEventData {
    #[serde(default)]
    object: Option<Box<RawValue>>,
}

/// Reads the envelope of a webhook body.
pub(crate) fn parse_event(body: &[u8]) -> Result<ParsedEvent, EnvelopeProblem> {
    let unreadable = |error| EnvelopeProblem {
        stripe_event_id: None,
        event_type: None,
        error,
    };
    let first_byte = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first_byte != Some(&b'{') {
        // Serde would read a JSON array positionally into `RawEvent`: refuse it first.
        return Err(unreadable(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => PayloadError::NotAnObject,
                Err(error) => PayloadError::InvalidJson {
                    detail: error.to_string(),
                },
            },
        ));
    }
    let raw: RawEvent = serde_json::from_slice(body).map_err(|error| {
        unreadable(PayloadError::InvalidJson {
            detail: error.to_string(),
        })
    })?;
    if let Some(object) = &raw.object {
        if object.as_str() != Some("event") {
            return Err(EnvelopeProblem {
                stripe_event_id: None,
                event_type: None,
                error: PayloadError::NotAnEvent {
                    object: object
                        .as_str()
                        .map_or_else(|| object.to_string(), str::to_owned),
                },
            });
        }
    }
    let stripe_event_id = non_empty_string(&raw.id);
    let event_type = non_empty_string(&raw.event_type);
    let problem = |error| EnvelopeProblem {
        stripe_event_id: stripe_event_id.clone(),
        event_type: event_type.clone(),
        error,
    };
    let id = required_string(&raw.id, "id").map_err(problem)?;
    let event_type_text = required_string(&raw.event_type, "type").map_err(problem)?;
    let created = match &raw.created {
        None => Err(PayloadError::missing("created")),
        Some(value) => value
            .as_i64()
            .ok_or_else(|| PayloadError::invalid("created", "not a whole number of Unix seconds"))
            .and_then(|seconds| unix_time(seconds, "created")),
    }
    .map_err(problem)?;
    let data = raw
        .data
        .ok_or_else(|| PayloadError::missing("data"))
        .map_err(problem)?;
    let data: RawEventData = Some(data.get())
        .filter(|text| text.starts_with('{'))
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| PayloadError::invalid("data", "not a JSON object"))
        .map_err(problem)?;
    let object = data
        .object
        .ok_or_else(|| PayloadError::missing("data.object"))
        .map_err(problem)?;
    Ok(ParsedEvent {
        envelope: StripeEventEnvelope {
            id,
            event_type: event_type_text,
            created,
            api_version: non_empty_string(&raw.api_version),
            request_idempotency_key: raw
                .request
                .as_ref()
                .and_then(|request| request.get("idempotency_key"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        object,
    })
}

/// The field as a non-empty string, when it is one.
fn non_empty_string(value: &Option<Value>) -> Option<String> {
    value
        .as_ref()
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// A required non-empty string field of the envelope.
fn required_string(value: &Option<Value>, path: &str) -> Result<String, PayloadError> {
    match value {
        None => Err(PayloadError::missing(path)),
        Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
        Some(Value::String(_)) => Err(PayloadError::invalid(path, "empty string")),
        Some(_) => Err(PayloadError::invalid(path, "not a string")),
    }
}
