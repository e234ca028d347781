//! `POST /v1/usage` (a batch of usage increments) and `GET /v1/customers/{id}/usage`.

use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::domain::{
    validate_usage_increment, Actor, CustomerId, DomainEvent, EventMetadata, UsageIncrementInput,
    UsageRejection,
};
use ledger::store::{EventStore, NewEvent, NewEventOutcome};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Most increments one `POST /v1/usage` accepts.
pub const USAGE_BATCH_MAX: usize = 1000;

/// The body of `POST /v1/usage`.
#[derive(Debug, Deserialize)]
pub struct UsageBatchBody {
    /// The increments; each is read on its own, so one malformed item rejects only itself.
    pub increments: Vec<Box<RawValue>>,
}

/// One increment as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsageItemBody {
    customer: String,
    meter: String,
    /// A decimal string (`"12.5"`) or a JSON number.
    quantity: Decimal,
    /// RFC 3339, or Unix seconds as Stripe writes times.
    timestamp: TimestampBody,
    idempotency_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TimestampBody {
    Seconds(i64),
    Text(DateTime<Utc>),
}

/// `POST /v1/usage` with `{"increments": [{customer, meter, quantity, timestamp,
/// idempotency_key}, ...]}` (at most [`USAGE_BATCH_MAX`]). Each valid increment becomes one
/// immutable `UsageIncrementRecorded` event; the whole batch is appended in one round trip.
///
/// Answers 200 `{"recorded", "duplicates", "rejected", "message", "results": [{"index",
/// "status": "recorded"|"duplicate"|"rejected", "global_position"?, "code"?, "reason"?}]}`:
/// a repeated idempotency key (in an earlier batch or earlier in this one) is a no-op reported
/// as `duplicate`; an invalid item is `rejected` with its index, code and reason, and the
/// valid items of the batch are kept. 400 when the body is not such a batch (nothing stored).
pub async fn record_usage(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let batch: UsageBatchBody = serde_json::from_slice(&body).map_err(|error| {
        ApiError::invalid(
            "body",
            format!("expected {{\"increments\": [...]}}: {error}"),
        )
    })?;
    if batch.increments.len() > USAGE_BATCH_MAX {
        return Err(ApiError::invalid(
            "increments",
            format!("at most {USAGE_BATCH_MAX} increments per batch"),
        ));
    }
    let now = Utc::now();
    let metadata = EventMetadata {
        source: "api".to_owned(),
        actor: Actor::System,
        stripe_event_id: None,
        stripe_api_version: None,
        causation_id: None,
        correlation_id: None,
        stripe_fetch: None,
    };
    let mut results: Vec<Value> = vec![Value::Null; batch.increments.len()];
    let mut to_append: Vec<(String, NewEvent)> = Vec::with_capacity(batch.increments.len());
    let mut appended_index: Vec<usize> = Vec::with_capacity(batch.increments.len());
    for (index, raw) in batch.increments.iter().enumerate() {
        match read_item(raw, now) {
            Ok(event) => {
                let id = event.event_id();
                let timestamp = event.timestamp;
                let domain = DomainEvent::UsageIncrementRecorded(event);
                to_append.push((
                    domain.stream_id(),
                    NewEvent::from_domain(id, &domain, metadata.clone(), timestamp),
                ));
                appended_index.push(index);
            }
            Err((code, reason)) => {
                results[index] =
                    json!({"index": index, "status": "rejected", "code": code, "reason": reason});
            }
        }
    }
    let store = EventStore::with_signal(state.pool.clone(), state.append_signal.clone());
    let outcomes = store.append_new_events(&to_append).await?;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (index, outcome) in appended_index.into_iter().zip(outcomes) {
        results[index] = match outcome {
            NewEventOutcome::Appended { global_position } => {
                json!({"index": index, "status": "recorded", "global_position": global_position})
            }
            NewEventOutcome::AlreadyStored | NewEventOutcome::RepeatedInBatch => {
                json!({"index": index, "status": "duplicate"})
            }
        };
    }
    for result in &results {
        let status = result["status"].as_str().unwrap_or("rejected");
        *counts.entry(status).or_default() += 1;
    }
    let (recorded, duplicates, rejected) = (
        counts.get("recorded").copied().unwrap_or(0),
        counts.get("duplicate").copied().unwrap_or(0),
        counts.get("rejected").copied().unwrap_or(0),
    );
    let message = if rejected == 0 {
        format!("{recorded} recorded, {duplicates} duplicates")
    } else {
        format!(
            "{rejected} of {} increments rejected (see results by index); the {} valid ones were kept ({recorded} recorded, {duplicates} duplicates)",
            results.len(),
            recorded + duplicates
        )
    };
    Ok(Json(json!({
        "recorded": recorded,
        "duplicates": duplicates,
        "rejected": rejected,
        "message": message,
        "results": results,
    })))
}

fn read_item(
    raw: &RawValue,
    now: DateTime<Utc>,
) -> Result<ledger::domain::UsageIncrementRecorded, (&'static str, String)> {
    let item: UsageItemBody = serde_json::from_str(raw.get())
        .map_err(|error| ("malformed_increment", error.to_string()))?;
    let timestamp = match item.timestamp {
        TimestampBody::Text(at) => at,
        TimestampBody::Seconds(seconds) => DateTime::from_timestamp(seconds, 0).ok_or((
            "malformed_increment",
            format!("timestamp {seconds} is out of range"),
        ))?,
    };
    validate_usage_increment(
        UsageIncrementInput {
            customer: item.customer,
            meter: item.meter,
            quantity: item.quantity,
            timestamp,
            idempotency_key: item.idempotency_key,
        },
        now,
    )
    .map_err(|rejection: UsageRejection| (rejection.code(), rejection.to_string()))
}

/// Query of `GET /v1/customers/{id}/usage`.
#[derive(Debug, Deserialize)]
pub struct UsageQuery {
    /// The meter (required).
    pub meter: Option<String>,
    /// `current` (default), an RFC 3339 instant or a `YYYY-MM-DD` day: the billing period
    /// containing it.
    pub period: Option<String>,
}

/// `GET /v1/customers/{id}/usage?meter=&period=`: `{"customer", "meter", "period": {"start",
/// "end", "basis"}, "quantity", "limit", "overage_quantity", "overage_amount": {"minor",
/// "currency"}|null, "remaining", "current_through"}` from the in-memory projection (quantities
/// are exact decimal strings; the overage amount is rounded once to minor units).
pub async fn customer_usage(
    State(state): State<AppState>,
    Path(customer): Path<String>,
    Query(query): Query<UsageQuery>,
) -> Result<Json<Value>, ApiError> {
    let meter = query
        .meter
        .filter(|meter| !meter.is_empty())
        .ok_or_else(|| ApiError::invalid("meter", "meter is required"))?;
    let now = Utc::now();
    let at = period_instant(query.period.as_deref(), now)?;
    let customer = CustomerId(customer);
    let shared = state.entitlements.state();
    let projection = shared
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let summary = projection.usage(&customer, &meter, at, now);
    let mut body = serde_json::to_value(&summary).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["customer"] = json!(customer);
    body["current_through"] = json!(projection.position);
    Ok(Json(body))
}

/// `current`/absent -> `now`; RFC 3339 -> that instant; `YYYY-MM-DD` -> its midnight (UTC).
fn period_instant(period: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    match period {
        None | Some("") | Some("current") => Ok(now),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(|day| day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
            })
            .map_err(|_| {
                ApiError::invalid(
                    "period",
                    "expected current, an RFC 3339 instant or YYYY-MM-DD",
                )
            }),
    }
}
