//! The `tally` subcommands. This is the binary's edge: errors are `anyhow`.

mod bench;
mod demo;
mod history;
mod import;
mod rebuild;
mod report;
mod report_table;
mod serve;
mod webhook_client;

pub use bench::{bench_projections, BenchOptions};
pub use demo::demo;
pub use history::{history, history_table};
pub use import::import;
pub use rebuild::rebuild;
pub use report::report;
pub use report_table::print_mrr_table;
pub use serve::serve;
pub use webhook_client::{post_signed_webhooks, WebhookPostSummary};

use ledger::store::connect::Database;
use std::path::Path;

/// Opens the database (`DATABASE_URL`, else the embedded cluster in `data_dir`), migrated.
pub async fn open_database(
    database_url: Option<&str>,
    data_dir: &Path,
) -> anyhow::Result<Database> {
    if database_url.is_none() {
        tracing::info!(data_dir = %data_dir.display(), "DATABASE_URL unset: using the embedded PostgreSQL");
    }
    Ok(Database::open(database_url, data_dir).await?)
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
