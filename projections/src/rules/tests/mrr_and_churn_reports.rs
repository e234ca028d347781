//! §3 MRR report totals and §4 churn and retention rates over all customers of a currency.

use crate::rules::test_support::{customer_month, dec, month};
use crate::rules::{churn_report, mrr_report, ChurnReportMonth, CustomerMonth, MrrReportMonth};

/// (customer id, row) pairs, as the projector stores them.
fn stored(pairs: Vec<(&str, CustomerMonth)>) -> Vec<(String, CustomerMonth)> {
    pairs
        .into_iter()
        .map(|(customer, row)| (customer.to_owned(), row))
        .collect()
}

/// A report month as [open, new, expansion, contraction, churn, reactivation, close,
/// customers_open, customers_close].
fn columns(m: &MrrReportMonth) -> [i64; 9] {
    [
        m.open,
        m.new,
        m.expansion,
        m.contraction,
        m.churn,
        m.reactivation,
        m.close,
        m.customers_open,
        m.customers_close,
    ]
}

#[test]
fn mrr_report_lists_every_requested_month_with_zero_rows() {
    let report = mrr_report(&[], month("2025-01"), month("2025-03"));
    let months: Vec<String> = report.iter().map(|row| row.month.to_string()).collect();
    assert_eq!(months, ["2025-01", "2025-02", "2025-03"]);
    assert!(report.iter().all(|row| columns(row) == [0; 9]));
}

#[test]
#[rustfmt::skip]
fn mrr_report_carries_each_customers_last_close_forward() {
    let rows = stored(vec![
        //                              month      open    new     exp    con churn rea close
        ("cus_a", customer_month("2025-01", 0,      10_000, 0,     0,  0,    0,  10_000)),
        ("cus_a", customer_month("2025-02", 10_000, 0,      2_000, 0,  0,    0,  12_000)),
        ("cus_b", customer_month("2025-03", 0,      3_000,  0,     0,  0,    0,  3_000)),
    ]);
    let report: Vec<[i64; 9]> = mrr_report(&rows, month("2025-02"), month("2025-04")).iter().map(columns).collect();
    assert_eq!(report, vec![
        // open  new    exp    con churn rea close   c_open c_close
        [10_000, 0,     2_000, 0,  0,    0,  12_000, 1,     1], // 2025-02
        [12_000, 3_000, 0,     0,  0,    0,  15_000, 1,     2], // 2025-03: cus_a carried forward
        [15_000, 0,     0,     0,  0,    0,  15_000, 2,     2], // 2025-04: both carried forward
    ]);
}

#[test]
#[rustfmt::skip]
fn churn_rates_follow_chartmogul_formulas_with_c0_restricted_retention() {
    let rows = stored(vec![
        //                              month      open    new    exp    con    churn  rea    close
        ("cus_a", customer_month("2025-02", 10_000, 0,     3_000, 1_000, 0,     0,     12_000)),
        ("cus_b", customer_month("2025-02", 5_000,  0,     0,     0,     5_000, 2_000, 2_000)),
        ("cus_c", customer_month("2025-02", 0,      4_000, 0,     0,     0,     0,     4_000)),
        ("cus_d", customer_month("2025-02", 0,      0,     500,   0,     0,     1_000, 1_500)),
        ("cus_e", customer_month("2025-02", 5_000,  0,     0,     0,     5_000, 0,     0)),
    ]);
    // MRR0 = 20000, C0 = {a, b, e}; only e is inactive at close. Exp = 3500 but Exp_C0 = 3000.
    let expected = ChurnReportMonth {
        month: month("2025-02"),
        logo_churn_rate: Some(dec("0.333333")),      // 1 / 3
        gross_mrr_churn_rate: Some(dec("0.550000")), // (10000 + 1000) / 20000
        net_mrr_churn_rate: Some(dec("0.225000")),   // (11000 - 3500 - 3000) / 20000
        nrr: Some(dec("0.600000")),                  // (20000 + 3000 - 1000 - 10000) / 20000
        grr: Some(dec("0.450000")),                  // (20000 - 1000 - 10000) / 20000
        quick_ratio: Some(dec("0.954545")),          // (4000 + 3500 + 3000) / 11000
        arpa: Some(dec("4875.000000")),              // 19500 / 4
    };
    assert_eq!(churn_report(&rows, month("2025-02"), month("2025-02")), vec![expected]);
}

#[test]
fn zero_denominator_rates_are_null() {
    let rows = stored(vec![(
        "cus_a",
        customer_month("2025-02", 0, 10_000, 0, 0, 0, 0, 10_000),
    )]);
    let report = churn_report(&rows, month("2025-01"), month("2025-03"));
    let all_null = |month_text| ChurnReportMonth {
        month: month(month_text),
        logo_churn_rate: None,
        gross_mrr_churn_rate: None,
        net_mrr_churn_rate: None,
        nrr: None,
        grr: None,
        quick_ratio: None,
        arpa: None,
    };
    // January: nobody at all.
    assert_eq!(report[0], all_null("2025-01"));
    // February: nobody active at open (MRR0 = 0, C0 empty) and nothing lost (Con + Chu = 0).
    let february = ChurnReportMonth {
        arpa: Some(dec("10000")),
        ..all_null("2025-02")
    };
    assert_eq!(report[1], february);
    // March: MRR0 > 0 but still nothing lost: only the quick ratio is undefined.
    let march = ChurnReportMonth {
        logo_churn_rate: Some(dec("0")),
        gross_mrr_churn_rate: Some(dec("0")),
        net_mrr_churn_rate: Some(dec("0")),
        nrr: Some(dec("1")),
        grr: Some(dec("1")),
        arpa: Some(dec("10000")),
        ..all_null("2025-03")
    };
    assert_eq!(report[2], march);
}
