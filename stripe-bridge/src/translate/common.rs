//! Shared readers for Stripe's JSON: ids that may be expanded objects, exact decimals, Unix
//! times, enumerated values and typed object parsing, each failing with a precise JSON path.

use crate::error::PayloadError;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::str::FromStr;

/// A field Stripe sends either as an id string or, when expanded, as an object with an `id`
/// (e.g. `customer`, `invoice.subscription`, `charge.invoice`, `price.product`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum IdOrExpandedObject {
    /// Not expanded: just the id.
    Id(String),
    /// Expanded: the object; only its `id` is read.
    Expanded {
        /// The object's id.
        #[serde(default)]
        id: Option<String>,
    },
}

impl IdOrExpandedObject {
    /// The id, whether expanded or not; `None` for an expanded object without an `id`.
    pub(crate) fn id(&self) -> Option<&str> {
        match self {
            Self::Id(id) => Some(id),
            Self::Expanded { id } => id.as_deref(),
        }
    }
}

/// The id of an optional, possibly expanded reference (`None` when absent, null or id-less).
pub(crate) fn optional_reference_id(reference: &Option<IdOrExpandedObject>) -> Option<String> {
    reference
        .as_ref()
        .and_then(IdOrExpandedObject::id)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

/// A required value: `Ok` when present, [`PayloadError::MissingField`] at `path` otherwise.
pub(crate) fn required<T>(value: Option<T>, path: &str) -> Result<T, PayloadError> {
    value.ok_or_else(|| PayloadError::missing(path))
}

/// A required non-empty string.
pub(crate) fn required_text(value: Option<String>, path: &str) -> Result<String, PayloadError> {
    required(value.filter(|text| !text.is_empty()), path)
}

/// Unix seconds (as Stripe sends every timestamp) to a UTC time.
pub(crate) fn unix_time(seconds: i64, path: &str) -> Result<DateTime<Utc>, PayloadError> {
    DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| PayloadError::invalid(path, format!("{seconds} is not a usable Unix time")))
}

/// An optional Unix-seconds field to an optional UTC time.
pub(crate) fn optional_unix_time(
    seconds: Option<i64>,
    path: &str,
) -> Result<Option<DateTime<Utc>>, PayloadError> {
    seconds.map(|seconds| unix_time(seconds, path)).transpose()
}

/// An exact decimal from the JSON text of a number (`25`, `12.5`) or of a decimal string
/// (`"10000.5"`, as in Stripe's `*_decimal` fields). Never goes through `f64`.
pub(crate) fn exact_decimal(raw: &RawValue, path: &str) -> Result<Decimal, PayloadError> {
    let text = raw.get().trim();
    let digits = if text.starts_with('"') {
        serde_json::from_str::<String>(text)
            .map_err(|error| PayloadError::invalid(path, error.to_string()))?
    } else {
        text.to_owned()
    };
    Decimal::from_str(digits.trim())
        .or_else(|_| Decimal::from_scientific(digits.trim()))
        .map_err(|_| PayloadError::invalid(path, format!("{text} is not an exact decimal number")))
}

/// An optional exact decimal; `None` when the field is absent or null.
pub(crate) fn optional_exact_decimal(
    raw: &Option<Box<RawValue>>,
    path: &str,
) -> Result<Option<Decimal>, PayloadError> {
    raw.as_deref()
        .map(|raw| exact_decimal(raw, path))
        .transpose()
}

/// Looks up a Stripe enumerated string in `table`. Errors: [`PayloadError::MissingField`]
/// when absent, [`PayloadError::UnknownValue`] (listing `known`) when not in the table.
pub(crate) fn known_value<T: Copy>(
    value: Option<&str>,
    path: &str,
    table: &[(&str, T)],
) -> Result<T, PayloadError> {
    let value = required(value, path)?;
    table
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, known)| *known)
        .ok_or_else(|| PayloadError::UnknownValue {
            path: path.to_owned(),
            value: value.to_owned(),
            known: known_names(table),
        })
}

/// The names of a lookup table, comma-separated.
fn known_names<T>(table: &[(&str, T)]) -> String {
    let names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

/// Parses a JSON object (the raw text of `path`) into a private tolerant struct.
///
/// Errors: [`PayloadError::InvalidField`] when it is not a JSON object (e.g. an unexpanded id
/// string), [`PayloadError::UnreadableObject`] when a field has an unexpected type.
pub(crate) fn parse_object<T: DeserializeOwned>(
    raw: &RawValue,
    path: &str,
    resource: &'static str,
) -> Result<T, PayloadError> {
    let text = raw.get().trim_start();
    if !text.starts_with('{') {
        let found = if text.starts_with('"') {
            "a string (an id, not an expanded object)"
        } else {
            "not a JSON object"
        };
        return Err(PayloadError::invalid(
            path,
            format!("expected the {resource} object, found {found}"),
        ));
    }
    serde_json::from_str(text).map_err(|error| PayloadError::UnreadableObject {
        path: path.to_owned(),
        resource,
        detail: error.to_string(),
    })
}

/// Checks the `object` field of a Stripe object, when present, names the expected resource.
pub(crate) fn check_object_kind(
    object: Option<&str>,
    path: &str,
    expected: &'static str,
) -> Result<(), PayloadError> {
    match object {
        Some(found) if found != expected => Err(PayloadError::invalid(
            format!("{path}.object"),
            format!("expected {expected:?}, found {found:?}"),
        )),
        _ => Ok(()),
    }
}
