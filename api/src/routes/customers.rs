//! `GET /v1/customers/{id}/mrr` and `GET /v1/customers/{id}/events`.

use crate::params::{self, Query};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query as QueryExtractor, State};
use axum::Json;
use projections::queries;
use serde_json::{json, Value};

/// `{"customer", "currency", "mrr", "at"}`: the customer's MRR (minor units) in `currency` after
/// every event with effective time <= `at` (default: now). Without `currency`, the customer's one
/// currency; a customer with MRR history in several currencies needs `currency` (400 otherwise);
/// a known customer with no MRR history answers `"currency": null, "mrr": 0`. 404 when Tally has
/// never seen the customer.
pub async fn mrr_at(
    State(state): State<AppState>,
    Path(customer): Path<String>,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Json<Value>, ApiError> {
    let at = params::optional_instant(&query, "at")?.unwrap_or_else(chrono::Utc::now);
    let requested = params::optional_currency(&query)?;
    let currencies = queries::customer_currencies(&state.pool, &customer).await?;
    if currencies.is_empty() && !queries::customer_is_known(&state.pool, &customer).await? {
        return Err(ApiError::NotFound {
            what: "customer",
            id: customer,
        });
    }
    let currency = match (requested, currencies.as_slice()) {
        (Some(currency), _) => Some(currency),
        (None, []) => None,
        (None, [only]) => Some(only.clone()),
        (None, several) => {
            let names: Vec<&str> = several.iter().map(|currency| currency.as_str()).collect();
            return Err(ApiError::invalid(
                "currency",
                format!(
                    "customer has MRR in several currencies ({}); choose one",
                    names.join(", ")
                ),
            ));
        }
    };
    let mrr = match &currency {
        Some(currency) => queries::customer_mrr_at(&state.pool, &customer, currency, at).await?,
        None => 0,
    };
    Ok(Json(json!({
        "customer": customer,
        "currency": currency,
        "mrr": mrr,
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })))
}

/// `{"customer", "events": [...]}`: every domain event about the customer in effective-time
/// order, each with its global position, stream, type, effective and recorded time (UTC), the
/// source Stripe event id and the payload: the audit trail finance reads.
pub async fn events(
    State(state): State<AppState>,
    Path(customer): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let events = queries::customer_events(&state.pool, &customer).await?;
    if events.is_empty() {
        return Err(ApiError::NotFound {
            what: "customer",
            id: customer,
        });
    }
    let events: Vec<Value> = events
        .into_iter()
        .map(|event| {
            json!({
                "global_position": event.global_position,
                "stream_id": event.stream_id,
                "stream_version": event.stream_version,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "schema_version": event.schema_version,
                "effective_at": event.effective_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "recorded_at": event.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "source": event.metadata.source,
                "stripe_event_id": event.metadata.stripe_event_id,
                "payload": event.payload,
            })
        })
        .collect();
    Ok(Json(json!({ "customer": customer, "events": events })))
}
