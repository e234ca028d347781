//! `GET /v1/reports/mrr/daily` (MRR per UTC day with the day's movements) and
//! `GET /v1/reports/mrr/by-plan` (MRR and customers per product/price at a day's end). Amounts
//! in minor units (JSON) or major-unit decimal strings (CSV); `as_of` as on every report.

use crate::money_text::major_units;
use crate::params::{self, Query};
use crate::routes::report_format::{optional_cell, respond, CsvTable, ReportFormat};
use crate::routes::reports::{as_of_json, movement_cells, movement_json, MOVEMENT_COLUMNS};
use crate::{ApiError, AppState};
use axum::extract::{Query as QueryExtractor, State};
use axum::http::HeaderMap;
use axum::response::Response;
use projections::queries;
use serde_json::{json, Value};

/// Per UTC day from `from` to `to` (`YYYY-MM-DD`, inclusive): `open` (MRR at the start of the
/// day), the five movement totals of the day, `close` (MRR at its end; = open + new + expansion
/// - contraction - churn + reactivation, and the next day's open).
pub async fn daily(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Response, ApiError> {
    let format = ReportFormat::of_request(&query, &headers)?;
    let currency = params::currency(&query)?;
    let (from, to) = params::day_range(&query)?;
    let as_of = params::as_of(&query)?;
    let days = queries::daily_mrr_report(&state.pool, &currency, from, to, as_of).await?;
    let mut columns = vec!["day", "currency"];
    columns.extend(MOVEMENT_COLUMNS);
    let mut table = CsvTable::new(&columns);
    let mut rows = Vec::with_capacity(days.len());
    for d in &days {
        let figures = [
            d.open,
            d.new,
            d.expansion,
            d.contraction,
            d.churn,
            d.reactivation,
            d.close,
        ];
        let mut cells = vec![d.day.to_string(), currency.to_string()];
        cells.extend(movement_cells(&currency, figures));
        table.push(cells);
        rows.push(movement_json(figures, &[("day", json!(d.day.to_string()))]));
    }
    let days = rows;
    let json = json!({ "currency": currency, "as_of": as_of_json(as_of), "days": days });
    respond(format, json, table)
}

/// At the end of the UTC day `date`: per product/price with MRR > 0, its MRR (a subscription
/// with several items split by list amount) and the customers and subscriptions paying for it;
/// plus the total (equal to the daily report's close of that day) and the active customers.
pub async fn by_plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Response, ApiError> {
    let format = ReportFormat::of_request(&query, &headers)?;
    let currency = params::currency(&query)?;
    let date = params::day(&query, "date")?;
    let as_of = params::as_of(&query)?;
    let plans = queries::mrr_by_plan(&state.pool, &currency, date, as_of).await?;
    let mut table = CsvTable::new(&[
        "date",
        "currency",
        "product",
        "price",
        "mrr",
        "customers",
        "subscriptions",
    ]);
    for plan in &plans {
        table.push(vec![
            date.to_string(),
            currency.to_string(),
            optional_cell(plan.product.clone()),
            plan.price.clone(),
            major_units(&currency, plan.mrr),
            plan.customers.to_string(),
            plan.subscriptions.to_string(),
        ]);
    }
    let total: i64 = plans.iter().map(|plan| plan.mrr).sum();
    let plans: Vec<Value> = plans
        .iter()
        .map(|plan| {
            json!({
                "product": plan.product,
                "price": plan.price,
                "mrr": plan.mrr,
                "customers": plan.customers,
                "subscriptions": plan.subscriptions,
            })
        })
        .collect();
    let json = json!({
        "currency": currency,
        "date": date.to_string(),
        "as_of": as_of_json(as_of),
        "mrr": total,
        "plans": plans,
    });
    respond(format, json, table)
}
