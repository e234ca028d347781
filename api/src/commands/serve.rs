//! `tally serve`: the service until Ctrl-C.

use crate::commands::{open_database, shutdown_signal};
use crate::config::webhook_secrets_from_env;
use crate::server;
use std::net::SocketAddr;
use std::path::Path;

/// Runs the webhook endpoint, the API and the projectors until Ctrl-C, then stops the embedded
/// PostgreSQL if this process started it.
pub async fn serve(
    database_url: Option<&str>,
    data_dir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<()> {
    let secrets = webhook_secrets_from_env()?;
    if secrets.is_none() {
        tracing::warn!(
            "STRIPE_WEBHOOK_SECRET is not set: POST /webhooks/stripe answers 503 until it is"
        );
    }
    let database = open_database(database_url, data_dir).await?;
    let running = server::start(database.pool.clone(), listen, secrets).await?;
    println!(
        "Tally is serving on http://{} (Ctrl-C to stop)",
        running.address
    );
    shutdown_signal().await;
    running.stop().await;
    database.close().await?;
    Ok(())
}
