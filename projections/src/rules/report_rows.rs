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
                    Some((*customer, customer_row_for_month(months, month)?))
                })
                .collect(),
        })
        .collect()
}

/// One customer's row for `month`: its stored row, else its latest earlier row's `mrr_close`
/// carried forward (open = close, no movements); `None` before its first row.
fn customer_row_for_month(
    months: &BTreeMap<Month, CustomerMonth>,
    month: Month,
) -> Option<CustomerMonth> {
    match months.get(&month) {
        Some(stored) => Some(*stored),
        None => {
            let (_, latest_earlier) = months.range(..month).next_back()?;
            Some(CustomerMonth::carried_forward(
                month,
                latest_earlier.mrr_close,
            ))
        }
    }
}

/// The [`MonthTotals`] of every month from `from` to `to` (inclusive) over all customers of
/// `rows` ((customer id, row), any order, as [`customer_rows_per_month`] takes them).
pub(crate) fn month_totals(
    rows: &[(String, CustomerMonth)],
    from: Month,
    to: Month,
) -> Vec<(Month, MonthTotals)> {
    customer_rows_per_month(rows, from, to)
        .into_iter()
        .map(|month_rows| {
            let mut totals = MonthTotals::default();
            month_rows.rows.iter().for_each(|(_, row)| totals.add(row));
            (month_rows.month, totals)
        })
        .collect()
}

/// One customer's contribution to the report totals, as changes from the month before: the
/// entry of month m is (its [`MonthTotals`] contribution in m) - (its contribution in m - 1),
/// zero entries left out. Its contribution in month m is the sum of its entries up to m, so the
/// report totals of m are the sum of every customer's entries up to m
/// ([`month_totals_from_deltas`]): the `mrr` projector keeps these sums per currency and month,
/// and a report reads a few rows per month instead of every customer's.
///
/// `rows`: ONE customer's rows in one currency (one per month; if a month repeats, the last one
/// wins). The entries run from its first row's month to the month after its last row (from then
/// on its last close is carried forward unchanged).
pub(crate) fn customer_month_total_deltas(rows: &[CustomerMonth]) -> Vec<(Month, MonthTotals)> {
    let months: BTreeMap<Month, CustomerMonth> = rows.iter().map(|row| (row.month, *row)).collect();
    let (Some(first), Some(last)) = (months.keys().next(), months.keys().next_back()) else {
        return Vec::new();
    };
    let mut previous = MonthTotals::default();
    let mut deltas = Vec::new();
    for month in Month::range_inclusive(*first, last.next()) {
        let mut contribution = MonthTotals::default();
        if let Some(row) = customer_row_for_month(&months, month) {
            contribution.add(&row);
        }
        let delta = contribution.minus(&previous);
        if delta != MonthTotals::default() {
            deltas.push((month, delta));
        }
        previous = contribution;
    }
    deltas
}

/// The report totals of every month from `from` to `to` (inclusive) from summed
/// [`customer_month_total_deltas`] (any order, several entries per month allowed): each month's
/// totals are the sum of every entry up to and including it.
pub(crate) fn month_totals_from_deltas(
    deltas: &[(Month, MonthTotals)],
    from: Month,
    to: Month,
) -> Vec<(Month, MonthTotals)> {
    let mut by_month: BTreeMap<Month, MonthTotals> = BTreeMap::new();
    for (month, delta) in deltas {
        let total = by_month.entry(*month).or_default();
        *total = total.plus(delta);
    }
    let mut running = MonthTotals::default();
    let mut pending = by_month.into_iter().peekable();
    Month::range_inclusive(from, to)
        .map(|month| {
            while let Some((_, delta)) = pending.next_if(|(delta_month, _)| *delta_month <= month) {
                running = running.plus(&delta);
            }
            (month, running)
        })
        .collect()
}

/// Totals over one month's customer rows (revenue-rules.md §3-§4), all in minor units except the
/// counts; the `*_of_open_customers` sums are restricted to customers active at the month's open.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
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

impl MonthTotals {
    /// The stored column names of [`MonthTotals::to_columns`], in order.
    pub(crate) const COLUMNS: [&'static str; 13] = [
        "mrr_open",
        "mrr_close",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "customers_active_at_open",
        "customers_active_at_close",
        "open_customers_inactive_at_close",
        "expansion_of_open_customers",
        "contraction_of_open_customers",
        "churn_of_open_customers",
    ];

    /// Every field, in the order of [`MonthTotals::COLUMNS`].
    pub(crate) fn to_columns(self) -> [i64; 13] {
        [
            self.mrr_open,
            self.mrr_close,
            self.new,
            self.expansion,
            self.contraction,
            self.churn,
            self.reactivation,
            self.customers_active_at_open,
            self.customers_active_at_close,
            self.open_customers_inactive_at_close,
            self.expansion_of_open_customers,
            self.contraction_of_open_customers,
            self.churn_of_open_customers,
        ]
    }

    /// The inverse of [`MonthTotals::to_columns`].
    pub(crate) fn from_columns(columns: [i64; 13]) -> Self {
        let [mrr_open, mrr_close, new, expansion, contraction, churn, reactivation, customers_active_at_open, customers_active_at_close, open_customers_inactive_at_close, expansion_of_open_customers, contraction_of_open_customers, churn_of_open_customers] =
            columns;
        Self {
            mrr_open,
            mrr_close,
            new,
            expansion,
            contraction,
            churn,
            reactivation,
            customers_active_at_open,
            customers_active_at_close,
            open_customers_inactive_at_close,
            expansion_of_open_customers,
            contraction_of_open_customers,
            churn_of_open_customers,
        }
    }

    /// Field-wise sum (saturating, as [`MonthTotals::add`]).
    pub(crate) fn plus(&self, other: &Self) -> Self {
        let mut columns = self.to_columns();
        for (total, value) in columns.iter_mut().zip(other.to_columns()) {
            *total = total.saturating_add(value);
        }
        Self::from_columns(columns)
    }

    /// Field-wise difference (saturating).
    pub(crate) fn minus(&self, other: &Self) -> Self {
        let mut columns = self.to_columns();
        for (total, value) in columns.iter_mut().zip(other.to_columns()) {
            *total = total.saturating_sub(value);
        }
        Self::from_columns(columns)
    }
}
