//! Time travel: the MRR, churn and cash reports as the log stood at a recorded time `as_of`,
//! computed from the snapshot rows whose events were recorded at or before it, with the same
//! pure rules the projectors run (so `as_of` = now gives the projected answer).

use crate::queries::recorded_snapshots::{all_mrr_snapshots, load_recorded, Selection};
use crate::read_models::SnapshotTable;
use crate::rules::{
    self, CashReportMonth, ChurnReportMonth, CustomerMonth, DailyMovement, Month, MrrPoint,
    MrrReportMonth,
};
use crate::ProjectionError;
use chrono::{DateTime, Utc};
use ledger::domain::{ChargeSnapshot, Currency, InvoiceSnapshot};
use sqlx::PgPool;

/// Every customer's MRR timeline in `currency` as the log stood at `as_of` (customers that
/// never had MRR there are left out), as (customer id, timeline).
pub(crate) async fn timelines_as_of(
    pool: &PgPool,
    currency: &Currency,
    as_of: DateTime<Utc>,
) -> Result<Vec<(String, Vec<MrrPoint>)>, ProjectionError> {
    let snapshots = all_mrr_snapshots(pool, Some(as_of)).await?;
    Ok(snapshots
        .customers_known_by(Some(as_of))
        .into_iter()
        .map(|(customer, customer_snapshots)| {
            let timeline = customer_snapshots.timeline(currency);
            (customer, timeline)
        })
        .filter(|(_, timeline)| !timeline.is_empty())
        .collect())
}

/// Every customer's month rows in `currency` as the log stood at `as_of`, as the `mrr`
/// projector would have stored them then.
async fn customer_months_as_of(
    pool: &PgPool,
    currency: &Currency,
    as_of: DateTime<Utc>,
) -> Result<Vec<(String, CustomerMonth)>, ProjectionError> {
    let mut rows = Vec::new();
    for (customer, timeline) in timelines_as_of(pool, currency, as_of).await? {
        let movements: Vec<DailyMovement> = rules::daily_movements(&timeline);
        for month in rules::customer_months(&timeline, &movements) {
            rows.push((customer.clone(), month));
        }
    }
    Ok(rows)
}

/// `GET /v1/reports/mrr?as_of=`: the MRR report as the log stood at `as_of` (UTC).
pub async fn mrr_report_as_of(
    pool: &PgPool,
    currency: &Currency,
    from: Month,
    to: Month,
    as_of: DateTime<Utc>,
) -> Result<Vec<MrrReportMonth>, ProjectionError> {
    let rows = customer_months_as_of(pool, currency, as_of).await?;
    Ok(rules::mrr_report(&rows, from, to))
}

/// `GET /v1/reports/churn?as_of=`: the churn report as the log stood at `as_of` (UTC).
pub async fn churn_report_as_of(
    pool: &PgPool,
    currency: &Currency,
    from: Month,
    to: Month,
    as_of: DateTime<Utc>,
) -> Result<Vec<ChurnReportMonth>, ProjectionError> {
    let rows = customer_months_as_of(pool, currency, as_of).await?;
    Ok(rules::churn_report(&rows, from, to))
}

/// `GET /v1/reports/cash?as_of=`: the cash report from the invoice and charge snapshots
/// recorded at or before `as_of` (UTC).
pub async fn cash_report_as_of(
    pool: &PgPool,
    currency: &Currency,
    from: Month,
    to: Month,
    as_of: DateTime<Utc>,
) -> Result<Vec<CashReportMonth>, ProjectionError> {
    let scope = [currency.as_str().to_owned()];
    let invoices: Vec<rules::RecordedSnapshot<InvoiceSnapshot>> = load_recorded(
        pool,
        SnapshotTable::CashInvoices,
        Selection::Scopes(&scope),
        Some(as_of),
    )
    .await?;
    let charges: Vec<rules::RecordedSnapshot<ChargeSnapshot>> = load_recorded(
        pool,
        SnapshotTable::CashCharges,
        Selection::Scopes(&scope),
        Some(as_of),
    )
    .await?;
    let invoices: Vec<_> = invoices.into_iter().map(|row| row.observed).collect();
    let charges: Vec<_> = charges.into_iter().map(|row| row.observed).collect();
    Ok(rules::cash_report(&invoices, &charges, from, to))
}
