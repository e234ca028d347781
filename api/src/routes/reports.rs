//! `GET /v1/reports/{mrr,churn,cash}`: monthly reports in one currency. Amounts in minor units;
//! rates and ARPA as 6-decimal strings, `null` when the denominator is zero. `as_of=<RFC 3339>`:
//! as the log stood at that recorded time. JSON, or CSV (`format=csv` / `Accept: text/csv`)
//! with amounts as major-unit decimal strings.

use crate::money_text::{major_units, major_units_decimal};
use crate::params::{self, Query};
use crate::routes::report_format::{optional_cell, respond, CsvTable, ReportFormat};
use crate::{ApiError, AppState};
use axum::extract::{Query as QueryExtractor, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use ledger::domain::Currency;
use projections::queries;
use projections::rules::format_rate;
use serde_json::{json, Value};

/// The MRR figures shared by the monthly and the daily report, in column order.
pub(crate) const MOVEMENT_COLUMNS: [&str; 7] = [
    "open",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "close",
];

/// One period's MRR figures in [`MOVEMENT_COLUMNS`] order (minor units) as CSV cells: major-unit
/// decimal strings of `currency`.
pub(crate) fn movement_cells(currency: &Currency, figures: [i64; 7]) -> Vec<String> {
    figures
        .iter()
        .map(|minor| major_units(currency, *minor))
        .collect()
}

/// One period's MRR figures in [`MOVEMENT_COLUMNS`] order as JSON fields (minor units), plus
/// `extra` fields (the period, customer counts).
pub(crate) fn movement_json(figures: [i64; 7], extra: &[(&str, Value)]) -> Value {
    let mut fields = serde_json::Map::new();
    for (key, value) in extra {
        fields.insert((*key).to_owned(), value.clone());
    }
    for (column, minor) in MOVEMENT_COLUMNS.iter().zip(figures) {
        fields.insert((*column).to_owned(), json!(minor));
    }
    Value::Object(fields)
}

/// `as_of` as answered back: RFC 3339 UTC, `null` when absent.
pub(crate) fn as_of_json(as_of: Option<DateTime<Utc>>) -> Value {
    json!(as_of.map(|as_of| as_of.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
}

/// MRR movements per month: open, new, expansion, contraction, churn, reactivation, close, and
/// active customers at open and close.
pub async fn mrr(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Response, ApiError> {
    let format = ReportFormat::of_request(&query, &headers)?;
    let currency = params::currency(&query)?;
    let (from, to) = params::month_range(&query)?;
    let as_of = params::as_of(&query)?;
    let months = match as_of {
        None => queries::mrr_report(&state.pool, &currency, from, to).await?,
        Some(as_of) => queries::mrr_report_as_of(&state.pool, &currency, from, to, as_of).await?,
    };
    let mut columns = vec!["month", "currency"];
    columns.extend(MOVEMENT_COLUMNS);
    columns.extend(["customers_open", "customers_close"]);
    let mut table = CsvTable::new(&columns);
    let mut rows = Vec::with_capacity(months.len());
    for m in &months {
        let figures = [
            m.open,
            m.new,
            m.expansion,
            m.contraction,
            m.churn,
            m.reactivation,
            m.close,
        ];
        let mut cells = vec![m.month.to_string(), currency.to_string()];
        cells.extend(movement_cells(&currency, figures));
        cells.extend([m.customers_open.to_string(), m.customers_close.to_string()]);
        table.push(cells);
        rows.push(movement_json(
            figures,
            &[
                ("month", json!(m.month.to_string())),
                ("customers_open", json!(m.customers_open)),
                ("customers_close", json!(m.customers_close)),
            ],
        ));
    }
    let months = rows;
    let json = json!({ "currency": currency, "as_of": as_of_json(as_of), "months": months });
    respond(format, json, table)
}

/// Churn and retention rates per month (revenue-rules.md §4). CSV: rates as in JSON, ARPA in
/// major units.
pub async fn churn(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Response, ApiError> {
    let format = ReportFormat::of_request(&query, &headers)?;
    let currency = params::currency(&query)?;
    let (from, to) = params::month_range(&query)?;
    let as_of = params::as_of(&query)?;
    let months = match as_of {
        None => queries::churn_report(&state.pool, &currency, from, to).await?,
        Some(as_of) => queries::churn_report_as_of(&state.pool, &currency, from, to, as_of).await?,
    };
    let rate = |value: Option<rust_decimal::Decimal>| value.map(format_rate);
    let mut table = CsvTable::new(&[
        "month",
        "currency",
        "logo_churn_rate",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "nrr",
        "grr",
        "quick_ratio",
        "arpa",
    ]);
    for m in &months {
        table.push(vec![
            m.month.to_string(),
            currency.to_string(),
            optional_cell(rate(m.logo_churn_rate)),
            optional_cell(rate(m.gross_mrr_churn_rate)),
            optional_cell(rate(m.net_mrr_churn_rate)),
            optional_cell(rate(m.nrr)),
            optional_cell(rate(m.grr)),
            optional_cell(rate(m.quick_ratio)),
            optional_cell(m.arpa.map(|arpa| major_units_decimal(&currency, arpa))),
        ]);
    }
    let months: Vec<Value> = months
        .into_iter()
        .map(|m| {
            json!({
                "month": m.month.to_string(),
                "logo_churn_rate": rate(m.logo_churn_rate),
                "gross_mrr_churn_rate": rate(m.gross_mrr_churn_rate),
                "net_mrr_churn_rate": rate(m.net_mrr_churn_rate),
                "nrr": rate(m.nrr),
                "grr": rate(m.grr),
                "quick_ratio": rate(m.quick_ratio),
                "arpa": rate(m.arpa),
            })
        })
        .collect();
    let json = json!({ "currency": currency, "as_of": as_of_json(as_of), "months": months });
    respond(format, json, table)
}

/// Cash per month: collected, refunded, outstanding at close (revenue-rules.md §5).
pub async fn cash(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Response, ApiError> {
    let format = ReportFormat::of_request(&query, &headers)?;
    let currency = params::currency(&query)?;
    let (from, to) = params::month_range(&query)?;
    let as_of = params::as_of(&query)?;
    let months = match as_of {
        None => queries::cash_report(&state.pool, &currency, from, to).await?,
        Some(as_of) => queries::cash_report_as_of(&state.pool, &currency, from, to, as_of).await?,
    };
    let mut table = CsvTable::new(&[
        "month",
        "currency",
        "collected",
        "refunded",
        "outstanding_close",
    ]);
    for m in &months {
        table.push(vec![
            m.month.to_string(),
            currency.to_string(),
            major_units(&currency, m.collected),
            major_units(&currency, m.refunded),
            major_units(&currency, m.outstanding_close),
        ]);
    }
    let months: Vec<Value> = months
        .into_iter()
        .map(|m| {
            json!({
                "month": m.month.to_string(),
                "collected": m.collected,
                "refunded": m.refunded,
                "outstanding_close": m.outstanding_close,
            })
        })
        .collect();
    let json = json!({ "currency": currency, "as_of": as_of_json(as_of), "months": months });
    respond(format, json, table)
}
