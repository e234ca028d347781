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

/// Totals over one month's customer rows (revenue-rules.md §3-§4), all in minor units except the
/// counts; the `*_of_open_customers` sums are restricted to customers active at the month's open.
#[derive(Debug, Default)]
pub(crate) struct MonthTotals {
    pub(crate) mrr_open: i64,
    pub(crate) mrr_close: i64,
    pub(crate) new: i64,
    pub(crate) expansion: i64,
    pub(crate) contraction: i64,
    pub(crate) churn: i64,
    pub(crate) reactivation: i64,
    pub(crate) customers_active_at_open: i64,
    pub(crate) customers_active_at_close: i64,
    pub(crate) open_customers_inactive_at_close: i64,
    pub(crate) expansion_of_open_customers: i64,
    pub(crate) contraction_of_open_customers: i64,
    pub(crate) churn_of_open_customers: i64,
}

impl MonthTotals {
    /// Adds one customer's row.
    pub(crate) fn add(&mut self, row: &CustomerMonth) {
        self.mrr_open = self.mrr_open.saturating_add(row.mrr_open);
        self.mrr_close = self.mrr_close.saturating_add(row.mrr_close);
        self.new = self.new.saturating_add(row.new);
        self.expansion = self.expansion.saturating_add(row.expansion);
        self.contraction = self.contraction.saturating_add(row.contraction);
        self.churn = self.churn.saturating_add(row.churn);
        self.reactivation = self.reactivation.saturating_add(row.reactivation);
        self.customers_active_at_close += i64::from(row.mrr_close > 0);
        if row.mrr_open > 0 {
            self.customers_active_at_open += 1;
            self.open_customers_inactive_at_close += i64::from(row.mrr_close <= 0);
            self.expansion_of_open_customers = self
                .expansion_of_open_customers
                .saturating_add(row.expansion);
            self.contraction_of_open_customers = self
                .contraction_of_open_customers
                .saturating_add(row.contraction);
            self.churn_of_open_customers = self.churn_of_open_customers.saturating_add(row.churn);
        }
    }
}
