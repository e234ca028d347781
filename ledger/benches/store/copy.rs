//! COPY import: Tally's bulk import (`ledger::store::bulk_import::copy_append_chunk`, what
//! `tally import` uses) and the ceiling (plain `COPY ... FROM STDIN` into `raw_events`, text
//! format, same rows, no store logic).

use crate::payload::{Payloads, EVENT_TYPE, SCHEMA_VERSION};
use ledger::store::bulk_import::copy_append_chunk;
use ledger::store::StreamEvent;
use sqlx::PgPool;
use std::fmt::Write;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Events per bulk-import chunk (one transaction each).
pub const CHUNK: u64 = 10_000;

/// Imports `count` fresh events (10 per stream) through `copy_append_chunk` in chunks of
/// [`CHUNK`]. Returns the time, building the chunks included.
pub async fn copy_bulk_import(pool: &PgPool, payloads: &Payloads, count: u64) -> Duration {
    let mut connection = pool.acquire().await.expect("acquire");
    let run = Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let mut imported = 0u64;
    while imported < count {
        let size = CHUNK.min(count - imported);
        let chunk: Vec<StreamEvent> = payloads
            .new_events(size as usize)
            .into_iter()
            .enumerate()
            .map(|(n, event)| {
                let n = imported + n as u64;
                StreamEvent::new(format!("subscription-sub_bulk_{run}_{}", n / 10), event)
            })
            .collect();
        let outcome = copy_append_chunk(&mut connection, &chunk, &[])
            .await
            .expect("bulk import chunk");
        assert_eq!(outcome.appended, size);
        imported += size;
    }
    started.elapsed()
}

/// Bytes buffered before each send to the server.
const SEND_BUFFER: usize = 1 << 20;

/// COPYs `count` events (fresh ids, 10 per stream, payload and metadata serialized per row as
/// an importer would) into `raw_events` in one statement. Returns the time, encoding included.
pub async fn copy_raw(pool: &PgPool, payloads: &Payloads, count: u64) -> Duration {
    let mut connection = pool.acquire().await.expect("acquire");
    let effective_at = payloads.effective_at.to_rfc3339();
    let run = Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    let mut copy = connection
        .copy_in_raw(
            "COPY raw_events (stream_id, stream_version, event_id, event_type, schema_version,
                              payload, metadata, effective_at) FROM STDIN",
        )
        .await
        .expect("start COPY");
    let mut buffer = String::with_capacity(SEND_BUFFER + 4096);
    for n in 0..count {
        let payload = serde_json::to_string(&payloads.payload).expect("payload");
        let metadata = serde_json::to_string(&payloads.metadata).expect("metadata");
        write!(
            buffer,
            "subscription-sub_copy_{run}_{}\t{}\t{}\t{EVENT_TYPE}\t{SCHEMA_VERSION}\t",
            n / 10,
            n % 10 + 1,
            Uuid::new_v4()
        )
        .expect("write to a String");
        escape_copy_text(&payload, &mut buffer);
        buffer.push('\t');
        escape_copy_text(&metadata, &mut buffer);
        buffer.push('\t');
        buffer.push_str(&effective_at);
        buffer.push('\n');
        if buffer.len() >= SEND_BUFFER {
            copy.send(buffer.as_bytes()).await.expect("COPY data");
            buffer.clear();
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes()).await.expect("COPY data");
    }
    let rows = copy.finish().await.expect("finish COPY");
    assert_eq!(rows, count);
    started.elapsed()
}

/// Appends `text` escaped for COPY's text format (backslash, tab, newline, carriage return).
fn escape_copy_text(text: &str, out: &mut String) {
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
}
