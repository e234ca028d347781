//! `tally demo`: the whole path on real input, in one command.

use crate::commands::{open_database, post_signed_webhooks, print_mrr_table, shutdown_signal};
use crate::config::webhook_secrets_from_env;
use crate::server;
use projections::rules::Month;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use stripe_bridge::WebhookSecrets;

/// The bundled sample history: the `acme-small` dataset's Stripe Events (150 customers, 2025),
/// one compact Event per line, exactly the bytes Stripe would send.
pub const SAMPLE_EVENTS_JSONL: &str =
    include_str!("../../../replay-tests/fixtures/acme-small/events.jsonl");
/// The sample's currency and months.
const SAMPLE_CURRENCY: &str = "usd";
const SAMPLE_FROM: &str = "2025-01";
const SAMPLE_TO: &str = "2025-12";

/// Starts the service, posts the sample history to its own webhook endpoint as Stripe would
/// (signed, over HTTP), waits for the projections to catch up, prints the MRR movements table,
/// then serves until Ctrl-C (or exits at once with `exit_after_table`).
pub async fn demo(
    database_url: Option<&str>,
    data_dir: &Path,
    listen: SocketAddr,
    concurrency: usize,
    exit_after_table: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    // Use the configured secret if any, else a fresh one known only to this process.
    let secrets = match webhook_secrets_from_env()? {
        Some(secrets) => secrets,
        None => WebhookSecrets::parse(&format!("whsec_demo_{}", uuid::Uuid::new_v4().simple()))?,
    };
    let signing_secret = secrets.first().to_owned();
    let database = open_database(database_url, data_dir).await?;
    let running = server::start(database.pool.clone(), listen, Some(secrets)).await?;
    let url = format!("http://{}/webhooks/stripe", running.address);

    let bodies: Vec<Vec<u8>> = SAMPLE_EVENTS_JSONL
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.as_bytes().to_vec())
        .collect();
    println!(
        "Posting {} signed Stripe webhooks to {url} ({concurrency} at a time)...",
        bodies.len()
    );
    let summary =
        post_signed_webhooks(&url, &signing_secret, Arc::new(bodies), concurrency).await?;
    println!(
        "  {} accepted, {} failed in {:.2} s ({:.0} webhooks/s)",
        summary.accepted,
        summary.failed,
        summary.elapsed.as_secs_f64(),
        summary.rate_per_second()
    );
    let caught_up = Instant::now();
    // The server's translator works behind the answers; finish its queue, then the projectors.
    running.settle().await?;
    println!(
        "  inbox translated and projections caught up {:.2} s after the last delivery",
        caught_up.elapsed().as_secs_f64()
    );

    let currency = ledger::domain::Currency::new(SAMPLE_CURRENCY);
    let (from, to): (Month, Month) = (SAMPLE_FROM.parse()?, SAMPLE_TO.parse()?);
    let months = projections::queries::mrr_report(&database.pool, &currency, from, to).await?;
    println!();
    print_mrr_table(&currency, &months);
    println!();
    println!("Demo ready in {:.2} s.", started.elapsed().as_secs_f64());
    println!(
        "Try: curl 'http://{}/v1/reports/mrr?currency=usd&from=2025-01&to=2025-12'",
        running.address
    );
    if !exit_after_table {
        println!("Serving on http://{} until Ctrl-C.", running.address);
        shutdown_signal().await;
    }
    running.stop().await;
    database.close().await?;
    Ok(())
}
