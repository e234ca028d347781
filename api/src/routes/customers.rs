//! `GET /v1/customers/{id}/mrr` and `GET /v1/customers/{id}/events`.

use crate::params::{self, Query};
use crate::routes::event_json::event_json;
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

/// `{"customer", "as_of", "events": [...]}`: every domain event about the customer in
/// effective-time order (then global position), each as [`event_json`] shapes it (global
/// position, stream, type, schema version, effective and recorded time, metadata with actor,
/// causation, correlation and Stripe event id, payload): the audit trail finance reads.
///
/// `as_of=<RFC 3339>` (optional): the trail as the log held it at that instant, i.e. only events
/// with `recorded_at <= as_of`; answered back as `as_of` (UTC), `null` when absent (the log as
/// it is now). Invalid `as_of` -> 400 naming it. 404 when Tally has never seen the customer; a
/// known customer with nothing recorded by `as_of` answers an empty list.
pub async fn events(
    State(state): State<AppState>,
    Path(customer): Path<String>,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Json<Value>, ApiError> {
    let as_of = params::optional_instant(&query, "as_of")?;
    let events = queries::customer_events(&state.pool, &customer, as_of).await?;
    if events.is_empty() && !queries::customer_is_known(&state.pool, &customer).await? {
        return Err(ApiError::NotFound {
            what: "customer",
            id: customer,
        });
    }
    let events: Vec<Value> = events.iter().map(event_json).collect();
    Ok(Json(json!({
        "customer": customer,
        "as_of": as_of.map(|as_of| as_of.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        "events": events,
    })))
}
