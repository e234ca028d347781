//! `tally import FILE.jsonl`: Stripe Event objects through the same path as a verified webhook.

use crate::commands::open_database;
use indicatif::{ProgressBar, ProgressStyle};
use ledger::store::inbox::InboxOutcome;
use ledger::store::AppendSignal;
use projections::projector::{catch_up_all, Projectors};
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;
use stripe_bridge::ingest::{ingest_stripe_event, IngestChannel};

/// Counts of what an import did.
#[derive(Debug, Default)]
struct ImportCounts {
    translated: u64,
    ignored: u64,
    unparsed: u64,
    duplicate: u64,
}

/// Appends every line of `file` (one Stripe Event JSON object per line, exactly as
/// `GET /v1/events` returns them; blank lines skipped), streaming it with a progress bar, then
/// brings the projections up to date and prints what happened. Lines that are kept but cannot be
/// parsed are listed on stderr; nothing is dropped.
pub async fn import(
    database_url: Option<&str>,
    data_dir: &Path,
    file: &Path,
) -> anyhow::Result<()> {
    let opened = std::fs::File::open(file)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))?;
    let size = opened
        .metadata()
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    let mut reader = std::io::BufReader::new(opened);
    let database = open_database(database_url, data_dir).await?;
    let signal = AppendSignal::new();
    let progress = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut counts = ImportCounts::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        progress.inc(read as u64);
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if body.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let report =
            ingest_stripe_event(&database.pool, &signal, IngestChannel::Import, body).await?;
        match report.outcome {
            Some(InboxOutcome::Translated) => counts.translated += 1,
            Some(InboxOutcome::Ignored) => counts.ignored += 1,
            Some(InboxOutcome::Unparsed) => {
                counts.unparsed += 1;
                progress.suspend(|| {
                    eprintln!(
                        "kept but not parsed: {} ({})",
                        report.message_key,
                        report.reason.as_deref().unwrap_or("no reason")
                    )
                });
            }
            None => counts.duplicate += 1,
        }
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    catch_up_all(&database.pool, &Projectors::default()).await?;
    let ImportCounts {
        translated,
        ignored,
        unparsed,
        duplicate,
    } = counts;
    println!(
        "Imported {}: {translated} translated, {ignored} ignored (types Tally does not use), \
         {unparsed} kept unparsed, {duplicate} already present; {:.2} s.",
        file.display(),
        elapsed.as_secs_f64()
    );
    database.close().await?;
    Ok(())
}
