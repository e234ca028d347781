//! Terminal tables of the monthly reports. Amounts are shown in major units of the currency
//! (e.g. dollars), converted exactly from minor units.

use crate::money_text::{major_units, major_units_decimal};
use ledger::domain::Currency;
use projections::rules::{format_rate, CashReportMonth, ChurnReportMonth, MrrReportMonth};
use rust_decimal::Decimal;

/// Prints the MRR movements table.
pub fn print_mrr_table(currency: &Currency, months: &[MrrReportMonth]) {
    println!(
        "MRR movements ({}, amounts in {})",
        currency.as_str().to_uppercase(),
        currency.as_str().to_uppercase()
    );
    let header = [
        "month",
        "open",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "close",
        "customers",
    ];
    let rows: Vec<Vec<String>> = months
        .iter()
        .map(|m| {
            let money = |minor: i64| major_units(currency, minor);
            vec![
                m.month.to_string(),
                money(m.open),
                money(m.new),
                money(m.expansion),
                money(m.contraction),
                money(m.churn),
                money(m.reactivation),
                money(m.close),
                m.customers_close.to_string(),
            ]
        })
        .collect();
    print_table(&header, &rows);
}

/// Prints the churn and retention table (rates as fractions, ARPA in major units).
pub fn print_churn_table(currency: &Currency, months: &[ChurnReportMonth]) {
    println!("Churn and retention ({})", currency.as_str().to_uppercase());
    let header = [
        "month",
        "logo churn",
        "gross MRR churn",
        "net MRR churn",
        "NRR",
        "GRR",
        "quick ratio",
        "ARPA",
    ];
    let rate = |value: Option<Decimal>| value.map_or_else(|| "-".to_owned(), format_rate);
    let rows: Vec<Vec<String>> = months
        .iter()
        .map(|m| {
            vec![
                m.month.to_string(),
                rate(m.logo_churn_rate),
                rate(m.gross_mrr_churn_rate),
                rate(m.net_mrr_churn_rate),
                rate(m.nrr),
                rate(m.grr),
                rate(m.quick_ratio),
                m.arpa.map_or_else(
                    || "-".to_owned(),
                    |arpa| major_units_decimal(currency, arpa),
                ),
            ]
        })
        .collect();
    print_table(&header, &rows);
}

/// Prints the cash table.
pub fn print_cash_table(currency: &Currency, months: &[CashReportMonth]) {
    println!("Cash ({})", currency.as_str().to_uppercase());
    let header = ["month", "collected", "refunded", "outstanding at close"];
    let rows: Vec<Vec<String>> = months
        .iter()
        .map(|m| {
            vec![
                m.month.to_string(),
                major_units(currency, m.collected),
                major_units(currency, m.refunded),
                major_units(currency, m.outstanding_close),
            ]
        })
        .collect();
    print_table(&header, &rows);
}

fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|title| title.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, width))| {
                if column == 0 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        println!("{}", padded.join("  "));
    };
    line(header.iter().map(|title| (*title).to_owned()).collect());
    println!(
        "{}",
        "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
    );
    for row in rows {
        line(row.clone());
    }
}
