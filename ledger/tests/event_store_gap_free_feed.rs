//! The global feed never skips an event that a slower concurrent transaction commits later
//! (the transaction-id gate; see ARCHITECTURE.md). The many-writer stress test is
//! `event_store_stress.rs`.

mod support;

use ledger::store::append::append_in;
use ledger::store::test_database::TestDatabase;
use ledger::store::{read, ExpectedVersion, FeedCursor, RecordedEvent};
use std::time::Duration;
use support::new_event;

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
