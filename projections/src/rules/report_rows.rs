//! Shared by the MRR and churn reports: every customer's row for each reported month, with the
//! last known close carried forward into months without a stored row (revenue-rules.md §0).

use crate::rules::customer_months::CustomerMonth;
use crate::rules::month::Month;
use std::collections::BTreeMap;

/// All customers' rows for one month of a report.
pub(crate) struct MonthOfCustomerRows<'a> {
    /// The month.
    pub month: Month,
    /// (customer id, that customer's figures for `month`), one per customer known by then.
    pub rows: Vec<(&'a str, CustomerMonth)>,
}

/// For every month from `from` to `to` (inclusive): each customer's stored row for that month,
/// else its latest earlier row's `mrr_close` carried forward (open = close, no movements).
/// Customers without a row at or before the month do not appear in it.
///
/// `rows`: (customer id, row), any order, one row per customer and month (if a pair repeats,
/// the last one given wins).
pub(crate) fn customer_rows_per_month(
    rows: &[(String, CustomerMonth)],
    from: Month,
    to: Month,
) -> Vec<MonthOfCustomerRows<'_>> {
    let mut rows_by_customer: BTreeMap<&str, BTreeMap<Month, CustomerMonth>> = BTreeMap::new();
    for (customer, row) in rows {
        rows_by_customer
            .entry(customer.as_str())
            .or_default()
            .insert(row.month, *row);
    }
    Month::range_inclusive(from, to)
        .map(|month| MonthOfCustomerRows {
            month,
            rows: rows_by_customer
                .iter()
                .filter_map(|(customer, months)| {
                    let row = match months.get(&month) {
                        Some(stored) => *stored,
                        None => {
                            let (_, latest_earlier) = months.range(..month).next_back()?;
                            CustomerMonth::carried_forward(month, latest_earlier.mrr_close)
                        }
                    };
                    Some((*customer, row))
                })
                .collect(),
        })
        .collect()
}
