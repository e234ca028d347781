//! `tally import stripe [--since ...]`: pages through Stripe's customers, coupons,
//! subscriptions and invoices (snapshots with provenance) and the Stripe Events of the window
//! (as webhooks are ingested), with a progress bar on a terminal. Resumable: run it again after
//! an interruption; nothing is written twice (see `stripe_bridge::backfill::run`).

use crate::commands::open_database;
use crate::commands::text_table::render_text_table;
use crate::stripe_transport::StripeTransport;
use chrono::{DateTime, Duration, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use ledger::store::AppendSignal;
use projections::projector::{catch_up_all, Projectors};
use sqlx::PgPool;
use std::io::IsTerminal;
use std::path::Path;
use stripe_bridge::backfill::{
    import_from_stripe, BackfillOptions, BackfillProgress, ResourceReport,
};
use stripe_client_core::StripeClient;

/// How far back Stripe Events are imported without `--since`: Stripe keeps Events 30 days.
pub const DEFAULT_EVENT_WINDOW_DAYS: i64 = 30;

/// An indicatif spinner (hidden when stderr is not a terminal) that counts pages and objects.
struct SpinnerProgress {
    bar: ProgressBar,
}

impl SpinnerProgress {
    fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            )
        } else {
            ProgressBar::hidden()
        };
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self { bar }
    }
}

impl BackfillProgress for SpinnerProgress {
    fn page_written(&self, report: &ResourceReport, has_more: bool) {
        self.bar.set_message(format!(
            "{}: {} pages, {} objects, {} events appended{}",
            report.resource.name(),
            report.pages,
            report.objects,
            report.events_appended,
            if has_more { "..." } else { ", done" }
        ));
    }
}

/// Imports from Stripe through `client` into the log of `pool` (Events created at or after
/// `since`, default 30 days before `now`), then brings the projections up to date. Returns
/// each resource's report. Errors name the failing request; pages written before stay.
pub async fn import_stripe_with<C>(
    client: &C,
    pool: &PgPool,
    append_signal: &AppendSignal,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    api_version: Option<String>,
) -> anyhow::Result<Vec<ResourceReport>>
where
    C: StripeClient + Sync,
    C::Err: std::error::Error + Send + Sync + 'static,
{
    let options = BackfillOptions {
        events_since: since.unwrap_or(now - Duration::days(DEFAULT_EVENT_WINDOW_DAYS)),
        api_version,
    };
    let progress = SpinnerProgress::new();
    let imported =
        import_from_stripe(client, pool, append_signal, &options, Utc::now, &progress).await;
    progress.bar.finish_and_clear();
    let reports = imported.map_err(|error| {
        anyhow::anyhow!(
            "{error}\nwhat was written is kept: run `tally import stripe` again to continue"
        )
    })?;
    catch_up_all(pool, &Projectors::default()).await?;
    Ok(reports)
}

/// The import's summary table: one row per resource, then every object Tally could not read.
pub fn import_summary(reports: &[ResourceReport]) -> String {
    let header = [
        "resource",
        "pages",
        "objects",
        "events appended",
        "already stored",
        "unreadable",
    ];
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|report| {
            let unreadable = report.unreadable.len() as u64 + report.stripe_events.unparsed;
            vec![
                report.resource.name().to_owned(),
                report.pages.to_string(),
                report.objects.to_string(),
                report.events_appended.to_string(),
                report.events_already_stored.to_string(),
                unreadable.to_string(),
            ]
        })
        .collect();
    let mut text = render_text_table(&header, &rows);
    for report in reports {
        for object in &report.unreadable {
            text.push_str(&format!(
                "not imported: {} {} ({})\n",
                report.resource.name(),
                object.object_id,
                object.reason
            ));
        }
        for (key, reason) in &report.stripe_events.unparsed_kept {
            text.push_str(&format!("kept but not parsed: {key} ({reason})\n"));
        }
    }
    text
}

/// The Stripe transport of the environment (`STRIPE_SECRET_KEY`, `STRIPE_API_BASE`).
pub(crate) fn stripe_transport_from_env() -> anyhow::Result<StripeTransport> {
    StripeTransport::from_env()?.ok_or_else(|| {
        anyhow::anyhow!(
            "STRIPE_SECRET_KEY is not set: give a Stripe secret or restricted key with read access"
        )
    })
}

/// `tally import stripe [--since RFC3339]`: imports through the transport of the environment
/// and prints the summary.
pub async fn import_stripe(
    database_url: Option<&str>,
    data_dir: &Path,
    since: Option<&str>,
) -> anyhow::Result<()> {
    let since = since
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "--since: expected an RFC 3339 instant such as 2026-11-01T00:00:00Z, got {text}"
                    )
                })
        })
        .transpose()?;
    let transport = stripe_transport_from_env()?;
    let database = open_database(database_url, data_dir).await?;
    let signal = AppendSignal::new();
    let imported = import_stripe_with(
        &transport,
        &database.pool,
        &signal,
        since,
        Utc::now(),
        Some(stripe_client_core::VERSION.as_str().to_owned()),
    )
    .await;
    let closed = database.close().await;
    print!("{}", import_summary(&imported?));
    closed?;
    Ok(())
}
