//! The global feed never skips an event that a slower concurrent transaction commits later
//! (the transaction-id gate; see ARCHITECTURE.md).

mod support;

use ledger::store::append::append_in;
use ledger::store::test_database::TestDatabase;
use ledger::store::{read, ExpectedVersion, FeedCursor, RecordedEvent};
use rand::Rng;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use support::new_event;
use uuid::Uuid;

/// Reads the feed after `cursor` until it yields at least `count` events (5 s at most). The
/// gate is cluster-wide: other tests' short transactions may hold it back for a moment.
async fn read_at_least(
    pool: &sqlx::PgPool,
    cursor: FeedCursor,
    count: usize,
) -> Vec<RecordedEvent> {
    let mut page = Vec::new();
    for _ in 0..500 {
        page = read::read_all_after(pool, cursor, 100).await.expect("read");
        if page.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    page
}

#[tokio::test]
async fn an_open_transaction_holds_later_commits_back_until_it_commits() {
    let database = TestDatabase::create().await;
    let pool = &database.pool;

    // T1 appends position 1 and stays open; T2 appends position 2 and commits.
    let mut slow = pool.begin().await.expect("begin T1");
    append_in(
        &mut slow,
        "stream-a",
        ExpectedVersion::Any,
        &[new_event("slow")],
    )
    .await
    .expect("T1 append");
    let mut fast = pool.begin().await.expect("begin T2");
    append_in(
        &mut fast,
        "stream-b",
        ExpectedVersion::Any,
        &[new_event("fast")],
    )
    .await
    .expect("T2 append");
    fast.commit().await.expect("T2 commit");

    // A reader must not move past T1's position: it sees nothing yet.
    let page = read::read_all_after(pool, FeedCursor::default(), 100)
        .await
        .expect("read");
    assert!(
        page.is_empty(),
        "gated reader delivered {page:?} while T1 was open"
    );

    slow.commit().await.expect("T1 commit");
    let page = read_at_least(pool, FeedCursor::default(), 2).await;
    let labels: Vec<&str> = page
        .iter()
        .map(|e| e.payload["label"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(labels, ["slow", "fast"]);
}

/// Several writers append concurrently, with random commit delays and some rollbacks, while a
/// reader tails the feed: every committed event is delivered exactly once, none that rolled
/// back, and each stream's events arrive in stream-version order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_a_tailing_reader_see_every_committed_event_exactly_once() {
    const WRITERS: usize = 8;
    const TRANSACTIONS_PER_WRITER: usize = 40;
    let database = TestDatabase::create().await;
    let pool = database.pool.clone();

    let reader_pool = pool.clone();
    let (done_sender, mut done) = tokio::sync::watch::channel(false);
    let reader = tokio::spawn(async move {
        let mut delivered: Vec<RecordedEvent> = Vec::new();
        let mut cursor = FeedCursor::default();
        loop {
            let finished = *done.borrow();
            let page = read::read_all_after(&reader_pool, cursor, 50)
                .await
                .expect("read page");
            if let Some(last) = page.last() {
                cursor = FeedCursor {
                    transaction_id: last.transaction_id,
                    global_position: last.global_position,
                };
            }
            let empty = page.is_empty();
            delivered.extend(page);
            if empty && finished {
                return delivered;
            }
            if empty {
                tokio::time::sleep(Duration::from_millis(2)).await;
                let _ = tokio::time::timeout(Duration::from_millis(5), done.changed()).await;
            }
        }
    });

    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let pool = pool.clone();
        writers.push(tokio::spawn(async move {
            let mut committed: Vec<Uuid> = Vec::new();
            let mut rolled_back: Vec<Uuid> = Vec::new();
            for transaction in 0..TRANSACTIONS_PER_WRITER {
                // Two hot streams shared by everyone, plus one cold stream per writer.
                let stream = match transaction % 3 {
                    0 => "hot-1".to_owned(),
                    1 => "hot-2".to_owned(),
                    _ => format!("cold-{writer}"),
                };
                let events = vec![new_event("x"), new_event("y")];
                let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
                let (delay_ms, roll_back, long_writer) = {
                    let mut rng = rand::thread_rng();
                    (
                        rng.gen_range(0..8),
                        rng.gen_ratio(1, 10),
                        writer == 0 && transaction == 5,
                    )
                };
                let mut tx = pool.begin().await.expect("begin");
                append_in(&mut tx, &stream, ExpectedVersion::Any, &events)
                    .await
                    .expect("append");
                let hold = if long_writer { 300 } else { delay_ms };
                tokio::time::sleep(Duration::from_millis(hold)).await;
                if roll_back {
                    tx.rollback().await.expect("rollback");
                    rolled_back.extend(ids);
                } else {
                    tx.commit().await.expect("commit");
                    committed.extend(ids);
                }
            }
            (committed, rolled_back)
        }));
    }
    let mut committed = HashSet::new();
    let mut rolled_back = HashSet::new();
    for writer in writers {
        let (ok, undone) = writer.await.expect("writer");
        committed.extend(ok);
        rolled_back.extend(undone);
    }
    done_sender.send(true).expect("reader alive");
    let delivered = reader.await.expect("reader");

    let delivered_ids: Vec<Uuid> = delivered.iter().map(|e| e.event_id).collect();
    let unique: HashSet<Uuid> = delivered_ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        delivered_ids.len(),
        "an event was delivered twice"
    );
    assert_eq!(
        unique, committed,
        "delivered set differs from committed set"
    );
    assert!(
        unique.is_disjoint(&rolled_back),
        "a rolled-back event was delivered"
    );

    let mut last_version: BTreeMap<&str, i64> = BTreeMap::new();
    for event in &delivered {
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
    println!(
        "gap-free feed: {} committed, {} rolled back, {} delivered exactly once",
        committed.len(),
        rolled_back.len(),
        delivered.len()
    );
}

/// Positions are not commit order: after a reader applied positions 1 and 3, position 2 can still
/// commit. The watermark (what `/v1/status` reports and catch-up waits for) must stay at 1 until
/// position 2 is applied, even though the highest position applied already equals the log head.
#[tokio::test]
async fn the_watermark_stays_below_a_lower_position_that_commits_later() {
    let database = TestDatabase::create().await;
    let pool = &database.pool;
    let mut first = pool.begin().await.expect("begin A");
    append_in(
        &mut first,
        "stream-a",
        ExpectedVersion::Any,
        &[new_event("a1")],
    )
    .await
    .expect("A appends position 1");
    let mut second = pool.begin().await.expect("begin B");
    append_in(
        &mut second,
        "stream-b",
        ExpectedVersion::Any,
        &[new_event("b")],
    )
    .await
    .expect("B appends position 2");
    append_in(
        &mut first,
        "stream-c",
        ExpectedVersion::Any,
        &[new_event("a3")],
    )
    .await
    .expect("A appends position 3");
    first.commit().await.expect("A commits");

    let page = read_at_least(pool, FeedCursor::default(), 2).await;
    let positions: Vec<i64> = page.iter().map(|event| event.global_position).collect();
    assert_eq!(
        positions,
        [1, 3],
        "A's events are readable: B started after A"
    );
    let last = page.last().expect("page");
    let cursor = FeedCursor {
        transaction_id: last.transaction_id,
        global_position: last.global_position,
    };
    second.commit().await.expect("B commits");
    let rest = read_at_least(pool, cursor, 1).await;

    assert_eq!(read::log_head(pool).await.expect("head"), 3);
    assert_eq!(
        read::applied_through(pool, cursor)
            .await
            .expect("watermark"),
        1
    );
    assert_eq!(
        rest.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        [2]
    );
    let done = FeedCursor {
        transaction_id: rest[0].transaction_id,
        global_position: rest[0].global_position,
    };
    assert_eq!(
        read::applied_through(pool, done).await.expect("watermark"),
        3
    );
}
