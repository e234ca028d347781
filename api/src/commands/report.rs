//! `tally report mrr|churn|cash`: a monthly report as a terminal table.

use crate::cli::ReportKind;
use crate::commands::report_table::{print_cash_table, print_churn_table};
use crate::commands::{open_database, print_mrr_table};
use ledger::domain::Currency;
use projections::projector::{catch_up_all, Projectors};
use projections::queries;
use projections::rules::Month;
use std::path::Path;

/// Brings the projections up to date, then prints the report for `currency` and the months.
pub async fn report(
    database_url: Option<&str>,
    data_dir: &Path,
    kind: ReportKind,
    currency: &str,
    from: &str,
    to: &str,
) -> anyhow::Result<()> {
    let from: Month = from
        .parse()
        .map_err(|_| anyhow::anyhow!("--from: expected YYYY-MM, got {from}"))?;
    let to: Month = to
        .parse()
        .map_err(|_| anyhow::anyhow!("--to: expected YYYY-MM, got {to}"))?;
    anyhow::ensure!(from <= to, "--to must not be before --from");
    let currency = Currency::new(currency);
    let database = open_database(database_url, data_dir).await?;
    catch_up_all(&database.pool, &Projectors::default()).await?;
    let pool = &database.pool;
    match kind {
        ReportKind::Mrr => print_mrr_table(
            &currency,
            &queries::mrr_report(pool, &currency, from, to).await?,
        ),
        ReportKind::Churn => print_churn_table(
            &currency,
            &queries::churn_report(pool, &currency, from, to).await?,
        ),
        ReportKind::Cash => print_cash_table(
            &currency,
            &queries::cash_report(pool, &currency, from, to).await?,
        ),
    }
    database.close().await?;
    Ok(())
}
