//! `tally import FILE.jsonl`: Stripe Event objects through the same path as a verified webhook.

use crate::commands::open_database;
use ledger::store::inbox::InboxOutcome;
use ledger::store::AppendSignal;
use projections::projector::{catch_up_all, Projectors};
use std::path::Path;
use std::time::Instant;
use stripe_bridge::ingest::{ingest_stripe_event, IngestChannel};

/// Appends every line of `file` (one Stripe Event JSON object per line; blank lines skipped),
/// then brings the projections up to date and prints what happened.
pub async fn import(
    database_url: Option<&str>,
    data_dir: &Path,
    file: &Path,
) -> anyhow::Result<()> {
    let content = std::fs::read(file)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))?;
    let database = open_database(database_url, data_dir).await?;
    let signal = AppendSignal::new();
    let started = Instant::now();
    let (mut translated, mut ignored, mut unparsed, mut duplicate) = (0, 0, 0, 0);
    for line in content.split(|byte| *byte == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let report =
            ingest_stripe_event(&database.pool, &signal, IngestChannel::Import, line).await?;
        match report.outcome {
            Some(InboxOutcome::Translated) => translated += 1,
            Some(InboxOutcome::Ignored) => ignored += 1,
            Some(InboxOutcome::Unparsed) => {
                unparsed += 1;
                eprintln!(
                    "kept but not parsed: {} ({})",
                    report.message_key,
                    report.reason.as_deref().unwrap_or("no reason")
                );
            }
            None => duplicate += 1,
        }
    }
    let elapsed = started.elapsed();
    catch_up_all(&database.pool, &Projectors::default()).await?;
    println!(
        "Imported {}: {translated} translated, {ignored} ignored (types Tally does not use), \
         {unparsed} kept unparsed, {duplicate} already present; {:.2} s.",
        file.display(),
        elapsed.as_secs_f64()
    );
    database.close().await?;
    Ok(())
}
