//! §4 / §6 rates: rounding to 6 decimals half away from zero, and how the API writes them.

use crate::rules::test_support::dec;
use crate::rules::{format_rate, rate, round_rate};

#[test]
fn rates_round_to_six_decimals_half_away_from_zero() {
    // (exact value, rounded)
    let table = [
        ("0.3333335", "0.333334"),
        ("-0.3333335", "-0.333334"),
        ("0.33333349999", "0.333333"),
        ("2", "2.000000"),
        ("7833.3333333333", "7833.333333"),
    ];
    for (exact, rounded) in table {
        assert_eq!(round_rate(dec(exact)), dec(rounded), "{exact}");
        assert_eq!(format_rate(dec(exact)), rounded, "{exact}");
    }
}

#[test]
fn negative_zero_rate_is_written_as_zero() {
    for tiny_negative in ["-0.0000001", "-0.0000004999", "-0"] {
        assert_eq!(
            format_rate(dec(tiny_negative)),
            "0.000000",
            "{tiny_negative}"
        );
        assert!(
            !round_rate(dec(tiny_negative)).is_sign_negative(),
            "{tiny_negative}"
        );
    }
}

#[test]
fn rates_are_written_with_exactly_six_decimals() {
    let table = [
        (dec("0.333333"), "0.333333"),
        (dec("7833.333333"), "7833.333333"),
        (dec("0"), "0.000000"),
        (dec("1.6"), "1.600000"),
        (dec("-0.488889"), "-0.488889"),
    ];
    for (value, written) in table {
        assert_eq!(format_rate(value), written);
    }
}

#[test]
fn a_rate_is_a_fraction_of_two_integers_and_null_over_zero() {
    assert_eq!(rate(1, 3), Some(dec("0.333333")));
    assert_eq!(rate(2, 3), Some(dec("0.666667")));
    assert_eq!(rate(-23_000, 47_000), Some(dec("-0.489362")));
    assert_eq!(rate(5, 0), None);
    assert_eq!(rate(0, 0), None);
}
