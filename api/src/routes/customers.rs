//! `GET /v1/customers/{id}/mrr`, `GET /v1/customers/{id}/timeline` and
//! `GET /v1/customers/{id}/events`.

use crate::money_text::{major_units, money_json};
use crate::params::{self, Query};
use crate::routes::event_json::event_json;
use crate::routes::report_format::{optional_cell, respond, CsvTable, ReportFormat};
use crate::routes::reports::as_of_json;
use crate::{ApiError, AppState};
use axum::extract::{Path, Query as QueryExtractor, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use projections::queries;
use serde_json::{json, Value};

/// `{"customer", "currency", "mrr", "mrr_decimal", "at", "as_of"}`: the customer's MRR (minor
/// units) in `currency` after every event with effective time <= `at` (default: now). Without
/// `currency`, the customer's one currency; a customer with MRR history in several currencies
/// needs `currency` (400 otherwise); a known customer with no MRR history answers
/// `"currency": null, "mrr": 0`. 404 when Tally has never seen the customer.
///
/// `as_of=<RFC 3339>`: from the snapshots recorded at or before it (as the log stood then).
/// CSV (`format=csv` / `Accept: text/csv`): one row `customer,currency,at,as_of,mrr`.
pub async fn mrr_at(
    State(state): State<AppState>,
    Path(customer): Path<String>,
    headers: HeaderMap,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Response, ApiError> {
    let format = ReportFormat::of_request(&query, &headers)?;
    let at = params::optional_instant(&query, "at")?.unwrap_or_else(chrono::Utc::now);
    let as_of = params::as_of(&query)?;
    let requested = params::optional_currency(&query)?;
    let mrr_as_of = match as_of {
        Some(as_of) => {
            Some(queries::customer_mrr_at_as_of(&state.pool, &customer, at, as_of).await?)
        }
        None => None,
    };
    let currencies = match &mrr_as_of {
        Some(by_currency) => by_currency.keys().cloned().collect(),
        None => queries::customer_currencies(&state.pool, &customer).await?,
    };
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
    let mrr = match (&currency, &mrr_as_of) {
        (Some(currency), Some(by_currency)) => by_currency.get(currency).copied().unwrap_or(0),
        (Some(currency), None) => {
            queries::customer_mrr_at(&state.pool, &customer, currency, at).await?
        }
        (None, _) => 0,
    };
    let at_text = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mrr_decimal = currency.as_ref().map(|currency| major_units(currency, mrr));
    let mut table = CsvTable::new(&["customer", "currency", "at", "as_of", "mrr"]);
    table.push(vec![
        customer.clone(),
        optional_cell(currency.as_ref().map(ToString::to_string)),
        at_text.clone(),
        optional_cell(as_of_json(as_of).as_str().map(str::to_owned)),
        optional_cell(mrr_decimal.clone()),
    ]);
    let json = json!({
        "customer": customer,
        "currency": currency,
        "mrr": mrr,
        "mrr_decimal": mrr_decimal,
        "at": at_text,
        "as_of": as_of_json(as_of),
    });
    respond(format, json, table)
}

/// `{"customer", "as_of", "changes": [...]}`: every change of the customer's MRR, per currency
/// then effective time, each `{"at", "currency", "kind", "before", "after", "difference",
/// "sources": [{"global_position", "event_type", "stripe_event_id", "recorded_at"}]}` with
/// money as `{"amount" (minor units), "currency", "decimal" (major-unit string)}`. `kind` is the
/// change's movement type on its own (a day's changes are netted in the daily movements).
/// `sources`: the events about the customer's subscriptions, discounts (or their coupons) with
/// that effective time. `as_of`: from the snapshots recorded at or before it. 404 when Tally has
/// never seen the customer. CSV: one row per change.
pub async fn timeline(
    State(state): State<AppState>,
    Path(customer): Path<String>,
    headers: HeaderMap,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Response, ApiError> {
    let format = ReportFormat::of_request(&query, &headers)?;
    let as_of = params::as_of(&query)?;
    let entries = queries::customer_timeline(&state.pool, &customer, as_of).await?;
    if entries.is_empty() && !queries::customer_is_known(&state.pool, &customer).await? {
        return Err(ApiError::NotFound {
            what: "customer",
            id: customer,
        });
    }
    let time = |instant: chrono::DateTime<chrono::Utc>| {
        instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    };
    let mut table = CsvTable::new(&[
        "customer",
        "at",
        "currency",
        "kind",
        "before",
        "after",
        "difference",
        "stripe_event_ids",
        "global_positions",
    ]);
    for entry in &entries {
        let change = &entry.change;
        let stripe_ids: Vec<String> = entry
            .sources
            .iter()
            .filter_map(|source| source.stripe_event_id.clone())
            .collect();
        let positions: Vec<String> = entry
            .sources
            .iter()
            .map(|source| source.global_position.to_string())
            .collect();
        table.push(vec![
            customer.clone(),
            time(change.at),
            entry.currency.to_string(),
            change.kind.as_str().to_owned(),
            major_units(&entry.currency, change.mrr_before),
            major_units(&entry.currency, change.mrr_after),
            major_units(&entry.currency, change.mrr_after - change.mrr_before),
            stripe_ids.join(" "),
            positions.join(" "),
        ]);
    }
    let changes: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let change = &entry.change;
            let sources: Vec<Value> = entry
                .sources
                .iter()
                .map(|source| {
                    json!({
                        "global_position": source.global_position,
                        "event_type": source.event_type,
                        "stripe_event_id": source.stripe_event_id,
                        "recorded_at": time(source.recorded_at),
                    })
                })
                .collect();
            json!({
                "at": time(change.at),
                "currency": entry.currency,
                "kind": change.kind.as_str(),
                "before": money_json(&entry.currency, change.mrr_before),
                "after": money_json(&entry.currency, change.mrr_after),
                "difference": money_json(&entry.currency, change.mrr_after - change.mrr_before),
                "sources": sources,
            })
        })
        .collect();
    let json = json!({
        "customer": customer,
        "as_of": as_of_json(as_of),
        "changes": changes,
    });
    respond(format, json, table)
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
