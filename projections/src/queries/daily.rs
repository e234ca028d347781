//! `GET /v1/reports/mrr/daily`: MRR per UTC day with the day's movement totals.

use crate::queries::as_of::timelines_as_of;
use crate::rules::{self, DailyMovement, DailyReportDay, MovementKind};
use crate::ProjectionError;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use ledger::domain::Currency;
use sqlx::{PgPool, Row};

/// The daily MRR report of `currency` for every day from `from` to `to` inclusive (UTC days;
/// minor units). Without `as_of`: from the `mrr` projector's timeline and daily movements; with
/// `as_of`: recomputed from the snapshots recorded at or before it.
pub async fn daily_mrr_report(
    pool: &PgPool,
    currency: &Currency,
    from: NaiveDate,
    to: NaiveDate,
    as_of: Option<DateTime<Utc>>,
) -> Result<Vec<DailyReportDay>, ProjectionError> {
    let start = from.and_time(NaiveTime::MIN).and_utc();
    let (open, movements) = match as_of {
        None => (
            projected_mrr_before(pool, currency, start).await?,
            projected_movements(pool, currency, from, to).await?,
        ),
        Some(as_of) => {
            let mut open: i64 = 0;
            let mut movements = Vec::new();
            for (_, timeline) in timelines_as_of(pool, currency, as_of).await? {
                open = open.saturating_add(rules::mrr_before(&timeline, start));
                movements.extend(rules::daily_movements(&timeline));
            }
            (open, movements)
        }
    };
    Ok(rules::daily_report(open, &movements, from, to))
}

/// Total MRR of `currency` just before `instant`: each customer's latest timeline value before
/// it, summed.
async fn projected_mrr_before(
    pool: &PgPool,
    currency: &Currency,
    instant: DateTime<Utc>,
) -> Result<i64, ProjectionError> {
    let total: Option<i64> = sqlx::query_scalar(
        "SELECT sum(mrr)::bigint FROM (
             SELECT DISTINCT ON (customer_id) mrr FROM mrr_customer_timeline
             WHERE currency = $1 AND valid_from < $2
             ORDER BY customer_id, valid_from DESC) latest",
    )
    .bind(currency.as_str())
    .bind(instant)
    .fetch_one(pool)
    .await?;
    Ok(total.unwrap_or(0))
}

/// Every customer's stored daily movement of `currency` from `from` to `to` inclusive.
async fn projected_movements(
    pool: &PgPool,
    currency: &Currency,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DailyMovement>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT day, kind, amount, mrr_before, mrr_after FROM mrr_customer_movements
         WHERE currency = $1 AND day BETWEEN $2 AND $3",
    )
    .bind(currency.as_str())
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            let kind: MovementKind = serde_json::from_value(serde_json::Value::String(kind))?;
            Ok(DailyMovement {
                day: row.try_get("day")?,
                kind,
                amount: row.try_get("amount")?,
                mrr_before: row.try_get("mrr_before")?,
                mrr_after: row.try_get("mrr_after")?,
            })
        })
        .collect()
}
