//! `GET /v1/reports/{mrr,churn,cash}`: monthly reports in one currency. Amounts in minor units;
//! rates and ARPA as 6-decimal strings, `null` when the denominator is zero.

use crate::params::{self, Query};
use crate::{ApiError, AppState};
use axum::extract::{Query as QueryExtractor, State};
use axum::Json;
use projections::queries;
use projections::rules::format_rate;
use serde_json::{json, Value};

/// MRR movements per month: open, new, expansion, contraction, churn, reactivation, close, and
/// active customers at open and close.
pub async fn mrr(
    State(state): State<AppState>,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Json<Value>, ApiError> {
    let currency = params::currency(&query)?;
    let (from, to) = params::month_range(&query)?;
    let months: Vec<Value> = queries::mrr_report(&state.pool, &currency, from, to)
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "month": m.month.to_string(),
                "open": m.open,
                "new": m.new,
                "expansion": m.expansion,
                "contraction": m.contraction,
                "churn": m.churn,
                "reactivation": m.reactivation,
                "close": m.close,
                "customers_open": m.customers_open,
                "customers_close": m.customers_close,
            })
        })
        .collect();
    Ok(Json(json!({ "currency": currency, "months": months })))
}

/// Churn and retention rates per month (revenue-rules.md §4).
pub async fn churn(
    State(state): State<AppState>,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Json<Value>, ApiError> {
    let currency = params::currency(&query)?;
    let (from, to) = params::month_range(&query)?;
    let rate = |value: Option<rust_decimal::Decimal>| value.map(format_rate);
    let months: Vec<Value> = queries::churn_report(&state.pool, &currency, from, to)
        .await?
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
    Ok(Json(json!({ "currency": currency, "months": months })))
}

/// Cash per month: collected, refunded, outstanding at close (revenue-rules.md §5).
pub async fn cash(
    State(state): State<AppState>,
    QueryExtractor(query): QueryExtractor<Query>,
) -> Result<Json<Value>, ApiError> {
    let currency = params::currency(&query)?;
    let (from, to) = params::month_range(&query)?;
    let months: Vec<Value> = queries::cash_report(&state.pool, &currency, from, to)
        .await?
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
    Ok(Json(json!({ "currency": currency, "months": months })))
}
