//! Query-parameter parsing with errors that name the parameter.

use crate::ApiError;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::domain::Currency;
use ledger::store::FeedCursor;
use projections::rules::Month;
use std::collections::HashMap;

/// The widest month range a report accepts (50 years).
pub const MAX_REPORT_MONTHS: i64 = 600;

/// The widest day range the daily report accepts (about ten years).
pub const MAX_REPORT_DAYS: i64 = 3_660;

/// Events per page of `GET /v1/events` when `limit` is absent.
pub const DEFAULT_FEED_LIMIT: i64 = 100;

/// The largest `limit` `GET /v1/events` accepts.
pub const MAX_FEED_LIMIT: i64 = 1000;

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

/// `from` and `to`: required UTC days `YYYY-MM-DD`, from <= to, at most [`MAX_REPORT_DAYS`]
/// days (both included).
pub fn day_range(query: &Query) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let from = day(query, "from")?;
    let to = day(query, "to")?;
    if from > to {
        return Err(ApiError::invalid(
            "to",
            format!("must not be before from ({from})"),
        ));
    }
    if (to - from).num_days() >= MAX_REPORT_DAYS {
        return Err(ApiError::invalid(
            "to",
            format!("range is limited to {MAX_REPORT_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// A required UTC day `YYYY-MM-DD` named `name` (e.g. `date`).
pub fn day(query: &Query, name: &'static str) -> Result<NaiveDate, ApiError> {
    let raw = required(query, name)?;
    let well_formed = raw.len() == 10 && raw.as_bytes()[4] == b'-' && raw.as_bytes()[7] == b'-';
    well_formed
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| ApiError::invalid(name, "expected a day as YYYY-MM-DD, e.g. 2025-03-31"))
}

/// `as_of`: an optional RFC 3339 recorded time (UTC): answer as the log stood then.
pub fn as_of(query: &Query) -> Result<Option<DateTime<Utc>>, ApiError> {
    optional_instant(query, "as_of")
}

/// A required month `YYYY-MM` named `name` (e.g. `month`).
pub fn month(query: &Query, name: &'static str) -> Result<Month, ApiError> {
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

/// `after`: optional opaque cursor of the global feed, as [`format_feed_cursor`] writes it
/// (`"<transaction id>-<global position>"`, two non-negative integers); absent: the start of
/// the log.
pub fn feed_cursor(query: &Query) -> Result<FeedCursor, ApiError> {
    let Some(raw) = query.get("after") else {
        return Ok(FeedCursor::default());
    };
    let number = |part: &str| {
        Some(part)
            .filter(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
            .and_then(|part| part.parse::<i64>().ok())
    };
    raw.split_once('-')
        .and_then(|(transaction_id, global_position)| {
            Some(FeedCursor {
                transaction_id: number(transaction_id)?,
                global_position: number(global_position)?,
            })
        })
        .ok_or_else(|| {
            ApiError::invalid(
                "after",
                "expected a cursor as returned in next_cursor, e.g. 1234-56",
            )
        })
}

/// The opaque string form of a global-feed cursor: `"<transaction id>-<global position>"`.
/// Clients must treat it as opaque and pass it back unchanged as `after`.
pub fn format_feed_cursor(cursor: FeedCursor) -> String {
    format!("{}-{}", cursor.transaction_id, cursor.global_position)
}

/// `limit`: optional page size of the global feed, an integer in 1..=[`MAX_FEED_LIMIT`];
/// absent: [`DEFAULT_FEED_LIMIT`].
pub fn feed_limit(query: &Query) -> Result<i64, ApiError> {
    let Some(raw) = query.get("limit") else {
        return Ok(DEFAULT_FEED_LIMIT);
    };
    raw.parse::<i64>()
        .ok()
        .filter(|limit| (1..=MAX_FEED_LIMIT).contains(limit))
        .ok_or_else(|| {
            ApiError::invalid(
                "limit",
                format!("expected an integer from 1 to {MAX_FEED_LIMIT}"),
            )
        })
}

fn required<'q>(query: &'q Query, name: &'static str) -> Result<&'q str, ApiError> {
    query
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| ApiError::invalid(name, "is required"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, value: &str) -> Query {
        Query::from([(name.to_owned(), value.to_owned())])
    }

    #[test]
    fn a_feed_cursor_reads_back_what_it_writes() {
        let cursor = FeedCursor {
            transaction_id: 7_000_123,
            global_position: 42,
        };
        let written = format_feed_cursor(cursor);
        assert_eq!(written, "7000123-42");
        assert_eq!(feed_cursor(&query("after", &written)).ok(), Some(cursor));
        assert_eq!(feed_cursor(&Query::new()).ok(), Some(FeedCursor::default()));
    }

    #[test]
    fn malformed_feed_cursors_and_limits_name_their_parameter() {
        for raw in [
            "",
            "12",
            "-12",
            "12-",
            "a-1",
            "1-2-3",
            "+1-2",
            "1--2",
            "99999999999999999999-1",
        ] {
            let error = feed_cursor(&query("after", raw)).expect_err(raw);
            assert!(
                matches!(
                    error,
                    ApiError::InvalidParameter {
                        parameter: "after",
                        ..
                    }
                ),
                "{raw}"
            );
        }
        for raw in ["0", "1001", "-5", "ten", ""] {
            let error = feed_limit(&query("limit", raw)).expect_err(raw);
            assert!(
                matches!(
                    error,
                    ApiError::InvalidParameter {
                        parameter: "limit",
                        ..
                    }
                ),
                "{raw}"
            );
        }
        assert_eq!(feed_limit(&Query::new()).ok(), Some(DEFAULT_FEED_LIMIT));
        assert_eq!(
            feed_limit(&query("limit", "1000")).ok(),
            Some(MAX_FEED_LIMIT)
        );
    }
}
