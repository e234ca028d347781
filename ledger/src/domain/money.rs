//! Money: integer minor units per currency, and the one rounding function of the whole product.
//!
//! Amounts are `i64` in the currency's minor unit (cents for usd), exactly as Stripe sends them.
//! Rates and exact intermediate maths use `rust_decimal::Decimal`; the only conversion from an
//! exact value to minor units is [`round_half_away_from_zero`].

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A lowercase ISO 4217 currency code as Stripe writes it (`usd`, `eur`, `jpy`).
/// Figures in different currencies are never added together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    /// Builds a currency from any casing; Stripe's canonical form is lowercase.
    pub fn new(code: &str) -> Self {
        Self(code.trim().to_ascii_lowercase())
    }

    /// The lowercase code, e.g. `usd`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The number of decimal places of `currency`'s minor unit (ISO 4217; Stripe's list of
/// zero-decimal and three-decimal currencies): 2 for most (`usd` cents), 0 for `jpy`, 3 for `kwd`.
pub fn minor_unit_exponent(currency: &Currency) -> u32 {
    const ZERO_DECIMAL: [&str; 16] = [
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
        "xaf", "xof", "xpf",
    ];
    const THREE_DECIMAL: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];
    if ZERO_DECIMAL.contains(&currency.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&currency.as_str()) {
        3
    } else {
        2
    }
}

/// Rounds an exact amount (in minor units) to a whole minor unit, half away from zero
/// (revenue-rules.md §1: each subscription's MRR is rounded once, here, and nowhere else).
///
/// Saturates at the `i64` range, which no real amount approaches.
pub fn round_half_away_from_zero(exact_minor: Decimal) -> i64 {
    let rounded = exact_minor.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).unwrap_or(if rounded.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn halves_round_away_from_zero() {
        assert_eq!(round_half_away_from_zero(dec("2.5")), 3);
        assert_eq!(round_half_away_from_zero(dec("-2.5")), -3);
        assert_eq!(round_half_away_from_zero(dec("2.4999")), 2);
        assert_eq!(round_half_away_from_zero(dec("7833.5")), 7834);
    }

    #[test]
    fn currency_is_lowercase() {
        assert_eq!(Currency::new("USD").as_str(), "usd");
    }
}
