//! `GET /v1/reports/restatements?currency=&month=YYYY-MM`: every change to a closed month's
//! MRR figures recorded after it closed, with when it became known, by how much, and the events
//! behind it.

use crate::money_text::major_units;
use crate::params::{self, Query};
use crate::routes::report_format::{optional_cell, respond, CsvTable, ReportFormat};
use crate::{ApiError, AppState};
use axum::extract::{Query as QueryExtractor, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::SecondsFormat;
use ledger::domain::Currency;
use projections::queries;
use projections::rules::{MonthFigures, Restatement};
use serde_json::{json, Map, Value};

/// `{"currency", "month", "closed_at", "as_closed": {figures}, "restatements": [{"recorded_at",
/// "changes": [{"figure", "before", "after", "difference"}], "before", "after", "causes":
/// [{"global_position", "event_type", "stripe_event_id", "effective_at", "customer"}]}]}`.
/// Figures: `open`, `new`, `expansion`, `contraction`, `churn`, `reactivation`, `close`, in minor
/// units. CSV: one row per changed figure per restatement, the causes' Stripe event ids and
/// global positions space-separated.
pub async fn restatements(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Response, ApiError> {
    let format = ReportFormat::of_request(&query, &headers)?;
    let currency = params::currency(&query)?;
    let month = params::month(&query, "month")?;
    let found = queries::month_restatements(&state.pool, &currency, month).await?;
    let mut table = CsvTable::new(&[
        "month",
        "currency",
        "recorded_at",
        "figure",
        "before",
        "after",
        "difference",
        "stripe_event_ids",
        "global_positions",
    ]);
    for restatement in &found.restatements {
        let stripe_ids: Vec<String> = restatement
            .causes
            .iter()
            .filter_map(|cause| cause.stripe_event_id.clone())
            .collect();
        let positions: Vec<String> = restatement
            .causes
            .iter()
            .map(|cause| cause.global_position.to_string())
            .collect();
        for (figure, before, after) in changed_figures(restatement) {
            table.push(vec![
                month.to_string(),
                currency.to_string(),
                time(restatement.recorded_at),
                figure.to_owned(),
                major_units(&currency, before),
                major_units(&currency, after),
                major_units(&currency, after - before),
                optional_cell(Some(stripe_ids.join(" "))),
                positions.join(" "),
            ]);
        }
    }
    let restatements: Vec<Value> = found
        .restatements
        .iter()
        .map(|restatement| restatement_json(restatement, &currency))
        .collect();
    let json = json!({
        "currency": currency,
        "month": month.to_string(),
        "closed_at": time(found.closed_at),
        "as_closed": figures_json(&found.as_closed),
        "restatements": restatements,
    });
    respond(format, json, table)
}

fn time(instant: chrono::DateTime<chrono::Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The figures that differ, as (name, before, after).
fn changed_figures(restatement: &Restatement) -> Vec<(&'static str, i64, i64)> {
    restatement
        .before
        .named()
        .into_iter()
        .zip(restatement.after.named())
        .filter(|((_, before), (_, after))| before != after)
        .map(|((name, before), (_, after))| (name, before, after))
        .collect()
}

fn figures_json(figures: &MonthFigures) -> Value {
    let map: Map<String, Value> = figures
        .named()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), json!(value)))
        .collect();
    Value::Object(map)
}

fn restatement_json(restatement: &Restatement, currency: &Currency) -> Value {
    let changes: Vec<Value> = changed_figures(restatement)
        .into_iter()
        .map(|(figure, before, after)| {
            json!({
                "figure": figure,
                "before": before,
                "after": after,
                "difference": after - before,
                "difference_decimal": major_units(currency, after - before),
            })
        })
        .collect();
    let causes: Vec<Value> = restatement
        .causes
        .iter()
        .map(|cause| {
            json!({
                "global_position": cause.global_position,
                "event_type": cause.event_type,
                "stripe_event_id": cause.stripe_event_id,
                "effective_at": time(cause.effective_at),
                "customer": cause.customer,
            })
        })
        .collect();
    json!({
        "recorded_at": time(restatement.recorded_at),
        "changes": changes,
        "before": figures_json(&restatement.before),
        "after": figures_json(&restatement.after),
        "causes": causes,
    })
}
