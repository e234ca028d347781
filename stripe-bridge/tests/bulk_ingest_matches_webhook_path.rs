//! The bulk import (chunks through COPY) stores exactly what ingesting each body through the
//! webhook path stores, on a recorded Stripe history, and a re-import writes nothing.

use ledger::store::test_database::TestDatabase;
use ledger::store::AppendSignal;
use sqlx::{PgPool, Row};
use stripe_bridge::bulk_ingest::{StripeImportChunk, StripeImportReport};
use stripe_bridge::ingest::{ingest_stripe_event, IngestChannel};

/// The acme-small history, one body per line, with some bodies delivered twice (once right
/// after the first delivery, once much later), as a re-sent export would.
fn bodies_with_duplicates() -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../replay-tests/fixtures/acme-small/events.jsonl"
    );
    let text = std::fs::read(path).expect("fixture");
    let lines: Vec<Vec<u8>> = text
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .map(<[u8]>::to_vec)
        .collect();
    let mut bodies = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        bodies.push(line.clone());
        if index % 97 == 0 {
            bodies.push(line.clone());
        }
    }
    bodies.extend(lines.iter().step_by(211).cloned());
    bodies
}

/// Every event, per stream in version order, without the columns that depend on when and in
/// which transaction it was written (positions, transaction ids, recorded_at).
async fn stored_events(pool: &PgPool) -> Vec<String> {
    sqlx::query(
        "SELECT stream_id, stream_version, event_id::text, event_type, schema_version,
                payload::text, metadata::text, effective_at::text
         FROM events ORDER BY stream_id, stream_version",
    )
    .fetch_all(pool)
    .await
    .expect("events")
    .iter()
    .map(|row| {
        format!(
            "{} {} {} {} {} {} {} {}",
            row.get::<String, _>(0),
            row.get::<i64, _>(1),
            row.get::<String, _>(2),
            row.get::<String, _>(3),
            row.get::<i32, _>(4),
            row.get::<String, _>(5),
            row.get::<String, _>(6),
            row.get::<String, _>(7)
        )
    })
    .collect()
}

/// An inbox row as stored: source, key, type, body, outcome, reason, event count.
type StoredInboxRow = (
    String,
    String,
    Option<String>,
    Vec<u8>,
    String,
    Option<String>,
    i32,
);

/// Every inbox row, by key, without its position and reception time.
async fn stored_inbox(pool: &PgPool) -> Vec<StoredInboxRow> {
    sqlx::query_as(
        "SELECT source, message_key, message_type, body, outcome, reason, event_count
         FROM inbox_messages ORDER BY source, message_key",
    )
    .fetch_all(pool)
    .await
    .expect("inbox")
}

async fn import_in_chunks(
    pool: &PgPool,
    bodies: &[Vec<u8>],
    chunk_size: usize,
) -> StripeImportReport {
    let mut conn = pool.acquire().await.expect("connection");
    let mut total = StripeImportReport::default();
    for slice in bodies.chunks(chunk_size) {
        let mut chunk = StripeImportChunk::new(IngestChannel::Import);
        for body in slice {
            chunk.push(body.clone());
        }
        total.add(chunk.write(&mut conn).await.expect("write chunk"));
    }
    total
}

#[tokio::test]
async fn a_chunked_import_stores_what_the_per_event_path_stores_and_a_reimport_is_a_no_op() {
    let bodies = bodies_with_duplicates();

    let one_by_one = TestDatabase::create().await;
    let signal = AppendSignal::new();
    let mut expected = StripeImportReport::default();
    for body in &bodies {
        let report = ingest_stripe_event(&one_by_one.pool, &signal, IngestChannel::Import, body)
            .await
            .expect("ingest");
        match report.outcome {
            Some(ledger::store::inbox::InboxOutcome::Translated) => expected.translated += 1,
            Some(ledger::store::inbox::InboxOutcome::Ignored) => expected.ignored += 1,
            Some(ledger::store::inbox::InboxOutcome::Unparsed) => expected.unparsed += 1,
            None => expected.already_present += 1,
        }
    }

    let chunked = TestDatabase::create().await;
    // 700 bodies a chunk: duplicates fall both within a chunk and across chunks.
    let report = import_in_chunks(&chunked.pool, &bodies, 700).await;
    assert_eq!(
        (
            report.translated,
            report.ignored,
            report.unparsed,
            report.already_present
        ),
        (
            expected.translated,
            expected.ignored,
            expected.unparsed,
            expected.already_present
        )
    );
    assert!(report.already_present > 0, "the fixture has duplicates");
    assert!(
        report.translated > 1000,
        "most of the history is translated"
    );

    let events = stored_events(&chunked.pool).await;
    assert_eq!(report.events_appended as usize, events.len());
    assert_eq!(events, stored_events(&one_by_one.pool).await);
    assert_eq!(
        stored_inbox(&chunked.pool).await,
        stored_inbox(&one_by_one.pool).await
    );

    // Re-importing (in other chunk sizes) writes nothing and counts every body as present.
    let again = import_in_chunks(&chunked.pool, &bodies, 1_000).await;
    assert_eq!(again.events_appended, 0);
    assert_eq!(again.already_present as usize, bodies.len());
    assert_eq!(stored_events(&chunked.pool).await, events);

    one_by_one.drop_database().await;
    chunked.drop_database().await;
}
