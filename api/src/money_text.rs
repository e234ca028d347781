//! Amounts as text for people and spreadsheets: decimal strings in the currency's major unit
//! (`12345` usd cents -> `"123.45"`), converted exactly from integer minor units.

use ledger::domain::{minor_unit_exponent, Currency};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};

/// `minor` (integer minor units of `currency`) as a major-unit decimal string with the
/// currency's number of decimals: `12345` usd -> `"123.45"`, `-5` usd -> `"-0.05"`, `500` jpy
/// -> `"500"`. Exact.
pub fn major_units(currency: &Currency, minor: i64) -> String {
    major_units_decimal(currency, Decimal::from(minor))
}

/// An exact amount in minor units (e.g. ARPA, `7833.333333`) as a major-unit decimal string
/// rounded to the currency's decimals, half away from zero (`"78.33"`).
pub fn major_units_decimal(currency: &Currency, minor: Decimal) -> String {
    let exponent = minor_unit_exponent(currency);
    let major = (minor / Decimal::from(10_i64.pow(exponent)))
        .round_dp_with_strategy(exponent, RoundingStrategy::MidpointAwayFromZero);
    format!("{major:.prec$}", prec = exponent as usize)
}

/// The JSON money object of the newer endpoints: `{"amount": <minor units>, "currency",
/// "decimal": <major-unit string>}`, e.g. `{"amount": 10000, "currency": "usd", "decimal":
/// "100.00"}`.
pub fn money_json(currency: &Currency, minor: i64) -> Value {
    json!({
        "amount": minor,
        "currency": currency,
        "decimal": major_units(currency, minor),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_become_exact_major_unit_strings() {
        let usd = Currency::new("usd");
        assert_eq!(major_units(&usd, 12_345), "123.45");
        assert_eq!(major_units(&usd, -5), "-0.05");
        assert_eq!(major_units(&usd, 0), "0.00");
        assert_eq!(major_units(&Currency::new("jpy"), 500), "500");
        assert_eq!(major_units(&Currency::new("kwd"), 1_234), "1.234");
        assert_eq!(
            major_units_decimal(&usd, "7833.333333".parse().expect("decimal")),
            "78.33"
        );
        assert_eq!(
            major_units_decimal(&usd, "0.5".parse().expect("decimal")),
            "0.01"
        );
    }
}
