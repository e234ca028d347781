//! The report rows the `mrr` and `cash` projectors keep (`migrations/0012_report_month_deltas.sql`):
//! per currency and month, the summed changes from the month before of what each customer (mrr)
//! or billing object (cash) adds to the monthly reports. The rules compute the changes
//! (`rules::customer_month_total_deltas`, `invoice_cash_deltas`, `charge_cash_deltas`); this
//! module only adds them to the stored sums and reads them back.
//!
//! Invariant: a stored row is never all zeros (such rows are deleted in the statement batch that
//! zeroes them), so a rebuild and an incremental projection hold the same rows.

use crate::rules::{CashFigures, Month, MonthTotals};
use crate::ProjectionError;
use chrono::NaiveDate;
use ledger::domain::Currency;
use sqlx::{PgConnection, PgExecutor, Row};
use std::collections::BTreeMap;

/// Changes to add, keyed by (currency, month).
pub(crate) type ChangesByCurrencyAndMonth<T> = BTreeMap<(String, Month), T>;

/// Adds `changes` (MRR/churn report totals, minor units and counts of customers) to
/// `mrr_report_month_deltas`, then deletes the touched rows that became all zeros.
pub(crate) async fn add_mrr_report_changes(
    conn: &mut PgConnection,
    changes: &ChangesByCurrencyAndMonth<MonthTotals>,
) -> Result<(), ProjectionError> {
    let rows: Vec<(&(String, Month), [i64; 13])> = changes
        .iter()
        .filter(|(_, totals)| **totals != MonthTotals::default())
        .map(|(key, totals)| (key, totals.to_columns()))
        .collect();
    add_changes(
        conn,
        "mrr_report_month_deltas",
        &MonthTotals::COLUMNS,
        &rows,
    )
    .await
}

/// Adds `changes` (cash figures, minor units) to `cash_report_month_deltas`, then deletes the
/// touched rows that became all zeros.
pub(crate) async fn add_cash_report_changes(
    conn: &mut PgConnection,
    changes: &ChangesByCurrencyAndMonth<CashFigures>,
) -> Result<(), ProjectionError> {
    let rows: Vec<(&(String, Month), [i64; 3])> = changes
        .iter()
        .filter(|(_, figures)| **figures != CashFigures::default())
        .map(|(key, figures)| {
            (
                key,
                [
                    figures.collected,
                    figures.refunded,
                    figures.outstanding_close,
                ],
            )
        })
        .collect();
    add_changes(conn, "cash_report_month_deltas", &CASH_COLUMNS, &rows).await
}

/// The figure columns of `cash_report_month_deltas`, in the order of [`CashFigures`]' fields.
const CASH_COLUMNS: [&str; 3] = ["collected", "refunded", "outstanding_close"];

/// Upserts `rows` ((currency, month), one value per column of `columns`) into `table`, adding to
/// stored values, and deletes the touched rows whose columns are all 0. `table` and `columns`
/// are constants, never input.
async fn add_changes<const N: usize>(
    conn: &mut PgConnection,
    table: &str,
    columns: &[&str; N],
    rows: &[(&(String, Month), [i64; N])],
) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    let currencies: Vec<&str> = rows
        .iter()
        .map(|((currency, _), _)| currency.as_str())
        .collect();
    let months: Vec<NaiveDate> = rows
        .iter()
        .map(|((_, month), _)| month.first_day())
        .collect();
    let column_list = columns.join(", ");
    let arrays: Vec<String> = (0..columns.len())
        .map(|index| format!("${}::bigint[]", index + 3))
        .collect();
    let additions: Vec<String> = columns
        .iter()
        .map(|column| format!("{column} = {table}.{column} + excluded.{column}"))
        .collect();
    let sql = format!(
        "INSERT INTO {table} (currency, month, {column_list})
         SELECT * FROM unnest($1::text[], $2::date[], {})
         ON CONFLICT (currency, month) DO UPDATE SET {}",
        arrays.join(", "),
        additions.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(&currencies).bind(&months);
    for index in 0..columns.len() {
        let column: Vec<i64> = rows.iter().map(|(_, values)| values[index]).collect();
        query = query.bind(column);
    }
    query.execute(&mut *conn).await?;
    let all_zero: Vec<String> = columns
        .iter()
        .map(|column| format!("{column} = 0"))
        .collect();
    sqlx::query(&format!(
        "DELETE FROM {table}
         WHERE (currency, month) IN (SELECT * FROM unnest($1::text[], $2::date[]))
           AND {}",
        all_zero.join(" AND ")
    ))
    .bind(&currencies)
    .bind(&months)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every stored MRR/churn report change of `currency` in months up to `to`.
pub(crate) async fn load_mrr_report_changes<'c>(
    executor: impl PgExecutor<'c>,
    currency: &Currency,
    to: Month,
) -> Result<Vec<(Month, MonthTotals)>, ProjectionError> {
    let rows = load_changes(
        executor,
        "mrr_report_month_deltas",
        &MonthTotals::COLUMNS,
        currency,
        to,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(month, columns)| (month, MonthTotals::from_columns(columns)))
        .collect())
}

/// Every stored cash report change of `currency` in months up to `to`.
pub(crate) async fn load_cash_report_changes<'c>(
    executor: impl PgExecutor<'c>,
    currency: &Currency,
    to: Month,
) -> Result<Vec<(Month, CashFigures)>, ProjectionError> {
    let rows = load_changes(
        executor,
        "cash_report_month_deltas",
        &CASH_COLUMNS,
        currency,
        to,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(month, [collected, refunded, outstanding_close])| {
            (
                month,
                CashFigures {
                    collected,
                    refunded,
                    outstanding_close,
                },
            )
        })
        .collect())
}

/// The rows of `table` for `currency` with `month <= to`, as (month, column values).
async fn load_changes<'c, const N: usize>(
    executor: impl PgExecutor<'c>,
    table: &str,
    columns: &[&str; N],
    currency: &Currency,
    to: Month,
) -> Result<Vec<(Month, [i64; N])>, ProjectionError> {
    let sql = format!(
        "SELECT month, {} FROM {table} WHERE currency = $1 AND month <= $2",
        columns.join(", ")
    );
    let rows = sqlx::query(&sql)
        .bind(currency.as_str())
        .bind(to.first_day())
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|row| {
            let month: NaiveDate = row.try_get("month")?;
            let mut values = [0_i64; N];
            for (value, column) in values.iter_mut().zip(columns) {
                *value = row.try_get::<i64, _>(*column)?;
            }
            Ok((Month::containing_day(month), values))
        })
        .collect()
}
