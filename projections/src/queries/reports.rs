//! The monthly reports: MRR movements, churn and retention rates, cash.

use crate::read_models::{load_cash_report_changes, load_mrr_report_changes};
use crate::rules::{self, CashReportMonth, ChurnReportMonth, Month, MrrReportMonth};
use crate::ProjectionError;
use ledger::domain::Currency;
use sqlx::PgPool;

/// `GET /v1/reports/mrr`: every month from `from` to `to` (inclusive) in `currency`, zero months
/// included. Amounts in minor units. Reads the `mrr` projector's report rows up to `to` (a few
/// per month), not every customer's months.
pub async fn mrr_report(
    pool: &PgPool,
    currency: &Currency,
    from: Month,
    to: Month,
) -> Result<Vec<MrrReportMonth>, ProjectionError> {
    let changes = load_mrr_report_changes(pool, currency, to).await?;
    Ok(rules::month_totals_from_deltas(&changes, from, to)
        .iter()
        .map(|(month, totals)| rules::mrr_report_month(*month, totals))
        .collect())
}

/// `GET /v1/reports/churn`: rates per month (fractions, `None` when undefined) and ARPA, from
/// the same report rows as [`mrr_report`].
pub async fn churn_report(
    pool: &PgPool,
    currency: &Currency,
    from: Month,
    to: Month,
) -> Result<Vec<ChurnReportMonth>, ProjectionError> {
    let changes = load_mrr_report_changes(pool, currency, to).await?;
    Ok(rules::month_totals_from_deltas(&changes, from, to)
        .iter()
        .map(|(month, totals)| rules::rates_for_month(*month, totals))
        .collect())
}

/// `GET /v1/reports/cash`: collected, refunded and outstanding at close per month, minor units,
/// from the `cash` projector's report rows up to `to`.
pub async fn cash_report(
    pool: &PgPool,
    currency: &Currency,
    from: Month,
    to: Month,
) -> Result<Vec<CashReportMonth>, ProjectionError> {
    let changes = load_cash_report_changes(pool, currency, to).await?;
    Ok(rules::cash_report_from_deltas(&changes, from, to))
}
