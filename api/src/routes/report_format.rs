//! JSON or CSV answers of the report endpoints: `?format=csv|json` wins, else `Accept:
//! text/csv` asks for CSV, else JSON. CSV has a header row, amounts as major-unit decimal
//! strings, and is written by the `csv` crate (quoting and escaping per RFC 4180).

use crate::params::Query;
use crate::ApiError;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

/// The answer's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `application/json` (the default).
    Json,
    /// `text/csv; charset=utf-8`.
    Csv,
}

/// `Content-Type` of CSV answers.
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";

impl ReportFormat {
    /// The format asked for: `format` (`csv` or `json`; anything else is 400 naming it), else
    /// an `Accept` header listing `text/csv`, else JSON.
    pub fn of_request(query: &Query, headers: &HeaderMap) -> Result<Self, ApiError> {
        match query.get("format").map(String::as_str) {
            Some("csv") => return Ok(Self::Csv),
            Some("json") => return Ok(Self::Json),
            Some(_) => return Err(ApiError::invalid("format", "expected csv or json")),
            None => {}
        }
        let accepts_csv = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|media_range| {
                media_range
                    .split(';')
                    .next()
                    .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("text/csv"))
            });
        Ok(if accepts_csv { Self::Csv } else { Self::Json })
    }
}

/// A table for the CSV answer: a header row and rows of cells (already text).
#[derive(Debug, Clone, Default)]
pub struct CsvTable {
    /// Column names.
    pub header: Vec<&'static str>,
    /// One row per record, as many cells as the header.
    pub rows: Vec<Vec<String>>,
}

impl CsvTable {
    /// An empty table with these columns.
    pub fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The CSV text (UTF-8, `\n` line ends, header first).
    pub fn to_csv(&self) -> Result<Vec<u8>, ApiError> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let internal = |error: csv::Error| ApiError::Internal(format!("writing CSV: {error}"));
        writer.write_record(&self.header).map_err(internal)?;
        for row in &self.rows {
            writer.write_record(row).map_err(internal)?;
        }
        writer
            .into_inner()
            .map_err(|error| ApiError::Internal(format!("writing CSV: {error}")))
    }
}

/// Answers `json` or `table` as CSV, as `format` asks.
pub fn respond(format: ReportFormat, json: Value, table: CsvTable) -> Result<Response, ApiError> {
    match format {
        ReportFormat::Json => Ok(Json(json).into_response()),
        ReportFormat::Csv => {
            let body = table.to_csv()?;
            Ok((
                [(CONTENT_TYPE, HeaderValue::from_static(CSV_CONTENT_TYPE))],
                body,
            )
                .into_response())
        }
    }
}

/// An optional text cell: the value, or an empty cell.
pub fn optional_cell(value: Option<String>) -> String {
    value.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(accept).expect("header"));
        headers
    }

    #[test]
    fn the_format_parameter_wins_over_accept_and_json_is_the_default() {
        let csv_query = Query::from([("format".to_owned(), "csv".to_owned())]);
        let json_query = Query::from([("format".to_owned(), "json".to_owned())]);
        let none = Query::new();
        assert_eq!(
            ReportFormat::of_request(&csv_query, &HeaderMap::new()).ok(),
            Some(ReportFormat::Csv)
        );
        assert_eq!(
            ReportFormat::of_request(&json_query, &headers("text/csv")).ok(),
            Some(ReportFormat::Json)
        );
        assert_eq!(
            ReportFormat::of_request(&none, &headers("application/json, Text/CSV;q=0.9")).ok(),
            Some(ReportFormat::Csv)
        );
        assert_eq!(
            ReportFormat::of_request(&none, &headers("*/*")).ok(),
            Some(ReportFormat::Json)
        );
        let bad = Query::from([("format".to_owned(), "xml".to_owned())]);
        assert!(matches!(
            ReportFormat::of_request(&bad, &HeaderMap::new()),
            Err(ApiError::InvalidParameter {
                parameter: "format",
                ..
            })
        ));
    }

    #[test]
    fn cells_with_commas_quotes_and_newlines_are_quoted() {
        let mut table = CsvTable::new(&["a", "b"]);
        table.push(vec!["x,y".to_owned(), "say \"hi\"\nthere".to_owned()]);
        let text = String::from_utf8(table.to_csv().expect("csv")).expect("utf-8");
        assert_eq!(text, "a,b\n\"x,y\",\"say \"\"hi\"\"\nthere\"\n");
    }
}
