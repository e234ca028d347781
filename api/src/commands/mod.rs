//! The `tally` subcommands. This is the binary's edge: errors are `anyhow`.

mod apikey;
mod bench;
mod bench_checkpoint_lag;
mod bench_http_tools;
mod bench_ingest;
mod bench_ingest_steady;
mod bench_usage;
mod catalog;
mod demo;
mod history;
mod import;
mod rebuild;
mod reconcile;
mod report;
mod report_table;
mod serve;
mod stripe_import;
mod text_table;
mod webhook_client;

pub use apikey::{apikey_create, apikey_list, apikey_revoke};
pub use bench::{bench_projections, BenchOptions};
pub use bench_ingest::{bench_ingest, IngestBenchOptions};
pub use bench_usage::{bench_usage, UsageBenchOptions};
pub use catalog::catalog_apply;
pub use demo::demo;
pub use history::{history, history_table};
pub use import::import;
pub use rebuild::rebuild;
pub use reconcile::{
    drift_table, reconcile, reconcile_with, ReconcileOutcome, UnreadableSubscription,
};
pub use report::report;
pub use report_table::print_mrr_table;
pub use serve::serve;
pub use stripe_import::{
    import_stripe, import_stripe_with, import_summary, DEFAULT_EVENT_WINDOW_DAYS,
};
pub use text_table::render_text_table;
pub use webhook_client::{post_signed_webhooks, WebhookPostSummary};

use ledger::store::connect::{Database, APPLICATION_ROLE};
use std::path::Path;
use std::sync::OnceLock;

/// The role set by [`set_application_role`] (`--db-role` / `TALLY_DB_ROLE`).
static APPLICATION_ROLE_SETTING: OnceLock<String> = OnceLock::new();

/// Sets, once per process, the role [`open_database`] runs the application's connections as
/// (an empty `role`: the connecting user). Unset: [`APPLICATION_ROLE`]. A second call is
/// ignored.
pub fn set_application_role(role: &str) {
    let _ = APPLICATION_ROLE_SETTING.set(role.to_owned());
}

/// Opens the database (`DATABASE_URL`, else the embedded cluster in `data_dir`), migrated as
/// the connecting user, its pool running as the application role (see
/// [`set_application_role`]).
pub async fn open_database(
    database_url: Option<&str>,
    data_dir: &Path,
) -> anyhow::Result<Database> {
    if database_url.is_none() {
        tracing::info!(data_dir = %data_dir.display(), "DATABASE_URL unset: using the embedded PostgreSQL");
    }
    let role = APPLICATION_ROLE_SETTING
        .get()
        .map_or(APPLICATION_ROLE, String::as_str);
    let role = Some(role).filter(|role| !role.is_empty());
    Ok(Database::open_as(database_url, data_dir, role).await?)
}

/// Waits for Ctrl-C (or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
