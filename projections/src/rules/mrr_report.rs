//! The MRR report: per month, opening and closing MRR, the five movement totals and active
//! customer counts, for one currency (revenue-rules.md §3).

use crate::rules::customer_months::CustomerMonth;
use crate::rules::month::Month;
use crate::rules::report_rows::{month_totals, MonthTotals};
use serde::{Deserialize, Serialize};

/// One month of the MRR report, one currency. Amounts in minor units; counts of customers.
///
/// Invariant: `close = open + new + expansion - contraction - churn + reactivation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrrReportMonth {
    /// The month.
    pub month: Month,
    /// Total MRR after every Event before the month's first instant.
    pub open: i64,
    /// Sum of customers' `new` movements in the month.
    pub new: i64,
    /// Sum of `expansion` movements.
    pub expansion: i64,
    /// Sum of `contraction` movements (positive).
    pub contraction: i64,
    /// Sum of `churn` movements (positive).
    pub churn: i64,
    /// Sum of `reactivation` movements.
    pub reactivation: i64,
    /// Total MRR after every Event before the next month's first instant.
    pub close: i64,
    /// Customers with MRR > 0 at open.
    pub customers_open: i64,
    /// Customers with MRR > 0 at close.
    pub customers_close: i64,
}

/// The MRR report (revenue-rules.md §3, §6 "Reports") for every month from `from` to `to`
/// inclusive, zero rows included.
///
/// `rows`: every stored [`CustomerMonth`] of every customer of ONE currency, as
/// (customer id, row), any order. A customer's last close carries forward into later months.
pub fn mrr_report(rows: &[(String, CustomerMonth)], from: Month, to: Month) -> Vec<MrrReportMonth> {
    month_totals(rows, from, to)
        .iter()
        .map(|(month, totals)| mrr_report_month(*month, totals))
        .collect()
}

/// One month of the MRR report from that month's totals over all customers.
pub(crate) fn mrr_report_month(month: Month, totals: &MonthTotals) -> MrrReportMonth {
    MrrReportMonth {
        month,
        open: totals.mrr_open,
        new: totals.new,
        expansion: totals.expansion,
        contraction: totals.contraction,
        churn: totals.churn,
        reactivation: totals.reactivation,
        close: totals.mrr_close,
        customers_open: totals.customers_active_at_open,
        customers_close: totals.customers_active_at_close,
    }
}
