//! Stress test of the global feed: many writers (hot and cold streams, single- and multi-stream
//! appends, random commit delays, some rollbacks, one injected long-running writer) and several
//! concurrent tailing subscriptions. Every committed event must reach every subscription exactly
//! once, in the global (transaction id, position) order, with no per-stream reordering; nothing
//! rolled back may appear.
//!
//! Small in CI. Large on demand:
//! `TALLY_STRESS_SCALE=large cargo test -p ledger --test event_store_stress -- --nocapture`.

mod support;

use ledger::store::append::append_streams_in;
use ledger::store::test_database::TestDatabase;
use ledger::store::{
    AppendSignal, ExpectedVersion, FeedCursor, RecordedEvent, StreamAppend, Subscription,
    SubscriptionOptions,
};
use rand::Rng;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use support::new_event;
use uuid::Uuid;

/// The size of one run.
#[derive(Debug, Clone, Copy)]
struct Scale {
    writers: usize,
    transactions_per_writer: usize,
    readers: usize,
    long_writer_hold: Duration,
}

impl Scale {
    fn from_environment() -> Self {
        match std::env::var("TALLY_STRESS_SCALE").as_deref() {
            Ok("large") => Self {
                writers: 32,
                transactions_per_writer: 400,
                readers: 4,
                long_writer_hold: Duration::from_secs(2),
            },
            _ => Self {
                writers: 8,
                transactions_per_writer: 40,
                readers: 3,
                long_writer_hold: Duration::from_millis(300),
            },
        }
    }
}

/// What one writer committed and rolled back.
#[derive(Default)]
struct WriterOutcome {
    committed: Vec<Uuid>,
    rolled_back: Vec<Uuid>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_committed_event_reaches_every_subscription_once_in_global_order() {
    let scale = Scale::from_environment();
    let database = TestDatabase::create().await;
    let pool = database.pool.clone();
    let signal = AppendSignal::new();
    let (total_sender, total) = tokio::sync::watch::channel(None::<usize>);

    let mut readers = Vec::new();
    for _ in 0..scale.readers {
        let mut subscription = Subscription::new(
            pool.clone(),
            &signal,
            FeedCursor::default(),
            SubscriptionOptions {
                page_size: 64,
                ..SubscriptionOptions::default()
            },
        );
        let mut total = total.clone();
        readers.push(tokio::spawn(async move {
            let mut delivered: Vec<RecordedEvent> = Vec::new();
            loop {
                if total
                    .borrow()
                    .is_some_and(|expected| delivered.len() >= expected)
                {
                    return delivered;
                }
                tokio::select! {
                    page = subscription.next_batch() => delivered.extend(page.expect("read page")),
                    _ = total.changed() => {}
                }
            }
        }));
    }

    let mut writers = Vec::new();
    for writer in 0..scale.writers {
        let pool = pool.clone();
        let signal = signal.clone();
        writers.push(tokio::spawn(async move {
            let mut outcome = WriterOutcome::default();
            for transaction in 0..scale.transactions_per_writer {
                let appends = appends_for(writer, transaction);
                let ids: Vec<Uuid> = appends
                    .iter()
                    .flat_map(|append| append.events.iter().map(|event| event.event_id))
                    .collect();
                let (delay_ms, roll_back) = {
                    let mut rng = rand::thread_rng();
                    (rng.gen_range(0..8), rng.gen_ratio(1, 10))
                };
                let hold = if writer == 0 && transaction == 5 {
                    scale.long_writer_hold
                } else {
                    Duration::from_millis(delay_ms)
                };
                let mut tx = pool.begin().await.expect("begin");
                append_streams_in(&mut tx, None, &appends)
                    .await
                    .expect("append");
                tokio::time::sleep(hold).await;
                if roll_back {
                    tx.rollback().await.expect("rollback");
                    outcome.rolled_back.extend(ids);
                } else {
                    tx.commit().await.expect("commit");
                    signal.notify();
                    outcome.committed.extend(ids);
                }
            }
            outcome
        }));
    }

    let mut committed = HashSet::new();
    let mut rolled_back = HashSet::new();
    for writer in writers {
        let outcome = writer.await.expect("writer");
        committed.extend(outcome.committed);
        rolled_back.extend(outcome.rolled_back);
    }
    total_sender
        .send(Some(committed.len()))
        .expect("readers alive");
    let mut reader_counts = Vec::new();
    for reader in readers {
        let delivered = tokio::time::timeout(Duration::from_secs(60), reader)
            .await
            .expect("a subscription stalled")
            .expect("reader");
        check_delivery(&delivered, &committed, &rolled_back);
        reader_counts.push(delivered.len());
    }
    println!(
        "stress ({} writers x {} transactions, {} subscriptions): {} events committed, {} rolled \
         back; each subscription delivered {:?}, exactly once, in global order",
        scale.writers,
        scale.transactions_per_writer,
        scale.readers,
        committed.len(),
        rolled_back.len(),
        reader_counts
    );
}

/// Two hot streams shared by every writer, plus cold streams per writer; every fourth
/// transaction appends to a hot and a cold stream at once.
fn appends_for(writer: usize, transaction: usize) -> Vec<StreamAppend> {
    let append = |stream_id: String| StreamAppend {
        stream_id,
        expected: ExpectedVersion::Any,
        events: vec![new_event("x"), new_event("y")],
    };
    let hot = format!("hot-{}", transaction % 2);
    let cold = format!("cold-{writer}-{}", transaction % 5);
    match transaction % 4 {
        0 => vec![append(hot), append(cold)],
        1 | 2 => vec![append(hot)],
        _ => vec![append(cold)],
    }
}

fn check_delivery(
    delivered: &[RecordedEvent],
    committed: &HashSet<Uuid>,
    rolled_back: &HashSet<Uuid>,
) {
    let ids: HashSet<Uuid> = delivered.iter().map(|event| event.event_id).collect();
    assert_eq!(ids.len(), delivered.len(), "an event was delivered twice");
    assert_eq!(&ids, committed, "delivered set differs from committed set");
    assert!(
        ids.is_disjoint(rolled_back),
        "a rolled-back event was delivered"
    );
    assert!(
        delivered.windows(2).all(|pair| {
            (pair[0].transaction_id, pair[0].global_position)
                < (pair[1].transaction_id, pair[1].global_position)
        }),
        "delivery is not in global order"
    );
    let mut last_version: BTreeMap<&str, i64> = BTreeMap::new();
    for event in delivered {
        let previous = last_version
            .insert(&event.stream_id, event.stream_version)
            .unwrap_or(0);
        assert_eq!(
            event.stream_version,
            previous + 1,
            "stream {} out of order",
            event.stream_id
        );
    }
}
