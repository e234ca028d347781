//! The churn and retention report: ChartMogul's standard rates per month, one currency
//! (revenue-rules.md §4, §6).

use crate::rules::customer_months::CustomerMonth;
use crate::rules::month::Month;
use crate::rules::rates::rate;
use crate::rules::report_rows::{month_totals, MonthTotals};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One month of the churn report, one currency. Rates are fractions (0.25 = 25 %) rounded by
/// [`round_rate`](crate::rules::round_rate); `None` (written `null`) when the denominator is 0.
///
/// Notation for month P = [t0, t1): MRR0 = total MRR at t0; C0 = customers active (MRR > 0) at
/// t0; New, Exp, Con, Chu, Rea = movement totals in P over all customers; Exp_C0, Con_C0,
/// Chu_C0 = the same restricted to customers in C0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChurnReportMonth {
    /// The month.
    pub month: Month,
    /// Customers of C0 not active at t1, divided by the size of C0.
    pub logo_churn_rate: Option<Decimal>,
    /// (Chu + Con) / MRR0.
    pub gross_mrr_churn_rate: Option<Decimal>,
    /// (Chu + Con - Exp - Rea) / MRR0; negative when expansion outweighs churn.
    pub net_mrr_churn_rate: Option<Decimal>,
    /// Net revenue retention: (MRR0 + Exp_C0 - Con_C0 - Chu_C0) / MRR0.
    pub nrr: Option<Decimal>,
    /// Gross revenue retention: (MRR0 - Con_C0 - Chu_C0) / MRR0.
    pub grr: Option<Decimal>,
    /// (New + Exp + Rea) / (Con + Chu).
    pub quick_ratio: Option<Decimal>,
    /// Average revenue per account: MRR at t1 / customers active at t1, in minor units.
    pub arpa: Option<Decimal>,
}

/// The churn report (revenue-rules.md §4, §6 "Rates") for every month from `from` to `to`
/// inclusive, months whose rates are all `None` included.
///
/// `rows`: every stored [`CustomerMonth`] of every customer of ONE currency, as
/// (customer id, row), any order; a customer's last close carries forward into later months.
pub fn churn_report(
    rows: &[(String, CustomerMonth)],
    from: Month,
    to: Month,
) -> Vec<ChurnReportMonth> {
    month_totals(rows, from, to)
        .iter()
        .map(|(month, totals)| rates_for_month(*month, totals))
        .collect()
}

/// Applies the §4 formulas to one month's totals over all customers.
pub(crate) fn rates_for_month(month: Month, totals: &MonthTotals) -> ChurnReportMonth {
    let lost = totals.churn.saturating_add(totals.contraction);
    let regained = totals.expansion.saturating_add(totals.reactivation);
    let retained_gross = totals
        .mrr_open
        .saturating_sub(totals.contraction_of_open_customers)
        .saturating_sub(totals.churn_of_open_customers);
    ChurnReportMonth {
        month,
        logo_churn_rate: rate(
            totals.open_customers_inactive_at_close,
            totals.customers_active_at_open,
        ),
        gross_mrr_churn_rate: rate(lost, totals.mrr_open),
        net_mrr_churn_rate: rate(lost.saturating_sub(regained), totals.mrr_open),
        nrr: rate(
            retained_gross.saturating_add(totals.expansion_of_open_customers),
            totals.mrr_open,
        ),
        grr: rate(retained_gross, totals.mrr_open),
        quick_ratio: rate(totals.new.saturating_add(regained), lost),
        arpa: rate(totals.mrr_close, totals.customers_active_at_close),
    }
}
