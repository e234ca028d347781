//! `GET /v1/reports/mrr/by-plan` and `GET /v1/reports/restatements`: both computed from the
//! `mrr` snapshot tables with the projector's rules.

use crate::queries::recorded_snapshots::all_mrr_snapshots;
use crate::rules::{self, Month, MonthRestatements, PlanMrr};
use crate::ProjectionError;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::domain::Currency;
use sqlx::PgPool;

/// MRR and customers per product/price of `currency` at the end of the UTC day `day`, from the
/// snapshots recorded at or before `as_of` (`None`: all). Lines with MRR > 0, by product then
/// price; minor units.
pub async fn mrr_by_plan(
    pool: &PgPool,
    currency: &Currency,
    day: NaiveDate,
    as_of: Option<DateTime<Utc>>,
) -> Result<Vec<PlanMrr>, ProjectionError> {
    let snapshots = all_mrr_snapshots(pool, as_of).await?;
    Ok(rules::mrr_by_plan(
        &snapshots.customers_known_by(as_of),
        currency,
        day,
    ))
}

/// The restatements of the closed `month` in `currency`: its figures as they stood at the close
/// and every later change, with when it became known and the events behind it
/// ([`rules::restatements`]). Loads every MRR snapshot of the account.
pub async fn month_restatements(
    pool: &PgPool,
    currency: &Currency,
    month: Month,
) -> Result<MonthRestatements, ProjectionError> {
    let snapshots = all_mrr_snapshots(pool, None).await?;
    Ok(rules::restatements(&snapshots, currency, month))
}
