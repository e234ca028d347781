//! `tally import FILE.jsonl`: Stripe Event objects, translated exactly as verified webhooks are,
//! written in bounded chunks through the event store's COPY path.

use crate::commands::open_database;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use ledger::store::AppendSignal;
use projections::projector::{catch_up_all, Projectors};
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;
use stripe_bridge::bulk_ingest::{StripeImportChunk, StripeImportReport};
use stripe_bridge::ingest::IngestChannel;
use tokio::sync::mpsc;

/// A chunk is written once it holds this many bodies...
const CHUNK_MESSAGES: usize = 5_000;
/// ...or this many bytes of bodies, whichever comes first (bounds memory for large bodies).
const CHUNK_BODY_BYTES: usize = 32 << 20;
/// Chunks prepared ahead of the writer: translation of the next chunks overlaps the COPY of
/// the current one, and memory stays at a few chunks whatever the file size.
const CHUNKS_AHEAD: usize = 2;

/// Appends every line of `file` (one Stripe Event JSON object per line, exactly as
/// `GET /v1/events` returns them; blank lines skipped), streaming it with a progress bar, then
/// brings the projections up to date and prints what happened. Lines that are kept but cannot be
/// parsed are listed on stderr; nothing is dropped. Re-importing a file writes nothing new.
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
    let reader = std::io::BufReader::new(opened);
    let database = open_database(database_url, data_dir).await?;
    let signal = AppendSignal::new();
    let progress = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();

    // Reading and translating (CPU) run on a blocking thread, one chunk ahead of the writer.
    let (chunks, mut prepared) = mpsc::channel(CHUNKS_AHEAD);
    let reader_progress = progress.clone();
    let reading =
        tokio::task::spawn_blocking(move || read_chunks(reader, &chunks, &reader_progress));

    let mut connection = database.pool.acquire().await?;
    let mut total = StripeImportReport::default();
    while let Some(chunk) = prepared.recv().await {
        let mut written = chunk
            .write(&mut connection)
            .await
            .context("writing a chunk of the import (nothing of that chunk was stored)")?;
        signal.notify();
        for (message_key, reason) in std::mem::take(&mut written.unparsed_kept) {
            progress.suspend(|| eprintln!("kept but not parsed: {message_key} ({reason})"));
        }
        progress.set_message(format!(
            "{} events",
            total.events_appended + written.events_appended
        ));
        total.add(written);
    }
    drop(connection);
    reading
        .await
        .context("the file reader stopped")?
        .with_context(|| format!("reading {}", file.display()))?;
    progress.finish_and_clear();
    let elapsed = started.elapsed();
    catch_up_all(&database.pool, &Projectors::default()).await?;
    let StripeImportReport {
        translated,
        ignored,
        unparsed,
        already_present,
        events_appended,
        ..
    } = total;
    let seconds = elapsed.as_secs_f64();
    println!(
        "Imported {}: {translated} translated, {ignored} ignored (types Tally does not use), \
         {unparsed} kept unparsed, {already_present} already present; {events_appended} events \
         appended in {seconds:.2} s ({:.0} events/s).",
        file.display(),
        events_appended as f64 / seconds.max(1e-9)
    );
    database.close().await?;
    Ok(())
}

/// Reads `reader` line by line into chunks of prepared bodies and hands each full chunk to
/// `chunks`. Stops early (without error) when the writer has gone away.
fn read_chunks(
    mut reader: impl BufRead,
    chunks: &mpsc::Sender<StripeImportChunk>,
    progress: &ProgressBar,
) -> std::io::Result<()> {
    let mut chunk = StripeImportChunk::new(IngestChannel::Import);
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
        chunk.push(body.to_vec());
        if chunk.message_count() >= CHUNK_MESSAGES || chunk.body_bytes() >= CHUNK_BODY_BYTES {
            let full = std::mem::replace(&mut chunk, StripeImportChunk::new(IngestChannel::Import));
            if chunks.blocking_send(full).is_err() {
                return Ok(());
            }
        }
    }
    if !chunk.is_empty() {
        let _ = chunks.blocking_send(chunk);
    }
    Ok(())
}
