//! Inbox-first webhook ingest stores what translating each body on arrival stores: the
//! acme-small history, with redeliveries, kept through `accept_stripe_webhook` while two inbox
//! translators race each other, gives the same events (ids, payloads, metadata, stream
//! versions) and the same outcome counts as `ingest_stripe_event` body by body; each body is
//! translated exactly once.

use ledger::store::inbox::outcome_counts;
use ledger::store::inbox_queue::queue_depth;
use ledger::store::test_database::TestDatabase;
use ledger::store::AppendSignal;
use sqlx::{PgPool, Row};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use stripe_bridge::inbox_translator::{translate_all_pending, translate_next_batch, InboxWakeup};
use stripe_bridge::ingest::{ingest_stripe_event, IngestChannel};
use stripe_bridge::webhook_inbox::{accept_stripe_webhook, WebhookDeliveryFacts};

/// The acme-small history with every 50th body delivered again right after.
fn bodies_with_redeliveries() -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../replay-tests/fixtures/acme-small/events.jsonl"
    );
    let text = std::fs::read(path).expect("fixture");
    let mut bodies = Vec::new();
    for (index, line) in text
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .enumerate()
    {
        bodies.push(line.to_vec());
        if index % 50 == 0 {
            bodies.push(line.to_vec());
        }
    }
    bodies
}

/// Every event per stream in version order, without what depends on when it was written.
async fn stored_events(pool: &PgPool) -> Vec<String> {
    sqlx::query(
        "SELECT stream_id || ' ' || stream_version || ' ' || event_id || ' ' || event_type
                || ' ' || payload::text || ' ' || metadata::text || ' ' || effective_at
         FROM events ORDER BY stream_id, stream_version",
    )
    .fetch_all(pool)
    .await
    .expect("events")
    .iter()
    .map(|row| row.get::<String, _>(0))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_translators_store_what_translation_on_arrival_stores() {
    let bodies = bodies_with_redeliveries();

    let on_arrival = TestDatabase::create().await;
    let signal = AppendSignal::new();
    for body in &bodies {
        ingest_stripe_event(&on_arrival.pool, &signal, IngestChannel::Webhook, body)
            .await
            .expect("ingest on arrival");
    }

    let inbox_first = TestDatabase::create().await;
    let pool = inbox_first.pool.clone();
    // Two translators race each other for as long as bodies arrive (not a fixed number of
    // passes, which could end before the first body or start after the last).
    let accepting = Arc::new(AtomicBool::new(true));
    let racing: Vec<_> = (0..2)
        .map(|_| {
            let (pool, accepting) = (pool.clone(), accepting.clone());
            tokio::spawn(async move {
                let signal = AppendSignal::new();
                let mut translated = 0;
                while accepting.load(Ordering::Acquire) {
                    translated += translate_next_batch(&pool, &signal, 25)
                        .await
                        .expect("translate a batch");
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                translated
            })
        })
        .collect();
    let wakeup = InboxWakeup::new();
    let facts = WebhookDeliveryFacts {
        signature_timestamp: None,
    };
    let mut duplicates = 0;
    for body in &bodies {
        let accepted = accept_stripe_webhook(&pool, &wakeup, body, facts)
            .await
            .expect("accept");
        if accepted.status.as_str() == "duplicate" {
            duplicates += 1;
        }
    }
    accepting.store(false, Ordering::Release);
    let mut translated_by_racers = 0;
    for racer in racing {
        translated_by_racers += racer.await.expect("translator task");
    }
    let rest = translate_all_pending(&pool, &AppendSignal::new())
        .await
        .expect("drain");
    let unique = bodies.len() - duplicates;
    assert_eq!(
        translated_by_racers as u64 + rest,
        unique as u64,
        "every kept body is translated once"
    );
    assert_eq!(queue_depth(&pool).await.expect("depth").pending, 0);
    assert!(duplicates > 0);

    assert_eq!(
        outcome_counts(&pool).await.expect("inbox-first counts"),
        outcome_counts(&on_arrival.pool)
            .await
            .expect("on-arrival counts")
    );
    let expected = stored_events(&on_arrival.pool).await;
    assert!(expected.len() > 1000, "most of the history is translated");
    assert_eq!(stored_events(&pool).await, expected);
}
