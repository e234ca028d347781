//! Rates: the one rounding function for rates and the way the API writes them
//! (revenue-rules.md §4, §6 "Rates").

use rust_decimal::{Decimal, RoundingStrategy};

/// Number of decimals every rate is rounded to and written with.
pub const RATE_DECIMALS: u32 = 6;

/// THE rounding function for rates (revenue-rules.md §6): 6 decimals, half away from zero,
/// negative zero normalised to 0. The result carries exactly 6 decimals (scale 6) whenever the
/// value fits, so it prints as `0.333333`.
pub fn round_rate(value: Decimal) -> Decimal {
    let mut rounded =
        value.round_dp_with_strategy(RATE_DECIMALS, RoundingStrategy::MidpointAwayFromZero);
    if rounded.is_zero() {
        rounded = Decimal::ZERO;
    }
    rounded.rescale(RATE_DECIMALS);
    rounded
}

/// Formats a rate as the API writes it (revenue-rules.md §6 "Rates"): rounded by [`round_rate`], with exactly 6 decimals,
/// e.g. `"0.333333"`, `"7833.333333"`, `"-0.488889"`, `"0.000000"` (never `"-0.000000"`).
pub fn format_rate(value: Decimal) -> String {
    let rounded = round_rate(value);
    format!("{rounded:.6}")
}

/// `numerator / denominator` as a rate rounded by [`round_rate`]; `None` (undefined, written
/// `null`) when the denominator is 0 (revenue-rules.md §4). Inputs are minor units or counts.
pub fn rate(numerator: i64, denominator: i64) -> Option<Decimal> {
    Decimal::from(numerator)
        .checked_div(Decimal::from(denominator))
        .map(round_rate)
}
