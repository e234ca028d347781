//! §0 calendar months in UTC.

use crate::rules::test_support::{at, month};
use crate::rules::Month;

#[test]
fn months_parse_and_print_as_yyyy_mm() {
    for text in ["2025-01", "2025-12", "0999-03"] {
        assert_eq!(month(text).to_string(), text);
    }
    for bad in [
        "2025-13",
        "2025-00",
        "2025-1",
        "25-01",
        "2025/01",
        "2025-01-01",
        "",
    ] {
        let error = bad.parse::<Month>().expect_err(bad);
        assert!(error.to_string().contains("expected YYYY-MM"), "{error}");
    }
}

#[test]
fn a_month_starts_at_midnight_utc_of_its_first_day_and_is_followed_by_the_next() {
    assert_eq!(month("2025-03").first_instant(), at("2025-03-01 00:00"));
    assert_eq!(month("2025-12").next(), month("2026-01"));
    assert_eq!(month("2026-01").previous(), month("2025-12"));
    assert_eq!(
        Month::containing(at("2025-02-28 23:59:59")),
        month("2025-02")
    );
}

#[test]
fn month_ranges_include_both_ends() {
    let months: Vec<String> = Month::range_inclusive(month("2024-11"), month("2025-02"))
        .map(|m| m.to_string())
        .collect();
    assert_eq!(months, ["2024-11", "2024-12", "2025-01", "2025-02"]);
    assert_eq!(
        Month::range_inclusive(month("2025-02"), month("2025-01")).count(),
        0
    );
}

#[test]
fn months_serialise_as_strings() {
    assert_eq!(
        serde_json::to_string(&month("2025-04")).expect("serialise"),
        "\"2025-04\""
    );
    assert_eq!(
        serde_json::from_str::<Month>("\"2025-04\"").expect("deserialise"),
        month("2025-04")
    );
}
