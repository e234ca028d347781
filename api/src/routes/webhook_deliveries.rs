//! `GET /v1/webhooks/deliveries`: the webhook delivery log, newest first, for the operator who
//! asks "did Stripe reach us?".

use crate::params::{self, Query};
use crate::{ApiError, AppState};
use axum::extract::{Query as QueryExtractor, State};
use axum::Json;
use ledger::store::webhook_deliveries::{self, DeliveryFilter, DeliveryStatus};
use serde_json::{json, Value};

/// The longest `type` filter accepted (Stripe event types are far shorter).
const MAX_EVENT_TYPE_FILTER_CHARS: usize = 255;

/// `{"deliveries": [{"delivery_id", "received_at", "stripe_event_id", "type", "status",
/// "reason", "body_bytes", "signature_timestamp"}], "next_before": <int>|null, "limit"}`.
///
/// - `status=received|duplicate|rejected|unparsed` and `type=<Stripe event type>` filter;
///   `limit` (1..=1000, default 100) and `before=<delivery_id>` page: pass `next_before` back
///   as `before` for the next, older page (`null` once the page was not full).
/// - Times are UTC RFC 3339 (`received_at` with microseconds; `signature_timestamp`, the
///   `t=` of the `Stripe-Signature` header, in seconds). `body_bytes` is the body's size.
/// - A `rejected` row has no `stripe_event_id` or `type` (nothing of an unverified body is
///   kept) and says why in `reason` (`<code>: <message>`, codes as in the webhook's 400/413).
/// - A bad `status`, `type`, `before` or `limit` -> 400 `invalid_parameter` naming it.
pub async fn list_webhook_deliveries(
    State(state): State<AppState>,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Json<Value>, ApiError> {
    let filter = DeliveryFilter {
        status: delivery_status(&query)?,
        event_type: event_type(&query)?,
        before: before(&query)?,
        limit: params::feed_limit(&query)?,
    };
    let rows = webhook_deliveries::list_deliveries(&state.pool, &filter).await?;
    let full_page = i64::try_from(rows.len()).is_ok_and(|read| read == filter.limit);
    let next_before = rows.last().filter(|_| full_page).map(|row| row.delivery_id);
    let deliveries: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "delivery_id": row.delivery_id,
                "received_at": row.received_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "stripe_event_id": row.stripe_event_id,
                "type": row.event_type,
                "status": row.status,
                "reason": row.reason,
                "body_bytes": row.body_bytes,
                "signature_timestamp": row.signature_timestamp
                    .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            })
        })
        .collect();
    Ok(Json(json!({
        "deliveries": deliveries,
        "next_before": next_before,
        "limit": filter.limit,
    })))
}

/// `status`: optional, one of `received`, `duplicate`, `rejected`, `unparsed`.
fn delivery_status(query: &Query) -> Result<Option<DeliveryStatus>, ApiError> {
    let Some(raw) = query.get("status") else {
        return Ok(None);
    };
    DeliveryStatus::parse(raw).map(Some).ok_or_else(|| {
        ApiError::invalid(
            "status",
            "expected one of received, duplicate, rejected, unparsed",
        )
    })
}

/// `type`: optional, a non-empty Stripe event type (letters, digits, `.` and `_`).
fn event_type(query: &Query) -> Result<Option<String>, ApiError> {
    let Some(raw) = query.get("type") else {
        return Ok(None);
    };
    let well_formed = !raw.is_empty()
        && raw.len() <= MAX_EVENT_TYPE_FILTER_CHARS
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    if !well_formed {
        return Err(ApiError::invalid(
            "type",
            "expected a Stripe event type such as invoice.paid",
        ));
    }
    Ok(Some(raw.clone()))
}

/// `before`: optional, a positive `delivery_id` (the previous page's `next_before`).
fn before(query: &Query) -> Result<Option<i64>, ApiError> {
    let Some(raw) = query.get("before") else {
        return Ok(None);
    };
    raw.parse::<i64>()
        .ok()
        .filter(|before| *before > 0)
        .map(Some)
        .ok_or_else(|| ApiError::invalid("before", "expected a positive delivery_id"))
}
