//! The monthly reports: MRR movements, churn and retention rates, cash.

use crate::read_models::{load_snapshots, SnapshotTable};
use crate::rules::{self, CashReportMonth, ChurnReportMonth, CustomerMonth, Month, MrrReportMonth};
use crate::ProjectionError;
use chrono::NaiveDate;
use ledger::domain::{ChargeSnapshot, Currency, InvoiceSnapshot};
use sqlx::{PgPool, Row};

/// `GET /v1/reports/mrr`: every month from `from` to `to` (inclusive) in `currency`, zero months
/// included. Amounts in minor units.
pub async fn mrr_report(
    pool: &PgPool,
    currency: &Currency,
    from: Month,
    to: Month,
) -> Result<Vec<MrrReportMonth>, ProjectionError> {
    let rows = customer_months(pool, currency, to).await?;
    Ok(rules::mrr_report(&rows, from, to))
}

/// `GET /v1/reports/churn`: rates per month (fractions, `None` when undefined) and ARPA.
pub async fn churn_report(
    pool: &PgPool,
    currency: &Currency,
    from: Month,
    to: Month,
) -> Result<Vec<ChurnReportMonth>, ProjectionError> {
    let rows = customer_months(pool, currency, to).await?;
    Ok(rules::churn_report(&rows, from, to))
}

/// `GET /v1/reports/cash`: collected, refunded and outstanding at close per month, minor units.
pub async fn cash_report(
    pool: &PgPool,
    currency: &Currency,
    from: Month,
    to: Month,
) -> Result<Vec<CashReportMonth>, ProjectionError> {
    let scope = [currency.as_str().to_owned()];
    let invoices: Vec<(String, rules::Observed<InvoiceSnapshot>)> =
        load_snapshots(pool, SnapshotTable::CashInvoices, &scope).await?;
    let charges: Vec<(String, rules::Observed<ChargeSnapshot>)> =
        load_snapshots(pool, SnapshotTable::CashCharges, &scope).await?;
    let invoices: Vec<_> = invoices.into_iter().map(|(_, observed)| observed).collect();
    let charges: Vec<_> = charges.into_iter().map(|(_, observed)| observed).collect();
    Ok(rules::cash_report(&invoices, &charges, from, to))
}

/// Every stored customer month of `currency` up to `to`, as (customer id, row).
async fn customer_months(
    pool: &PgPool,
    currency: &Currency,
    to: Month,
) -> Result<Vec<(String, CustomerMonth)>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT customer_id, month, mrr_open, mrr_close, new, expansion, contraction, churn,
                reactivation
         FROM mrr_customer_months WHERE currency = $1 AND month <= $2",
    )
    .bind(currency.as_str())
    .bind(to.first_day())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let month: NaiveDate = row.try_get("month")?;
            Ok((
                row.try_get("customer_id")?,
                CustomerMonth {
                    month: Month::containing_day(month),
                    mrr_open: row.try_get("mrr_open")?,
                    mrr_close: row.try_get("mrr_close")?,
                    new: row.try_get("new")?,
                    expansion: row.try_get("expansion")?,
                    contraction: row.try_get("contraction")?,
                    churn: row.try_get("churn")?,
                    reactivation: row.try_get("reactivation")?,
                },
            ))
        })
        .collect()
}
