//! Query-parameter parsing with errors that name the parameter.

use crate::ApiError;
use chrono::{DateTime, Utc};
use ledger::domain::Currency;
use projections::rules::Month;
use std::collections::HashMap;

/// The widest month range a report accepts (50 years).
pub const MAX_REPORT_MONTHS: i64 = 600;

/// Raw query parameters.
pub type Query = HashMap<String, String>;

/// `currency`: required, a three-letter ISO 4217 code (any case; answered lowercase).
pub fn currency(query: &Query) -> Result<Currency, ApiError> {
    let raw = required(query, "currency")?;
    if raw.len() != 3 || !raw.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid(
            "currency",
            "expected a three-letter ISO 4217 code such as usd",
        ));
    }
    Ok(Currency::new(raw))
}

/// Optional `currency`.
pub fn optional_currency(query: &Query) -> Result<Option<Currency>, ApiError> {
    match query.get("currency") {
        None => Ok(None),
        Some(_) => currency(query).map(Some),
    }
}

/// `from` and `to`: required months `YYYY-MM`, from <= to, at most [`MAX_REPORT_MONTHS`] apart.
pub fn month_range(query: &Query) -> Result<(Month, Month), ApiError> {
    let from = month(query, "from")?;
    let to = month(query, "to")?;
    if from > to {
        return Err(ApiError::invalid(
            "to",
            format!("must not be before from ({from})"),
        ));
    }
    let span = i64::from(to.year() - from.year()) * 12 + i64::from(to.month_of_year())
        - i64::from(from.month_of_year());
    if span >= MAX_REPORT_MONTHS {
        return Err(ApiError::invalid(
            "to",
            format!("range is limited to {MAX_REPORT_MONTHS} months"),
        ));
    }
    Ok((from, to))
}

fn month(query: &Query, name: &'static str) -> Result<Month, ApiError> {
    required(query, name)?
        .parse()
        .map_err(|_| ApiError::invalid(name, "expected a month as YYYY-MM, e.g. 2025-01"))
}

/// An optional RFC 3339 instant (e.g. `at`), converted to UTC; years 1..=9999 only (what a
/// database timestamp and every client can represent).
pub fn optional_instant(
    query: &Query,
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    query
        .get(name)
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|instant| instant.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid(
                        name,
                        "expected an RFC 3339 instant, e.g. 2025-03-31T23:59:59Z",
                    )
                })
        })
        .transpose()
}

fn required<'q>(query: &'q Query, name: &'static str) -> Result<&'q str, ApiError> {
    query
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| ApiError::invalid(name, "is required"))
}
